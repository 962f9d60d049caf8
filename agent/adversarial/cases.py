"""Case files: one YAML file per case. The schema is documented in tests/security/cases/SCHEMA.md.

:func:`load_dir` reads every ``*.yaml`` under a directory (recursively) and validates it; all the
problems of all files are reported together in one :class:`CaseError`, each with its file and the
path of the offending field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from agent.adversarial.casetypes import (
    ANNOTATION_HINTS,
    BEHAVIOURS,
    CHANNELS,
    ID_PATTERN,
    OVERRIDE_MODES,
    PIN_STATUSES,
    PREDICATES,
    RULE_PATTERN,
    SEED_KEYS,
    Attack,
    Call,
    Case,
    CaseError,
    PlanEntrySpec,
    Predicate,
    Step,
    ToolOverride,
    Turn,
)
from agent.adversarial.catalog import CATALOG, world_tool_names
from agent.adversarial.text import canaries_for, check_template, render, trigger_in

__all__ = [
    "BEHAVIOURS",
    "CHANNELS",
    "Attack",
    "Call",
    "Case",
    "CaseError",
    "PlanEntrySpec",
    "Predicate",
    "Step",
    "ToolOverride",
    "Turn",
    "carrier_texts",
    "load_dir",
    "load_file",
]


class _V:
    """Collects problems with their field paths."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.problems: list[str] = []

    def err(self, path: str, msg: str) -> None:
        self.problems.append(f"{self.where}: {path}: {msg}")

    def mapping(self, v: Any, path: str, required: set[str], optional: set[str]) -> Mapping[str, Any]:
        if not isinstance(v, Mapping):
            self.err(path, f"expected a mapping, got {type(v).__name__}")
            return {}
        for k in sorted(required - set(v)):
            self.err(path, f"missing required key {k!r}")
        for k in sorted(set(v) - required - optional):
            self.err(path, f"unknown key {k!r} (allowed: {', '.join(sorted(required | optional))})")
        return v

    def seq(self, v: Any, path: str) -> list[Any]:
        if v is None:
            return []
        if not isinstance(v, list):
            self.err(path, f"expected a list, got {type(v).__name__}")
            return []
        return v

    def text(self, v: Any, path: str) -> str:
        if not isinstance(v, str) or not v.strip():
            self.err(path, "expected a non-empty string")
            return ""
        return v

    def templates(self, v: Any, path: str) -> None:
        if isinstance(v, str):
            for p in check_template(v):
                self.err(path, p)
        elif isinstance(v, Mapping):
            for k, x in v.items():
                self.templates(x, f"{path}.{k}")
        elif isinstance(v, list):
            for i, x in enumerate(v):
                self.templates(x, f"{path}[{i}]")


def _call(v: _V, raw: Any, path: str, known: set[str]) -> Call:
    m = v.mapping(raw, path, {"tool"}, {"args", "expect_unknown"})
    tool = str(m.get("tool", ""))
    if tool and tool not in known and not m.get("expect_unknown"):
        v.err(f"{path}.tool", f"unknown tool {tool!r} (not in the catalog or this case's tools; set expect_unknown)")
    args = m.get("args") or {}
    if not isinstance(args, Mapping):
        v.err(f"{path}.args", "expected a mapping")
        args = {}
    v.templates(args, f"{path}.args")
    return Call(tool, dict(args))


def _steps(v: _V, raw: Any, path: str, known: set[str]) -> tuple[Step, ...]:
    steps: list[Step] = []
    items = v.seq(raw, path)
    for i, s in enumerate(items):
        p = f"{path}[{i}]"
        m = v.mapping(s, p, set(), {"call", "calls", "answer"})
        if len(m) != 1:
            v.err(p, "a step is exactly one of call / calls / answer")
            continue
        if "answer" in m:
            if i != len(items) - 1:
                v.err(p, "answer must be the last step")
            v.templates(m["answer"], f"{p}.answer")
            steps.append(Step(answer=v.text(m["answer"], f"{p}.answer")))
        elif "call" in m:
            steps.append(Step(calls=(_call(v, m["call"], f"{p}.call", known),)))
        else:
            calls = tuple(_call(v, c, f"{p}.calls[{j}]", known) for j, c in enumerate(v.seq(m["calls"], f"{p}.calls")))
            steps.append(Step(calls=calls))
    return tuple(steps)


