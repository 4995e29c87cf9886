"""A local FlexAI emulator: a real HTTP server speaking FlexAI's protocol, for tests.

Install with ``pip install "langchain-flexai[testing]"`` (Starlette and uvicorn). The pytest
fixture ``flexai_emulator`` is registered automatically. Rules of the emulated model and all
fault knobs: docs/emulator.md.

Importing this package never needs the extra: the ``pytest11`` entry point imports
``langchain_flexai.testing.pytest_plugin``, and with it this package, in every pytest run of a
project that installed langchain-flexai, so an ImportError here would stop pytest before any
test ran. The public names are therefore resolved on first use (module ``__getattr__``); using
one without Starlette and uvicorn raises an ImportError naming the extra.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_flexai.testing._catalog_data import (
        DEFAULT_CATALOG,
        DEFAULT_MODEL,
        CatalogModel,
    )
    from langchain_flexai.testing._emulator import DEFAULT_API_KEY, FlexAIEmulator
    from langchain_flexai.testing._faults import Faults, RateLimitState
    from langchain_flexai.testing._images import ImageReport, colour_name
    from langchain_flexai.testing._limits import Limits, RecordedRequest
    from langchain_flexai.testing._schema import SchemaTooLargeError, schema_instance

INSTALL_HINT = 'pip install "langchain-flexai[testing]"'
"""The command that installs what the emulator needs."""
MISSING_EXTRA = f"langchain_flexai.testing needs Starlette and uvicorn: {INSTALL_HINT}"
"""The one-line message for a missing ``testing`` extra."""
_EXTRA_MODULES = ("starlette", "uvicorn")

_EXPORTS = {
    "DEFAULT_API_KEY": "_emulator",
    "DEFAULT_CATALOG": "_catalog_data",
    "DEFAULT_MODEL": "_catalog_data",
    "CatalogModel": "_catalog_data",
    "Faults": "_faults",
    "FlexAIEmulator": "_emulator",
    "ImageReport": "_images",
    "Limits": "_limits",
    "RateLimitState": "_faults",
    "RecordedRequest": "_limits",
    "SchemaTooLargeError": "_schema",
    "colour_name": "_images",
    "schema_instance": "_schema",
}

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CATALOG",
    "DEFAULT_MODEL",
    "CatalogModel",
    "Faults",
    "FlexAIEmulator",
    "ImageReport",
    "Limits",
    "RateLimitState",
    "RecordedRequest",
    "SchemaTooLargeError",
    "colour_name",
    "schema_instance",
]


def extra_installed() -> bool:
    """Whether Starlette and uvicorn can be imported (without importing them)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in _EXTRA_MODULES)
    except (ImportError, ValueError):
        # find_spec raises for a module set to None in sys.modules (a deliberate block).
        return False


def require_extra() -> None:
    """Raise the ImportError naming the extra unless Starlette and uvicorn are importable.

    Raises:
        ImportError: naming ``pip install "langchain-flexai[testing]"``.
    """
    if not extra_installed():
        raise ImportError(MISSING_EXTRA, name="starlette")


if not TYPE_CHECKING:
    # Hidden from type checkers, which read the imports above instead (see the package face).
    def __getattr__(name: str) -> Any:
        module_name = _EXPORTS.get(name)
        if module_name is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        # Every public name asks for the extra, even those whose module would import without it:
        # one rule ("the emulator needs the extra") is easier to rely on than a per-name list.
        require_extra()
        value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
