"""The columns of a describe record in a table (CSV, Parquet) and how each value is flattened.

Knows the stable columns (:data:`STABLE_COLUMNS`: their order, their Parquet types, their CSV
text), the structured-data columns that follow them (one per top-level schema property), and how a
record becomes a row. Knows nothing about files (``_writers`` opens, writes and replaces them).

Flattening, the same for every tabular format: ``usage`` becomes ``input_tokens``,
``output_tokens`` and ``total_tokens``. In CSV, ``transformations`` is one cell with the steps
joined by ``;`` (``transposed;resized``), a missing value is an empty cell, a boolean is
``true``/``false``, a cost is written in plain decimal notation (``0.000016``, never ``1.6e-05``),
and a structured value that is not a string (a number, a list, an object) is its JSON text. In
Parquet, every column is typed: integers ``int64``, the cost ``double``, ``cached`` ``bool``,
``transformations`` ``list<string>``, structured columns by the property's JSON Schema ``type``
(``string``, ``integer``, ``number``, ``boolean``; anything else, or no type, is JSON text).
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from langchain_flexai.describe._records import DescribeRecord

logger = logging.getLogger(__name__)

STABLE_COLUMNS: dict[str, str] = {
    "source": "string",
    "page": "int64",
    "status": "string",
    "description": "string",
    "error": "string",
    "reason": "string",
    "sha256": "string",
    "width": "int64",
    "height": "int64",
    "mime_type": "string",
    "transformations": "list<string>",
    "model": "string",
    "prompt_sha256": "string",
    "response_id": "string",
    "finish_reason": "string",
    "input_tokens": "int64",
    "output_tokens": "int64",
    "total_tokens": "int64",
    "cost_usd": "double",
    "cached": "bool",
}
"""Every stable column of a table, in order, with its Parquet type. New columns are only ever
added at the end (before the structured-data columns), never renamed or reordered."""

_USAGE_COLUMNS = ("input_tokens", "output_tokens", "total_tokens")
_JSON_TYPES = {"string": "string", "integer": "int64", "number": "double", "boolean": "bool"}
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "int64": (int,),
    "double": (int, float),
    "bool": (bool,),
}


@dataclass(frozen=True)
class DataColumn:
    """A structured-data column: its name in the table, the schema property, its type."""

    name: str
    property: str
    type: str
    """``string``, ``int64``, ``double``, ``bool``, or ``json`` (JSON text)."""


def _property_type(schema: object) -> str:
    if not isinstance(schema, Mapping):
        return "json"
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]: nullable, every column is
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    return _JSON_TYPES.get(kind, "json") if isinstance(kind, str) else "json"


@dataclass(frozen=True)
class Table:
    """The columns of one output file: stable columns, then structured-data columns."""

    stable: tuple[str, ...]
    data: tuple[DataColumn, ...]

    @classmethod
    def of(cls, columns: Sequence[str], properties: Mapping[str, Any] | Iterable[str]) -> Table:
        """The table for ``columns`` and a schema's top-level ``properties``.

        A property named like a stable column gets the column name ``data.<name>``.
        """
        if isinstance(properties, Mapping):
            typed = [(str(name), _property_type(sub)) for name, sub in properties.items()]
        else:
            typed = [(str(name), "json") for name in properties]
        data = tuple(
            DataColumn(f"data.{name}" if name in STABLE_COLUMNS else name, name, kind)
            for name, kind in typed
        )
        return cls(tuple(columns), data)

    @property
    def names(self) -> list[str]:
        """Every column name, in order."""
        return [*self.stable, *(column.name for column in self.data)]


def _stable_values(record: DescribeRecord) -> dict[str, Any]:
    shown = record.to_json_dict()  # escaped, UTF-8-encodable texts
    usage = shown["usage"] or {}
    values = {name: shown.get(name) for name in STABLE_COLUMNS}
    for name in _USAGE_COLUMNS:
        values[name] = usage.get(name)
    values["transformations"] = shown["transformations"]
    return values


def _csv_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")  # exact, never in exponent notation
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def csv_row(table: Table, record: DescribeRecord) -> list[str]:
    """The record's cells for ``table``, as CSV text (see the module docstring)."""
    values = _stable_values(record)
    cells = [
        ";".join(values[name]) if name == "transformations" else _csv_text(values[name])
        for name in table.stable
    ]
    data = record.to_json_dict()["data"] or {}
    cells.extend(_csv_text(data.get(column.property)) for column in table.data)
    return cells


def parquet_module() -> Any:
    """``pyarrow.parquet``.

    Raises:
        ImportError: pyarrow is not installed; the message names the extra.
    """
    try:
        importlib.import_module("pyarrow")
        return importlib.import_module("pyarrow.parquet")
    except ImportError as exc:
        raise ImportError(
            'writing .parquet needs pyarrow: pip install "langchain-flexai[parquet]"'
        ) from exc


def _arrow_type(pa: Any, kind: str) -> Any:
    if kind == "list<string>":
        return pa.list_(pa.string())
    if kind == "json":
        return pa.string()
    return {"string": pa.string, "int64": pa.int64, "double": pa.float64, "bool": pa.bool_}[kind]()


def parquet_schema(table: Table) -> Any:
    """The ``pyarrow.Schema`` of ``table`` (every column nullable)."""
    pa = importlib.import_module("pyarrow")
    fields = [pa.field(name, _arrow_type(pa, STABLE_COLUMNS[name])) for name in table.stable]
    fields.extend(pa.field(c.name, _arrow_type(pa, c.type)) for c in table.data)
    return pa.schema(fields)


def _typed(column: DataColumn, value: object, source: object) -> object:
    if value is None:
        return None
    if column.type == "json":
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    allowed = _PYTHON_TYPES[column.type]
    is_bool = isinstance(value, bool)
    if isinstance(value, allowed) and (is_bool == (column.type == "bool")):
        return float(value) if column.type == "double" else value  # type: ignore[arg-type]
    # Validated data matches its schema; anything else is dropped loudly, not written wrong.
    logger.warning(
        "%s: %s is %r, not of the schema's type %s; written as null",
        source,
        column.property,
        value,
        column.type,
    )
    return None


def parquet_table(table: Table, schema: Any, records: Sequence[DescribeRecord]) -> Any:
    """A ``pyarrow.Table`` of ``records`` with ``schema`` (see :func:`parquet_schema`)."""
    pa = importlib.import_module("pyarrow")
    columns: dict[str, list[object]] = {name: [] for name in table.names}
    for record in records:
        values = _stable_values(record)
        for name in table.stable:
            columns[name].append(values[name])
        data = record.to_json_dict()["data"] or {}
        for column in table.data:
            columns[column.name].append(_typed(column, data.get(column.property), record.source))
    return pa.Table.from_pydict(columns, schema=schema)
