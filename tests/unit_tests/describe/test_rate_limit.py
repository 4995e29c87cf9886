"""The sliding-window request limiter, on a fake clock."""

from __future__ import annotations

import pytest

from langchain_flexai.describe._run import RequestRateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_n_starts_then_wait_for_the_oldest_to_leave_the_window() -> None:
    clock = FakeClock()
    limiter = RequestRateLimiter(3, 10.0, margin_seconds=0.5, clock=clock)
    assert [limiter.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.try_acquire() == pytest.approx(10.5)
    clock.now += 10.4
    assert limiter.try_acquire() == pytest.approx(0.1)
    clock.now += 0.1
    # All three of the first starts leave the window together: three slots, then a wait.
    assert [limiter.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.try_acquire() == pytest.approx(10.5)


def test_no_window_ever_holds_more_than_the_limit() -> None:
    clock = FakeClock()
    limiter = RequestRateLimiter(5, 60.0, margin_seconds=0.0, clock=clock)
    starts: list[float] = []
    for step in range(2000):
        clock.now = 1000.0 + step * 0.37  # requests arrive far faster than allowed
        if limiter.try_acquire() == 0.0:
            starts.append(clock.now)
    assert len(starts) > 5
    for i, start in enumerate(starts):
        in_window = [s for s in starts[i:] if s < start + 60.0]
        assert len(in_window) <= 5


def test_pause_blocks_every_start() -> None:
    clock = FakeClock()
    limiter = RequestRateLimiter(100, 60.0, clock=clock)
    limiter.pause(2.0)
    assert limiter.try_acquire() == pytest.approx(2.0)
    clock.now += 2.0
    assert limiter.try_acquire() == 0.0


def test_default_margin_and_repr() -> None:
    assert RequestRateLimiter.per_minute(60).margin_seconds == 1.0
    assert RequestRateLimiter(10, 5.0).margin_seconds == pytest.approx(0.1)
    assert repr(RequestRateLimiter(10, 5.0)) == (
        "RequestRateLimiter(requests=10, per_seconds=5, margin_seconds=0.1)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0,), "requests must be an int >= 1"),
        ((True,), "requests must be an int >= 1"),
        ((1, 0.0), "per_seconds must be a finite number > 0"),
        ((1, float("inf")), "per_seconds must be a finite number > 0"),
    ],
)
def test_invalid_limits(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RequestRateLimiter(*args)  # type: ignore[arg-type]


async def test_aacquire_waits_for_the_slot() -> None:
    limiter = RequestRateLimiter(1, 0.05, margin_seconds=0.0)
    await limiter.aacquire()
    assert limiter.try_acquire() > 0
    await limiter.aacquire()  # returns once the window has passed
    assert limiter.try_acquire() > 0
