"""The environment's names and defaults: one owner (``_env``), and every reader agrees.

What the chat model, the catalog, the CLI and the describe cache key read when the caller gives
no key or base URL; and a scan of the package's code so that no module names an environment
variable or FlexAI's URL itself again.
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

import langchain_flexai
from langchain_flexai import _env, catalog
from langchain_flexai.catalog._client import FlexAICatalog, is_flexai_url, resolve_base_url
from langchain_flexai.chat_models import DEFAULT_API_BASE, ChatFlexAI
from langchain_flexai.cli._main import _connection
from langchain_flexai.describe._key import normalise_base_url

PACKAGE = Path(langchain_flexai.__file__).parent
_FLEXAI_URL = re.compile(r"https?://[\w.-]*flex\.ai(?:[/:]\S*)?")
_NAMES = {_env.API_KEY_ENV, _env.API_BASE_ENV}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv(_env.API_KEY_ENV, raising=False)
    monkeypatch.delenv(_env.API_BASE_ENV, raising=False)
    return monkeypatch


def test_names_and_defaults() -> None:
    assert (_env.API_KEY_ENV, _env.API_BASE_ENV) == ("FLEXAI_API_KEY", "FLEXAI_API_BASE")
    assert _env.DEFAULT_BASE_URL == "https://tokens.flex.ai/v1"
    assert _env.ALIAS_BASE_URL == "https://api.flex.ai/v1"
    assert frozenset({"tokens.flex.ai", "api.flex.ai"}) == _env.FLEXAI_HOSTS
    # The 0.2.0 names are the same objects.
    assert catalog.DEFAULT_BASE_URL is _env.DEFAULT_BASE_URL
    assert DEFAULT_API_BASE is _env.DEFAULT_BASE_URL


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), ("k-1", "k-1")])
def test_api_key_from_env(
    clean_env: pytest.MonkeyPatch, value: str | None, expected: str | None
) -> None:
    if value is not None:
        clean_env.setenv(_env.API_KEY_ENV, value)
    assert _env.api_key_from_env() == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, _env.DEFAULT_BASE_URL),
        ("", _env.DEFAULT_BASE_URL),
        ("http://h:1/v1", "http://h:1/v1"),
    ],
)
def test_base_url_from_env(clean_env: pytest.MonkeyPatch, value: str | None, expected: str) -> None:
    if value is not None:
        clean_env.setenv(_env.API_BASE_ENV, value)
    assert _env.base_url_from_env() == expected


def test_every_reader_takes_the_same_variables(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv(_env.API_KEY_ENV, "key-from-env")
    clean_env.setenv(_env.API_BASE_ENV, "http://127.0.0.1:9/v1")
    model = ChatFlexAI()
    assert model.openai_api_base == "http://127.0.0.1:9/v1"
    assert model.openai_api_key is not None
    assert not callable(model.openai_api_key)
    assert model.openai_api_key.get_secret_value() == "key-from-env"
    assert model.lc_secrets == {"openai_api_key": "FLEXAI_API_KEY"}
    assert resolve_base_url() == "http://127.0.0.1:9/v1"
    assert FlexAICatalog().base_url == "http://127.0.0.1:9/v1"
    args = argparse.Namespace(emulator=False)
    with _connection(args, key_required=True) as connection:
        assert (connection.base_url, connection.api_key) == (
            "http://127.0.0.1:9/v1",
            "key-from-env",
        )


def test_every_reader_falls_back_to_the_same_default(clean_env: pytest.MonkeyPatch) -> None:
    model = ChatFlexAI(api_key="k")
    assert model.openai_api_base == _env.DEFAULT_BASE_URL
    assert resolve_base_url() == _env.DEFAULT_BASE_URL
    with _connection(argparse.Namespace(emulator=False), key_required=False) as connection:
        assert (connection.base_url, connection.api_key) == (_env.DEFAULT_BASE_URL, None)
    assert is_flexai_url(_env.DEFAULT_BASE_URL)
    assert is_flexai_url(_env.ALIAS_BASE_URL)
    # Both host names are one endpoint for the describe cache.
    assert normalise_base_url(_env.ALIAS_BASE_URL) == normalise_base_url(_env.DEFAULT_BASE_URL)


def _code_strings(tree: ast.AST) -> list[ast.Constant]:
    """The string constants of a module that are code, not docstrings or bare string statements."""
    prose = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
    ]


def test_no_module_but_env_names_a_variable_or_the_url() -> None:
    """The emulator (``testing``) stays self-contained; everything else imports from ``_env``."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "testing" or relative == Path("_env.py"):
            continue
        found.extend(
            f"{relative}:{node.lineno}: {node.value!r}"
            for node in _code_strings(ast.parse(path.read_text(encoding="utf-8")))
            if node.value in _NAMES or _FLEXAI_URL.fullmatch(node.value)
        )
    assert found == []
