"""The content cache's probation segment and its all-hits mode (``images._cache``).

New entries wait in a small segment until asked for again: a run over many distinct inputs holds
at most that segment, a conversation's re-sent images are promoted and kept. ``only_hits`` turns
a miss into ``CacheMiss`` (uncounted), which the async entry points use to stay on the loop.
"""

from __future__ import annotations

import base64

import pytest
from langchain_core.messages import HumanMessage

from langchain_flexai.describe import ImageDescriber
from langchain_flexai.images import _doors
from langchain_flexai.images._cache import (
    ByteBoundedLRU,
    CacheMiss,
    header_work_only,
    not_stored,
    only_hits,
    uncached_work,
)
from tests.unit_tests.image_factory import encode, noisy
from tests.unit_tests.wire import WireRecorder


def test_entries_seen_once_never_hold_more_than_the_probation_bound() -> None:
    cache: ByteBoundedLRU[int, int] = ByteBoundedLRU(1000, probation_bytes=100)
    for key in range(500):
        cache.put(key, key, 30)
        assert cache.total_bytes <= 100
    assert sorted(k for k in range(500) if cache.get(k) is not None) == [497, 498, 499]


def test_an_entry_asked_for_again_is_promoted_and_outlives_probation() -> None:
    cache: ByteBoundedLRU[str, int] = ByteBoundedLRU(1000, probation_bytes=100)
    cache.put("kept", 1, 60)
    assert cache.get("kept") == 1  # second request: promoted
    for key in range(50):
        cache.put(f"once-{key}", key, 60)
    assert cache.get("kept") == 1
    assert cache.total_bytes == 60 + 60  # the promoted entry and the newest one on probation
    assert (cache.hits, cache.misses) == (2, 0)


def test_probation_keeps_its_newest_entry_even_when_it_is_larger() -> None:
    cache: ByteBoundedLRU[str, int] = ByteBoundedLRU(1000, probation_bytes=100)
    cache.put("big", 1, 400)
    assert cache.get("big") == 1
    cache.put("bigger", 2, 900)  # over the probation bound and, with "big", over the total
    assert (cache.get("bigger"), cache.get("big"), cache.total_bytes) == (2, None, 900)


def test_the_total_bound_evicts_probation_first() -> None:
    cache: ByteBoundedLRU[str, int] = ByteBoundedLRU(100, probation_bytes=50)
    cache.put("a", 1, 40)
    cache.get("a")
    cache.put("b", 2, 40)
    cache.get("b")
    cache.put("c", 3, 40)  # over 100: the unproven "c" would go first, but it is the newest
    assert cache.total_bytes <= 100
    assert cache.get("c") == 3


def test_only_hits_raises_on_a_miss_and_does_not_count_it() -> None:
    cache: ByteBoundedLRU[str, int] = ByteBoundedLRU(100)
    cache.put("a", 1, 10)
    with only_hits():
        assert cache.get("a") == 1
        with pytest.raises(CacheMiss):
            cache.get("b")
    assert cache.get("b") is None  # outside the block, a plain miss again
    assert (cache.hits, cache.misses) == (1, 1)


def test_header_work_only_computes_misses_but_stops_before_heavier_work() -> None:
    cache: ByteBoundedLRU[str, int] = ByteBoundedLRU(100)
    with header_work_only(64):
        assert cache.get("a") is None  # a miss is computed by the caller, not refused
        uncached_work(64)  # a header walk within the bound
        for heavier in (65, None):  # a larger input; pixels, a PDF page, a fetch
            with pytest.raises(CacheMiss):
                uncached_work(heavier)
    uncached_work()  # outside the block: announcing work does nothing
    with only_hits(), pytest.raises(CacheMiss):
        uncached_work(1)  # the all-hits mode allows no work at all


