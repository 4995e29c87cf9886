"""The package face imports lazily: `import langchain_flexai` and `--help` load no heavy library.

Each check runs in a fresh interpreter (this test process has imported everything already) and
reads ``sys.modules`` there: what was imported is a fact, not a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import langchain_flexai

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("openai", "langchain_core", "langchain_openai", "httpx", "httpx2", "pydantic", "PIL")


def _imported_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_package_loads_no_heavy_library() -> None:
    assert _imported_after("import langchain_flexai") == []


def test_help_loads_neither_langchain_nor_the_sdk() -> None:
    code = (
        "from langchain_flexai.cli import main\n"
        "import contextlib, io\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['describe', '--help'])\n"
    )
    assert _imported_after(code) == []


def test_a_name_loads_its_module_on_first_use() -> None:
    assert "langchain_openai" in _imported_after("from langchain_flexai import ChatFlexAI")


def test_every_public_name_resolves_and_dir_lists_it() -> None:
    for name in langchain_flexai.__all__:
        assert getattr(langchain_flexai, name) is not None, name
    assert set(langchain_flexai.__all__) <= set(dir(langchain_flexai))


def test_a_submodule_is_reachable_as_an_attribute() -> None:
    # Eager imports bound submodules on the package; code that relied on it keeps working.
    assert _imported_after("import langchain_flexai\nlangchain_flexai.chat_models.ChatFlexAI")


def test_an_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchName'"):
        _ = langchain_flexai.NoSuchName  # type: ignore[attr-defined]
