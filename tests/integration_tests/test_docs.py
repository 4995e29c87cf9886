"""Every code block in README.md and docs/*.md runs, and every output they show is what it prints.

Per page, the ```python blocks run in order in one namespace (a later block may use what an
earlier one defined), in a temporary working directory holding a few sample images (photo.jpg,
red.png, chart.png, photos/..., examples/images/...), with FLEXAI_API_KEY / FLEXAI_API_BASE
pointing at a FlexAIEmulator on 127.0.0.1. One test per block, so a failure names the page and
the block number (1-based, counting python blocks only).

Outputs are checked, so a page cannot drift from what its code does. Every ```text block is one
of:

- right after a ```python block (nothing but blank lines between): what that block prints to
  stdout, compared after :func:`normalise`;
- preceded by ``<!-- output-of: COMMAND -->``: the stdout and stderr of the shell command,
  run in the page's working directory against the same emulator, compared the same way;
- preceded by ``<!-- not-output -->``: not an output (a format description, a file listing, a
  transcript of a run that cannot be reproduced offline), and left unchecked.

A ```text block that is none of these fails the page, so no output goes unchecked by accident.
```bash blocks are not run (they install packages and set keys); a command whose output a page
shows is run through its ``output-of`` marker instead.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from langchain_flexai.testing import FlexAIEmulator
from tests.unit_tests.pdf_factory import make_pdf

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SAMPLE_IMAGES = ROOT / "examples" / "images"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                    re.MULTILINE | re.DOTALL)  # fmt: skip
_MARKER = re.compile(r"<!--\s*(?P<kind>not-output|output-of:)\s*(?P<arg>.*?)\s*-->\s*\Z", re.DOTALL)
_PYTHON = {"python", "py"}
_ELLIPSIS = {"...", "…"}


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    lang: str
    body: str
    before: str
    """The page text between the previous fence (or the page start) and this one."""


@dataclass(frozen=True)
class Output:
    """A ```text block and what produces it: a python block (its number) or a shell command."""

    text: str
    python_block: int | None = None
    command: str | None = None


def blocks(text: str) -> list[Block]:
    """The page's fenced blocks in order, dedented, each with the text before it."""
    found, end = [], 0
    for match in _FENCE.finditer(text):
        body = textwrap.dedent(match["body"])
        found.append(Block(match["lang"].strip().lower(), body, text[end : match.start()]))
        end = match.end()
    return found


def python_blocks(page: Path) -> list[str]:
    """The page's ```python blocks, in order."""
    return [b.body for b in blocks(page.read_text(encoding="utf-8")) if b.lang in _PYTHON]


def outputs(text: str) -> tuple[list[Output], list[str]]:
    """The page's checked ```text blocks, and a problem line for each unchecked one."""
    found, problems, number = [], [], 0
    previous: Block | None = None
    for block in blocks(text):
        if block.lang in _PYTHON:
            number += 1
        elif block.lang == "text":
            marker = _MARKER.search(block.before)
            if marker and marker["kind"] == "not-output":
                pass
            elif marker:
                found.append(Output(block.body, command=marker["arg"]))
            elif previous is not None and previous.lang in _PYTHON and not block.before.strip():
                found.append(Output(block.body, python_block=number))
            else:
                first = block.body.splitlines()[0] if block.body.strip() else ""
                problems.append(
                    f"```text block starting {first!r} is not right after the python block "
                    "that prints it: move it there, or mark it <!-- output-of: COMMAND --> or "
                    "<!-- not-output -->"
                )
        previous = block
    return found, problems


_VARYING = [
    (re.compile(r"(127\.0\.0\.1|localhost):\d+"), r"\1:<port>"),
    (re.compile(r"chatcmpl-[A-Za-z0-9]+"), "chatcmpl-<id>"),
    (re.compile(r"(?<![\w.])/(?:tmp|var/folders|private)[^\s'\"]*"), "<tmp path>"),
    (re.compile(r"\b\d+(?:\.\d+)? ?(s|ms)\b"), r"<time> \1"),
]
"""What varies between runs and is replaced on both sides: ports, temporary paths, ids, timings."""


