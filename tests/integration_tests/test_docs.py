"""Every ```python block in docs/*.md runs, so the documentation cannot rot.

Per page, the blocks run in order in one namespace (a later block may use what an earlier one
defined), in a temporary working directory holding a few sample images (photo.jpg, red.png,
chart.png, photos/...), with FLEXAI_API_KEY / FLEXAI_API_BASE pointing at a FlexAIEmulator on
127.0.0.1. ```bash and ```text blocks are not executed. One test per block, so a failure names
the page and the block number (1-based, counting python blocks only).

Blocks of pages owned by other helpers that fail while their owners are still writing them are
listed in KNOWN_FAILURES (and in /work/coord/docs-failures.md) as non-strict xfails.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from langchain_flexai.testing import FlexAIEmulator

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SAMPLE_IMAGES = ROOT / "examples" / "images"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                    re.MULTILINE | re.DOTALL)  # fmt: skip

KNOWN_FAILURES: dict[tuple[str, int], str] = {}
"""(page, block number) -> reason, for blocks whose owner is fixing them."""


def python_blocks(page: Path) -> list[str]:
    """The page's ```python blocks, dedented, in order."""
    text = page.read_text(encoding="utf-8")
    return [
        textwrap.dedent(match["body"])
        for match in _FENCE.finditer(text)
        if match["lang"].strip().lower() in {"python", "py"}
    ]


def _cases() -> list[Any]:
    cases = []
    for page in sorted(DOCS.glob("*.md")):
        for number, _ in enumerate(python_blocks(page), start=1):
            marks = []
            reason = KNOWN_FAILURES.get((page.name, number))
            if reason is not None:
                marks.append(pytest.mark.xfail(reason=reason, strict=False))
            cases.append(pytest.param(page.name, number, id=f"{page.name}#{number}", marks=marks))
    return cases


def make_samples(folder: Path) -> None:
    """The files doc examples may name: photo.jpg, red.png, chart.png, photos/, images/."""
    Image.new("RGB", (640, 480), (30, 90, 200)).save(folder / "photo.jpg", quality=85)
    Image.new("RGB", (64, 64), "red").save(folder / "red.png")
    chart = Image.new("RGB", (320, 200), "white")
    chart.paste((40, 160, 60), (40, 60, 100, 180))
    chart.paste((200, 60, 40), (140, 100, 200, 180))
    chart.save(folder / "chart.png")
    shutil.copytree(SAMPLE_IMAGES, folder / "photos", ignore=shutil.ignore_patterns("*.py"))
    shutil.copytree(SAMPLE_IMAGES, folder / "images", ignore=shutil.ignore_patterns("*.py"))


@dataclass
class PageRun:
    """One page's shared state: its namespace, working directory and how far it has run."""

    workdir: Path
    namespace: dict[str, Any] = field(default_factory=lambda: {"__name__": "__docs__"})
    done: int = 0


@pytest.fixture(scope="module")
def docs_emulator() -> Iterator[FlexAIEmulator]:
    with FlexAIEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def page_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, PageRun]]:
    runs: dict[str, PageRun] = {}
    yield runs
    for run in runs.values():
        emulator = run.namespace.get("emulator")
        if isinstance(emulator, FlexAIEmulator):  # a page that forgot to stop its own
            emulator.stop()


def _run_block(run: PageRun, code: str, name: str, number: int) -> None:
    compiled = compile(code, f"{name} block {number}", "exec")
    exec(compiled, run.namespace)  # noqa: S102 - executing our own documentation is the point


@pytest.mark.parametrize(("page", "number"), _cases())
def test_docs_block(
    page: str,
    number: int,
    docs_emulator: FlexAIEmulator,
    page_runs: dict[str, PageRun],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = page_runs.get(page)
    if run is None:
        workdir = tmp_path_factory.mktemp(page.replace(".", "_"))
        make_samples(workdir)
        run = page_runs[page] = PageRun(workdir)
    monkeypatch.chdir(run.workdir)
    monkeypatch.setenv("FLEXAI_API_KEY", docs_emulator.api_key)
    monkeypatch.setenv("FLEXAI_API_BASE", docs_emulator.base_url)
    blocks = python_blocks(DOCS / page)
    # Run selectively (pytest -k), a block still sees what the blocks before it defined.
    while run.done < number - 1:
        run.done += 1
        try:
            _run_block(run, blocks[run.done - 1], page, run.done)
        except Exception:  # noqa: S112 - that block's own test reports its failure
            continue
    run.done = number
    _run_block(run, blocks[number - 1], page, number)


def test_every_page_is_linked_from_the_index() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in sorted(DOCS.glob("*.md")):
        if page.name != "index.md":
            assert f"({page.name})" in index, f"docs/index.md does not link {page.name}"


def test_block_extraction(tmp_path: Path) -> None:
    text = "x\n```python\nprint(1)\n```\n```bash\nls\n```\n  ```python\n  a = 2\n  ```\n"
    page = tmp_path / "p.md"
    page.write_text(text)
    assert python_blocks(page) == ["print(1)\n", "a = 2\n"]
