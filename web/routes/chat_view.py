"""What the chat page shows, built from untrusted data: model prose and tool results.

Nothing here produces markup. Every value is plain text that the templates (Jinja autoescape) and
``chat.js`` (``textContent``) escape; URLs in model prose become inert segments carrying their full
host, and hidden characters (zero-width, bidi, controls) are shown as ``⟨U+200B⟩``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from agent.conversations import StoredMessage
from agent.gateway.card import split_url, visible
from agent.gateway.labels import Label, LabelError
from web.plain_words import trace_sentence

CONSOLE_NOTE = "[console] "
URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'`]+")
MEMORY_CITE = r"\[memory:(?P<memory>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\]"
PROSE_TOKENS = re.compile(f"(?i){MEMORY_CITE}|{URL.pattern.removeprefix('(?i)')}")
_TRAILING = ".,;:!?)]}'\""
MAX_RESULT_CHARS = 20_000


def reveal_hidden(text: str) -> str:
    """Show format/control/private-use characters as ``⟨U+XXXX⟩`` (newlines and tabs stay)."""
    out: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        hidden = cat in ("Cf", "Co", "Cn", "Zl", "Zp") or (cat == "Cc" and ch not in "\n\t")
        out.append(f"⟨U+{ord(ch):04X}⟩" if hidden else ch)
    return "".join(out)


def host_of(url: str) -> str:
    parts = split_url(url)
    if parts.host_unicode:
        return f"{parts.host} ({parts.host_unicode})"
    return parts.host or "?"


def segments(text: str) -> list[dict[str, str]]:
    """Model prose as text and inert-link segments: ``{"kind": "text"|"link", "text", "host"}``, and
    memory citations ``[memory:ID]`` as ``{"kind": "memory", "id"}``."""
    text = reveal_hidden(text)
    out: list[dict[str, str]] = []
    pos = 0
    for m in PROSE_TOKENS.finditer(text):
        if m.group("memory"):
            # A memory citation: a link to that memory's page on this console, nothing else.
            start, end = m.start(), m.end()
            if start > pos:
                out.append({"kind": "text", "text": text[pos:start]})
            out.append({"kind": "memory", "text": "memory", "id": m.group("memory").lower()})
            pos = end
            continue
        url = m.group(0).rstrip(_TRAILING)
        start, end = m.start(), m.start() + len(url)
        if start > pos:
            out.append({"kind": "text", "text": text[pos:start]})
        out.append({"kind": "link", "text": url, "host": host_of(url)})
        pos = end
    if pos < len(text):
        out.append({"kind": "text", "text": text[pos:]})
    return out


def display_tool(name: str) -> str:
    server, sep, tool = name.partition("__")
    return f"{server}.{tool}" if sep else name


def _visible_leaves(value: Any) -> Any:
    if isinstance(value, str):
        return visible(value)[0]
    if isinstance(value, dict):
        return {visible(str(k))[0]: _visible_leaves(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_visible_leaves(v) for v in value]
    return value


def _pretty(value: Any) -> str:
    """Arguments or a result as indented JSON; hidden characters and long whitespace inside every
    string are made visible (the indentation itself is ours)."""
    if isinstance(value, str):
        return visible(value)[0]
    return json.dumps(_visible_leaves(value), ensure_ascii=False, indent=2, sort_keys=True)


def label_view(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        label = Label.from_dict(raw)
    except LabelError:
        return {"integrity": "unreadable", "conf": "", "readers": "", "sources": []}
    readers = raw.get("readers")
    return {
        "integrity": label.integrity.name,
        "conf": label.conf.name,
        "readers": "anyone" if readers == "*" else ", ".join(str(r) for r in readers or []),
        "sources": [s.describe() for s in sorted(label.sources, key=lambda s: (s.channel, s.item_id))],
    }


def tool_call_view(call_id: str, name: str, args: Any) -> dict[str, Any]:
    tool = display_tool(name)
    return {
        "id": call_id,
        "tool": tool,
        "sentence": trace_sentence(tool, "running", None),
        "args": _pretty(args),
        "status": "running",
        "is_error": False,
        "result": None,
        "rules": [],
        "label": None,
        "approval_id": None,
    }


def _parse_result(content: str) -> dict[str, Any]:
    try:
        parsed = json.loads(content)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def tool_result_view(
    call_id: str, content: str, is_error: bool, meta: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The outcome of one call. ``meta`` (live turns) carries status, rules and the result label."""
    meta = meta or {}
    parsed = _parse_result(content)
    status = str(meta.get("status") or parsed.get("status") or ("error" if is_error else "ok"))
    rules = meta.get("rules") or parsed.get("rules") or []
    shown: Any = parsed.get("result", parsed.get("message", content)) if parsed else content
    text = _pretty(shown)
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + f"\n⟦… {len(text) - MAX_RESULT_CHARS} more characters not shown …⟧"
    approval = meta.get("approval_id") or parsed.get("approval_id")
    return {
        "id": call_id,
        "status": status,
        "is_error": bool(is_error),
        "result": text,
        "rules": [str(r) for r in rules],
        "label": label_view(meta.get("label")),
        "approval_id": str(approval) if approval else None,
    }


