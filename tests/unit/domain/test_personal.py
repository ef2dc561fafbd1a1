"""Sealing personal fields with a household's key; without the key they read as erased."""
from __future__ import annotations

from uuid import uuid4

import pytest

from services.personal import ERASED, new_key, open_personal, open_text, seal_personal, seal_text


def test_personal_fields_open_with_the_households_key():
    household_id, key = uuid4(), new_key()
    token = seal_personal("黄阿妹", "13800000000", "独居", key, household_id)
    assert "黄阿妹" not in token and token.startswith("v1.")
    opened = open_personal(token, key, household_id)
    assert (opened.head_name, opened.phone, opened.notes, opened.erased) == ("黄阿妹", "13800000000", "独居", False)


def test_without_the_key_the_fields_read_as_erased():
    household_id = uuid4()
    token = seal_personal("黄阿妹", None, "", new_key(), household_id)
    assert open_personal(token, None, household_id) is ERASED
    assert ERASED.erased and ERASED.head_name is None
    assert open_text(seal_text("备注", new_key(), household_id), None, household_id) is None


def test_sealing_twice_gives_different_tokens():
    household_id, key = uuid4(), new_key()
    assert seal_text("同一句话", key, household_id) != seal_text("同一句话", key, household_id)


def test_a_token_does_not_open_for_another_household_or_with_another_key():
    household_id, key = uuid4(), new_key()
    token = seal_text("备注", key, household_id)
    with pytest.raises(ValueError, match="does not open"):
        open_text(token, key, uuid4())
    with pytest.raises(ValueError, match="does not open"):
        open_text(token, new_key(), household_id)


def test_a_damaged_token_is_an_error_not_an_erasure():
    with pytest.raises(ValueError, match="not a sealed"):
        open_text("plain text", new_key(), uuid4())
