"""Every example in examples/ runs, offline against the emulator, and prints what it should.

Each example is run as a user would run it (a subprocess, from the project root, no FLEXAI_*
variables, so it starts the bundled emulator) and its output is checked, so none can rot.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
OFFLINE = "(FLEXAI_API_KEY is not set: running against the bundled FlexAI emulator)\n\n"

EXPECTED: dict[str, list[str]] = {
    "quickstart.py": [
        "Received 1 message with 1 text part and 1 image.\nImage 1: JPEG 192x128, orange.\n",
        "images sent: 1\n",
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
            "retrieved: sky.webp\nanswer:\nReceived 1 message with 1 text part and 1 image.\n"
            "Image 1: WEBP 160x100, blue.\n"
        ),
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