def normalise(text: str) -> list[str]:
    """``text`` as lines, with what varies between runs replaced and trailing blanks dropped."""
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` equals ``expected``, where a line ``...`` stands for any lines."""
    if not expected:
        return not actual
    if expected[0] in _ELLIPSIS:
        rest = expected[1:]
        return any(matches(rest, actual[skip:]) for skip in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


def assert_output(expected: str, printed: str, where: str) -> None:
    want, got = normalise(expected), normalise(printed)
    if not matches(want, got):
        pytest.fail(
            f"{where}: the page shows\n" + "\n".join(want) + "\nbut the code prints\n"
            + "\n".join(got),
            pytrace=False,
        )  # fmt: skip


def _cases() -> list[Any]:
    return [
        pytest.param(page.name, number, id=f"{page.name}#{number}")
        for page in PAGES
        for number, _ in enumerate(python_blocks(page), start=1)
    ]


def _command_cases() -> list[Any]:
    cases = []
    for page in PAGES:
        found, _ = outputs(page.read_text(encoding="utf-8"))
        commands = [output for output in found if output.command is not None]
        for number, _ in enumerate(commands, start=1):
            cases.append(pytest.param(page.name, number, id=f"{page.name}$cmd{number}"))
    return cases


def page_path(name: str) -> Path:
    return next(page for page in PAGES if page.name == name)


def make_samples(folder: Path) -> None:
    """The files doc examples may name: photo.jpg, red.png, chart.png, report.pdf, photos/, ..."""
    Image.new("RGB", (640, 480), (30, 90, 200)).save(folder / "photo.jpg", quality=85)
    Image.new("RGB", (64, 64), "red").save(folder / "red.png")
    chart = Image.new("RGB", (320, 200), "white")
    chart.paste((40, 160, 60), (40, 60, 100, 180))
    chart.paste((200, 60, 40), (140, 100, 200, 180))
    chart.save(folder / "chart.png")
    report = ["Quarterly report\nRevenue: 12 million", "Revenue by region", "Outlook: stable"]
    (folder / "report.pdf").write_bytes(make_pdf(report, compress=True))
    for copy in ("photos", "images", "examples/images"):
        shutil.copytree(SAMPLE_IMAGES, folder / copy, ignore=shutil.ignore_patterns("*.py"))
    shutil.copyfile(ROOT / "examples" / "report.pdf", folder / "examples" / "report.pdf")


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


def _page_run(runs: dict[str, PageRun], page: str, factory: pytest.TempPathFactory) -> PageRun:
    run = runs.get(page)
    if run is None:
        workdir = factory.mktemp(page.replace(".", "_"))
        make_samples(workdir)
        run = runs[page] = PageRun(workdir)
    return run


def _run_block(run: PageRun, code: str, name: str, number: int) -> str:
    """Run one block in the page's namespace; return what it printed to stdout."""
    compiled = compile(code, f"{name} block {number}", "exec")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compiled, run.namespace)  # noqa: S102 - executing our own documentation is the point
    return printed.getvalue()


@pytest.mark.parametrize(("page", "number"), _cases())
def test_docs_block(
    page: str,
    number: int,
    docs_emulator: FlexAIEmulator,
    page_runs: dict[str, PageRun],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = _page_run(page_runs, page, tmp_path_factory)
    monkeypatch.chdir(run.workdir)
    monkeypatch.setenv("FLEXAI_API_KEY", docs_emulator.api_key)
    monkeypatch.setenv("FLEXAI_API_BASE", docs_emulator.base_url)
    text = page_path(page).read_text(encoding="utf-8")
    code = python_blocks(page_path(page))
    # Run selectively (pytest -k), a block still sees what the blocks before it defined.
    while run.done < number - 1:
        run.done += 1
        try:
            _run_block(run, code[run.done - 1], page, run.done)
        except Exception:  # noqa: S112 - that block's own test reports its failure
            continue
    run.done = number
    printed = _run_block(run, code[number - 1], page, number)
    found, _ = outputs(text)
    for output in found:
        if output.python_block == number:
            assert_output(output.text, printed, f"{page} python block {number}")


@pytest.mark.parametrize(("page", "number"), _command_cases())
def test_docs_command_output(
    page: str,
    number: int,
    docs_emulator: FlexAIEmulator,
    page_runs: dict[str, PageRun],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    found, _ = outputs(page_path(page).read_text(encoding="utf-8"))
    output = [output for output in found if output.command is not None][number - 1]
    assert output.command is not None
    run = _page_run(page_runs, page, tmp_path_factory)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEXAI_", "OPENAI_"))}
    env |= {"FLEXAI_API_KEY": docs_emulator.api_key, "FLEXAI_API_BASE": docs_emulator.base_url}
    # The page's commands name the installed scripts (flexai-vision): this interpreter's ones.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", output.command],
        cwd=run.workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=120,
    )
    assert_output(output.text, done.stdout, f"{page}: {output.command}")


@pytest.mark.parametrize("page", [page.name for page in PAGES])
def test_every_output_block_is_checked(page: str) -> None:
    _, problems = outputs(page_path(page).read_text(encoding="utf-8"))
    assert problems == []


def test_every_page_is_linked_from_the_index() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in sorted(DOCS.glob("*.md")):
        if page.name != "index.md":
            assert f"({page.name})" in index, f"docs/index.md does not link {page.name}"


# -- the checker itself ------------------------------------------------------------------------


def test_block_extraction(tmp_path: Path) -> None:
    text = "x\n```python\nprint(1)\n```\n```bash\nls\n```\n  ```python\n  a = 2\n  ```\n"
    page = tmp_path / "p.md"
    page.write_text(text)
    assert python_blocks(page) == ["print(1)\n", "a = 2\n"]


def test_outputs_are_paired_with_what_prints_them() -> None:
    text = (
        "```python\nprint(1)\n```\n\n```text\n1\n```\n"  # right after: python block 1
        "```python\nprint(2)\n```\nprose\n```text\n2\n```\n"  # prose between: unchecked
        "<!-- output-of: echo 3 -->\n```text\n3\n```\n"
        "<!-- not-output -->\n```text\nformat\n```\n"
        "```bash\nls\n```\n```text\nlisting\n```\n"  # after bash, unmarked: unchecked
    )
    found, problems = outputs(text)
    assert found == [Output("1\n", python_block=1), Output("3\n", command="echo 3")]
    assert [problem.split(" is not")[0] for problem in problems] == [
        "```text block starting '2'",
        "```text block starting 'listing'",
    ]


