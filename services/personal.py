"""Personal fields sealed with a per-household key (AES-GCM), so that deleting the key erases them from
every stored event (crypto-shredding) while the events themselves still load. Sealed: the head's name,
phone and notes (one token), and every free text about the household: its address and archive reason,
visit notes and void reasons, pairing end reasons, and its issues' summaries, resolutions, replies and
reopening reasons.

A sealed value is a text token `v1.<urlsafe base64 of nonce + ciphertext>`. The household id is the
associated data: a token copied into another household's event does not open with that household's key.
Keys live in `county_<adcode>.household_keys` (docs/contracts.md), managed by `KeyStore`.
"""
from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import sql

from services.storage.connections import AsyncConnection, SyncCursor

TOKEN_PREFIX = "v1."
KEY_BYTES = 32
ERASED_LABEL = "已删除"  # what people read (ledgers, pages) in place of an erased household's personal data


@dataclass(frozen=True)
class PersonalFields:
    """A household's personal fields as read back: all None with `erased=True` once its key is gone."""

    head_name: str | None
    phone: str | None
    notes: str | None
    erased: bool = False


ERASED = PersonalFields(head_name=None, phone=None, notes=None, erased=True)


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def seal_text(text: str, key: bytes, household_id: UUID) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, text.encode(), household_id.bytes)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_text(token: str, key: bytes | None, household_id: UUID) -> str | None:
    """The sealed text, or None when the key is gone (erased). A damaged token is an error, not erasure."""
    if key is None:
        return None
    if not token.startswith(TOKEN_PREFIX):
        raise ValueError("not a sealed personal token")
    raw = base64.urlsafe_b64decode(token[len(TOKEN_PREFIX):])
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], household_id.bytes).decode()
    except InvalidTag:
        raise ValueError(f"personal token does not open with household {household_id}'s key") from None


def seal_free_text(text: str, key: bytes, household_id: UUID) -> str:
    """Free text about a household (its address, archive reason, an issue's summary, resolution, reply or
    reopening reason), sealed so that erasure makes it unreadable too. Empty text stays empty."""
    return seal_text(text, key, household_id) if text else text


def open_free_text(stored: str | None, key: bytes | None, household_id: UUID | None) -> str | None:
    """Free text as it reads now: opened with the household's key, None once the household is erased.
    Text about no household is stored plain; text written before it was sealed (no token) reads as it
    was until its household is erased."""
    if stored is None or household_id is None:
        return stored
    if key is None:
        return None
    if not stored.startswith(TOKEN_PREFIX):
        return stored
    return open_text(stored, key, household_id)


def seal_personal(head_name: str, phone: str | None, notes: str, key: bytes, household_id: UUID) -> str:
    fields = {"head_name": head_name, "phone": phone, "notes": notes}
    return seal_text(json.dumps(fields, ensure_ascii=False, separators=(",", ":")), key, household_id)


def open_personal(token: str, key: bytes | None, household_id: UUID) -> PersonalFields:
    text = open_text(token, key, household_id)
    if text is None:
        return ERASED
    fields = json.loads(text)
    return PersonalFields(head_name=fields["head_name"], phone=fields["phone"], notes=fields["notes"])


Transaction = Callable[[], AbstractContextManager[SyncCursor]]


class KeyStore:
    """The household keys of one county. `delete` is the crypto-shred: without the key, every sealed
    field of that household reads as erased."""

    def __init__(self, transaction: Transaction, schema: str) -> None:
        self._transaction = transaction
        self._table = sql.Identifier(schema, "household_keys")

    def get(self, household_id: UUID) -> bytes | None:
        return self.get_many([household_id]).get(household_id)

    def get_many(self, household_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        ids = list(household_ids)
        if not ids:
            return {}
        with self._transaction() as cursor:
            return self._select(cursor, ids)

    def create(self, household_id: UUID) -> bytes:
        return self.create_many([household_id])[household_id]

    def create_many(self, household_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        """Keys for these households, made where missing. Get-or-create, because a retried command
        (or a concurrent writer) must seal with the key that is already stored, not a second one."""
        ids = list(household_ids)
        if not ids:
            return {}
        keys = [new_key() for _ in ids]
        with self._transaction() as cursor:
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {} (household_id, key, created_at) SELECT i, k, now()"
                    " FROM unnest(%b::uuid[], %b::bytea[]) AS t(i, k) ON CONFLICT (household_id) DO NOTHING"
                ).format(self._table),
                (ids, keys),
            )
            return self._select(cursor, ids)

    def _select(self, cursor: SyncCursor, ids: list[UUID]) -> dict[UUID, bytes]:
        cursor.execute(sql.SQL("SELECT household_id, key FROM {} WHERE household_id = ANY(%s)").format(self._table),
                       (ids,))
        return {row["household_id"]: bytes(row["key"]) for row in _dict_rows(cursor)}

    def delete(self, household_id: UUID, then: Callable[[SyncCursor, bool], None] | None = None) -> bool:
        """Shred the key; True when there was one. `then(cursor, deleted)` runs in the same transaction
        (the erasure's audit entry: both are kept, or neither)."""
        with self._transaction() as cursor:
            cursor.execute(sql.SQL("DELETE FROM {} WHERE household_id = %s").format(self._table), (household_id,))
            deleted = cursor.rowcount == 1
            if then is not None:
                then(cursor, deleted)
            return deleted


async def keys_of(conn: AsyncConnection, schema: str, household_ids: list[UUID]) -> dict[UUID, bytes]:
    """`KeyStore.get_many` from the API's asyncpg pool: one query, no thread (a join with the ids, as
    `projections.coverage.sealed_personal` reads the sealed fields, for the same reason)."""
    rows = await conn.fetch(f"SELECT k.household_id, k.key FROM unnest($1::uuid[]) AS i(household_id)"
                            f" JOIN {schema}.household_keys k USING (household_id)", household_ids)
    return {row["household_id"]: bytes(row["key"]) for row in rows}


def _dict_rows(cursor: SyncCursor) -> list[dict[str, Any]]:
    # The pool's connections may hand out dict rows (eventsourcing's datastore) or tuples.
    names = [column.name for column in cursor.description or ()]
    return [row if isinstance(row, dict) else dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
