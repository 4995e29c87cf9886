"""What a record carries: response id and finish reason (kept by the cache), cost, ETA, status."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langchain_flexai.describe import DescribeProgress, DescribeRecord, ImageDescriber
from langchain_flexai.describe._cache import _COLUMNS, _TABLE, DescribeCache
from langchain_flexai.describe._key import RequestIdentity
from langchain_flexai.describe._records import TokenUsage, usage_cost
from langchain_flexai.images import prepare_image
from tests.unit_tests.loader_samples import CountingModel, save_image


class IdentifiedModel(BaseChatModel):
    """Answers with a server id and finish reason, as ChatFlexAI's messages carry them."""

    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "identified-fake"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls += 1
        message = AIMessage(
            content="a square",
            usage_metadata={"input_tokens": 7, "output_tokens": 3, "total_tokens": 10},
            response_metadata={"id": f"chatcmpl-{self.calls}", "finish_reason": "stop"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def test_a_cached_record_is_the_record_its_request_made(tmp_path: Path) -> None:
    image = prepare_image(save_image(tmp_path / "a.png", (12, 8), fmt="PNG"))
    model = IdentifiedModel()
    cache = tmp_path / "c.sqlite"
    (first,) = ImageDescriber(model, cache_path=cache, price_per_mtok=(1.0, 2.0)).describe([image])
    (again,) = ImageDescriber(model, cache_path=cache, price_per_mtok=(1.0, 2.0)).describe([image])
    assert model.calls == 1
    assert (first.response_id, first.finish_reason) == ("chatcmpl-1", "stop")
    assert first.cost_usd == pytest.approx((7 * 1.0 + 3 * 2.0) / 1e6)
    assert (first.width, first.height, first.mime_type) == (12, 8, "image/png")
    assert {**again.to_json_dict(), "status": "x", "cached": None} == {
        **first.to_json_dict(),
        "status": "x",
        "cached": None,
    }
    assert again.status == "cached"


def test_a_schema_2_cache_gains_the_response_column(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    request = RequestIdentity("e", "m", "p" * 64, "{}")
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE {_TABLE} ({', '.join(_COLUMNS[:-1])})")
    conn.execute(
        f"INSERT INTO {_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
        ("img", request.key, "e", "m", request.to_json(), "a cat", None, 1.5),
    )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with DescribeCache(path) as cache:
        hit = cache.get("img", request)
        assert hit is not None
        assert (hit.description, hit.response_id, hit.finish_reason) == ("a cat", None, None)
        cache.put("img2", request, "a dog", response_id="chatcmpl-9", finish_reason="stop")
        hit = cache.get("img2", request)
        assert hit is not None
        assert (hit.response_id, hit.finish_reason) == ("chatcmpl-9", "stop")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (3,)
    conn.close()


def test_cost_is_rounded_and_needs_both_prices() -> None:
    usage = TokenUsage(63, 20, 83)
    assert usage_cost(usage, (0.05, 0.10)) == 5.15e-06  # not 5.150000000000001e-06
    assert usage_cost(usage, (0.05, None)) is None
    assert usage_cost(None, (0.05, 0.10)) is None
    assert usage_cost(usage, None) is None


def test_eta_from_the_rate_so_far() -> None:
    def progress(total: int | None, done: int, elapsed: float) -> DescribeProgress:
        return DescribeProgress(total, done, 0, 0, 0, done, elapsed)

    assert progress(10, 2, 4.0).eta_s == 16.0
    assert progress(10, 10, 4.0).eta_s == 0.0
    assert progress(None, 2, 4.0).eta_s is None  # a streamed input: no total, no ETA
    assert progress(10, 0, 0.0).eta_s is None


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("not_an_image", "skipped"),
        ("corrupt", "skipped"),
        ("request_failed", "failed"),
        ("empty_answer", "failed"),
        ("invalid_answer", "failed"),  # any reason that is not a file's is a failed request
    ],
)
def test_status_by_reason(reason: str, status: str) -> None:
    assert DescribeRecord("a.png", None, error="x", reason=reason).status == status


def test_an_empty_answer_not_cut_for_length_keeps_the_general_hint(tmp_path: Path) -> None:
    image = prepare_image(save_image(tmp_path / "a.png", (12, 8), fmt="PNG"))
    (record,) = ImageDescriber(CountingModel(content_style="empty")).describe([image])
    assert record.status == "failed"
    assert record.error == (
        "the model answered with no text (finish_reason='stop'); reasoning models may need a "
        "larger max_tokens"
    )
