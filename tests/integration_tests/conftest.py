"""Shared fixtures for the integration tests (loopback emulator by default, live with a key)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from langchain_flexai.testing import FlexAIEmulator
from tests.integration_tests import _target
from tests.integration_tests._target import (
    STANDARD_TEST_IMAGE_URL,
    STANDARD_TEST_PDF_URL,
    Target,
    image_bytes,
)
from tests.unit_tests.pdf_factory import make_pdf


@pytest.fixture(scope="session", autouse=True)
def flexai_target() -> Iterator[Target]:
    """The server under test for the whole session: live FlexAI or one shared emulator."""
    if _target.LIVE:
        target = _target.make_target(None)
        _target.set_current(target)
        yield target
        _target.set_current(None)
        return
    with FlexAIEmulator() as emulator:
        target = _target.make_target(emulator)
        _target.set_current(target)
        yield target
        _target.set_current(None)


# A 256x192 blue PNG stands in for the diagram langchain-tests downloads.
_STANDARD_PNG = image_bytes((256, 192), (30, 60, 200))
# And a one-page PDF titled as the W3C sample is for the PDF tests.
_STANDARD_PDF = make_pdf(["Dummy PDF file"])


@pytest.fixture(autouse=True)
def _serve_standard_test_image(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answer langchain-tests' `httpx.get` of its sample PNG and PDF locally (no network here).

    Only those URLs are intercepted; any other `httpx.get` reaches the real function.
    """
    real_get = httpx.get

    def get(url: Any, *args: Any, **kwargs: Any) -> httpx.Response:
        if str(url) == STANDARD_TEST_IMAGE_URL:
            request = httpx.Request("GET", STANDARD_TEST_IMAGE_URL)
            return httpx.Response(
                200, content=_STANDARD_PNG, headers={"content-type": "image/png"}, request=request
            )
        if str(url) == STANDARD_TEST_PDF_URL:
            request = httpx.Request("GET", STANDARD_TEST_PDF_URL)
            return httpx.Response(
                200,
                content=_STANDARD_PDF,
                headers={"content-type": "application/pdf"},
                request=request,
            )
        return real_get(url, *args, **kwargs)

    monkeypatch.setattr(httpx, "get", get)


@pytest.fixture
def standard_png() -> bytes:
    """The bytes the standard image tests receive from the patched download."""
    return _STANDARD_PNG
