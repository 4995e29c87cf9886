"""Every example in examples/ runs, offline against the emulator, and prints what it should.

Each example is run as a user would run it (a subprocess, from the project root, no FLEXAI_*
variables, so it starts the bundled emulator) and its output is checked, so none can rot. None is
skipped: each states what it needs on a ``Needs:`` line of its docstring, and ``make test``
installs all of that (checked below against pyproject.toml and the Makefile).
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself needs tomli before 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
OFFLINE = "(FLEXAI_API_KEY is not set: running against the bundled FlexAI emulator)\n\n"

EXPECTED: dict[str, list[str]] = {
    "quickstart.py": [
        "Received 1 message with 1 text part and 1 image.\nImage 1: JPEG 192x128, orange.\n",
        "images sent: 1\n",
    ],
    "pdf_report.py": [
        (
            "pages 1-2 through pdf_block:\nReceived 1 message with 3 text parts and 2 images.\n"
            "Image 1: JPEG 1582x2048, white.\nImage 2: JPEG 1582x2048, white.\n"
        ),
        "Received 1 message with 4 text parts and 3 images.\n",
        "Image 3: JPEG 1582x2048, white.\nimages sent: 3\n",
    ],
    "compare_images.py": [
        (
            "Received 1 message with 4 text parts and 3 images.\n"
            "Image 1: JPEG 192x128, orange.\nImage 2: WEBP 160x100, blue.\n"
            "Image 3: PNG 128x128, green.\nimages sent: 3\n"
        ),
    ],
    "prompt_template.py": [
        (
            "note-rotated.jpg (96x160, transposed):\nReceived 2 messages with 2 text parts and "
            "1 image.\nImage 1: JPEG 96x160, yellow.\n"
        ),
        (
            "leaf.png (128x128, as is):\nReceived 2 messages with 2 text parts and 1 image.\n"
            "Image 1: PNG 128x128, green.\n"
        ),
    ],
    "agent_vision_tool.py": [
        "--- ai\n[{'name': 'flexai_vision', 'args': {'image': 'sky.webp', 'question': 'question'}",
        (
            "--- tool\nReceived 1 message with 1 text part and 1 image.\n"
            "Image 1: WEBP 160x100, blue.\n"
        ),
        "--- ai\nReceived 4 messages with 3 text parts and 0 images.\nIt includes 1 tool result.\n",
    ],
    "screenshot_tool.py": [
        "tool returned: ['text', 'image']\n",
        "It includes 1 tool result.\nImage 1: JPEG 320x200, white.\n",
    ],
    "rag_photos.py": [
        "indexed 4 photos; 4 described, 0 from cache, 0 skipped, 0 failed; 4 requests",
        (
            "question embedded by bge-m3: 1024 dimensions\n"
            "retrieved: sky.webp\nanswer:\nReceived 1 message with 1 text part and 1 image.\n"
            "Image 1: WEBP 160x100, blue.\n"
        ),
    ],
    "receipts_to_csv.py": [
        "3 described, 0 failed, 3 requests\n",
        (
            "receipts.csv:\nsource,status,error,vendor,date,total\n"
            "bakery.png,described,,vendor,1970-01-01,0.0\n"
            "cafe.png,described,,vendor,1970-01-01,0.0\n"
            "grocer.png,described,,vendor,1970-01-01,0.0\n"
        ),
    ],
    "pdf_rag.py": [
        "indexed 3 pages of report.pdf\n",
        (
            "retrieved: page 2 of 3\n"
            "its text: 'Figure 1: revenue by quarter, in million euros (blue bars)'\n"
            "answer:\nReceived 1 message with 1 text part and 1 image.\n"
        ),
        ", blue.\n",
    ],
    "bulk_captions.py": [
        "first run: 4 described, 0 from cache, 4 requests, ",
        "second run: 0 described, 4 from cache, 0 requests, 0 tokens paid\n",
        (
            "  sky.webp: cached: 'Received 1 message with 1 text part and 1 image.\\n"
            "Image 1: WEBP 160x100, blue.'\n"
        ),
    ],
}


def test_every_example_is_checked() -> None:
    shipped = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert shipped == set(EXPECTED)


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def what_make_test_installs() -> tuple[set[str], set[str]]:
    """(distributions, extras of this package) that `make test` installs, from pyproject.toml.

    The Makefile installs ``-e ".[all]" --group dev``: the base dependencies, every extra `all`
    names, and the dev dependency group with the groups it includes.
    """
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert '-e ".[all]" --group dev' in makefile
    project = pyproject()
    names = {_name(r) for r in project["project"]["dependencies"]}
    extras = project["project"]["optional-dependencies"]
    chosen = set(Requirement(extras["all"][0]).extras) | {"all"}
    for extra in chosen:
        names |= {_name(r) for r in extras[extra] if not r.startswith("langchain-flexai")}
    groups = project["dependency-groups"]

    def group(name: str) -> set[str]:
        found: set[str] = set()
        for item in groups[name]:
            found |= group(item["include-group"]) if isinstance(item, dict) else {_name(item)}
        return found

    return names | group("dev"), chosen


def needs(example: Path) -> list[Requirement]:
    """The requirements the example's docstring names on its ``Needs:`` line (notes dropped)."""
    docstring = ast.get_docstring(ast.parse(example.read_text(encoding="utf-8"))) or ""
    lines = [line for line in docstring.splitlines() if line.startswith("Needs: ")]
    assert len(lines) == 1, f"{example.name} has no 'Needs: ...' line in its docstring"
    text = re.sub(r"\([^)]*\)", "", lines[0].removeprefix("Needs: "))
    return [Requirement(item.strip()) for item in text.split(",") if item.strip()]


