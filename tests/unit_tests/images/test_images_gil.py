"""The slow path's pixel work leaves the GIL free: worker threads preparing images run in parallel.

Pillow releases the GIL inside each decoder call and inside ``encode_to_file``, but holds it while
its JPEG encoder writes into Python memory (``encode``) and between the 64 KiB blocks its load
loop feeds the decoder. These tests watch which Pillow calls are made (structure, never time):
the JPEG encode goes to a file descriptor, the decode takes one call, and the bytes are the same
as Pillow's in-memory route. The descriptor is an anonymous in-memory file, closed afterwards.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from langchain_flexai.images import _render
from langchain_flexai.images._doors import clear_image_cache, prepare_inline_image
from langchain_flexai.images._policy import ImagePolicy
from tests.unit_tests.image_factory import (  # noqa: F401 - fixtures
    encode,
    exif_bytes,
    fresh_cache,
    noisy,
)

linux_only = pytest.mark.skipif(
    not hasattr(os, "memfd_create"), reason="anonymous in-memory files are Linux-only"
)


class _Spy:
    """Stands in for a Pillow codec object, recording the names of the methods called on it."""

    def __init__(self, real: Any, calls: list[str]) -> None:
        self._real = real
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._real, name)
        if callable(value):
            self._calls.append(name)
        return value


@pytest.fixture
def codec_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    """Every method called on a JPEG encoder or decoder Pillow makes from now on.

    Make the test's input before asking for this: its own encode would be counted too.
    """
    calls: dict[str, list[str]] = {"encoder": [], "decoder": []}

    def spying(kind: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def make(mode: str, name: str, *args: Any, **kwargs: Any) -> Any:
            codec = real(mode, name, *args, **kwargs)
            return _Spy(codec, calls[kind]) if name == "jpeg" else codec

        return make

    monkeypatch.setattr(Image, "_getencoder", spying("encoder", Image._getencoder))
    monkeypatch.setattr(Image, "_getdecoder", spying("decoder", Image._getdecoder))
    yield calls


def _photo_jpeg(size: tuple[int, int] = (1600, 1200), orientation: int = 6) -> bytes:
    # Noisy at quality 95: about 1.3 MB, twenty of Pillow's 64 KiB decoder blocks.
    return encode(noisy(size, seed=3), "JPEG", quality=95, exif=exif_bytes(orientation))


@pytest.fixture
def photo() -> bytes:
    return _photo_jpeg()


_POLICY = ImagePolicy(max_side=800)


@linux_only
def test_a_jpeg_is_encoded_by_the_call_that_releases_the_gil(
    photo: bytes, codec_calls: dict[str, list[str]]
) -> None:
    prepared = prepare_inline_image(photo, policy=_POLICY)
    assert prepared.mime_type == "image/jpeg"
    assert (prepared.width, prepared.height) == (600, 800)
    assert "encode_to_file" in codec_calls["encoder"]
    assert "encode" not in codec_calls["encoder"]  # the GIL-holding route into Python memory


def test_a_jpeg_is_decoded_in_one_decoder_call(
    photo: bytes, codec_calls: dict[str, list[str]]
) -> None:
    assert len(photo) > 16 * 65536  # Pillow's own block would take about twenty calls
    prepare_inline_image(photo, policy=_POLICY)
    assert codec_calls["decoder"].count("decode") == 1


def test_the_bytes_equal_pillows_in_memory_route(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _photo_jpeg()
    ours = prepare_inline_image(data, policy=_POLICY)
    # Pillow's route for the same decode: the DCT-scaled image, turned upright, saved to memory.
    im = Image.open(io.BytesIO(data))
    im.draft("RGB", (800, 600))
    im = im.transpose(Image.Transpose.ROTATE_270)
    assert ours.data() == encode(im, "JPEG", quality=_POLICY.jpeg_quality)
    # And where no anonymous file can be made, the in-memory route gives the same bytes.
    clear_image_cache()
    monkeypatch.setattr(_render, "_memfd_create", None)
    assert prepare_inline_image(data, policy=_POLICY).data() == ours.data()


def test_a_refused_descriptor_falls_back_to_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    refused: list[str] = []

    def refuse(name: str, flags: int = 0) -> int:
        refused.append(name)
        raise OSError(24, "Too many open files")

    data = _photo_jpeg()
    expected = prepare_inline_image(data, policy=_POLICY).data()
    clear_image_cache()
    monkeypatch.setattr(_render, "_memfd_create", refuse)
    assert prepare_inline_image(data, policy=_POLICY).data() == expected
    assert refused == ["flexai-jpeg"]


@pytest.mark.skipif(sys.platform != "linux", reason="counts /proc/self/fd")
def test_no_descriptor_outlives_an_encode() -> None:
    def descriptors() -> int:
        return sum(1 for _ in Path("/proc/self/fd").iterdir())

    before = descriptors()
    for seed in range(5):
        data = encode(noisy((900, 700), seed=seed), "JPEG", quality=90)
        prepare_inline_image(data, policy=_POLICY)
    assert descriptors() == before
