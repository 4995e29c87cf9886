"""Deterministic instances of JSON schemas, for forced tool calls and structured output.

Knows the JSON Schema keywords that tool parameters and ``response_format`` schemas use
(``type``, ``properties``, ``items``, ``prefixItems``, ``enum``, ``const``, ``default``, ``anyOf``
/ ``oneOf`` / ``allOf``, ``$ref`` into ``$defs`` / ``definitions``, numeric and length
bounds, ``format``). The instance depends only on the schema, never on the prompt: the
emulator does not read text. ``pattern`` is not honoured (documented in docs/emulator.md).

The schema arrives in a request, so generating its instance is bounded: at most
``MAX_SCHEMA_VALUES`` values, ``MAX_SCHEMA_CHARS`` characters of strings and literals and
``MAX_SCHEMA_STEPS`` steps of work (each value, and each key copied while resolving ``$ref`` or
merging ``allOf``). A schema demanding more (``minItems: 2000000``, ``minLength: 10**9``, nested
arrays multiplying) raises ``SchemaTooLargeError`` as soon as the demand is known, before the
work is done; the server answers 400. Clamping would answer an instance that breaks the schema.
"""

from __future__ import annotations

import json
import math
from typing import Any

_MAX_DEPTH = 12
MAX_SCHEMA_VALUES = 100_000
"""Values (objects, arrays, strings, numbers...) one generated instance may hold."""
MAX_SCHEMA_CHARS = 1_000_000
"""Characters of strings, plus the JSON length of ``const`` / ``default`` / ``enum`` literals."""
MAX_SCHEMA_STEPS = 1_000_000
"""Work per instance: one per value, plus every key copied resolving ``$ref`` / ``allOf``."""
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


class SchemaTooLargeError(ValueError):
    """A schema demands a larger instance than the emulator generates (see the caps above)."""


