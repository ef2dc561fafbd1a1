"""Research topics and reports (调研课题 / 调研报告): the seeds' programme of topics the county office
assigns and the reports cadres file on them.

A `ResearchTopic` is assigned by a county admin to one cadre or a team of cadres (its `assignee_ids`),
with a due date. A `ResearchReport` is filed on a topic by one of its assignees (a county admin may file
for them): a title, a summary and the visits and issues it draws on. A topic is *reported* once any of
its assignees filed a report, and *overdue* while it has none after its due date: the read model's
job (`projections.research`).

A report's summary is research prose about a topic, not about a household: it is kept as written,
like the summary of an issue that names no household (only text about one household is sealed with
that household's key, services/personal.py).
"""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import event

from services.domain.aggregate import Aggregate


class ResearchTopic(Aggregate):
    @event("Assigned")
    def __init__(self, id: UUID, title: str, description: str, assignee_ids: list[str], due_on: str,
                 assigned_by: str) -> None:
        self.title = title
        self.description = description
        self.assignee_ids = assignee_ids  # one cadre, or a team
        self.due_on = due_on  # ISO date, China's calendar: the last day a report is on time
        self.assigned_by = assigned_by

    def assigned_to(self, cadre_id: UUID) -> bool:
        return str(cadre_id) in self.assignee_ids


class ResearchReport(Aggregate):
    @event("Filed")
    def __init__(self, id: UUID, topic_id: UUID, author_id: UUID, title: str, summary: str, visit_ids: list[str],
                 issue_ids: list[str], occurred_at: datetime, filed_by: str, received_at: datetime) -> None:
        self.topic_id = topic_id
        self.author_id = author_id
        self.title = title
        self.summary = summary
        self.visit_ids = visit_ids
        self.issue_ids = issue_ids
        self.occurred_at = occurred_at  # when the cadre filed it (the phone's clock: it may sync later)
        self.filed_by = filed_by
        self.received_at = received_at
