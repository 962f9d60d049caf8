"""Gateway configurations the suite runs: the defended one, the undefended baseline, and the
deliberately weakened mutants (negative controls, INJECTION.md §6.8) that the suite must catch."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx

from agent.gateway.approvals import ApprovalService, PendingApproval, args_hash
from agent.gateway.card import ApprovalCard
from agent.gateway.policy import Decision, Policy, ToolCall
from agent.gateway.redact import Finding, SecretScanner
from tools.egress import EgressGuard, Resolver, Target

__all__ = [
    "DEFENDED",
    "MUTANTS",
    "UNDEFENDED",
    "Config",
    "NoRedaction",
    "PermissiveGuard",
    "SuiteApprovals",
]


@dataclass(frozen=True)
class Config:
    name: str
    policy: Callable[[], Policy] = Policy
    redact: bool = True  # tool results are redacted (R3 keeps its own scanner either way)
    egress_guard: bool = True  # allow-lists and address checks
    pin_check: bool = True  # registry.check on tools/list; False accepts whatever a server presents
    bind_args: bool = True  # grants bind the argument hash
    honest_cards: bool = True  # approval cards show provenance and red flags
    persist_labels: bool = True  # memory keeps the label of what it was written from
    server_text_to_model: bool = False  # the model sees server-written tool descriptions
    recheck_redirects: bool = True  # every redirect hop goes back through the guard
    defended: bool = True


class NoRedaction(SecretScanner):
    """Tool results, refusals and cards pass unredacted; ``scan`` (R3) still finds secrets."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__(secrets)
        self._real = SecretScanner(secrets)

    def redact(self, text: str, *, path: str = "$", generic: bool = False) -> tuple[str, list[Finding]]:
        return text, []

    def redact_value(self, value: Any, *, path: str = "$") -> tuple[Any, list[Finding]]:
        return value, []

    def scan(self, value: Any) -> list[Finding]:
        return self._real.scan(value)


class PermissiveGuard(EgressGuard):
    """An egress guard that allows any URL and any address (the connected-peer check in
    GuardedTransport still runs, but only after the connection was made)."""

    def __init__(self, allowlists: Mapping[str, Sequence[str]], *, resolver: Resolver) -> None:
        super().__init__(allowlists, resolver=resolver)

    def check_url(self, url: str | httpx.URL, allowlist: str) -> Target:
        u = httpx.URL(url) if isinstance(url, str) else url
        return Target(u, u.host, u.port or (443 if u.scheme == "https" else 80))

    async def resolve_checked(self, host: str, port: int) -> list[str]:
        return await self.resolver(host, port)


def _sanitised(card: ApprovalCard) -> ApprovalCard:
    args = tuple(
        replace(a, chip="typed by you", untrusted=False, hidden_chars=False, long_whitespace=False) for a in card.args
    )
    rules = tuple((r, why) for r, why in card.rules if not r.startswith(("R8", "R10")))
    return replace(card, args=args, rules=rules, data_leaving=(), context_sources=(), source_flags=())


class SuiteApprovals(ApprovalService):
    """The real approval service, optionally weakened: grants not bound to the arguments, or cards
    that hide provenance and red flags."""

    def __init__(self, key: bytes, *, clock: Callable[[], datetime], bind_args: bool, honest_cards: bool) -> None:
        from agent.gateway.approvals import InMemoryApprovalStore

        super().__init__(InMemoryApprovalStore(), key, clock=clock)
        self._bind_args = bind_args
        self._honest = honest_cards

    async def request(
        self, call: ToolCall, decision: Decision, *, session_id: str, card: ApprovalCard
    ) -> PendingApproval:
        return await super().request(
            call, decision, session_id=session_id, card=card if self._honest else _sanitised(card)
        )

    async def verify_and_consume(
        self, grant: Any, call: ToolCall, *, tool: str, session_id: str, policy_version: str
    ) -> None:
        if not self._bind_args:  # mutant: re-sign the grant for whatever arguments arrive
            rebound = replace(grant, args_hash=args_hash(call.args), mac="")
            grant = replace(rebound, mac=self._mac(rebound))
        await super().verify_and_consume(grant, call, tool=tool, session_id=session_id, policy_version=policy_version)


def _allow_all_r0(ev: Any) -> None:
    return None


DEFENDED = Config("defended")
UNDEFENDED = Config(
    "undefended",
    policy=lambda: Policy(()),
    redact=False,
    egress_guard=False,
    pin_check=False,
    server_text_to_model=True,
    defended=False,
)

MUTANTS: dict[str, Config] = {
    c.name: c
    for c in (
        Config("R0 allows every tool", policy=lambda: Policy().replacing("R0", _allow_all_r0)),
        Config("without R2 (admin tools)", policy=lambda: Policy().without("R2")),
        Config("without R3 (secrets in args)", policy=lambda: Policy().without("R3")),
        Config("without R4 (egress allow-list)", policy=lambda: Policy().without("R4")),
        Config("without R5 (private data in URLs)", policy=lambda: Policy().without("R5")),
        Config("without R6 (budgets)", policy=lambda: Policy().without("R6")),
        Config("without R7 (financial params)", policy=lambda: Policy().without("R7")),
        Config("without R8 (flow / P-F)", policy=lambda: Policy().without("R8")),
        Config("without R9 (untrusted control)", policy=lambda: Policy().without("R9")),
        Config("without R10 (untrusted links)", policy=lambda: Policy().without("R10")),
        Config("without R11 (always-approve)", policy=lambda: Policy().without("R11")),
        Config("egress allow-all", egress_guard=False),
        Config("fetch outside the guard after the first URL", recheck_redirects=False),
        Config("no redaction", redact=False),
        Config("no pin check", pin_check=False),
        Config("grants not bound to args", bind_args=False),
        Config("cards hide provenance", honest_cards=False),
        Config("labels not persisted", persist_labels=False),
        Config("server descriptions to model", server_text_to_model=True),
    )
}
