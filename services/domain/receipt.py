"""CommandReceipt: proof that a client's command was applied, saved in the same transaction as the
command's own events. A resend finds it: same payload digest -> `duplicate` with the original result,
another digest -> `conflict`."""
from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from services.domain.aggregate import Aggregate

# Fixed forever: receipts already stored were found by ids derived from it.
RECEIPT_NS = UUID("6f1d8a52-3c0e-5b7a-9e41-0d2c7b9a4e10")


def receipt_id(command_id: UUID) -> UUID:
    return uuid5(RECEIPT_NS, str(command_id))


class CommandReceipt(Aggregate):
    @event("Recorded")
    def __init__(self, id: UUID, command: str, digest: str, result: dict[str, Any]) -> None:
        self.command = command
        self.digest = digest
        self.result = result
