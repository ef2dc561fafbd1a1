"""Query parameter types whose limits are patterns: pydantic enforces them and the OpenAPI document
states them, where a parser in a handler would answer 422 for values the document allowed.

Years run 2000 to 2100, as `as_of` does: a period of year 9999 once reached PostgreSQL's time range.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

YEAR = r"(20[0-9]{2}|2100)"
MONTH = r"(0[1-9]|1[0-2])"
DAY = rf"{YEAR}-{MONTH}-(0[1-9]|[12][0-9]|3[01])"

PeriodText = Annotated[str, Field(
    pattern=rf"^({YEAR}|{YEAR}-[Qq][1-4]|{YEAR}-{MONTH}|{DAY}\.\.{DAY})$",
    description="a year (2026), quarter (2026-Q1), month (2026-03) or range of days (2026-01-05..2026-02-20) in"
                " 2000 to 2100; a range's days are calendar days and it ends on or after its start")]
MonthText = Annotated[str, Field(pattern=rf"^{YEAR}-{MONTH}$", description="a month, YYYY-MM, in 2000 to 2100")]
AdcodeText = Annotated[str, Field(pattern=r"^[0-9]{6}$", examples=["500101"],
                                  description="a county's six-digit administrative code (adcode)")]
UUID_TEXT = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
DueCursor = Annotated[str, Field(max_length=64, pattern=rf"^(overdue|due)\|{DAY}\|{UUID_TEXT}$",
                                 examples=["overdue|2026-06-30|0f8fad5b-d9cb-469f-a165-70867728950e"],
                                 description="a place in a due list: the status, due date and household id of its"
                                             " item (a page's `next`)")]
