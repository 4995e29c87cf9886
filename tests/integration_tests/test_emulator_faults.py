"""Fault injection: failures on demand, stream cuts, latency, the RPM window, the credit budget,
maintenance; and the knobs' own validation."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from langchain_flexai._transport._errors import FlexAIStreamInterruptedError
from langchain_flexai.testing import Faults, FlexAIEmulator

MODEL = "phi-4-multimodal-instruct"
HELLO = {"model": MODEL, "messages": [{"role": "user", "content": "Hello"}]}


def _post(
    emu: FlexAIEmulator, *, client: httpx.Client | None = None, **extra: object
) -> httpx.Response:
    post = client.post if client is not None else httpx.post
    return post(
        f"{emu.base_url}/chat/completions",
        json={**HELLO, **extra},
        headers={"Authorization": f"Bearer {emu.api_key}"},
    )


class TestFailNext:
    def test_queued_failures_in_order_then_success(self, flexai_emulator: FlexAIEmulator) -> None:
        flexai_emulator.faults.fail_next(2, 503)
        flexai_emulator.faults.fail_next(1, 429, retry_after=0.25)
        flexai_emulator.faults.fail_next(1, 500, message="upstream exploded")
        responses = [_post(flexai_emulator) for _ in range(5)]
        assert [r.status_code for r in responses] == [503, 503, 429, 500, 200]
        assert responses[0].json()["error"]["type"] == "service_unavailable_error"
        assert "retry-after" not in responses[0].headers
        assert responses[2].headers["retry-after"] == "0.25"
        assert responses[2].json()["error"]["code"] == "rate_limit_exceeded"
        assert responses[3].json()["error"]["message"] == "upstream exploded"
        assert flexai_emulator.faults.pending_failures == 0

    def test_injected_402_matches_the_real_envelope(self, flexai_emulator: FlexAIEmulator) -> None:
        flexai_emulator.faults.fail_next(1, 402)
        error = _post(flexai_emulator).json()["error"]
        assert (error["type"], error["code"]) == ("insufficient_quota", "402")

    def test_public_endpoints_are_not_failed(self, flexai_emulator: FlexAIEmulator) -> None:
        flexai_emulator.faults.fail_next(1, 503)
        assert httpx.get(f"{flexai_emulator.url}/api/models").status_code == 200
        assert flexai_emulator.faults.pending_failures == 1

    def test_sdk_retries_them_honouring_retry_after(self, flexai_emulator: FlexAIEmulator) -> None:
        flexai_emulator.faults.fail_next(2, 429, retry_after=0.01)
        reply = flexai_emulator.chat_model(max_retries=2).invoke("Hello")
        assert reply.content == "Received 1 message with 1 text part and 0 images."
        assert len(flexai_emulator.requests) == 3


class TestStreamCuts:
    def test_abort_makes_stream_and_astream_raise(self) -> None:
        with FlexAIEmulator(cut_stream_after=3) as emu:
            model = emu.chat_model(max_retries=0)
            with pytest.raises(FlexAIStreamInterruptedError, match="broke after 3 chunks"):
                list(model.stream("Hello"))

    async def test_abort_async(self) -> None:
        with FlexAIEmulator(cut_stream_after=3) as emu:
            model = emu.chat_model(max_retries=0)
            with pytest.raises(FlexAIStreamInterruptedError, match="broke after 3 chunks"):
                [chunk async for chunk in model.astream("Hello")]

    def test_close_without_done_is_detected(self) -> None:
        with FlexAIEmulator(cut_stream_after=3, cut_stream_mode="close") as emu:
            response = _post(emu, stream=True)
            assert response.status_code == 200
            assert "[DONE]" not in response.text
            assert response.text.count("data: ") == 3
            with pytest.raises(FlexAIStreamInterruptedError, match="without a finish_reason"):
                list(emu.chat_model().stream("Hello"))

    def test_cut_after_all_events_is_no_cut(self, flexai_emulator: FlexAIEmulator) -> None:
        flexai_emulator.faults.cut_stream_after = 10_000
        assert _post(flexai_emulator, stream=True).text.endswith("data: [DONE]\n\n")


class TestRateWindow:
    def test_window_resets(self) -> None:
        # Windows are fixed, aligned to multiples of their length on the clock (as FlexAI's
        # minutes are): the posts start just after a window opens, on one client, so both land
        # in it even on a loaded machine. A first request to another emulator first: what a
        # process imports on its first request (the package face loads lazily) must not be
        # paid inside the window.
        window = 2.0
        with FlexAIEmulator() as warm:
            assert _post(warm).status_code == 200
        with FlexAIEmulator(rpm_limit=1, rate_window=window) as emu, httpx.Client() as client:
            time.sleep(window - time.time() % window + 0.05)
            first = _post(emu, client=client)
            second = _post(emu, client=client)
            # The SDK waits Retry-After (what is left of the window) and gets through.
            reply = emu.chat_model(max_retries=2).invoke("Hello")
        assert (first.status_code, second.status_code) == (200, 429)
        assert second.headers["retry-after"] in {"1", "2"}  # the rest of the 2 s, rounded up
        assert reply.content


class TestCredit:
    def test_budget_then_top_up(self) -> None:
        with FlexAIEmulator(credit_budget=1e-6) as emu:
            # Each "Hello" costs (6 * 0.05 + 13 * 0.10) / 1e6 = 1.6e-6 USD.
            assert _post(emu).status_code == 200
            assert emu.faults.spent == pytest.approx(1.6e-6)
            assert _post(emu).status_code == 402
            emu.faults.add_credit(1.0)
            assert _post(emu).status_code == 200

    def test_402_is_not_retried(self) -> None:
        with FlexAIEmulator(credit_budget=0) as emu:
            with pytest.raises(openai.APIStatusError) as error:
                emu.chat_model(max_retries=3).invoke("Hello")
            assert error.value.status_code == 402
            assert len(emu.requests) == 1


class TestMaintenanceAndLatency:
    def test_maintenance_toggles(self, flexai_emulator: FlexAIEmulator) -> None:
        flexai_emulator.faults.set_maintenance(MODEL)
        assert _post(flexai_emulator).status_code == 503
        flexai_emulator.faults.set_maintenance(MODEL, under_maintenance=False)
        assert _post(flexai_emulator).status_code == 200

    def test_latency_trips_a_client_timeout(self, flexai_emulator: FlexAIEmulator) -> None:
        flexai_emulator.faults.latency = 2.0
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                f"{flexai_emulator.base_url}/chat/completions",
                json=HELLO,
                headers={"Authorization": f"Bearer {flexai_emulator.api_key}"},
                timeout=0.2,
            )

    def test_clear(self, flexai_emulator: FlexAIEmulator) -> None:
        faults = flexai_emulator.faults
        faults.fail_next(3, 503)
        faults.latency = 1.0
        faults.set_maintenance(MODEL)
        faults.clear()
        assert (faults.pending_failures, faults.latency) == (0, 0.0)
        assert _post(flexai_emulator).status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"latency": -1}, "latency must be a finite number >= 0"),
        ({"cut_stream_after": -1}, "cut_stream_after must be >= 0 or None"),
        ({"rpm_limit": 0}, "rpm_limit must be >= 1"),
        ({"rate_window": 0}, "rate_window must be a finite number > 0"),
        ({"credit_budget": -1.0}, "credit_budget must be >= 0 or None"),
    ],
)
def test_knobs_are_validated(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Faults(**kwargs)  # type: ignore[arg-type]


def test_fail_next_is_validated() -> None:
    faults = Faults()
    with pytest.raises(ValueError, match="status must be an HTTP error code"):
        faults.fail_next(1, 200)
    with pytest.raises(ValueError, match="count must be >= 0"):
        faults.fail_next(-1, 500)
