"""Domain errors: a small hierarchy, each carrying a stable code, context, and a message in Chinese
and English (the field app shows `zh`; logs and API clients may use `en`)."""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A command broke a rule of the domain; nothing was changed."""

    def __init__(self, code: str, zh: str, en: str, **context: Any) -> None:
        super().__init__(en)
        self.code = code
        self.zh = zh
        self.en = en
        self.context = context

    @property
    def reason(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


class InvalidCommand(DomainError):
    """The command itself is malformed (validation failed before any rule was checked)."""


class InvalidState(DomainError):
    """The aggregate is in a state that does not allow this command (e.g. rating an open issue)."""


class NotFound(DomainError):
    """The command refers to something this county does not have."""


class NotPermitted(DomainError):
    """The actor's role does not allow this command."""


_CONTROL = str.maketrans({code: "\ufffd" for code in (*range(0x20), 0x7f)})


def shown(text: str) -> str:
    """User input as a message may echo it: control characters (NUL, escape sequences, line breaks)
    become U+FFFD, so an echo can neither break a log line or a terminal nor hide what was sent."""
    return text.translate(_CONTROL)
