"""Where integration tests send requests: the bundled emulator, or live FlexAI with a key.

`FLEXAI_API_KEY` set → live FlexAI (`FLEXAI_API_BASE` optional), with models from
`FLEXAI_TEST_VISION_MODEL` (image-capable; the standard suite's model) and `FLEXAI_TEST_MODEL`
(the model-override value). Otherwise a session-wide emulator on 127.0.0.1.
"""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass

from PIL import Image

from langchain_flexai.testing import FlexAIEmulator

LIVE = bool(os.environ.get("FLEXAI_API_KEY"))
"""True when the integration tests run against live FlexAI."""

STANDARD_TEST_IMAGE_URL = (
    "https://raw.githubusercontent.com/langchain-ai/docs/4d11d08b6b0e210bd456943f7a22febbd168b543"
    "/src/images/agentic-rag-output.png"
)
"""The PNG langchain-tests' image tests download with `httpx.get`; served locally instead."""

STANDARD_TEST_PDF_URL = "https://www.w3.org/WAI/ER/tests/xhtml/testfiles/resources/pdf/dummy.pdf"
"""The PDF langchain-tests' PDF tests download with `httpx.get`; served locally instead."""


@dataclass(frozen=True)
class Target:
    """Connection details of the server under test."""

    base_url: str
    api_key: str
    vision_model: str
    text_model: str
    emulator: FlexAIEmulator | None


_current: Target | None = None


def set_current(target: Target | None) -> None:
    """Record the session's target (called by conftest)."""
    global _current  # noqa: PLW0603 - one session-wide target, set by a session fixture
    _current = target


def current() -> Target:
    """The session's target; conftest's session fixture must be active."""
    if _current is None:
        raise RuntimeError("the flexai_target session fixture has not run")
    return _current


def make_target(emulator: FlexAIEmulator | None) -> Target:
    """Build the target for live FlexAI (emulator None) or for ``emulator``."""
    if emulator is None:
        return Target(
            base_url=os.environ.get("FLEXAI_API_BASE", "https://tokens.flex.ai/v1"),
            api_key=os.environ["FLEXAI_API_KEY"],
            vision_model=os.environ.get("FLEXAI_TEST_VISION_MODEL", "phi-4-multimodal-instruct"),
            text_model=os.environ.get("FLEXAI_TEST_MODEL", "gemma-4-31b-it"),
            emulator=None,
        )
    return Target(
        base_url=emulator.base_url,
        api_key=emulator.api_key,
        vision_model="phi-4-multimodal-instruct",
        text_model="gemma-4-31b-it",
        emulator=emulator,
    )


def image_bytes(
    size: tuple[int, int], colour: tuple[int, ...] | str, fmt: str = "PNG", mode: str = "RGB"
) -> bytes:
    """A solid-colour image encoded in ``fmt``."""
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, fmt)
    return buffer.getvalue()


def data_url(data: bytes, mime_type: str = "image/png") -> str:
    """``data:<mime>;base64,<data>``."""
    return f"data:{mime_type};base64,{base64.b64encode(data).decode()}"
