"""Campaign (节日慰问): at a festival the county visits every household carrying some tags (Chongqing:
every hardship Party member, hardship resident, empty-nest elder and left-behind child), within a window
of days. Which households are still to visit, and how far each place has got, is the read model's
job (`projections.campaigns`)."""
from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from services.domain.aggregate import Aggregate


class Campaign(Aggregate):
    @event("Defined")
    def __init__(self, id: UUID, festival: str, starts_on: str, ends_on: str, tags: list[str],
                 defined_by: str) -> None:
        # ISO dates, both days included, in China's calendar (as every period in Grassroots).
        self.festival = festival
        self.starts_on = starts_on
        self.ends_on = ends_on
        self.tags = tags
        self.defined_by = defined_by
