"""Check a JSON Schema file and validate answers against it, for ``--schema schema.json``.

Knows the JSON Schema keywords structured output uses (the subset OpenAI-compatible servers
accept): ``type`` (one or a list; ``integer`` excludes ``true``/``false``), ``properties``,
``required``, ``additionalProperties``, ``items``, ``enum``, ``const``, ``anyOf``, ``oneOf``,
``allOf``, ``$ref`` into ``$defs`` / ``definitions``, ``minimum`` / ``maximum`` and their
exclusive forms, ``minLength`` / ``maxLength``, ``minItems`` / ``maxItems`` and ``pattern``.
Other keywords (``format``, ``uniqueItems``, ...) are accepted in a schema and not checked.
Knows nothing about models or files (``_structured`` reads the file and asks the model).

Pydantic models and TypedDicts are validated by pydantic itself; this module is for the schema
a user wrote by hand, with no ``jsonschema`` dependency for one command-line option.
"""

from __future__ import annotations

import math
import re
from typing import Any

# The public name is DescribeSchemaError (errors.py); short here, where every check raises it.
from langchain_flexai.errors import DescribeSchemaError as SchemaError

__all__ = ["check_schema", "validate"]

_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
_MAX_DEPTH = 64
_BOUNDS = {
    "minimum": "at least",
    "maximum": "at most",
    "exclusiveMinimum": "more than",
    "exclusiveMaximum": "less than",
}