def test_the_loop_attempt_refuses_pixel_work_and_large_inputs_before_they_start() -> None:
    small = base64.b64encode(encode(noisy((40, 30), seed=11), "PNG")).decode()
    bmp = base64.b64encode(encode(noisy((40, 30), seed=11), "BMP")).decode()
    with not_stored():
        with header_work_only(len(small)):
            assert _doors.prepare_inline_image(small).transformations == ()
            with pytest.raises(CacheMiss):
                _doors.prepare_inline_image(bmp)  # converted by Pillow: not on the loop
        with header_work_only(len(small) // 2), pytest.raises(CacheMiss):
            _doors.prepare_inline_image(small)  # decoded only within the bound
        assert _doors.prepare_inline_image(bmp).transformations == ("converted",)


def test_distinct_images_hold_at_most_the_probation_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    cache: ByteBoundedLRU[tuple[object, ...], object] = ByteBoundedLRU(
        10 * 1024 * 1024, probation_bytes=64 * 1024
    )
    monkeypatch.setattr(_doors, "_CACHE", cache)
    urls = [
        "data:image/png;base64," + base64.b64encode(encode(noisy((64, 64), seed=s), "PNG")).decode()
        for s in range(40)
    ]
    for url in urls:
        _doors.prepare_inline_image(url)
        assert cache.total_bytes <= 64 * 1024 + len(url) * 2 + 1024
    again = _doors.prepare_inline_image(urls[-1])
    assert again is _doors.prepare_inline_image(urls[-1])  # promoted, then kept
    assert _doors.prepare_inline_image(urls[0]) is not None  # long evicted: prepared again


def test_a_key_stored_again_after_leaving_probation_goes_to_the_main_segment() -> None:
    cache: ByteBoundedLRU[str, int] = ByteBoundedLRU(1000, probation_bytes=100)
    for key in ("a", "b", "c", "d"):  # each 60: "a", "b", "c" leave probation unasked
        cache.put(key, 1, 60)
    assert cache.get("a") is None  # a second request, too late for probation
    cache.put("a", 2, 60)  # stored again: remembered, so kept in the main segment
    for key in range(20):
        cache.put(f"once-{key}", key, 60)
    assert cache.get("a") == 2
    cache.clear()
    cache.put("a", 3, 60)  # clear() forgets the evicted keys too: on probation again
    for key in range(3):
        cache.put(f"x-{key}", key, 60)
    assert cache.get("a") is None


def test_a_conversation_larger_than_probation_is_cached_from_its_second_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache: ByteBoundedLRU[tuple[object, ...], object] = ByteBoundedLRU(
        10 * 1024 * 1024, probation_bytes=1024
    )
    monkeypatch.setattr(_doors, "_CACHE", cache)
    urls = [
        "data:image/png;base64," + base64.b64encode(encode(noisy((64, 64), seed=s), "PNG")).decode()
        for s in range(4)
    ]
    first = [_doors.prepare_inline_image(u) for u in urls]  # turn 1
    second = [_doors.prepare_inline_image(u) for u in urls]  # turn 2: prepared again, kept
    third = [_doors.prepare_inline_image(u) for u in urls]  # turn 3: all cached
    assert all(a is not b for a, b in zip(first[:-1], second[:-1], strict=True))
    assert all(b is c for b, c in zip(second, third, strict=True))


def test_nothing_is_stored_inside_not_stored_and_lookups_still_hit() -> None:
    cache: ByteBoundedLRU[str, int] = ByteBoundedLRU(1000, probation_bytes=100)
    cache.put("before", 1, 10)
    with not_stored():
        cache.put("inside", 2, 10)
        assert cache.get("before") == 1
    assert cache.get("inside") is None
    assert cache.total_bytes == 10


def _photo_url(seed: int, size: tuple[int, int]) -> str:
    data = encode(noisy(size, seed=seed), "PNG")
    return "data:image/png;base64," + base64.b64encode(data).decode()


def test_a_conversations_large_images_hit_on_the_second_turn(
    wire: WireRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three compliant images of about 5 MB together: the second turn prepares none of them."""
    _doors.clear_image_cache()
    prepared: list[int] = []
    real = _doors.encode_bytes

    def counting(data: bytes, *args: object) -> object:
        prepared.append(len(data))
        return real(data, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_doors, "encode_bytes", counting)
    urls = [_photo_url(seed, (900, 700)) for seed in (1, 2, 3)]
    assert sum(len(u) for u in urls) > 4 * 1024 * 1024
    parts = [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    model = wire.model()
    for _turn in range(3):
        model.invoke([HumanMessage(content=["Compare these.", *parts])])
    assert len(prepared) == 3


def test_a_describe_run_leaves_nothing_in_the_content_cache(wire: WireRecorder) -> None:
    """Each image of a run is one request: nothing of it is kept (a loop of invokes would)."""
    _doors.clear_image_cache()
    images = [_doors.prepare_image(encode(noisy((64, 48), seed=seed), "PNG")) for seed in range(8)]
    _doors.clear_image_cache()  # the door's own entries: not the run's
    records = list(ImageDescriber(wire.model(), "Describe.").describe(images))
    assert [r.status for r in records] == ["described"] * 8
    assert len(_doors._CACHE) == 0
    wire.model().invoke([HumanMessage(content=["Describe.", images[0].to_content_block()])])
    assert len(_doors._CACHE) == 1
