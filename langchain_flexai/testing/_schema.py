"""Deterministic instances of JSON schemas, for forced tool calls and structured output.

Knows the JSON Schema keywords that tool parameters and ``response_format`` schemas use
(``type``, ``properties``, ``items``, ``prefixItems``, ``enum``, ``const``, ``default``, ``anyOf``
/ ``oneOf`` / ``allOf``, ``$ref`` into ``$defs`` / ``definitions``, numeric and length
bounds, ``format``). The instance depends only on the schema, never on the prompt: the
emulator does not read text. ``pattern`` is not honoured (documented in docs/emulator.md).
"""

from __future__ import annotations

import math
from typing import Any

_MAX_DEPTH = 12
_FORMAT_EXAMPLES = {
    "date": "1970-01-01",
    "date-time": "1970-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}


def schema_instance(schema: Any, *, name: str = "value") -> Any:
    """A value that validates against ``schema``.

    Rules (also written in docs/emulator.md): ``const``, then a non-null ``default``, then
    the first ``enum`` member; ``anyOf`` / ``oneOf`` take the first non-null branch;
    ``allOf`` merges its branches; objects fill every declared property (required or not);
    arrays hold ``minItems`` items (0 when absent); integers and numbers take the smallest
    value allowed by ``minimum`` / ``exclusiveMinimum`` / ``multipleOf`` (0 when unbounded
    below); booleans are ``true``; strings are the property name, padded with ``x`` to
    ``minLength`` and cut to ``maxLength``, or an example for a known ``format``.

    Args:
        schema: A JSON schema (a dict; ``True`` / ``{}`` accept anything).
        name: The property name the value is for (strings use it).

    Returns:
        A JSON-serialisable instance.
    """
    root = schema if isinstance(schema, dict) else {}
    return _instance(schema, name, root, 0)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = root
    for key in ref[2:].split("/"):
        if not isinstance(target, dict) or key not in target:
            return {}
        target = target[key]
    merged = dict(target) if isinstance(target, dict) else {}
    merged.update({k: v for k, v in schema.items() if k != "$ref"})
    return merged


def _is_null_schema(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _instance(schema: Any, name: str, root: dict[str, Any], depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return name
    schema = _resolve(schema, root)
    for key in ("const", "default", "enum"):
        if key in schema:
            literal = _literal(schema, key)
            if literal is not _MISSING:
                return literal
    combined = _combined(schema, root)
    if combined is not None:
        return _instance(combined, name, root, depth + 1)
    return _typed(schema, _pick_type(schema), name, root, depth)


_MISSING = object()


def _literal(schema: dict[str, Any], key: str) -> Any:
    value = schema[key]
    if key == "const":
        return value
    if key == "enum":
        return value[0] if isinstance(value, list) and value else _MISSING
    return _MISSING if value is None else value


def _combined(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any] | None:
    """The schema an ``anyOf`` / ``oneOf`` / ``allOf`` reduces to, or None."""
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            chosen = next((b for b in branches if not _is_null_schema(b)), branches[0])
            return chosen if isinstance(chosen, dict) else {}
    if not isinstance(schema.get("allOf"), list):
        return None
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for branch in schema["allOf"]:
        resolved = _resolve(branch, root) if isinstance(branch, dict) else {}
        for key, value in resolved.items():
            if key == "properties" and isinstance(merged.get("properties"), dict):
                merged["properties"] = {**merged["properties"], **value}
            else:
                merged.setdefault(key, value)
    return merged


def _pick_type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _typed(schema: dict[str, Any], kind: str, name: str, root: dict[str, Any], depth: int) -> Any:
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return {}
        return {key: _instance(sub, key, root, depth + 1) for key, sub in properties.items()}
    if kind == "array":
        return _array(schema, name, root, depth)
    if kind in {"integer", "number"}:
        return _number(schema, integer=kind == "integer")
    if kind in _SCALARS:
        return _SCALARS[kind]
    return _string(schema, name)


_SCALARS: dict[str, Any] = {"boolean": True, "null": None}


def _array(schema: dict[str, Any], name: str, root: dict[str, Any], depth: int) -> list[Any]:
    count = int(schema.get("minItems", 0))
    items = schema.get("items", {})
    prefix = schema.get("prefixItems")
    values = (
        [_instance(s, name, root, depth + 1) for s in prefix] if isinstance(prefix, list) else []
    )
    values.extend(_instance(items, name, root, depth + 1) for _ in range(len(values), count))
    return values


def _number(schema: dict[str, Any], *, integer: bool) -> int | float:
    low: float = 0.0
    if isinstance(schema.get("minimum"), (int, float)):
        low = float(schema["minimum"])
    exclusive = schema.get("exclusiveMinimum")
    if isinstance(exclusive, (int, float)) and not isinstance(exclusive, bool):
        low = max(low, float(exclusive) + (1 if integer else 1e-6))
    high = schema.get("maximum")
    if isinstance(high, (int, float)) and "minimum" not in schema and high < low:
        low = float(high)
    step = schema.get("multipleOf")
    if isinstance(step, (int, float)) and step > 0:
        low = math.ceil(low / step) * step
    return math.ceil(low) if integer else low


def _string(schema: dict[str, Any], name: str) -> str:
    fmt = schema.get("format")
    text = _FORMAT_EXAMPLES.get(fmt, name) if isinstance(fmt, str) else name
    minimum = schema.get("minLength")
    if isinstance(minimum, int) and len(text) < minimum:
        text += "x" * (minimum - len(text))
    maximum = schema.get("maxLength")
    if isinstance(maximum, int):
        text = text[:maximum]
    return text
