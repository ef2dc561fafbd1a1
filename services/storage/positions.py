"""Each county's log position in `core.county_positions`: its last notification id and its counts of
events, households registered and cadres enrolled, kept by every writer of the log in the inserting
transaction (so a rolled-back insert leaves it as it was).

The writers add it in their own statements: the recorder in its one append statement (`advance_by`),
bulk copies and anything else that inserts under the county's write lock with `advance_past`. It was
a statement trigger on each `county_events`, which Citus refuses on a distributed table (and with
`citus.enable_unsafe_triggers` it would fire on the county's worker). The read side reads the table
(projections/positions.py).
"""
from __future__ import annotations

from .names import EVENTS_TABLE, adcode_of

TABLE = "core.county_positions"
DDL = (f"CREATE TABLE IF NOT EXISTS {TABLE} (county text PRIMARY KEY, last_notification_id bigint NOT NULL,"
       " events bigint NOT NULL, households bigint NOT NULL, cadres bigint NOT NULL)")
# Stored topics (services/domain/topics.py): fixed names, whatever the classes are called.
HOUSEHOLD_REGISTERED = "grassroots:Household.Registered"
CADRE_ENROLLED = "grassroots:Cadre.Enrolled"


def _counts(adcode: str) -> str:
    return (f"SELECT '{adcode}', coalesce(max(notification_id), 0), count(*),"
            f" count(*) FILTER (WHERE topic = '{HOUSEHOLD_REGISTERED}'),"
            f" count(*) FILTER (WHERE topic = '{CADRE_ENROLLED}')")


_ADD = (" ON CONFLICT (county) DO UPDATE SET"
        " last_notification_id = greatest(p.last_notification_id, excluded.last_notification_id),"
        " events = p.events + excluded.events, households = p.households + excluded.households,"
        " cadres = p.cadres + excluded.cadres")


def advance_by(schema: str, rows: str) -> str:
    """An INSERT that adds `rows` (a CTE's name: the inserted events' notification_id and topic) to the
    county's position; for a data-modifying CTE beside the insert."""
    return f"INSERT INTO {TABLE} AS p {_counts(adcode_of(schema))} FROM {rows} HAVING count(*) > 0{_ADD}"


def advance_past(schema: str) -> str:
    """Add the county's events after its stored position: run after inserting, under the county's write
    lock and in the inserting transaction. O(events inserted): the log is indexed by notification id."""
    adcode = adcode_of(schema)
    return (f"INSERT INTO {TABLE} AS p {_counts(adcode)} FROM {schema}.{EVENTS_TABLE}"
            f" WHERE notification_id > coalesce((SELECT last_notification_id FROM {TABLE}"
            f" WHERE county = '{adcode}'), 0) HAVING count(*) > 0{_ADD}")


def count_log(schema: str) -> str:
    """The county's position counted from its whole log, when it has none yet (a county provisioned
    before positions were kept): run under the county's write lock."""
    return (f"INSERT INTO {TABLE} {_counts(adcode_of(schema))} FROM {schema}.{EVENTS_TABLE}"
            " ON CONFLICT (county) DO NOTHING")