class _Budget:
    """What is left of the caps while one instance is generated."""

    def __init__(self) -> None:
        self.values = MAX_SCHEMA_VALUES
        self.chars = MAX_SCHEMA_CHARS
        self.steps = MAX_SCHEMA_STEPS
        # A literal repeated by an array is measured once, keyed by the literal's id: it
        # belongs to the schema, which outlives the generation, so no id is reused meanwhile.
        self.literal_sizes: dict[int, int] = {}

    def check_values(self, count: int, what: str) -> None:
        if count > min(self.values, self.steps):
            raise SchemaTooLargeError(
                f"{what} would take the instance past {MAX_SCHEMA_VALUES} values, the most "
                "the emulator generates"
            )

    def take_values(self, count: int, what: str) -> None:
        self.check_values(count, what)
        self.values -= count
        self.steps -= count

    def check_chars(self, count: int, what: str) -> None:
        if count > self.chars:
            raise SchemaTooLargeError(
                f"{what} would take the instance past {MAX_SCHEMA_CHARS} characters of "
                "strings, the most the emulator generates"
            )

    def take_chars(self, count: int, what: str) -> None:
        self.check_chars(count, what)
        self.chars -= count

    def take_steps(self, count: int) -> None:
        if count > self.steps:
            raise SchemaTooLargeError(
                f"resolving $ref / allOf would take more than {MAX_SCHEMA_STEPS} steps, the "
                "most the emulator spends on one instance"
            )
        self.steps -= count

    def literal(self, value: Any) -> Any:
        size = self.literal_sizes.get(id(value))
        if size is None:
            size = len(json.dumps(value, ensure_ascii=False, default=str))
            self.literal_sizes[id(value)] = size
        self.take_chars(size, "a const / default / enum literal")
        return value


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

    Raises:
        SchemaTooLargeError: the schema demands more than the caps above.
    """
    root = schema if isinstance(schema, dict) else {}
    return _Generator(root, _Budget()).instance(schema, name, 0)


def _resolve(schema: dict[str, Any], root: dict[str, Any], budget: _Budget) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = root
    for key in ref[2:].split("/"):
        if not isinstance(target, dict) or key not in target:
            return {}
        target = target[key]
    budget.take_steps(1 + len(schema) + (len(target) if isinstance(target, dict) else 0))
    merged = dict(target) if isinstance(target, dict) else {}
    merged.update({k: v for k, v in schema.items() if k != "$ref"})
    return merged


class _Generator:
    """One instance's generation: the schema's root (for ``$ref``) and the budget left."""

    def __init__(self, root: dict[str, Any], budget: _Budget) -> None:
        self.root = root
        self.budget = budget

    def instance(self, schema: Any, name: str, depth: int) -> Any:
        self.budget.take_values(1, "the schema")
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return self._text(name)
        schema = _resolve(schema, self.root, self.budget)
        for key in ("const", "default", "enum"):
            if key in schema:
                literal = _literal(schema, key)
                if literal is not _MISSING:
                    return self.budget.literal(literal)
        combined = self._combined(schema)
        if combined is not None:
            return self.instance(combined, name, depth + 1)
        return self._typed(schema, _pick_type(schema), name, depth)

    def _combined(self, schema: dict[str, Any]) -> dict[str, Any] | None:
        """The schema an ``anyOf`` / ``oneOf`` / ``allOf`` reduces to, or None."""
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                chosen = next((b for b in branches if not _is_null_schema(b)), branches[0])
                return chosen if isinstance(chosen, dict) else {}
        if not isinstance(schema.get("allOf"), list):
            return None
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        self.budget.take_steps(len(schema))
        for branch in schema["allOf"]:
            resolved = _resolve(branch, self.root, self.budget) if isinstance(branch, dict) else {}
            self.budget.take_steps(1 + len(resolved))
            for key, value in resolved.items():
                if key == "properties" and isinstance(merged.get("properties"), dict):
                    properties = merged["properties"]
                    self.budget.take_steps(len(properties) + len(value))
                    merged["properties"] = {**properties, **value}
                else:
                    merged.setdefault(key, value)
        return merged

    def _typed(self, schema: dict[str, Any], kind: str, name: str, depth: int) -> Any:
        if kind == "object":
            properties = schema.get("properties")
            if not isinstance(properties, dict):
                return {}
            return {key: self.instance(sub, key, depth + 1) for key, sub in properties.items()}
        if kind == "array":
            return self._array(schema, name, depth)
        if kind in {"integer", "number"}:
            return _number(schema, integer=kind == "integer")
        if kind in _SCALARS:
            return _SCALARS[kind]
        return self._string(schema, name)

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        count = _as_count(schema.get("minItems", 0))
        items = schema.get("items", {})
        prefix = schema.get("prefixItems")
        values = (
            [self.instance(s, name, depth + 1) for s in prefix] if isinstance(prefix, list) else []
        )
        # Refuse a large minItems before generating anything (each item takes one value).
        self.budget.check_values(count - len(values), f"minItems {count}")
        values.extend(self.instance(items, name, depth + 1) for _ in range(len(values), count))
        return values

    def _string(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format")
        text = _FORMAT_EXAMPLES.get(fmt, name) if isinstance(fmt, str) else name
        minimum = schema.get("minLength")
        maximum = schema.get("maxLength")
        # Padding past a non-negative maxLength would be cut off again: never build it.
        target = minimum if isinstance(minimum, int) else 0
        if isinstance(maximum, int) and maximum >= 0:
            target = min(target, maximum)
        if len(text) < target:
            self.budget.check_chars(target, f"minLength {minimum}")
            text += "x" * (target - len(text))
        if isinstance(maximum, int):
            text = text[:maximum]
        return self._text(text)

    def _text(self, text: str) -> str:
        self.budget.take_chars(len(text), "the schema's strings")
        return text


def _is_null_schema(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _as_count(value: Any) -> int:
    # minItems arrives from a request: anything but a non-negative integer counts as 0.
    if isinstance(value, bool):
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else 0


_MISSING = object()


def _literal(schema: dict[str, Any], key: str) -> Any:
    value = schema[key]
    if key == "const":
        return value
    if key == "enum":
        return value[0] if isinstance(value, list) and value else _MISSING
    return _MISSING if value is None else value


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


_SCALARS: dict[str, Any] = {"boolean": True, "null": None}


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