def third_party_imports(example: Path) -> set[str]:
    """The distributions the example imports directly (stdlib and local modules left out)."""
    tree = ast.parse(example.read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module.split(".")[0])
    owners = importlib.metadata.packages_distributions()
    local = {p.stem for p in EXAMPLES.glob("*.py")} | {"langchain_flexai"}
    return {
        _name(owners[module][0])
        for module in modules - local
        if module not in sys.stdlib_module_names
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_states_what_it_needs_and_make_test_installs_it(name: str) -> None:
    example = EXAMPLES / name
    installed, extras = what_make_test_installs()
    stated = needs(example)
    base = {_name(r) for r in pyproject()["project"]["dependencies"]}
    named = {_name(str(r)) for r in stated}
    # Every package it imports is a base dependency or on its Needs: line.
    assert third_party_imports(example) - base - named == set()
    for requirement in stated:
        if _name(requirement.name) == "langchain-flexai":
            assert requirement.extras <= extras, f"{name}: make test lacks {requirement.extras}"
        else:
            assert _name(requirement.name) in installed, f"{name}: make test lacks {requirement}"


def test_needs_parsing() -> None:
    installed, extras = what_make_test_installs()
    assert {"langchain", "numpy", "pytest"} <= installed
    assert {"testing", "fast", "heif", "progress"} <= extras


def offline_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("FLEXAI_", "OPENAI_"))}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_offline(name: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(OFFLINE)
    for expected in EXPECTED[name]:
        assert expected in done.stdout, f"{expected!r} not in the output of {name}"
    assert "Traceback" not in done.stderr


def test_the_sample_report_is_what_its_generator_writes() -> None:
    # examples/report.pdf is made by code (examples/_report_pdf.py), never edited by hand.
    sys.path.insert(0, str(EXAMPLES))
    try:
        from _report_pdf import report_pdf  # noqa: PLC0415 - the examples' own helper
    finally:
        sys.path.remove(str(EXAMPLES))
    assert (EXAMPLES / "report.pdf").read_bytes() == report_pdf()


def test_bulk_captions_writes_where_told(tmp_path: Path) -> None:
    out = tmp_path / "captions.jsonl"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "bulk_captions.py"), str(EXAMPLES / "images"), str(out)],
        cwd=tmp_path,
        env=offline_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 4
    assert (tmp_path / "captions.sqlite").is_file()
