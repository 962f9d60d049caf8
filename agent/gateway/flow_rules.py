"""The flow rules: where data goes and who chose it (R8–R11). See ``policy.py`` for the table."""

from __future__ import annotations

from agent.gateway.context import ArgProvenance, Origin, atoms, normalise
from agent.gateway.evaluation import TOOL_CHOICE, Eval, RuleHit, approve, deny
from agent.gateway.labels import Conf, Integrity
from agent.gateway.registry import ToolClass
from agent.gateway.render import neutralise_remote
from agent.gateway.urls import (
    links_in,
    string_values,
    text_carries_private,
)

__all__ = [
    "is_owner_directed",
    "r8_flow",
    "r9_untrusted_control",
    "r10_untrusted_urls",
    "r11_always_approve",
    "reaches_others",
]


def r8_flow(ev: Eval) -> RuleHit | None:
    spec = ev.spec
    if spec is None or spec.owner_only or not (spec.recipients or spec.audience_public):
        return None
    data = ev.data_label()
    owners = {normalise(p) for p in ev.ctx.owner_principals}
    if spec.audience_public:
        ok, who = data.flows_to(["*public*"]), "the public"
    else:
        others = sorted(ev.recipients() - owners)
        ok, who = data.flows_to(others), ", ".join(others)
    classes = _classes_leaving(ev)
    if classes:
        return deny(
            "R8_PRIVATE_CLASS_ON_INJECTED_REQUEST",
            f"your {', '.join(classes)} data would go to a recipient you did not name",
            *spec.data,
        )
    if ok:
        return None
    if data.conf >= Conf.SECRET:
        return deny("R8_SECRET_FLOW", f"secret data may not be sent to {who}", *spec.data)
    return approve("R8_PF_DECLASSIFY", f"data read from private sources would be shared with {who}", *spec.data)


def _classes_leaving(ev: Eval) -> list[str]:
    """Data classes (financial, health, messages, calendar) whose text the call would send to a
    recipient the owner did not name. Empty when every recipient is the owner's own choice (typed,
    a contact, the service's record), not an address read from a source the owner named."""
    spec = ev.spec
    if spec is None:
        return []
    owners = {normalise(p) for p in ev.ctx.owner_principals}
    injected = spec.audience_public and ev.ctx.context.label.integrity < Integrity.OWNER and ev.plan_entry is None
    for arg in spec.recipients:
        p = ev.prov(arg) if arg in ev.args else None
        if p is not None and set(atoms(ev.args[arg])) - owners and (not p.owner or p.origin is Origin.NAMED):
            injected = True  # an address read from a source, even one the owner named, is not the owner's
    if not injected:
        return []
    c = ev.ctx.context
    texts = [t for a in spec.data for t in string_values(ev.args.get(a))]
    who = ["*public*"] if spec.audience_public else sorted(ev.recipients() - owners)
    found: set[str] = set()
    for seg in c.segments:
        if seg.label.flows_to(who):
            continue  # the recipients may read it already (a reply to the people on the thread)
        classes = {k for src in seg.label.sources for k in ev.ctx.registry.data_classes_of(f"{src.server}.{src.tool}")}
        public = c.public_texts()
        if classes - found and any(text_carries_private(t, [seg.text], public_values=public, min_len=8) for t in texts):
            found |= classes
    return sorted(found)


def r9_untrusted_control(ev: Eval) -> RuleHit | None:
    spec = ev.spec
    if spec is None or spec.owner_only:
        return None
    c = ev.ctx.context
    if spec.cls is ToolClass.EGRESS_READ and spec.url_arg:
        url = ev.args.get(spec.url_arg)
        p = ev.prov(spec.url_arg)
        if p.owner and p.label.integrity >= Integrity.OWNER:
            return None  # typed by the owner or read from a trusted result; one the assistant wrote is not
        ev.chosen_after_untrusted(spec.url_arg)
        if isinstance(url, str) and c.found_in_public_web(url):
            # Following a link a public page offers is harmless until the context also holds private
            # data: then *which* link is followed can spell that data out, one request at a time.
            if not c.private_texts():
                return None
            return approve(
                "R9_PT_UNTRUSTED_CONTROL",
                "which link to open was chosen after reading your private data and untrusted content",
                spec.url_arg,
            )
        return approve("R9_PT_UNTRUSTED_CONTROL", f"the URL was not typed by you ({p.chip})", spec.url_arg)
    if not spec.consequential:
        return None
    # Every argument the registry does not declare as data is control: unclassified args fail safe.
    ctrl = list(dict.fromkeys([*spec.control_args, *spec.recipients, *(a for a in ev.args if a not in spec.data)]))
    if ev.strict:
        ctrl = list(dict.fromkeys([*ctrl, *ev.args]))
    tainted = [a for a in ctrl if a in ev.args and ev.prov(a).label.integrity < Integrity.OWNER]
    if ev.plan_entry is None and c.label.integrity < Integrity.OWNER:
        tainted.append(TOOL_CHOICE)
    if not tainted:
        return None
    chips = "; ".join(f"{a}: {ev.prov(a).chip}" for a in tainted if a != TOOL_CHOICE)
    reason = "decided after reading untrusted content" + (f" ({chips})" if chips else "")
    return approve("R9_PT_UNTRUSTED_CONTROL", reason, *tainted)


