"""A local FlexAI emulator: a real HTTP server speaking FlexAI's protocol, for tests.

Install with ``pip install "langchain-flexai[testing]"`` (Starlette and uvicorn). The pytest
fixture ``flexai_emulator`` is registered automatically. Rules of the emulated model and all
fault knobs: docs/emulator.md.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised with the extra missing
    raise ImportError(
        "langchain_flexai.testing needs Starlette and uvicorn: "
        'pip install "langchain-flexai[testing]"'
    ) from exc

from langchain_flexai.testing._catalog_data import DEFAULT_CATALOG, DEFAULT_MODEL, CatalogModel
from langchain_flexai.testing._emulator import DEFAULT_API_KEY, FlexAIEmulator
from langchain_flexai.testing._faults import Faults, RateLimitState
from langchain_flexai.testing._images import ImageReport, colour_name
from langchain_flexai.testing._schema import schema_instance
from langchain_flexai.testing._server import RecordedRequest

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CATALOG",
    "DEFAULT_MODEL",
    "CatalogModel",
    "Faults",
    "FlexAIEmulator",
    "ImageReport",
    "RateLimitState",
    "RecordedRequest",
    "colour_name",
    "schema_instance",
]
