"""Issue (问题 / 民情诉求 / 意见建议): a problem or opinion raised in the field, and its handling.

States: raised -> routed -> resolved -> replied -> rated; a resolved, replied or rated issue can be
reopened, and is then routed or resolved again. A department route (转办·限时办结) names the
department and a deadline.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import UUID

from eventsourcing.domain import event

from services.domain.aggregate import Aggregate
from services.domain.errors import InvalidState

# China keeps one offset all year; a day's deadline is judged on the local calendar.
CHINA_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")


class Issue(Aggregate):
    @event("Raised")
    def __init__(
        self, id: UUID, source_kind: str, source_id: str | None, household_id: UUID | None, village: str,
        category: str, summary: str, raised_by: UUID | None, occurred_at: datetime,
    ) -> None:
        self.source_kind = source_kind
        self.source_id = source_id
        self.household_id = household_id
        self.village = village
        self.category = category
        self.summary = summary
        self.raised_by = raised_by
        self.occurred_at = occurred_at
        self.state = "raised"
        self.current_route: str | None = None
        self.department: str | None = None
        self.deadline: str | None = None
        self.resolution: str | None = None
        self.last_reply: str | None = None
        self.satisfaction: str | None = None

    def route(self, route: str, department: str | None, deadline: str | None, routed_by: str,
              decision: str | None = None, meeting: str | None = None) -> None:
        self._require_state("route", {"raised", "routed", "reopened"})
        if route == "department" and not (department and deadline):
            raise InvalidState(
                "department_route_incomplete", "转办到职能部门必须填写部门和办结期限。",
                "A department route needs a department and a deadline.",
            )
        if route != "department" and department:
            raise InvalidState(
                "department_without_route", "只有转办路线才能指定部门。",
                "Only the department route names a department.",
            )
        raised_on = self.occurred_at.astimezone(CHINA_TIME).date().isoformat()
        if deadline is not None and deadline < raised_on:
            raise InvalidState(
                "deadline_before_raised", f"办结期限不能早于问题提出日期 {raised_on}。",
                f"The deadline cannot be before the day the issue was raised ({raised_on}).",
            )
        self._routed(route=route, department=department, deadline=deadline, routed_by=routed_by,
                     decision=decision, meeting=meeting)

    def decide(self, meeting: str, department: str, deadline: str, decision: str, decided_by: str) -> None:
        """A monthly review's decision on this item (一月一议: who, what, by when): the issue is routed to
        the department with the deadline, the decision and its meeting's month (YYYY-MM) recorded on
        the route."""
        self.route("department", department, deadline, decided_by, decision=decision, meeting=meeting)

    def resolve(self, resolution: str, resolved_by: str) -> None:
        self._require_state("resolve", {"routed", "reopened"})
        self._resolved(resolution=resolution, resolved_by=resolved_by)

    def reply(self, reply: str, replied_by: str) -> None:
        self._require_state("reply", {"resolved"})
        self._replied(reply=reply, replied_by=replied_by)

    def rate(self, satisfaction: str, rated_by: str) -> None:
        self._require_state("rate", {"resolved", "replied"})
        self._rated(satisfaction=satisfaction, rated_by=rated_by)

    def reopen(self, reason: str, reopened_by: str) -> None:
        self._require_state("reopen", {"resolved", "replied", "rated"})
        self._reopened(reason=reason, reopened_by=reopened_by)

    _ACTIONS_ZH = {"route": "转办", "resolve": "办结", "reply": "答复", "rate": "评价", "reopen": "重新打开"}
    _STATES_ZH = {
        "raised": "已提出", "routed": "已分办", "resolved": "已办结", "replied": "已答复", "rated": "已评价",
        "reopened": "已重新打开",
    }

    def _require_state(self, action: str, allowed: set[str]) -> None:
        if self.state not in allowed:
            raise InvalidState(
                f"cannot_{action}_{self.state}",
                f"问题当前状态为“{self._STATES_ZH[self.state]}”，不能{self._ACTIONS_ZH[action]}。",
                f"Cannot {action} an issue that is {self.state}.",
                state=self.state,
            )

    # `decision` and `meeting` are set on routes a monthly review decided; routes recorded before they
    # existed decode without them (the library fills the defaults).
    @event("Routed")
    def _routed(self, route: str, department: str | None, deadline: str | None, routed_by: str,
                decision: str | None = None, meeting: str | None = None) -> None:
        self.state = "routed"
        self.current_route, self.department, self.deadline = route, department, deadline

    @event("Resolved")
    def _resolved(self, resolution: str, resolved_by: str) -> None:
        self.state = "resolved"
        self.resolution = resolution

    @event("Replied")
    def _replied(self, reply: str, replied_by: str) -> None:
        self.state = "replied"
        self.last_reply = reply

    @event("Rated")
    def _rated(self, satisfaction: str, rated_by: str) -> None:
        self.state = "rated"
        self.satisfaction = satisfaction

    @event("Reopened")
    def _reopened(self, reason: str, reopened_by: str) -> None:
        self.state = "reopened"
        self.satisfaction = None
