"""Large inline inputs are looked up by identity first, and hashed only when pixel work is ahead.

Hashing a 2.7 MB data URL for the content cache costs about what preparing a compliant image
again costs, so a fresh large input that is sent as it is never gets a content key: these tests
give it as a ``str`` whose hash raises. The very same object is a hit by identity; an equal copy
is prepared again (same value); an input that needs pixels is remembered by content, so an
equal copy (a conversation reloaded from storage) is not rendered twice.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from langchain_flexai.images import _doors
from langchain_flexai.images._cache import CacheMiss, not_stored, only_hits
from tests.unit_tests.image_factory import encode, noisy

_BIG_COMPLIANT = encode(noisy((900, 700), seed=3), "JPEG", quality=95)
_NEEDS_PIXELS = encode(noisy((2600, 1200), seed=4), "JPEG", quality=95)  # over 2048 px: resized


class Unhashable(str):
    """A data URL that fails the test if anything hashes it."""

    __slots__ = ()

    def __hash__(self) -> int:
        raise AssertionError("the input was hashed")


def _url(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


@pytest.fixture(autouse=True)
def _empty() -> Iterator[None]:
    _doors.clear_image_cache()
    yield
    _doors.clear_image_cache()


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The inputs `_inline_uncached` was asked to prepare (each attempt counts)."""
    calls: list[str] = []
    real = _doors._inline_uncached

    def spy(data: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(data)
        return real(data, *args, **kwargs)

    monkeypatch.setattr(_doors, "_inline_uncached", spy)
    return calls


def test_inputs_are_large_enough_for_the_identity_road() -> None:
    assert len(_url(_BIG_COMPLIANT)) >= _doors.HASHED_BELOW
    assert len(_url(_NEEDS_PIXELS)) >= _doors.HASHED_BELOW


def test_a_large_compliant_input_is_never_hashed_and_the_same_object_is_a_hit(
    computed: list[str],
) -> None:
    url = Unhashable(_url(_BIG_COMPLIANT))
    first = _doors.prepare_inline_image(url)
    assert first.transformations == ()
    assert first.url is url
    again = _doors.prepare_inline_image(url)
    assert again is first
    assert len(computed) == 1
    assert (_doors._CACHE.hits, _doors._CACHE.misses) == (1, 1)


def test_an_equal_copy_of_a_compliant_input_is_prepared_again_to_the_same_value(
    computed: list[str],
) -> None:
    text = _url(_BIG_COMPLIANT)
    first = _doors.prepare_inline_image(Unhashable(text))
    copy = _doors.prepare_inline_image(Unhashable("".join([text[:9], text[9:]])))
    assert copy == first
    assert len(computed) == 2


def test_an_input_that_needs_pixels_is_rendered_once_for_every_equal_copy(
    computed: list[str],
) -> None:
    text = _url(_NEEDS_PIXELS)
    first = _doors.prepare_inline_image(text)
    assert first.transformations == ("resized",)
    assert len(computed) == 2  # the light attempt stopped before the pixels, then the render
    assert _doors.prepare_inline_image(text) is first  # the same object: by content at once
    assert len(computed) == 2
    copy = "".join([text[:9], text[9:]])
    assert _doors.prepare_inline_image(copy) is first  # an equal copy: its light attempt, a hit
    assert len(computed) == 3


def test_the_all_hits_mode_computes_nothing_and_leaves_no_mark(computed: list[str]) -> None:
    url = Unhashable(_url(_BIG_COMPLIANT))
    with only_hits(), pytest.raises(CacheMiss):
        _doors.prepare_inline_image(url)
    assert computed == []
    assert len(_doors._CACHE) == 0
    assert _doors.prepare_inline_image(url).url is url  # then the light road, unhashed


def test_a_run_that_stores_nothing_stores_no_identity_entry() -> None:
    url = _url(_BIG_COMPLIANT)
    with not_stored():
        _doors.prepare_inline_image(url)
        _doors.prepare_inline_image(_url(_NEEDS_PIXELS))
    assert len(_doors._CACHE) == 0