def reaches_others(ev: Eval) -> bool:
    spec = ev.spec
    if spec is None or spec.owner_only or not spec.consequential:
        return False
    owners = {normalise(p) for p in ev.ctx.owner_principals}
    return spec.audience_public or bool(ev.recipients() - owners)


def r10_untrusted_urls(ev: Eval) -> RuleHit | None:
    """Every text field of a side effect that reaches someone else: no link the owner did not type,
    in any form the recipient's client would make clickable (with or without a scheme)."""
    spec = ev.spec
    if spec is None or not spec.consequential:
        return None
    c = ev.ctx.context
    # A remote image loads with no click wherever the text is shown, the owner's own mail included.
    for arg, value in ev.args.items():
        for text in string_values(value):
            for host in neutralise_remote(text).removed:
                if c.owner_segment_for(normalise(text), named=False) is None:
                    return approve(
                        "R10_UNTRUSTED_URL_IN_MESSAGE", f"the text loads a remote image from {host}", str(arg)
                    )
    if not reaches_others(ev):
        return None
    for arg, value in ev.args.items():
        if arg in spec.recipients:
            continue
        for link in links_in(value):
            if c.owner_segment_for(normalise(link), named=False) is None:
                return approve(
                    "R10_UNTRUSTED_URL_IN_MESSAGE", f"the message contains a link you did not type: {link}", str(arg)
                )
    return None


def is_owner_directed(ev: Eval) -> bool:
    """The owner named both who receives the data and what is sent: every recipient and every data
    argument is the owner's (typed, from the contacts, or named by the service's own record) and no
    untrusted text proposed it. Sharing the owner's file with a colleague the owner named is then
    the owner's own declassification: still held for approval (R8), but not a warning on the card.
    A text the assistant wrote counts when it draws on nothing private. Public posts never are."""
    spec = ev.spec
    if spec is None or spec.audience_public or not spec.recipients:
        return False
    who = [a for a in spec.recipients if a in ev.args]
    what = [a for a in spec.data if a in ev.args]
    # Who receives it must be the owner's own choice, not an address read from a source they named.
    named = any(ev.prov(a).origin is Origin.NAMED for a in who)
    return (
        bool(who)
        and not named
        and all(_owners(ev.prov(a)) for a in who)
        and all(_owners(ev.prov(a), True) for a in what)
    )


def _owners(p: ArgProvenance, written: bool = False) -> bool:
    """The owner's and no untrusted text proposed it; with ``written``, also a text the assistant wrote
    that draws on nothing private (what the owner asked it to say to someone they named)."""
    if p.contested:
        return False
    return p.owner or (written and p.origin is Origin.AGENT and p.label.conf == Conf.PUBLIC)


def r11_always_approve(ev: Eval) -> RuleHit | None:
    spec = ev.spec
    if spec is None or not (spec.always_approve or spec.cls is ToolClass.FINANCIAL):
        return None
    step_up = spec.step_up or spec.cls is ToolClass.FINANCIAL or spec.audience_public
    what = "moves money" if spec.cls is ToolClass.FINANCIAL else "always needs your approval"
    if spec.cls is ToolClass.FINANCIAL and spec.amount_arg and ev.args.get(spec.amount_arg) in (None, ""):
        # R6 had no amount to check: say so on the card rather than pass it silently.
        what += f"; no {spec.amount_arg} was given, so the money limits could not be checked: confirm the amount"
    return approve("R11_ALWAYS_APPROVE", f"{spec.name} {what}", step_up=step_up)
