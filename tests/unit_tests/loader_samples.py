"""Sample image folders and a counting fake vision model for the loader and describe tests."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pybase64
import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from PIL import Image
from pydantic import ConfigDict, Field, PrivateAttr

EXIF_ORIENTATION = 0x0112


def save_image(
    path: Path,
    size: tuple[int, int] = (64, 48),
    colour: tuple[int, int, int] = (200, 30, 30),
    fmt: str | None = None,
    orientation: int | None = None,
) -> Path:
    """Write a solid-colour image (optionally with an EXIF orientation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, colour)
    kwargs: dict[str, Any] = {}
    if orientation is not None:
        exif = image.getexif()
        exif[EXIF_ORIENTATION] = orientation
        kwargs["exif"] = exif
    image.save(path, format=fmt, **kwargs)
    return path


def half_and_half(path: Path, size: tuple[int, int], orientation: int) -> Path:
    """Left half red, right half blue, with an EXIF orientation tag (PNG-exact colours via q95)."""
    width, height = size
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (width // 2, 0, width, height))
    exif = image.getexif()
    exif[EXIF_ORIENTATION] = orientation
    image.save(path, format="JPEG", quality=95, exif=exif)
    return path


def corrupt_png(path: Path) -> Path:
    """Bytes that start like a PNG and then stop making sense."""
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 4)
    return path


def phone_folder(root: Path) -> dict[str, Path]:
    """A small mixed folder: compliant JPEG/PNG/WebP, rotated, oversize, BMP, corrupt, text."""
    files = {
        "a": save_image(root / "a.jpg", (80, 60), (250, 0, 0)),
        "b": save_image(root / "B.PNG", (50, 50), (0, 250, 0)),
        "c": save_image(root / "sub" / "c.webp", (40, 30), (0, 0, 250), fmt="WEBP"),
        "rotated": save_image(root / "sub" / "r.jpg", (120, 60), orientation=6),
        "big": save_image(root / "z_big.jpg", (3000, 1500), (10, 10, 10)),
        "bmp": save_image(root / "d.bmp", (20, 10)),
        "corrupt": corrupt_png(root / "broken.png"),
    }
    (root / "notes.txt").write_text("not an image")
    return files


def image_sha(message: BaseMessage) -> str:
    """SHA-256 of the image bytes in a request's v1 image block."""
    for block in message.content:
        if isinstance(block, dict) and block.get("type") == "image":
            return hashlib.sha256(pybase64.b64decode(block["base64"])).hexdigest()
    raise AssertionError("no image block in the request")


def describe_text(sha256: str) -> str:
    """What ``CountingModel`` answers for an image."""
    return f"an image whose bytes hash to {sha256[:12]}"


class CountingModel(BaseChatModel):
    """A vision model stand-in: answers from the image bytes, records every request.

    ``fail_for`` maps an image SHA-256 to an exception raised for it (once per entry in
    ``failures_left``, or always when absent there).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_name: str = "fake-vision"
    content_style: str = "text"
    fail_for: dict[str, Exception] = Field(default_factory=dict)
    failures_left: dict[str, int] = Field(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _requests: list[list[BaseMessage]] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "counting-fake"

    @property
    def requests(self) -> list[list[BaseMessage]]:
        with self._lock:
            return list(self._requests)

    def image_counts(self) -> Counter[str]:
        return Counter(image_sha(messages[0]) for messages in self.requests)

    def _answer(self, sha: str) -> AIMessage:
        text = describe_text(sha)
        usage = {"input_tokens": 100, "output_tokens": 10, "total_tokens": 110}
        if self.content_style == "blocks":
            content: Any = [
                {"type": "reasoning", "reasoning": "Let me look."},
                {"type": "text", "text": text[:10]},
                {"type": "text", "text": text[10:]},
            ]
        elif self.content_style == "think":
            content = f"<think>hmm, pixels</think>\n{text}"
        elif self.content_style == "empty":
            content = ""
        else:
            content = text
        return AIMessage(
            content=content, usage_metadata=usage, response_metadata={"finish_reason": "stop"}
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            self._requests.append(messages)
        sha = image_sha(messages[0])
        error = self.fail_for.get(sha)
        if error is not None:
            left = self.failures_left.get(sha)
            if left is None or left > 0:
                if left is not None:
                    self.failures_left[sha] = left - 1
                raise error
        return ChatResult(generations=[ChatGeneration(message=self._answer(sha))])


def make_deep_tree(root: Path, depth: int, files: dict[int, bytes]) -> list[str]:
    """``depth`` nested directories ``d/d/…`` under ``root``, ``files[level]`` at those levels.

    Built with ``dir_fd`` one level at a time: no recursion (``os.makedirs`` recurses), no
    ``chdir``. Returns the paths of the files, top first.
    """
    made = []
    fd = os.open(root, os.O_RDONLY)
    try:
        for level in range(depth + 1):
            if level in files:
                out = os.open("f.png", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
                os.write(out, files[level])
                os.close(out)
                made.append(os.path.join(root, *["d"] * level, "f.png"))  # noqa: PTH118
            if level < depth:
                os.mkdir("d", dir_fd=fd)
                child = os.open("d", os.O_RDONLY, dir_fd=fd)
                os.close(fd)
                fd = child
    finally:
        os.close(fd)
    return made


def remove_deep_tree(root: Path, depth: int) -> None:
    """Remove what :func:`make_deep_tree` made, deepest first, without recursion.

    ``shutil.rmtree`` (and so pytest's ``tmp_path`` clean-up) recurses once per level and would
    raise ``RecursionError`` on such a tree.
    """
    for level in range(depth, -1, -1):
        here = os.path.join(root, *["d"] * level)  # noqa: PTH118
        for name in os.listdir(here):  # noqa: PTH208 - str paths, no recursion
            if name != "d":
                os.unlink(os.path.join(here, name))  # noqa: PTH108, PTH118
        if level:
            os.rmdir(here)  # noqa: PTH106


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """``folder`` made unwritable for this process, even as root (``chattr +i``), else skip.

    Root ignores permission bits, so they alone cannot make a test's folder read-only there.
    """
    folder.chmod(0o555)
    immutable = False
    try:
        if os.access(folder, os.W_OK):
            result = subprocess.run(
                ["chattr", "+i", str(folder)],
                capture_output=True,
                check=False,
            )
            immutable = result.returncode == 0
            if not immutable:
                pytest.skip("cannot make a folder unwritable here")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)