def test_normalise_replaces_only_what_varies() -> None:
    varying = "http://127.0.0.1:54321/v1 chatcmpl-a1B2 in 0.1 s, /tmp/pytest-7/x.jsonl\n\n"
    normalised = "http://127.0.0.1:<port>/v1 chatcmpl-<id> in <time> s, <tmp path>"
    assert normalise(varying) == [normalised]
    assert normalise("3 described, 4 tokens  \n") == ["3 described, 4 tokens"]


@pytest.mark.parametrize(
    ("expected", "actual", "same"),
    [
        (["a", "b"], ["a", "b"], True),
        (["a", "b"], ["a", "c"], False),
        (["a"], ["a", "b"], False),
        (["a", "...", "d"], ["a", "b", "c", "d"], True),
        (["a", "...", "d"], ["a", "d"], True),
        (["a", "…", "d"], ["a", "b", "x"], False),
    ],
)
def test_ellipsis_lines_stand_for_any_lines(
    expected: list[str], actual: list[str], same: bool
) -> None:
    assert matches(expected, actual) is same


def test_a_drifted_output_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="the page shows\n2\nbut the code prints\n1"):
        assert_output("2\n", "1\n", "p.md python block 1")


# -- what a new user reads first ---------------------------------------------------------------

_PYPI_INSTALL = re.compile(r"pip install\b[^#\n]*?(?<![\w./-])[\"']?langchain-flexai\b")


@pytest.mark.parametrize("page", [page.name for page in PAGES])
def test_no_install_line_fetches_the_pypi_package(page: str) -> None:
    # PyPI's "langchain-flexai" is a different package: every install line names this checkout
    # (".", ".[extra]") or a wheel built from it.
    for block in blocks(page_path(page).read_text(encoding="utf-8")):
        if block.lang in {"bash", "sh", "shell", "console"}:
            wrong = [line for line in block.body.splitlines() if _PYPI_INSTALL.search(line)]
            assert wrong == [], f"{page}: installs PyPI's langchain-flexai"


def test_readme_opens_with_what_it_is_then_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first = blocks(text)[0]
    assert first.lang == "bash"
    assert first.body == "make demo\nmake test\n"
    prose = [line for line in first.before.splitlines() if line and not line.startswith("#")]
    assert len(prose) == 1, prose  # one line saying what the package is


def test_readme_installs_this_package_and_runs_offline_first() -> None:
    from langchain_flexai import __version__  # noqa: PLC0415

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = blocks(text)
    shell = "\n".join(b.body for b in found if b.lang == "bash")
    assert 'pip install ".[all]"' in shell
    assert "python -m pip wheel . --no-deps -w dist/" in shell
    assert f"dist/langchain_flexai-{__version__}-py3-none-any.whl[all]" in shell
    assert "installs a different package" in text
    code = [b.body for b in found if b.lang in _PYTHON]
    offline = next(i for i, body in enumerate(code) if "FlexAIEmulator()" in body)
    keyed = next(i for i, body in enumerate(code) if "reads FLEXAI_API_KEY" in body)
    assert offline < keyed
    assert len(code[offline].strip().splitlines()) <= 7  # 5 lines of code and 2 imports


def test_install_line_pattern() -> None:
    wrong = [
        "pip install -U langchain-flexai",
        'pip install "langchain-flexai[heif]"',
        "pip install langchain langchain-flexai",
    ]
    right = [
        'pip install ".[all]"',
        "pip install . langchain",
        "pip install dist/langchain_flexai-0.2.0-py3-none-any.whl",
        "pip install ./langchain-flexai",
        "pip install numpy  # langchain-flexai needs it",
    ]
    assert [bool(_PYPI_INSTALL.search(line)) for line in wrong] == [True] * 3
    assert [bool(_PYPI_INSTALL.search(line)) for line in right] == [False] * 5