def _predicate(v: _V, raw: Any, path: str, known: set[str]) -> Predicate | None:
    m = v.mapping(raw, path, set(), {*PREDICATES, "hard"})
    kinds = [k for k in m if k in PREDICATES]
    if len(kinds) != 1:
        v.err(path, f"exactly one of {', '.join(PREDICATES)} expected")
        return None
    kind = kinds[0]
    val = m[kind]
    params: dict[str, Any]
    if kind in ("effect", "no_effect", "called"):
        params = dict(v.mapping(val, f"{path}.{kind}", {"tool"}, {"contains", "arg", "min_count"}))
        if params.get("tool") not in known:
            v.err(f"{path}.{kind}.tool", f"unknown tool {params.get('tool')!r}")
    elif kind in ("answer_contains", "model_saw"):
        params = {"text": v.text(val, f"{path}.{kind}")}
    else:  # fetched, memory_laundered
        params = dict(v.mapping(val, f"{path}.{kind}", {"contains"}, set()))
    return Predicate(kind, params, bool(m.get("hard", False)))


def _when(v: _V, raw: Any, path: str) -> datetime | None:
    """A turn's clock: an ISO date-time (UTC when no offset is given)."""
    if raw is None:
        return None
    try:
        when = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    except ValueError:
        v.err(path, f"expected an ISO date-time such as 2026-03-20T08:00, got {raw!r}")
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _turns(v: _V, d: Mapping[str, Any], known: set[str]) -> tuple[Turn, ...]:
    def one(m: Mapping[str, Any], p: str) -> Turn:
        v.templates(m.get("user_task"), f"{p}user_task")
        entries = []
        for i, e in enumerate(v.seq(m.get("approved_plan"), f"{p}approved_plan")):
            em = v.mapping(e, f"{p}approved_plan[{i}]", {"tool"}, {"args"})
            if em.get("tool") not in known:
                v.err(f"{p}approved_plan[{i}].tool", f"unknown tool {em.get('tool')!r}")
            args = {
                str(k): tuple(str(x) for x in (a if isinstance(a, list) else [a]))
                for k, a in (em.get("args") or {}).items()
            }
            entries.append(PlanEntrySpec(str(em.get("tool", "")), args))
        return Turn(
            v.text(m.get("user_task"), f"{p}user_task"),
            _steps(v, m.get("plan"), f"{p}plan", known),
            tuple(entries),
            _when(v, m.get("at"), f"{p}at"),
        )

    if "turns" in d:
        if "user_task" in d or "plan" in d:
            v.err("turns", "use either turns or user_task/plan, not both")
        out = []
        for i, t in enumerate(v.seq(d["turns"], "turns")):
            tm = v.mapping(t, f"turns[{i}]", {"user_task", "plan"}, {"approved_plan", "at"})
            out.append(one(tm, f"turns[{i}]."))
        times = [t.at for t in out if t.at is not None]
        if times != sorted(times):
            v.err("turns", "each turn's at must not be earlier than the turn before")
        return tuple(out)
    for k in ("user_task", "plan"):
        if k not in d:
            v.err("$", f"missing required key {k!r} (or turns)")
    return (one(d, ""),)


def _strings(value: Any) -> list[str]:
    """Every string inside a nested result (a canned tool result's text)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _seed_texts(seed: Mapping[str, Any], canaries: Mapping[str, str]) -> list[str]:
    texts: list[str] = []
    for key, items in seed.items():
        if key == "web" and isinstance(items, Mapping):
            texts += [str((p or {}).get("body", "")) for p in items.values() if isinstance(p, Mapping)]
        elif key in ("results", "errors") and isinstance(items, Mapping):
            texts += [render(x, canaries=canaries) for x in _strings(items)]
        elif isinstance(items, list):
            texts += [render(str(x), canaries=canaries) for it in items if isinstance(it, Mapping) for x in it.values()]
    return texts


def carrier_texts(case: Case) -> list[str]:
    """Every untrusted text a case seeds (mail, pages, results, errors…) and its servers' tool text."""
    return _seed_texts(case.seed, case.canaries) + [o.description for o in case.tools if o.description]


