"""Asking for the plan an index gives, on plain PostgreSQL and on Citus alike.

Cost tests price sequential scans out (a test county is small enough for the planner to scan it whole)
to check that an index answers a read, as it will when the county is large. On Citus a county's query is
planned again on its worker, where a session's `SET` never arrives; a `SET LOCAL` does, when
`citus.propagate_set_commands` is 'local'. Run these statements first in the transaction that reads
(on plain PostgreSQL the Citus setting is an unused placeholder).
"""
from __future__ import annotations

INDEXES_ONLY = ("SET LOCAL citus.propagate_set_commands = 'local'", "SET LOCAL enable_seqscan = off")