def _type_names(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if kind is None:
        return []
    return [kind] if isinstance(kind, str) else list(kind)


def check_schema(schema: object) -> dict[str, Any]:
    """``schema`` itself when it is an object schema with ``properties``, well-formed.

    Raises:
        SchemaError: it is not a JSON object, its top level is not ``"type": "object"`` with
            ``properties``, or a keyword has the wrong kind of value (names the place).
    """
    if not isinstance(schema, dict):
        raise SchemaError(f"the schema must be a JSON object, got {type(schema).__name__}")
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise SchemaError(
            'the top level must be {"type": "object", "properties": {...}}: one field per '
            "property (each becomes a column)"
        )
    if not schema["properties"]:
        raise SchemaError("the schema's properties are empty: name at least one field")
    _check(schema, schema, "$", 0)
    return schema


def _check(schema: object, root: dict[str, Any], where: str, depth: int) -> None:  # noqa: C901, PLR0912
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise SchemaError(f"{where}: a schema must be an object, got {type(schema).__name__}")
    if depth > _MAX_DEPTH:
        raise SchemaError(f"{where}: nested more than {_MAX_DEPTH} levels deep")
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else kinds
        if not isinstance(names, list) or not all(n in _TYPES for n in names):
            raise SchemaError(
                f"{where}: unknown type {kinds!r} (one of {', '.join(sorted(_TYPES))})"
            )
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise SchemaError(f"{where}: properties must be an object")
    for name, sub in properties.items():
        _check(sub, root, f"{where}.{name}", depth + 1)
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(n, str) for n in required):
        raise SchemaError(f"{where}: required must be a list of property names")
    for key in ("items", "additionalProperties"):
        if key in schema:
            _check(schema[key], root, f"{where}.{key}", depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            branches = schema[key]
            if not isinstance(branches, list) or not branches:
                raise SchemaError(f"{where}: {key} must be a non-empty list of schemas")
            for number, sub in enumerate(branches):
                _check(sub, root, f"{where}.{key}[{number}]", depth + 1)
    if "enum" in schema and not isinstance(schema["enum"], list):
        raise SchemaError(f"{where}: enum must be a list")
    if "pattern" in schema:
        try:
            re.compile(schema["pattern"])
        except (re.error, TypeError) as error:
            raise SchemaError(f"{where}: pattern is not a regular expression ({error})") from None
    if "$ref" in schema:
        _target(schema["$ref"], root, where)
    for key in ("$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            _check(sub, root, f"{where}.{key}.{name}", depth + 1)


def _target(ref: object, root: dict[str, Any], where: str) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise SchemaError(f"{where}: only local references (#/$defs/...) are followed: {ref!r}")
    target: Any = root
    for part in filter(None, ref[1:].split("/")):
        if not isinstance(target, dict) or part not in target:
            raise SchemaError(f"{where}: $ref {ref!r} points to nothing")
        target = target[part]
    return target


def _json_type(value: object) -> str:  # noqa: PLR0911 - one return per JSON type
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _type_ok(value: object, names: list[str]) -> bool:
    actual = _json_type(value)
    if actual in names:
        return True
    if "number" in names and actual == "integer":
        return True
    # 3.0 is an integer in JSON Schema.
    return (
        "integer" in names
        and isinstance(value, float)
        and math.isfinite(value)
        and value.is_integer()
    )


def validate(value: object, schema: dict[str, Any]) -> None:
    """Raise :class:`SchemaError` naming the first place ``value`` breaks ``schema``."""
    _Validator(schema).check(value, schema, "$", 0)


class _Validator:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def check(self, value: object, schema: object, where: str, depth: int) -> None:  # noqa: C901, PLR0912
        if schema is True or schema == {}:
            return
        if schema is False:
            raise SchemaError(f"{where}: no value is allowed here")
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return
        if "$ref" in schema:
            self.check(value, _target(schema["$ref"], self.root, where), where, depth + 1)
        names = _type_names(schema)
        if names and not _type_ok(value, names):
            raise SchemaError(f"{where}: expected {' or '.join(names)}, got {_json_type(value)}")
        if "const" in schema and value != schema["const"]:
            raise SchemaError(f"{where}: expected {schema['const']!r}, got {value!r}")
        if "enum" in schema and value not in schema["enum"]:
            raise SchemaError(f"{where}: {value!r} is not one of {schema['enum']!r}")
        for sub in schema.get("allOf", []):
            self.check(value, sub, where, depth + 1)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                self._branches(value, schema[key], key, where, depth)
        if isinstance(value, dict):
            self._object(value, schema, where, depth)
        elif isinstance(value, list):
            self._array(value, schema, where, depth)
        elif isinstance(value, str):
            self._string(value, schema, where)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self._number(value, schema, where)

    def _branches(
        self, value: object, branches: list[Any], key: str, where: str, depth: int
    ) -> None:
        passed = 0
        for sub in branches:
            try:
                self.check(value, sub, where, depth + 1)
            except SchemaError:
                continue
            passed += 1
        if passed == 0 or (key == "oneOf" and passed > 1):
            need = "exactly one" if key == "oneOf" else "at least one"
            raise SchemaError(f"{where}: matches {passed} of the {key} branches, {need} needed")

    def _object(
        self, value: dict[str, Any], schema: dict[str, Any], where: str, depth: int
    ) -> None:
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise SchemaError(f"{where}: the required property {name!r} is missing")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                self.check(item, properties[name], f"{where}.{name}", depth + 1)
            elif extra is False:
                raise SchemaError(f"{where}: the property {name!r} is not in the schema")
            else:
                self.check(item, extra, f"{where}.{name}", depth + 1)

    def _array(self, value: list[Any], schema: dict[str, Any], where: str, depth: int) -> None:
        if len(value) < schema.get("minItems", 0):
            raise SchemaError(f"{where}: {len(value)} items, at least {schema['minItems']} needed")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise SchemaError(f"{where}: {len(value)} items, at most {schema['maxItems']} allowed")
        if "items" in schema:
            for number, item in enumerate(value):
                self.check(item, schema["items"], f"{where}[{number}]", depth + 1)

    @staticmethod
    def _string(value: str, schema: dict[str, Any], where: str) -> None:
        if len(value) < schema.get("minLength", 0):
            raise SchemaError(f"{where}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise SchemaError(f"{where}: longer than {schema['maxLength']} characters")
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and re.search(pattern, value) is None:
            raise SchemaError(f"{where}: {value!r} does not match the pattern {pattern!r}")

    @staticmethod
    def _number(value: float, schema: dict[str, Any], where: str) -> None:
        for key, words in _BOUNDS.items():
            limit = schema.get(key)
            if not isinstance(limit, (int, float)) or isinstance(limit, bool):
                continue
            ok = {
                "minimum": value >= limit,
                "maximum": value <= limit,
                "exclusiveMinimum": value > limit,
                "exclusiveMaximum": value < limit,
            }[key]
            if not ok:
                raise SchemaError(f"{where}: {value!r} is not {words} {limit!r}")