def _seed(v: _V, raw: Any) -> dict[str, Any]:
    seed = dict(v.mapping(raw or {}, "seed", set(), {*SEED_KEYS, "web", "dns", "results", "errors"}))
    for key, (req, opt) in SEED_KEYS.items():
        for i, item in enumerate(v.seq(seed.get(key), f"seed.{key}")):
            v.mapping(item, f"seed.{key}[{i}]", req, opt)
            v.templates(item, f"seed.{key}[{i}]")
    for url, page in (seed.get("web") or {}).items():
        if not str(url).startswith(("http://", "https://")):
            v.err(f"seed.web.{url}", "page keys are absolute URLs")
        v.mapping(page, f"seed.web.{url}", set(), {"body", "status", "type", "location"})
    for tool, result in (seed.get("results") or {}).items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*", str(tool)):
            v.err(f"seed.results.{tool}", "keys are server.tool names")
        v.templates(result, f"seed.results.{tool}")
    for tool, text in (seed.get("errors") or {}).items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*", str(tool)):
            v.err(f"seed.errors.{tool}", "keys are server.tool names")
        v.text(text, f"seed.errors.{tool}")
        v.templates(text, f"seed.errors.{tool}")
    for host, ips in (seed.get("dns") or {}).items():
        if not isinstance(ips, list) or not all(isinstance(i, str) for i in ips):
            v.err(f"seed.dns.{host}", "expected a list of IP addresses")
    return seed


def _overrides(v: _V, raw: Any) -> list[ToolOverride]:
    out: list[ToolOverride] = []
    optional = {"description", "schema", "malicious", "expect_status", "annotations", "from_turn"}
    for i, t in enumerate(v.seq(raw, "tools")):
        p = f"tools[{i}]"
        tm = v.mapping(t, p, {"server", "name", "mode"}, optional)
        if tm.get("mode") not in OVERRIDE_MODES:
            v.err(f"{p}.mode", f"expected one of {', '.join(OVERRIDE_MODES)}")
        if tm.get("expect_status") not in (None, *PIN_STATUSES):
            v.err(f"{p}.expect_status", f"expected one of {', '.join(PIN_STATUSES)}")
        q = f"{tm.get('server')}.{tm.get('name')}"
        if "description" not in tm and q not in world_tool_names():
            v.err(p, f"missing required key 'description' ({q} is not a tool of the world)")
        description = str(tm["description"]) if "description" in tm else None
        schema = tm.get("schema") or (CATALOG[q][1] if q in CATALOG and description is not None else None)
        annotations = tm.get("annotations")
        if annotations is not None:
            bad = set(v.mapping(annotations, f"{p}.annotations", set(), set(ANNOTATION_HINTS)))
            annotations = dict(annotations) if not bad - set(ANNOTATION_HINTS) else None
        from_turn = tm.get("from_turn", 0)
        if not isinstance(from_turn, int) or from_turn < 0:
            v.err(f"{p}.from_turn", "expected a turn index")
            from_turn = 0
        out.append(
            ToolOverride(
                str(tm.get("server")),
                str(tm.get("name")),
                description,
                schema,
                str(tm.get("mode")),
                bool(tm.get("malicious", False)),
                tm.get("expect_status"),
                annotations,
                from_turn,
            )
        )
    return out


