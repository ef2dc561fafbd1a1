"""The connection types that functions over the database take, named once.

The read side gets asyncpg connections two ways: from a pool (`pool.acquire()`, a `PoolConnectionProxy`)
and straight from `asyncpg.connect` (the projection driver, the tests); a query function takes either.
The write side and administration use psycopg. The aliases are strings because asyncpg's classes are
generic only in its stubs (asyncpg-stubs), not at run time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import asyncpg
    import psycopg
    from asyncpg.pool import PoolConnectionProxy

AsyncConnection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
SyncConnection: TypeAlias = "psycopg.Connection[Any]"
