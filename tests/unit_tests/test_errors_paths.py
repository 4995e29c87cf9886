"""Every public exception and warning lives in ``errors``, and is still where 0.2.0 had it.

The 0.2.0 paths are the package root's and each public module's ``__all__``, ``api_errors``
(which had no ``__all__``: all its names were public) and ``errors`` itself. Each must be the very
class of ``errors`` (``is``), so ``except langchain_flexai.catalog.FlexAICatalogError`` catches
what the package raises wherever it is imported from.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
import re
import warnings

import pytest

import langchain_flexai
from langchain_flexai import errors

# (module, name): each import path of an exception or warning in langchain-flexai 0.2.0.
PATHS_0_2_0 = [
    ("langchain_flexai", "DescribeCacheError"),
    ("langchain_flexai", "FlexAICatalogError"),
    ("langchain_flexai", "FlexAIConfigError"),
    ("langchain_flexai", "FlexAICreditExhaustedError"),
    ("langchain_flexai", "FlexAIStreamInterruptedError"),
    ("langchain_flexai", "ImageInputError"),
    ("langchain_flexai", "ModelNotFoundError"),
    ("langchain_flexai", "ToolChoiceNotSupportedError"),
    ("langchain_flexai.api_errors", "FlexAIConnectionError"),
    ("langchain_flexai.api_errors", "FlexAICreditExhaustedError"),
    ("langchain_flexai.api_errors", "FlexAIStreamInterruptedError"),
    ("langchain_flexai.api_errors", "FlexAITimeoutError"),
    ("langchain_flexai.capabilities", "ForcedToolChoiceWarning"),
    ("langchain_flexai.capabilities", "ModelCapabilityError"),
    ("langchain_flexai.capabilities", "ToolChoiceNotSupportedError"),
    ("langchain_flexai.catalog", "CatalogWarning"),
    ("langchain_flexai.catalog", "FlexAICatalogError"),
    ("langchain_flexai.catalog", "ModelNotFoundError"),
    ("langchain_flexai.chat_models", "FlexAIConfigError"),
    ("langchain_flexai.chat_models", "FlexAIStreamInterruptedError"),
    ("langchain_flexai.describe", "DescribeCacheError"),
    ("langchain_flexai.document_loaders", "ImageInputError"),
    ("langchain_flexai.document_loaders", "ImageSkippedWarning"),
    ("langchain_flexai.errors", "FlexAIConfigError"),
    ("langchain_flexai.errors", "ImageInputError"),
    ("langchain_flexai.tools", "ImageInputError"),
]


@pytest.mark.parametrize(("module", "name"), PATHS_0_2_0, ids="{0[0]}.{0[1]}".format)
def test_every_0_2_0_import_path_is_the_class_in_errors(module: str, name: str) -> None:
    imported = getattr(importlib.import_module(module), name)
    assert imported is getattr(errors, name)
    assert imported.__module__ == "langchain_flexai.errors"


def _exception_classes(module: object) -> dict[str, type[BaseException]]:
    return {
        name: value
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__.startswith("langchain_flexai")
    }


def _package_modules() -> list[str]:
    names = ["langchain_flexai"]
    for info in pkgutil.walk_packages(langchain_flexai.__path__, "langchain_flexai."):
        if info.name.startswith("langchain_flexai.testing") or info.name.endswith("__main__"):
            continue  # the emulator keeps its own errors; __main__ runs the CLI
        names.append(info.name)
    return names


def test_no_public_exception_is_defined_outside_errors() -> None:
    """A public exception or warning class defined anywhere else in the package is a defect.

    Private ones (a leading underscore, or in a private module and never exported) stay with the
    code that raises and catches them.
    """
    modules = {}
    for module_name in _package_modules():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            modules[module_name] = importlib.import_module(module_name)

    def is_public(module_name: str) -> bool:
        return not any(part.startswith("_") for part in module_name.split(".")[1:])

    # What a user can reach: every name a public module exports.
    reachable = {
        id(getattr(module, name))
        for module_name, module in modules.items()
        if is_public(module_name)
        for name in getattr(module, "__all__", ())
        if hasattr(module, name)
    }
    elsewhere = []
    for module_name, module in modules.items():
        for name, cls in _exception_classes(module).items():
            if module_name == "langchain_flexai.errors" or cls.__module__ != module_name:
                continue
            if name.startswith("_"):
                continue
            if is_public(module_name) or id(cls) in reachable:
                elsewhere.append(f"{module_name}.{name}")
    assert elsewhere == []


def test_errors_exports_every_class_it_defines() -> None:
    defined = {
        name
        for name, cls in _exception_classes(errors).items()
        if cls.__module__ == "langchain_flexai.errors" and not name.startswith("_")
    }
    assert defined <= set(errors.__all__)
    assert {"ImageErrorReason", "escape_text", "preview_source"} <= set(errors.__all__)


# A line of the drawn tree: its indent, "+-- " unless it is a top-level base, the class name (its
# column is its depth), and any extra bases in parentheses.
_TREE_LINE = re.compile(r"^[ |]*(?:\+-- )?(?P<name>[\w.]+)(?: \((?P<extra>[^)]*)\))?")


def _drawn_tree() -> list[tuple[str, str, str | None]]:
    """(class, drawn parent, extra base text) for each class in the module docstring's tree."""
    doc = errors.__doc__ or ""
    block = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    rows: list[tuple[str, str, str | None]] = []
    stack: list[tuple[int, str]] = []
    for line in block.splitlines():
        match = _TREE_LINE.match(line[4:])  # the block is indented by four spaces
        assert match is not None, line
        depth = match.start("name")
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            rows.append((match["name"], stack[-1][1], match["extra"]))
        stack.append((depth, match["name"]))
    return rows


def _resolve(dotted: str) -> type:
    if "." not in dotted:
        import builtins  # noqa: PLC0415

        return getattr(errors, dotted, None) or getattr(builtins, dotted)
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def test_the_drawn_hierarchy_is_the_real_one() -> None:
    """The docstring's tree names every public class once, under a base it really has."""
    rows = _drawn_tree()
    drawn = [name for name, _, _ in rows if hasattr(errors, name)]
    public = sorted(name for name in errors.__all__ if name in _exception_classes(errors))
    assert sorted(drawn) == public
    for name, parent, extra in rows:
        assert issubclass(_resolve(name), _resolve(parent)), (name, parent)
        if extra is not None and extra.isidentifier():  # "(LookupError)", not "(LangChain's ...)"
            assert issubclass(_resolve(name), _resolve(extra)), (name, extra)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("langchain_flexai.api_errors", "FlexAITimeoutError"),
        ("langchain_flexai.api_errors", "FlexAIConnectionError"),
    ],
)
def test_an_error_pickled_by_0_2_0_still_loads(module: str, name: str) -> None:
    # What 0.2.0 wrote for pickle.dumps(error, protocol=0): _revive and the class, both named
    # through api_errors, the module that defined them then.
    data = (
        f"c{module}\n_revive\n(c{module}\n{name}\n(Vno answer in time\ntp0\n(dp1\ntp2\nRp3\n."
    ).encode()
    revived = pickle.loads(data)  # noqa: S301 - bytes made here
    assert type(revived) is getattr(errors, name)
    assert revived.args == ("no answer in time",)
