"""The connection types that functions over the database take, named once.

The read side gets asyncpg connections two ways: from a pool (`pool.acquire()`, a `PoolConnectionProxy`)
and straight from `asyncpg.connect` (the projection driver, the tests); a query function takes either.
The write side and administration use psycopg. The aliases are strings because asyncpg's classes are
generic only in its stubs (asyncpg-stubs), not at run time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    import asyncpg
    import psycopg
    from asyncpg.pool import PoolConnectionProxy
    from psycopg.rows import DictRow, TupleRow

AsyncConnection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
# The API's pool (`app.state.db`): `pool.acquire()` gives the PoolConnectionProxy above.
AsyncPool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"
# What `services.storage.database.connect` returns: rows as tuples (a cursor may ask for dicts).
SyncConnection: TypeAlias = "psycopg.Connection[TupleRow]"
# A cursor in a sync transaction: the county pool's connections give dict rows, a plain connection tuples.
SyncCursor: TypeAlias = "psycopg.Cursor[DictRow] | psycopg.Cursor[TupleRow]"
