"""`grassroots household erase ADCODE ID --reason TEXT`: deletes the household's key, writes who and why
to the audit log; a repeat says so, an unknown household or a missing reason is refused."""
from __future__ import annotations

import json
from uuid import uuid4

import pytest

from services.cli import main
from services.storage.database import connect

from .conftest import register


def audit_entries(database_url: str, household) -> list[dict]:
    with connect(database_url) as conn:
        rows = conn.execute("SELECT action, username, county, detail FROM core.audit_log"
                            " WHERE detail->>'household_id' = %s ORDER BY id", (str(household),)).fetchall()
    return [{"action": a, "username": u, "county": c, "detail": d if isinstance(d, dict) else json.loads(d)}
            for a, u, c, d in rows]


def test_the_command_erases_a_household_and_audits_it(county, admin, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    household, other = register(county, admin), register(county, admin)
    assert main(["household", "erase", county.adcode, str(household), "--reason", "户主去世，家属申请删除"]) == 0
    assert "erased" in capsys.readouterr().out
    assert county.household(household)["erased"] is True
    assert county.household(other)["head_name"] == "黄阿妹"  # only that one
    [entry] = audit_entries(database_url, household)
    assert (entry["action"], entry["county"]) == ("household.erased", county.adcode)
    assert entry["username"].startswith("cli:")
    assert entry["detail"]["reason"] == "户主去世，家属申请删除" and entry["detail"]["already_erased"] is False

    assert main(["household", "erase", county.adcode, str(household), "--reason", "再次申请"]) == 0
    assert "already erased" in capsys.readouterr().out
    assert [e["detail"]["already_erased"] for e in audit_entries(database_url, household)] == [False, True]


@pytest.mark.parametrize("argv, says", [
    (["{adcode}", "{unknown}", "--reason", "x"], "has no household"),
    (["{adcode}", "not-a-uuid", "--reason", "x"], "is not a household id"),
    (["{adcode}", "{household}", "--reason", "  "], "--reason"),
    (["979999", "{household}", "--reason", "x"], "no county 979999"),
    (["12", "{household}", "--reason", "x"], "adcode"),
])
def test_the_command_refuses_what_it_cannot_do_and_erases_nothing(county, admin, database_url, monkeypatch, capsys,
                                                                   argv, says):
    monkeypatch.setenv("DATABASE_URL", database_url)
    household = register(county, admin)
    values = {"adcode": county.adcode, "household": household, "unknown": uuid4()}
    assert main(["household", "erase", *(a.format(**values) for a in argv)]) == 2
    assert says in capsys.readouterr().err
    assert county.household(household)["erased"] is False
    assert audit_entries(database_url, household) == []


def test_reason_is_required_by_the_command_line(county, admin, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["household", "erase", county.adcode, str(register(county, admin))])
    assert exit_.value.code == 2 and "--reason" in capsys.readouterr().err


def test_the_key_is_deleted_only_with_its_audit_entry(county, admin):
    household = register(county, admin)

    def audit_fails(cursor, deleted):
        raise RuntimeError("the audit log refused the entry")

    with pytest.raises(RuntimeError):
        county.keys.delete(household, then=audit_fails)
    assert county.household(household)["head_name"] == "黄阿妹"  # rolled back with the failed entry