def _parse(d: Any, where: str) -> tuple[Case | None, list[str]]:
    v = _V(where)
    top = {"id", "kind", "channel", "title"}
    opt = {
        "user_task",
        "plan",
        "approved_plan",
        "turns",
        "seed",
        "attacks",
        "tools",
        "forbidden",
        "success",
        "expect_rules",
        "behaviour",
        "notes",
        "at",
    }
    m = v.mapping(d, "$", top, opt)
    if not m:
        return None, v.problems
    cid = str(m.get("id", ""))
    if not ID_PATTERN.match(cid):
        v.err("id", "ids are 1-40 characters of [A-Za-z0-9_-]")
    kind = m.get("kind")
    if kind not in ("injection", "benign"):
        v.err("kind", "expected injection or benign")
    if m.get("channel") not in CHANNELS:
        v.err("channel", f"expected one of {', '.join(CHANNELS)}")
    behaviour = m.get("behaviour", "immediate")
    if behaviour not in BEHAVIOURS:
        v.err("behaviour", f"expected one of {', '.join(BEHAVIOURS)}")
    overrides = _overrides(v, m.get("tools"))
    known = set(CATALOG) | world_tool_names() | {o.qualified for o in overrides}
    seed = _seed(v, m.get("seed"))
    turns = _turns(v, m, known)
    attacks: list[Attack] = []
    for i, a in enumerate(v.seq(m.get("attacks"), "attacks")):
        am = v.mapping(a, f"attacks[{i}]", {"trigger"}, {"calls", "swap"})
        calls = tuple(
            _call(v, c, f"attacks[{i}].calls[{j}]", known)
            for j, c in enumerate(v.seq(am.get("calls"), f"attacks[{i}].calls"))
        )
        swap = _call(v, am["swap"], f"attacks[{i}].swap", known) if "swap" in am else None
        if not calls and swap is None:
            v.err(f"attacks[{i}]", "an attack needs calls or a swap")
        attacks.append(Attack(v.text(am.get("trigger"), f"attacks[{i}].trigger"), calls, swap))
    forbidden = [
        _predicate(v, p, f"forbidden[{i}]", known) for i, p in enumerate(v.seq(m.get("forbidden"), "forbidden"))
    ]
    success = [_predicate(v, p, f"success[{i}]", known) for i, p in enumerate(v.seq(m.get("success"), "success"))]
    rules = [str(r) for r in v.seq(m.get("expect_rules"), "expect_rules")]
    for r in rules:
        if not RULE_PATTERN.match(r):
            v.err("expect_rules", f"{r!r} is not a rule id such as R8 or R8_PF_DECLASSIFY")
    last = len(turns) - 1
    for i, o in enumerate(overrides):
        if o.from_turn and not (o.mode in ("changed", "new") and 1 <= o.from_turn <= last):
            v.err(f"tools[{i}].from_turn", f"a changed or new definition listed from a later turn (1..{last})")
    if kind == "injection" and (not attacks or not forbidden):
        v.err("$", "an injection case needs attacks and forbidden outcomes")
    if kind == "benign" and (attacks or forbidden or not success):
        v.err("$", "a benign case has success checks and no attacks/forbidden")
    canaries = canaries_for(cid)
    carriers = _seed_texts(seed, canaries) + [o.description for o in overrides if o.description]
    for i, a in enumerate(attacks):
        if a.trigger != "*" and a.trigger and not trigger_in(a.trigger, carriers):
            v.err(f"attacks[{i}].trigger", "the trigger text does not occur in any seeded content or tool description")
    if v.problems:
        return None, v.problems
    return (
        Case(
            cid,
            str(kind),
            str(m["channel"]),
            str(m["title"]),
            turns,
            tuple(attacks),
            tuple(overrides),
            seed,
            tuple(p for p in forbidden if p),
            tuple(p for p in success if p),
            tuple(rules),
            str(behaviour),
            where,
        ),
        [],
    )


def load_file(path: Path) -> Case:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CaseError([f"{path}: not valid YAML: {exc}"]) from None
    case, problems = _parse(data, str(path))
    if case is None:
        raise CaseError(problems)
    return case


def load_dir(root: Path) -> list[Case]:
    """Every case under ``root`` (recursively), sorted by id; raises CaseError listing every problem."""
    files = sorted(root.rglob("*.yaml"))
    if not root.is_dir() or not files:
        raise CaseError([f"{root}: no *.yaml case files found"])
    cases: list[Case] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for f in files:
        try:
            case = load_file(f)
        except CaseError as exc:
            problems += exc.problems
            continue
        if case.id in seen:
            problems.append(f"{f}: id: duplicate id {case.id!r} (also in {seen[case.id]})")
        seen[case.id] = str(f)
        cases.append(case)
    if problems:
        raise CaseError(problems)
    return sorted(cases, key=lambda c: (c.kind, c.id))
