"""A small, strict JSON-Schema validator for tool arguments (the subset MCP servers emit).

Fail-closed on two counts:

* **Ghost arguments.** At the top level every argument must be a declared property, whatever
  ``additionalProperties`` says; nested objects that declare ``properties`` reject unknown keys
  unless ``additionalProperties`` is given explicitly.
* **Unsupported keywords.** A schema using a keyword this validator does not implement is an
  error, never silently ignored.

Supported: ``type`` (string or list), ``properties``, ``required``, ``additionalProperties``,
``items``, ``prefixItems``, ``enum``, ``const``, ``anyOf``, ``oneOf``, ``allOf``, ``$ref`` (local
``#/$defs/…`` and ``#/definitions/…``), ``minimum``, ``maximum``, ``exclusiveMinimum``,
``exclusiveMaximum``, ``multipleOf``, ``minLength``, ``maxLength``, ``pattern``, ``minItems``,
``maxItems``, ``uniqueItems``, ``minProperties``, ``maxProperties``; annotations (``title``,
``description``, ``default``, ``examples``, ``format``, ``$schema``, ``$id``, ``$defs``,
``definitions``, ``deprecated``, ``readOnly``, ``writeOnly``, ``$comment``) are accepted and ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["validate_args"]

_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "format",
        "$schema",
        "$id",
        "$defs",
        "definitions",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
    }
)
_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "prefixItems",
        "enum",
        "const",
        "anyOf",
        "oneOf",
        "allOf",
        "$ref",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
    }
)
_MAX_DEPTH = 64


def _is_type(value: Any, t: str) -> bool:
    if t == "null":
        return value is None
    if t == "boolean":
        return isinstance(value, bool)
    if t == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "string":
        return isinstance(value, str)
    if t == "array":
        return isinstance(value, (list, tuple))
    if t == "object":
        return isinstance(value, Mapping)
    return False


def _canon(v: Any) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


class _Validator:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.errors: list[str] = []

    def _resolve(self, ref: str, path: str) -> Mapping[str, Any] | None:
        for prefix in ("#/$defs/", "#/definitions/"):
            if ref.startswith(prefix):
                defs = self.root.get(prefix[2:-1])
                target = defs.get(ref[len(prefix) :]) if isinstance(defs, Mapping) else None
                if isinstance(target, Mapping):
                    return target
        self.errors.append(f"{path}: unresolvable $ref {ref!r}")
        return None

    def check(self, value: Any, schema: Any, path: str, depth: int, *, top: bool = False) -> bool:
        """Validate; return True when valid. Errors are collected in ``self.errors``."""
        if depth > _MAX_DEPTH:
            self.errors.append(f"{path}: schema nesting too deep")
            return False
        if schema is True or schema == {}:
            return True
        if schema is False:
            self.errors.append(f"{path}: no value allowed")
            return False
        if not isinstance(schema, Mapping):
            self.errors.append(f"{path}: schema is not an object")
            return False
        unknown = set(schema) - _KEYWORDS - _ANNOTATIONS
        if unknown:
            self.errors.append(f"{path}: unsupported schema keyword(s) {sorted(unknown)}")
            return False
        before = len(self.errors)
        self._check(value, schema, path, depth, top)
        return len(self.errors) == before

    def _sub(self, value: Any, schema: Any, path: str, depth: int) -> bool:
        """Validate in isolation (for anyOf/oneOf), without keeping the branch's errors."""
        saved = self.errors
        self.errors = []
        ok = self.check(value, schema, path, depth + 1)
        self.errors = saved
        return ok

    def _check(self, value: Any, s: Mapping[str, Any], path: str, depth: int, top: bool) -> None:
        if "$ref" in s:
            target = self._resolve(str(s["$ref"]), path)
            if target is None or not self.check(value, target, path, depth + 1):
                return
        t = s.get("type")
        if t is not None:
            types = [t] if isinstance(t, str) else list(t)
            if not any(_is_type(value, str(x)) for x in types):
                self.errors.append(f"{path}: expected {'/'.join(map(str, types))}")
                return
        if "enum" in s and _canon(value) not in {_canon(e) for e in s["enum"]}:
            self.errors.append(f"{path}: not one of the allowed values")
        if "const" in s and _canon(value) != _canon(s["const"]):
            self.errors.append(f"{path}: must equal the constant")
        for sub in s.get("allOf", []):
            self.check(value, sub, path, depth + 1)
        if "anyOf" in s and not any(self._sub(value, sub, path, depth) for sub in s["anyOf"]):
            self.errors.append(f"{path}: matches none of anyOf")
        if "oneOf" in s and sum(1 for sub in s["oneOf"] if self._sub(value, sub, path, depth)) != 1:
            self.errors.append(f"{path}: must match exactly one of oneOf")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self._number(value, s, path)
        if isinstance(value, str):
            self._string(value, s, path)
        if isinstance(value, (list, tuple)):
            self._array(list(value), s, path, depth)
        if isinstance(value, Mapping):
            self._object(value, s, path, depth, top)

    def _number(self, v: float, s: Mapping[str, Any], path: str) -> None:
        if "minimum" in s and v < s["minimum"]:
            self.errors.append(f"{path}: below minimum")
        if "maximum" in s and v > s["maximum"]:
            self.errors.append(f"{path}: above maximum")
        if "exclusiveMinimum" in s and v <= s["exclusiveMinimum"]:
            self.errors.append(f"{path}: not above exclusiveMinimum")
        if "exclusiveMaximum" in s and v >= s["exclusiveMaximum"]:
            self.errors.append(f"{path}: not below exclusiveMaximum")
        if "multipleOf" in s and (v / s["multipleOf"]) % 1 != 0:
            self.errors.append(f"{path}: not a multiple of {s['multipleOf']}")

    def _string(self, v: str, s: Mapping[str, Any], path: str) -> None:
        if "minLength" in s and len(v) < s["minLength"]:
            self.errors.append(f"{path}: shorter than minLength")
        if "maxLength" in s and len(v) > s["maxLength"]:
            self.errors.append(f"{path}: longer than maxLength")
        if "pattern" in s and re.search(str(s["pattern"]), v) is None:
            self.errors.append(f"{path}: does not match pattern")

    def _array(self, v: list[Any], s: Mapping[str, Any], path: str, depth: int) -> None:
        if "minItems" in s and len(v) < s["minItems"]:
            self.errors.append(f"{path}: fewer than minItems")
        if "maxItems" in s and len(v) > s["maxItems"]:
            self.errors.append(f"{path}: more than maxItems")
        if s.get("uniqueItems") and len({_canon(x) for x in v}) != len(v):
            self.errors.append(f"{path}: items not unique")
        prefix = list(s.get("prefixItems", []))
        for i, item in enumerate(v):
            if i < len(prefix):
                self.check(item, prefix[i], f"{path}[{i}]", depth + 1)
            elif "items" in s:
                self.check(item, s["items"], f"{path}[{i}]", depth + 1)

    def _object(self, v: Mapping[str, Any], s: Mapping[str, Any], path: str, depth: int, top: bool) -> None:
        props: Mapping[str, Any] = s.get("properties", {})
        for key in s.get("required", []):
            if key not in v:
                self.errors.append(f"{path}.{key}: required")
        if "minProperties" in s and len(v) < s["minProperties"]:
            self.errors.append(f"{path}: fewer than minProperties")
        if "maxProperties" in s and len(v) > s["maxProperties"]:
            self.errors.append(f"{path}: more than maxProperties")
        extra_schema = s.get("additionalProperties")
        for key, item in v.items():
            if key in props:
                self.check(item, props[key], f"{path}.{key}", depth + 1)
            elif top or (extra_schema is None and "properties" in s) or extra_schema is False:
                self.errors.append(f"{path}.{key}: unexpected argument")
            elif extra_schema is not None:
                self.check(item, extra_schema, f"{path}.{key}", depth + 1)


def validate_args(args: Any, schema: Mapping[str, Any]) -> list[str]:
    """Errors for ``args`` against a tool's input schema; empty when valid.

    Arguments must be an object; unknown top-level keys are always errors (ghost arguments).
    """
    if not isinstance(args, Mapping):
        return ["$: arguments must be an object"]
    v = _Validator(schema)
    v.check(args, schema, "$", 0, top=True)
    return v.errors
