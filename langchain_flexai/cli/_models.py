"""``flexai-vision models``: FlexAI's catalog as a table or JSON, and price lookups for the CLI.

Knows which catalog fields a person choosing a model needs and how to lay them out. The catalog
itself (endpoints, merging, caching) is :mod:`langchain_flexai.catalog`'s.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from langchain_flexai.catalog._client import CatalogWarning, FlexAICatalog, ModelInfo
from langchain_flexai.cli._common import EXIT_OK, Connection

_COLUMNS = ("MODEL", "CATEGORY", "VISION", "CONTEXT", "IN $/MTOK", "OUT $/MTOK", "HEALTH")
_RIGHT_ALIGNED = frozenset({"CONTEXT", "IN $/MTOK", "OUT $/MTOK"})


def catalog_for(connection: Connection) -> FlexAICatalog:
    """A catalog reading from the connection's base URL (with its key, when there is one)."""
    return FlexAICatalog(base_url=connection.base_url, api_key=connection.api_key)


def find_prices(connection: Connection, model: str) -> ModelInfo | None:
    """The catalog record of ``model`` for pricing, or None when unknown or unreadable.

    A cost line is a courtesy: a catalog that cannot be read must not fail a run that worked.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CatalogWarning)
        return catalog_for(connection).find_model(model)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _row(info: ModelInfo) -> tuple[str, ...]:
    return (
        info.id,
        info.category or "-",
        "yes" if info.vision else "no",
        "-" if info.context_window is None else f"{info.context_window:,}",
        _number(info.input_per_mtok),
        _number(info.output_per_mtok),
        info.health or "-",
    )


def format_table(models: Sequence[ModelInfo]) -> str:
    """The models as an aligned text table with a header line."""
    rows = [_COLUMNS, *(_row(info) for info in models)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if name in _RIGHT_ALIGNED else cell.ljust(width)
            for cell, width, name in zip(row, widths, _COLUMNS, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def model_json(info: ModelInfo) -> dict[str, Any]:
    """One model as a JSON object (the fields the table shows, plus capabilities)."""
    return {
        "id": info.id,
        "name": info.name,
        "category": info.category,
        "vision": info.vision,
        "capabilities": sorted(info.capabilities),
        "context_window": info.context_window,
        "max_output": info.max_output,
        "input_per_mtok": info.input_per_mtok,
        "output_per_mtok": info.output_per_mtok,
        "health": info.health,
    }


def run_models(args: argparse.Namespace, connection: Connection) -> int:
    """List the catalog (``--vision``: only models that read images).

    Raises:
        FlexAICatalogError: Neither catalog endpoint could be read.
    """
    with warnings.catch_warnings():
        # One endpoint failing is normal without a key (/v1/models needs one): not worth a line.
        warnings.simplefilter("ignore", CatalogWarning)
        models = catalog_for(connection).list_models("vision" if args.vision else None)
    if args.json:
        sys.stdout.write(json.dumps([model_json(m) for m in models], indent=2) + "\n")
    else:
        sys.stdout.write(format_table(models) + "\n")
    return EXIT_OK
