"""The `flexai-vision` command: the public face (`main`, `build_parser`).

The parser and dispatch (`_main`), what subcommands share (`_common`), `describe` (`_describe`)
and `models` (`_models`).
"""

from __future__ import annotations

from langchain_flexai.cli._main import (
    build_parser,
    main,
)

__all__ = [
    "build_parser",
    "main",
]
