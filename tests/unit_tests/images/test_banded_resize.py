"""A large downscale in two bands of rows on two threads gives the one call's very pixels."""

from __future__ import annotations

import os
import random
import struct
import threading
from fractions import Fraction
from typing import Any

import pytest
from PIL import Image

from langchain_flexai.errors import ImageInputError
from langchain_flexai.images import _banded_resize
from langchain_flexai.images._banded_resize import lanczos_resize, split_row
from langchain_flexai.images._doors import prepare_image

LANCZOS = Image.Resampling.LANCZOS


def _float32(value: float) -> float:
    return float(struct.unpack("f", struct.pack("f", value))[0])


class _CountingThread(threading.Thread):
    started: list[str] = []  # noqa: RUF012 - one list per test, reset by the fixture

    def start(self) -> None:
        _CountingThread.started.append(self.name)
        super().start()


@pytest.fixture
def band_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the band threads started; every image counts as large."""
    _CountingThread.started = []
    monkeypatch.setattr(threading, "Thread", _CountingThread)
    monkeypatch.setattr(_banded_resize, "MIN_SOURCE_PIXELS", 0)
    monkeypatch.setattr(_banded_resize, "_CPUS", 2)
    return _CountingThread.started


def _one_call(im: Image.Image, size: tuple[int, int], gap: float) -> Image.Image:
    """Pillow 13's ``im.resize(size, LANCZOS, reducing_gap=gap)``, spelled out for LA and RGBA.

    Pillow 12 and earlier resize LA and RGBA without the ``reducing_gap``; Pillow 13, and the
    bands, premultiply and keep it. For other modes this is the one call itself.
    """
    premultiplied = {"LA": "La", "RGBA": "RGBa"}.get(im.mode)
    if premultiplied is None:
        return im.resize(size, LANCZOS, reducing_gap=gap)
    resized = im.convert(premultiplied).resize(size, LANCZOS, reducing_gap=gap)
    return resized.convert(im.mode)


def _noise(rng: random.Random, mode: str, size: tuple[int, int]) -> Image.Image:
    return Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * len(mode)))


def _cases(seed: int, count: int) -> list[tuple[str, tuple[int, int], tuple[int, int], float]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        w, h = rng.randrange(24, 700), rng.randrange(24, 700)
        out = (rng.randrange(4, w + 1), rng.randrange(4, h + 1))
        cases.append((rng.choice(["L", "RGB", "RGBA", "LA"]), (w, h), out, rng.choice([1.0, 2.0])))
    return cases


@pytest.mark.parametrize("seed", range(6))
def test_generated_downscales_match_the_one_call_byte_for_byte(
    seed: int, band_threads: list[str]
) -> None:
    rng = random.Random(1000 + seed)
    split = 0
    for mode, size, out, gap in _cases(seed, 40):
        im = _noise(rng, mode, size)
        expected = _one_call(im, out, gap)
        before = len(band_threads)
        got = lanczos_resize(im, out, gap)
        split += len(band_threads) - before
        assert (got.mode, got.size) == (expected.mode, expected.size)
        assert got.tobytes() == expected.tobytes(), (mode, size, out, gap)
    assert split >= 15


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ((6000, 4000), (2048, 1365)),  # a 24 MP screenshot: box reduce by 2, then LANCZOS
        ((4032, 3024), (2048, 1536)),  # a 12 MP phone photo
        ((3840, 2160), (2048, 1152)),  # 4K
        ((1000, 6000), (341, 2048)),  # tall: the vertical pass runs first
    ],
)
def test_the_sizes_users_send_are_split_and_unchanged(
    source: tuple[int, int], target: tuple[int, int], band_threads: list[str]
) -> None:
    im = _noise(random.Random(7), "RGB", (source[0] // 4, source[1] // 4)).resize(source)
    expected = im.resize(target, LANCZOS, reducing_gap=1.0)
    got = lanczos_resize(im, target, 1.0)
    assert band_threads == ["flexai-resize-band"]
    assert got.tobytes() == expected.tobytes()


def test_a_resize_while_another_is_in_flight_stays_on_its_thread_with_the_same_pixels(
    band_threads: list[str],
) -> None:
    im = _noise(random.Random(3), "RGB", (900, 600))
    alone = lanczos_resize(im, (280, 190), 1.0)
    assert band_threads == ["flexai-resize-band"]
    with _banded_resize._large_resize():  # another worker's resize
        beside = lanczos_resize(im, (280, 190), 1.0)
    assert band_threads == ["flexai-resize-band"]
    assert beside.tobytes() == alone.tobytes()
    assert _banded_resize._in_flight == 0


def test_one_cpu_or_a_small_image_makes_no_thread(
    band_threads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    im = _noise(random.Random(4), "RGB", (900, 600))
    monkeypatch.setattr(_banded_resize, "_CPUS", 1)
    one_cpu = lanczos_resize(im, (280, 190), 1.0)
    monkeypatch.setattr(_banded_resize, "_CPUS", 2)
    monkeypatch.setattr(_banded_resize, "MIN_SOURCE_PIXELS", 900 * 600 + 1)
    small = lanczos_resize(im, (280, 190), 1.0)
    assert band_threads == []
    assert one_cpu.tobytes() == small.tobytes()


def test_sixteen_bit_images_take_the_one_call(band_threads: list[str]) -> None:
    im = Image.new("I;16", (400, 300), 40_000)
    got = lanczos_resize(im, (200, 150), 3.0)
    assert band_threads == []
    assert got.mode == "I;16"
    assert got.getpixel((10, 10)) == 40_000


@pytest.mark.parametrize("side", ["top", "bottom"])
def test_a_failing_band_raises_the_image_error_on_the_callers_thread(
    side: str, band_threads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Image.Image.crop
    caller = threading.current_thread()

    def crop(self: Image.Image, box: Any = None) -> Image.Image:
        on_caller = threading.current_thread() is caller
        if on_caller == (side == "top"):
            raise MemoryError
        return real(self, box)

    monkeypatch.setattr(Image.Image, "crop", crop)
    im = _noise(random.Random(5), "RGB", (900, 600))
    with pytest.raises(ImageInputError, match="memory"):
        lanczos_resize(im, (700, 500), 1.0)
    assert band_threads == ["flexai-resize-band"]
    assert not any(t.name == "flexai-resize-band" for t in threading.enumerate())
    assert _banded_resize._in_flight == 0


@pytest.mark.parametrize(
    ("rows", "out", "expected"),
    [
        (2000.0, 1365, (546, 800.0)),  # 2000/1365 = 400/273: rows in steps of 273
        (3024.0, 1536, (768, 1512.0)),
        (2160.0, 1152, (576, 1080.0)),
        (1000.0, 1000, None),  # no vertical scaling
        (500.0, 1, None),
        (1009.0, 997, None),  # 1009/997: only the last output row meets exactly
        (1009.0, 1000, (500, 504.5)),  # 1009/1000: rows in steps of 125
    ],
)
def test_split_row(rows: float, out: int, expected: tuple[int, float] | None) -> None:
    assert split_row(rows, out) == expected


def test_a_split_row_is_exact_in_float32_and_keeps_the_scale() -> None:
    rng = random.Random(9)
    found = 0
    for _ in range(3000):
        out = rng.randrange(2, 3000)
        rows = rng.randrange(out, 12_000) / rng.choice([1, 2, 3, 7])
        split = split_row(rows, out)
        if split is None:
            continue
        found += 1
        row, coordinate = split
        assert out / 4 <= row <= out * 3 / 4
        assert _float32(coordinate) == coordinate
        assert Fraction(coordinate) == Fraction(_float32(rows)) * row / out
        assert coordinate / row == _float32(rows) / out  # the top band's scale, to the bit
    assert found > 500


def test_prepare_image_of_a_large_png_uses_both_bands(
    tmp_path: Any, band_threads: list[str]
) -> None:
    rng = random.Random(11)
    source = _noise(rng, "RGBA", (200, 150)).resize((3000, 2250))
    path = tmp_path / "screenshot.png"
    source.save(path)
    prepared = prepare_image(path)
    assert band_threads == ["flexai-resize-band"]
    assert (prepared.width, prepared.height) == (2048, 1536)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_child_forked_while_a_resize_is_in_flight_can_split_again() -> None:
    with _banded_resize._large_resize():  # a resize in flight in this process at the fork
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit status
            os._exit(0 if _banded_resize._in_flight == 0 else 1)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _banded_resize._in_flight == 0


def test_no_thread_to_be_had_resizes_both_bands_here(
    band_threads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    im = _noise(random.Random(6), "RGB", (900, 600))
    expected = lanczos_resize(im, (280, 190), 1.0)

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(_CountingThread, "start", refuse)
    assert lanczos_resize(im, (280, 190), 1.0).tobytes() == expected.tobytes()
