"""Simulated owners at the console: deny everything, rubber-stamp everything, or read the card."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agent.gateway.approvals import PendingApproval

__all__ = ["APPROVERS", "ApproveAll", "ApproveCleanCards", "Approver", "DenyAll"]


class Approver(Protocol):
    @property
    def name(self) -> str: ...

    def decide(self, pending: PendingApproval) -> bool:
        """True to approve (with the console step-up done), False to deny."""
        ...


@dataclass(frozen=True)
class DenyAll:
    name: str = "deny-all"

    def decide(self, pending: PendingApproval) -> bool:
        return False


@dataclass(frozen=True)
class ApproveAll:
    """A rubber stamp: every card approved, step-up included. Owner-approved harm is residual risk."""

    name: str = "approve-all"

    def decide(self, pending: PendingApproval) -> bool:
        return True


_UNTRUSTED_CHIPS = ("from untrusted", "agent-generated after reading")


@dataclass(frozen=True)
class ApproveCleanCards:
    """A careful owner: approves only a card with no red flag and no argument whose provenance chip
    says it came from (or was written after reading) untrusted content."""

    name: str = "approve-clean"

    def decide(self, pending: PendingApproval) -> bool:
        card = pending.card
        if card.red_flags:
            return False
        return not any(a.chip.startswith(_UNTRUSTED_CHIPS) for a in card.args)


APPROVERS: dict[str, Approver] = {a.name: a for a in (DenyAll(), ApproveCleanCards(), ApproveAll())}