def event_view(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A loop ``TurnEvent`` as the browser receives it (already made visible; never markup)."""
    if kind == "text":
        return {"text": reveal_hidden(str(data.get("text", "")))}
    if kind == "tool_call":
        return tool_call_view(str(data.get("id")), str(data.get("name")), data.get("input"))
    if kind == "tool_result":
        view = tool_result_view(
            str(data.get("id")), str(data.get("content", "")), bool(data.get("is_error")), data.get("meta")
        )
        view["tool"] = display_tool(str(data.get("name", "")))
        view["sentence"] = trace_sentence(view["tool"], view["status"], view["approval_id"])
        return view
    if kind == "stopped":
        return {"reason": reveal_hidden(str(data.get("reason", "")))}
    if kind == "done":
        return {"usage": data.get("usage"), "cost": data.get("cost")}
    return {key: reveal_hidden(str(value)) for key, value in data.items()}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def history_view(messages: Sequence[StoredMessage], rules: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    """Stored messages as page items: the owner's turns, console notes, and assistant replies with
    their tool calls (paired with results from the following message, and its stored label)."""
    items: list[dict[str, Any]] = []
    calls: dict[str, dict[str, Any]] = {}
    for m in messages:
        if m.role == "user" and isinstance(m.content, str):
            if m.content.startswith(CONSOLE_NOTE):
                note = _parse_result(m.content.removeprefix(CONSOLE_NOTE))
                items.append({"kind": "note", "text": reveal_hidden(str(note.get("note") or m.content))})
            else:
                items.append({"kind": "owner", "text": reveal_hidden(m.content)})
        elif m.role == "user" and isinstance(m.content, list):
            for block in m.content:
                if not isinstance(block, dict) or block.get("type") != "tool_result":
                    continue
                cid = str(block.get("tool_use_id"))
                found = calls.get(cid)
                if found is None:
                    continue
                raw = block.get("content")
                result = tool_result_view(
                    cid, raw if isinstance(raw, str) else json.dumps(raw), bool(block.get("is_error"))
                )
                result["label"] = label_view(m.label)
                result["rules"] = result["rules"] or rules.get(cid, [])
                found.update(result)
                found["sentence"] = trace_sentence(found["tool"], found["status"], found["approval_id"])
        elif m.role == "assistant":
            tools: list[dict[str, Any]] = []
            blocks = m.content if isinstance(m.content, list) else []
            for block in blocks:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    view = tool_call_view(str(block.get("id")), str(block.get("name")), block.get("input"))
                    view["status"] = "no result"
                    view["sentence"] = trace_sentence(view["tool"], "no result", None)
                    view["rules"] = rules.get(view["id"], [])
                    calls[view["id"]] = view
                    tools.append(view)
            # The raw prose: the template renders it with the ``markdown`` filter (web.markdown).
            items.append({"kind": "assistant", "text": _text_of(m.content), "tools": tools})
    return items


def tool_call_ids(messages: Sequence[StoredMessage]) -> list[str]:
    out: list[str] = []
    for m in messages:
        if m.role == "assistant" and isinstance(m.content, list):
            out += [str(b.get("id")) for b in m.content if isinstance(b, dict) and b.get("type") == "tool_use"]
    return out
