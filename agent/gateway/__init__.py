"""The tool gateway: a deterministic policy layer in front of every tool call (no model inside).

See ``shared/reference/INJECTION.md`` §5. Modules:

* :mod:`.labels` / :mod:`.context` — provenance labels, conversation taint, argument provenance
* :mod:`.registry` — operator-owned tool registry and pins
* :mod:`.redact` — secret scanning and redaction
* :mod:`.egress` / :mod:`.urls` — egress guard (allow-lists, SSRF, peer check), URL checks
* :mod:`.policy` — ordered rules R0–R12, deny wins
* :mod:`.approvals` / :mod:`.card` — HMAC-bound, single-use grants and approval-card data
* :mod:`.gateway` — :class:`ToolGateway`, orchestrating one call
"""

from agent.gateway.approvals import ApprovalService, Grant, InMemoryApprovalStore, PendingApproval
from agent.gateway.context import ContextLabel, Origin
from agent.gateway.gateway import ExecRequest, GatewayResult, GatewayStatus, SinkLog, ToolFailed, ToolGateway
from agent.gateway.labels import ALL, Conf, Integrity, Label, LabelledResult, Source
from agent.gateway.policy import Decision, Plan, PlanEntry, Policy, PolicyContext, ToolCall, Verdict
from agent.gateway.redact import SecretScanner
from agent.gateway.registry import Registry, ToolClass, ToolDef
from tools.egress import EgressGuard, GuardedTransport, guarded_fetch

__all__ = [
    "ALL",
    "ApprovalService",
    "Conf",
    "ContextLabel",
    "Decision",
    "EgressGuard",
    "ExecRequest",
    "GatewayResult",
    "GatewayStatus",
    "Grant",
    "GuardedTransport",
    "InMemoryApprovalStore",
    "Integrity",
    "Label",
    "LabelledResult",
    "Origin",
    "PendingApproval",
    "Plan",
    "PlanEntry",
    "Policy",
    "PolicyContext",
    "Registry",
    "SecretScanner",
    "SinkLog",
    "Source",
    "ToolCall",
    "ToolClass",
    "ToolDef",
    "ToolFailed",
    "ToolGateway",
    "Verdict",
    "guarded_fetch",
]
