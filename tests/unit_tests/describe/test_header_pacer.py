"""Pacing a describe run by FlexAI's x-ratelimit-* headers, on fake clocks."""

from __future__ import annotations

import contextvars
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage

from langchain_flexai import ChatFlexAI, ImageDescriber
from langchain_flexai.describe._rate_limit import HeaderPacer, RateLimitHeaders, RequestRateLimiter

WALL = 1_767_225_600.0


class Clocks:
    def __init__(self) -> None:
        self.mono = 500.0
        self.wall = WALL

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


def _pacer(clocks: Clocks) -> HeaderPacer:
    return HeaderPacer(clock=lambda: clocks.mono, wall_clock=lambda: clocks.wall)


def _answer(limit: int | None, remaining: int | None, reset: float | None) -> AIMessage:
    headers: dict[str, str] = {"content-type": "application/json"}
    for name, value in (("limit", limit), ("remaining", remaining), ("reset", reset)):
        if value is not None:
            headers[f"x-ratelimit-{name}-requests"] = str(value)
    return AIMessage("ok", response_metadata={"headers": headers})


class Request:
    """One request's own context, as each thread or task of a run has."""

    def __init__(self, pacer: HeaderPacer) -> None:
        self.pacer = pacer
        self.context = contextvars.copy_context()

    def start(self) -> float:
        return self.context.run(self.pacer.try_acquire)

    def answer(self, seen: Any) -> None:
        self.context.run(self.pacer.observe, seen)


def test_one_request_goes_alone_until_an_answer_says_how_many_may_follow() -> None:
    clocks = Clocks()
    pacer = _pacer(clocks)
    probe = Request(pacer)
    assert probe.start() == 0.0
    assert 0 < Request(pacer).start() < 0.1  # waits for the probe's answer
    probe.answer(_answer(10, 9, WALL + 30))
    assert pacer.limit == 10
    assert [Request(pacer).start() for _ in range(9)] == [0.0] * 9
    # The window is used up: wait for its reset, plus a second for a rounded timestamp.
    assert Request(pacer).start() == pytest.approx(31.0)


def test_requests_started_after_the_answered_one_count_against_what_remains() -> None:
    clocks = Clocks()
    pacer = _pacer(clocks)
    probe = Request(pacer)
    probe.start()
    probe.answer(_answer(6, 5, WALL + 30))
    first, *later = [Request(pacer) for _ in range(3)]
    assert [r.start() for r in (first, *later)] == [0.0] * 3
    # The server counted `first` (remaining 4); the two started after it may not be counted.
    first.answer(_answer(6, 4, WALL + 30))
    assert [Request(pacer).start() for _ in range(2)] == [0.0, 0.0]
    assert Request(pacer).start() > 1


def test_older_news_does_not_undo_a_newer_count() -> None:
    clocks = Clocks()
    pacer = _pacer(clocks)
    old, new = Request(pacer), Request(pacer)
    old.start()
    old.answer(_answer(10, 9, WALL + 30))
    new.start()
    new.answer(_answer(10, 0, WALL + 30))  # another client spent the key's window
    late = Request(pacer)
    assert late.start() > 1
    old.answer(_answer(10, 8, WALL + 30))  # a late answer about an earlier start
    assert late.start() > 1


def test_after_the_reset_one_request_asks_again() -> None:
    clocks = Clocks()
    pacer = _pacer(clocks)
    probe = Request(pacer)
    probe.start()
    probe.answer(_answer(3, 0, WALL + 5))
    assert Request(pacer).start() == pytest.approx(6.0)
    clocks.advance(6.0)
    second = Request(pacer)
    assert second.start() == 0.0
    assert 0 < Request(pacer).start() < 0.1
    second.answer(_answer(3, 2, WALL + 65))
    assert [Request(pacer).start() for _ in range(2)] == [0.0, 0.0]


@pytest.mark.parametrize(("reset", "wait"), [(WALL + 3600, 66.0), (WALL - 100, 1.0), (None, 1.0)])
def test_resets_far_off_or_past_are_clamped(reset: float | None, wait: float) -> None:
    clocks = Clocks()
    pacer = _pacer(clocks)
    probe = Request(pacer)
    probe.start()
    probe.answer(_answer(10, 0, reset))
    assert Request(pacer).start() == pytest.approx(wait)


