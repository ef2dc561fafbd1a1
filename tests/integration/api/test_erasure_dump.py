"""After erasure the database holds nothing of the household anyone could read: a `pg_dump` of the whole
test database (events, read models, core tables, audit log) is searched for its personal fields, in the
dump's text, inside every bytea value (the events' JSON) and in every sealed token that a key found in
the dump opens. Another household's fields are found the same way, so the search itself is shown to work."""
from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.domain import commands as c
from services.personal import TOKEN_PREFIX, open_text
from services.storage.backup import tool_connection

from .conftest import COUNTY_A, Api
from .test_queries import wait_for_projections

_COPY = re.compile(r"COPY (\S+) \(.*\) FROM stdin;$")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "\\": "\\"}


def pg_dump(url: str) -> str:
    from pgserver._commands import POSTGRES_BIN_PATH

    binary = Path(POSTGRES_BIN_PATH) / "pg_dump"
    command = str(binary) if binary.exists() else shutil.which("pg_dump")
    assert command, "pg_dump: neither pgserver's nor one on PATH"
    dbname, env = tool_connection(url)  # as `grassroots backup` runs it: on Citus, the shards hidden
    done = subprocess.run([command, "--no-owner", "--dbname", dbname], capture_output=True, text=True, timeout=300,
                          check=False, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def copy_rows(dump: str) -> dict[str, list[list[str | None]]]:
    """Every table's rows as pg_dump wrote them (COPY text format), fields unescaped."""
    tables: dict[str, list[list[str | None]]] = {}
    current: list[list[str | None]] | None = None
    for line in dump.splitlines():
        if current is None:
            match = _COPY.match(line)
            if match:
                current = tables.setdefault(match.group(1), [])
        elif line == "\\.":
            current = None
        else:
            current.append([None if f == "\\N" else re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), f)
                            for f in line.split("\t")])
    return tables


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings_in(v)]]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


class Dump:
    """What someone holding the dump can read."""

    def __init__(self, dump: str) -> None:
        self.tables = copy_rows(dump)
        texts = [dump]
        for rows in self.tables.values():
            for row in rows:
                for field in row:
                    if field is None or not field.startswith("\\x"):
                        continue
                    raw = bytes.fromhex(field[2:])
                    try:
                        decoded = raw.decode()
                        texts.extend(strings_in(json.loads(decoded)))  # an event's state: JSON, maybe escaped
                    except (UnicodeDecodeError, ValueError):
                        continue
                    texts.append(decoded)
        self.text = "\n".join(texts)
        self.tokens = set(re.findall(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_\-=]+", self.text))

    def key(self, household_id: uuid.UUID) -> bytes | None:
        rows = self.tables.get(f"county_{COUNTY_A}.household_keys", [])
        return next((bytes.fromhex(r[1][2:]) for r in rows if r[0] == str(household_id) and r[1]), None)

    def readable(self, household_id: uuid.UUID) -> str:
        """The dump's plain text plus every token of the household opened with its key, if the dump has it."""
        key = self.key(household_id)
        opened = []
        if key is not None:
            for token in self.tokens:
                try:
                    opened.append(open_text(token, key, household_id) or "")
                except ValueError:  # another household's token
                    continue
        return "\n".join([self.text, *opened])


def a_household_with_a_history(api: Api, tag: str) -> tuple[uuid.UUID, list[str]]:
    """A household with every kind of personal text, and those texts."""
    phone = f"13{random.randrange(10**9):09d}"
    texts = {"head_name": f"户主{tag}", "phone": phone, "notes": f"独居老人{tag}", "address": f"老屋{tag}号",
             "new_address": f"新屋{tag}号", "note": f"腿脚不便{tag}", "summary": f"看病难{tag}",
             "resolution": f"已办医保{tag}"}
    household = api.household(head_name=texts["head_name"], phone=phone, notes=texts["notes"],
                              address=texts["address"])
    county = api.county_apps.get(COUNTY_A)
    township = COUNTY_A + "001"
    assert api.execute(COUNTY_A, c.RelocateHousehold(
        command_id=uuid.uuid4(), household_id=household, expected_version=1, village=township + "001",
        township=township, address=texts["new_address"], lat=18.65, lon=109.71)).status == "applied"
    cadre = api.cadre_actor()
    assert county.execute(c.CheckIn(command_id=uuid.uuid4(), target_kind="household", target_id=str(household),
                                    kind="home", occurred_at=datetime.now(UTC), note=texts["note"]),
                          cadre).status == "applied"
    issue = county.execute(c.RaiseIssue(command_id=uuid.uuid4(), source_kind="visit", household_id=household,
                                        village=township + "001", category="医疗", summary=texts["summary"],
                                        occurred_at=datetime.now(UTC)), cadre)
    issue_id = uuid.UUID(issue.result["id"])
    for step in (c.RouteIssue(command_id=uuid.uuid4(), issue_id=issue_id, expected_version=1, route="on_the_spot"),
                 c.ResolveIssue(command_id=uuid.uuid4(), issue_id=issue_id, expected_version=2,
                                resolution=texts["resolution"])):
        assert api.execute(COUNTY_A, step).status == "applied"
    return household, list(texts.values())


async def test_pg_dump_after_erasure_holds_none_of_the_households_personal_fields(api: Api, database_url: str):
    erased, erased_texts = a_household_with_a_history(api, uuid.uuid4().hex[:8])
    kept, kept_texts = a_household_with_a_history(api, uuid.uuid4().hex[:8])
    plain = f"村道塌方{uuid.uuid4().hex[:8]}"  # about no household: stored plain, so the search must find it
    assert api.execute(COUNTY_A, c.RaiseIssue(command_id=uuid.uuid4(), source_kind="visit",
                                              village=COUNTY_A + "001001", category="道路", summary=plain,
                                              occurred_at=datetime.now(UTC))).status == "applied"
    admin = await api.client("county_admin")
    assert (await admin.get(f"/api/v1/households/{erased}")).json()["head_name"] == erased_texts[0]
    response = await admin.delete(f"/api/v1/households/{erased}/personal-data", params={"reason": "本人申请删除"})
    assert response.status_code == 200, response.text
    await wait_for_projections(database_url, COUNTY_A)  # the read models are in the dump too

    dump = Dump(pg_dump(database_url))

    assert plain in dump.text
    assert dump.key(kept) is not None
    readable = dump.readable(kept)
    assert [t for t in kept_texts if t not in readable] == []
    assert dump.key(erased) is None
    readable = dump.readable(erased)
    assert [t for t in erased_texts if t in readable] == []
    assert str(erased) in dump.text  # its events and rows remain, by id