def test_answers_without_the_headers_end_pacing() -> None:
    pacer = _pacer(Clocks())
    probe = Request(pacer)
    probe.start()
    probe.answer(AIMessage("ok"))
    assert [Request(pacer).start() for _ in range(50)] == [0.0] * 50


def test_an_error_without_headers_lets_the_next_request_ask() -> None:
    pacer = _pacer(Clocks())
    probe = Request(pacer)
    probe.start()
    probe.answer(openai.APIConnectionError(request=httpx.Request("POST", "http://x")))
    nxt = Request(pacer)
    assert nxt.start() == 0.0
    assert 0 < Request(pacer).start() < 0.1


def test_a_429_carries_the_headers_too() -> None:
    clocks = Clocks()
    pacer = _pacer(clocks)
    probe = Request(pacer)
    probe.start()
    response = httpx.Response(
        429,
        headers={
            "x-ratelimit-limit-requests": "10",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": str(int(WALL + 20)),
        },
        request=httpx.Request("POST", "http://x"),
    )
    probe.answer(openai.RateLimitError("rate", response=response, body=None))
    assert Request(pacer).start() == pytest.approx(21.0)


def test_pause_holds_every_start() -> None:
    clocks = Clocks()
    pacer = _pacer(clocks)
    pacer.pause(2.5)
    assert Request(pacer).start() == pytest.approx(2.5)


@pytest.mark.parametrize("bad", ["", "ten", "-3", "nan", "inf"])
def test_malformed_headers_are_ignored(bad: str) -> None:
    message = AIMessage(
        "ok",
        response_metadata={
            "headers": {"X-RateLimit-Limit-Requests": bad, "x-ratelimit-remaining-requests": bad}
        },
    )
    assert RateLimitHeaders.of(message) is None
    good = AIMessage("ok", response_metadata={"headers": {"X-RateLimit-Limit-Requests": "60"}})
    assert RateLimitHeaders.of(good) == RateLimitHeaders(60, None, None)


def test_describer_paces_by_headers_only_without_an_explicit_limit() -> None:
    model = ChatFlexAI(api_key="test-key")
    paced = ImageDescriber(model)
    assert isinstance(paced._gate, HeaderPacer)
    assert paced._sender.include_response_headers is True  # type: ignore[attr-defined]
    assert model.include_response_headers is False  # the caller's model is left as it is
    explicit = ImageDescriber(model, requests_per_minute=30)
    assert isinstance(explicit._gate, RequestRateLimiter)
    assert explicit._sender.include_response_headers is False  # type: ignore[attr-defined]


def test_requests_in_flight_when_one_started_count_against_what_it_says_remains() -> None:
    # Under load a request can reach the server after one started later, so the later one's
    # count may not include it, even when it has answered first.
    clocks = Clocks()
    pacer = _pacer(clocks)
    probe = Request(pacer)
    probe.start()
    probe.answer(_answer(10, 9, WALL + 30))
    slow, fast = Request(pacer), Request(pacer)
    slow.start()
    fast.start()
    slow.answer(_answer(10, 7, WALL + 30))
    fast.answer(_answer(10, 3, WALL + 30))  # slow may be in these 3 or not: 2 for us
    assert [Request(pacer).start() for _ in range(2)] == [0.0, 0.0]
    assert Request(pacer).start() > 1


def test_a_request_never_answered_stops_holding_back_others_after_two_windows() -> None:
    clocks = Clocks()
    pacer = _pacer(clocks)
    probe = Request(pacer)
    probe.start()
    probe.answer(_answer(100, 99, WALL + 30))
    Request(pacer).start()  # cancelled: never observed
    clocks.advance(200.0)
    asker = Request(pacer)
    asker.start()  # the window ended: it asks alone
    asker.answer(_answer(100, 5, WALL + 230))
    assert [Request(pacer).start() for _ in range(5)] == [0.0] * 5
