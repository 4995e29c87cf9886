"""Describe mode and ImageDescriber with a counting fake model: text, usage, resume, errors."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import FakeListChatModel
from langchain_core.messages import AIMessage

from langchain_flexai._loader._documents import vision_message
from langchain_flexai._transport._errors import FlexAIStreamInterruptedError
from langchain_flexai.chat_models import ChatFlexAI
from langchain_flexai.describe._records import LoadedImage
from langchain_flexai.describe._retry import format_seconds, without_sdk_retries
from langchain_flexai.describe._run import (
    DEFAULT_PROMPT,
    DescribeProgress,
    DescribeRecord,
    DescribeReport,
    ImageDescriber,
    TokenUsage,
    answer_text,
    no_text_message,
    resume_key,
)
from langchain_flexai.describe._state import RunState
from langchain_flexai.document_loaders import FlexAIImageLoader, ImageSkippedWarning
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._doors import prepare_image
from tests.unit_tests.loader_samples import (
    CountingModel,
    describe_text,
    phone_folder,
    save_image,
)
from tests.unit_tests.wire import WireRecorder

USAGE = TokenUsage(100, 10, 110)


def _folder(root: Path, count: int) -> list[Path]:
    return [save_image(root / f"{i:03d}.png", (10 + i, 10), fmt="PNG") for i in range(count)]


def _status_error(cls: type[openai.APIStatusError], status: int, **headers: str) -> Exception:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(status, headers=headers, request=request)
    return cls(f"status {status}", response=response, body=None)


# -- answer text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("  a cat  ", "a cat"),
        ([{"type": "reasoning", "reasoning": "hm"}, {"type": "text", "text": "a cat"}], "a cat"),
        (["a ", {"type": "text", "text": "cat"}], "a cat"),
        ("<think>pixels...</think>\n\na cat", "a cat"),
        (
            "a <think> tag in the middle </think> stays",
            "a <think> tag in the middle </think> stays",
        ),
    ],
)
def test_answer_text(content: Any, expected: str) -> None:
    assert answer_text(AIMessage(content=content)) == expected


# -- describe mode in the loader -----------------------------------------------------------


@pytest.mark.parametrize("style", ["text", "blocks", "think"])
def test_page_content_is_the_description(tmp_path: Path, style: str) -> None:
    _folder(tmp_path, 3)
    model = CountingModel(content_style=style)
    docs = FlexAIImageLoader(tmp_path, model=model).load()
    assert [d.page_content for d in docs] == [describe_text(d.metadata["sha256"]) for d in docs]
    assert len(model.requests) == 3


def test_prompt_is_sent_exactly_as_given(tmp_path: Path) -> None:
    _folder(tmp_path, 1)
    prompt = 'Answer as JSON: {"objects": [...]} — keep {braces} and %s as they are.'
    model = CountingModel()
    FlexAIImageLoader(tmp_path, model=model, prompt=prompt, detail="low").load()
    ((message,),) = model.requests
    assert message.content[0] == {"type": "text", "text": prompt}
    assert message.content[1]["type"] == "image"
    assert message.content[1]["extras"] == {"detail": "low"}


async def test_describe_aload_equals_load(tmp_path: Path) -> None:
    _folder(tmp_path, 12)
    sync_docs = FlexAIImageLoader(tmp_path, model=CountingModel(), max_concurrency=3).load()
    async_docs = await FlexAIImageLoader(tmp_path, model=CountingModel(), max_concurrency=3).aload()
    assert sync_docs == async_docs
    assert [Path(d.metadata["source"]).name for d in sync_docs] == [
        f"{i:03d}.png" for i in range(12)
    ]


def test_usage_is_summed_and_reported(tmp_path: Path) -> None:
    _folder(tmp_path, 4)
    loader = FlexAIImageLoader(tmp_path, model=CountingModel())
    loader.load()
    report = loader.report
    assert report is not None
    assert (report.described, report.cached, report.skipped, report.failed) == (4, 0, 0, 0)
    assert report.requests == 4
    assert report.usage == TokenUsage(400, 40, 440)
    assert report.summary().startswith(
        "4 described, 0 from cache, 0 skipped, 0 failed; 4 requests, 440 tokens (400 in, 40 out)"
    )


def test_corrupt_file_in_describe_mode(tmp_path: Path) -> None:
    phone_folder(tmp_path)
    model = CountingModel()
    loader = FlexAIImageLoader(tmp_path, model=model, on_error="skip")
    docs = loader.load()
    assert len(docs) == 6
    assert len(model.requests) == 6
    assert [(s.reason, Path(s.source or "").name) for s in loader.skipped] == [
        ("corrupt", "broken.png")
    ]
    report = loader.report
    assert report is not None
    assert (report.described, report.skipped) == (6, 1)
    assert [p.reason for p in report.problems] == ["corrupt"]


def test_a_failing_request_follows_on_error(tmp_path: Path) -> None:
    paths = _folder(tmp_path, 3)
    bad_sha = prepare_image(paths[1]).sha256
    assert bad_sha is not None
    error = _status_error(openai.InternalServerError, 500)
    model = CountingModel(fail_for={bad_sha: error})
    loader = FlexAIImageLoader(tmp_path, model=model, on_error="warn")
    with pytest.warns(ImageSkippedWarning, match=r"InternalServerError: status 500"):
        docs = loader.load()
    assert [Path(d.metadata["source"]).name for d in docs] == ["000.png", "002.png"]
    (skipped,) = loader.skipped
    assert (skipped.source, skipped.reason) == (str(paths[1]), "request_failed")
    with pytest.raises(openai.InternalServerError):
        FlexAIImageLoader(tmp_path, model=model, on_error="raise").load()


def test_an_empty_answer_is_a_failure_and_not_cached(tmp_path: Path) -> None:
    _folder(tmp_path, 1)
    cache = tmp_path / "cache.sqlite"
    loader = FlexAIImageLoader(
        tmp_path, model=CountingModel(content_style="empty"), on_error="skip", cache_path=cache
    )
    assert loader.load() == []
    (skipped,) = loader.skipped
    assert skipped.reason == "empty_answer"
    assert "no text (finish_reason='stop')" in skipped.message
    model = CountingModel()
    FlexAIImageLoader(tmp_path, model=model, cache_path=cache).load()
    assert len(model.requests) == 1


def test_fatal_errors_stop_the_run_whatever_on_error(tmp_path: Path) -> None:
    _folder(tmp_path, 5)
    error = _status_error(openai.AuthenticationError, 401)
    model = CountingModel(fail_for={prepare_image(tmp_path / "000.png").sha256 or "": error})
    loader = FlexAIImageLoader(tmp_path, model=model, on_error="skip", max_concurrency=1)
    with pytest.raises(openai.AuthenticationError):
        loader.load()
    assert len(model.requests) == 1  # nothing more is sent once the key is known to be bad


def test_describing_needs_a_model(tmp_path: Path) -> None:
    loader = FlexAIImageLoader(tmp_path)
    with pytest.raises(ValueError, match="describing needs a model"):
        list(loader.lazy_describe())
    with pytest.raises(ValueError, match="describing needs a model"):
        loader.alazy_describe()
    assert loader.report is None


# -- resume ---------------------------------------------------------------------------------


def test_resume_after_an_interrupted_run_pays_for_nothing_twice(tmp_path: Path) -> None:
    images = tmp_path / "images"
    _folder(images, 30)
    cache = tmp_path / "cache.sqlite"
    model = CountingModel()
    first = FlexAIImageLoader(images, model=model, cache_path=cache, max_concurrency=4)
    documents = first.lazy_load()
    for _ in range(10):
        next(documents)
    documents.close()  # the run is interrupted; requests in flight finish and are stored
    sent_first = len(model.requests)
    assert 10 <= sent_first < 30

    second = FlexAIImageLoader(images, model=model, cache_path=cache, max_concurrency=4)
    docs = second.load()
    assert len(docs) == 30
    counts = model.image_counts()
    assert len(counts) == 30
    assert set(counts.values()) == {1}  # every image asked exactly once over both runs
    report = second.report
    assert report is not None
    assert (report.cached, report.described) == (sent_first, 30 - sent_first)
    assert report.usage_saved == TokenUsage(100 * sent_first, 10 * sent_first, 110 * sent_first)

    third = FlexAIImageLoader(images, model=model, cache_path=cache)
    assert third.load() == docs
    assert len(model.requests) == 30


def test_cache_key_includes_model_and_prompt(tmp_path: Path) -> None:
    _folder(tmp_path / "i", 2)
    cache = tmp_path / "c.sqlite"
    model = CountingModel()
    FlexAIImageLoader(tmp_path / "i", model=model, cache_path=cache, prompt="A").load()
    FlexAIImageLoader(tmp_path / "i", model=model, cache_path=cache, prompt="B").load()
    other = CountingModel(model_name="other-model")
    FlexAIImageLoader(tmp_path / "i", model=other, cache_path=cache, prompt="A").load()
    assert (len(model.requests), len(other.requests)) == (4, 2)


# -- ImageDescriber directly ---------------------------------------------------------------


def test_records_keep_input_order_and_pass_errors_through(tmp_path: Path) -> None:
    paths = _folder(tmp_path, 6)
    error = ImageInputError("broken", reason=ImageErrorReason.CORRUPT, source="x.png")
    inputs: list[Any] = [prepare_image(p) for p in paths]
    inputs.insert(2, error)
    describer = ImageDescriber(CountingModel(), "Describe.", max_concurrency=3)
    records = list(describer.describe(inputs, total=7))
    assert [r.status for r in records] == ["described"] * 2 + ["skipped"] + ["described"] * 4
    assert records[2] == DescribeRecord(
        source="x.png", sha256=None, error="broken", reason="corrupt"
    )
    assert [r.source for r in records if r.status == "described"] == [str(p) for p in paths]


@pytest.mark.parametrize("run", ["threads", "asyncio"])
def test_records_carry_their_input(tmp_path: Path, run: str) -> None:
    paths = _folder(tmp_path, 4)
    error = ImageInputError("broken", reason=ImageErrorReason.CORRUPT, source="x.png")
    loaded = LoadedImage(prepare_image(paths[0]), 1234)
    inputs: list[Any] = [loaded, error, *(prepare_image(p) for p in paths[1:])]
    model = CountingModel(fail_for={inputs[2].sha256: _status_error(openai.BadRequestError, 400)})
    describer = ImageDescriber(model, max_concurrency=2)
    if run == "threads":
        records = list(describer.describe(inputs))
    else:

        async def collect() -> list[DescribeRecord]:
            return [r async for r in describer.adescribe(inputs)]

        records = asyncio.run(collect())
    assert [r.input for r in records] == inputs
    assert all(r.input is i for r, i in zip(records, inputs, strict=True))
    assert [r.status for r in records] == [
        "described",
        "skipped",
        "failed",
        "described",
        "described",
    ]
    assert records[0].image is loaded.image
    assert records[0].source == str(paths[0])
    # The JSON form is the one a record without its input has.
    bare = dataclasses.replace(records[0], input=None)
    assert records[0].to_json_dict() == bare.to_json_dict()
    assert "input" not in records[0].to_json_dict()
    # The report keeps no inputs (nor their images) for its problems.
    assert [p.input for p in describer.report.problems] == [None, None]


async def test_adescribe_accepts_sync_and_async_iterables(tmp_path: Path) -> None:
    images = [prepare_image(p) for p in _folder(tmp_path, 5)]

    async def agen() -> Any:
        for image in images:
            yield image

    describer = ImageDescriber(CountingModel(), max_concurrency=2)
    from_list = [r async for r in describer.adescribe(images)]
    from_agen = [r async for r in describer.adescribe(agen())]
    assert from_list == from_agen
    assert [r.description for r in from_list] == [describe_text(i.sha256 or "") for i in images]


def test_record_json_form(tmp_path: Path) -> None:
    (image,) = [prepare_image(p) for p in _folder(tmp_path, 1)]
    (record,) = ImageDescriber(CountingModel()).describe([image])
    assert json.loads(json.dumps(record.to_json_dict())) == {
        "source": str(tmp_path / "000.png"),
        "page": None,
        "sha256": image.sha256,
        "status": "described",
        "description": describe_text(image.sha256 or ""),
        "usage": {"input_tokens": 100, "output_tokens": 10, "total_tokens": 110},
        "cached": False,
        "error": None,
        "reason": None,
        "model": "fake-vision",
        "prompt_sha256": hashlib.sha256(DEFAULT_PROMPT.encode()).hexdigest(),
        "response_id": None,
        "finish_reason": "stop",
        "cost_usd": None,
        "width": 10,
        "height": 10,
        "mime_type": "image/png",
        "transformations": [],
        "data": None,
        "sidecar": None,
        "sidecar_status": None,
    }


def test_progress_callback_sees_every_record(tmp_path: Path) -> None:
    _folder(tmp_path, 3)
    corrupt = tmp_path / "zz.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nxx")
    seen: list[DescribeProgress] = []
    loader = FlexAIImageLoader(
        tmp_path, model=CountingModel(), on_error="skip", on_progress=seen.append
    )
    loader.load()
    assert [(p.done, p.total) for p in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    last = seen[-1]
    assert (last.described, last.cached, last.skipped, last.failed, last.requests) == (
        3,
        0,
        1,
        0,
        3,
    )


def test_progress_bar_runs_and_missing_tqdm_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _folder(tmp_path, 2)
    FlexAIImageLoader(tmp_path, model=CountingModel(), show_progress=True).load()
    FlexAIImageLoader(tmp_path, show_progress=True).load()
    err = capsys.readouterr().err
    assert "described=2" in err
    assert "loaded=2" in err
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match=r'pip install "langchain-flexai\[progress\]"'):
        FlexAIImageLoader(tmp_path, show_progress=True).load()


def test_rate_limited_request_is_retried_after_retry_after(tmp_path: Path) -> None:
    (image,) = [prepare_image(p) for p in _folder(tmp_path, 1)]
    error = _status_error(openai.RateLimitError, 429, **{"retry-after": "0.01"})
    model = CountingModel(
        fail_for={image.sha256 or "": error}, failures_left={image.sha256 or "": 2}
    )
    describer = ImageDescriber(model, requests_per_minute=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (record,) = describer.describe([image])
    assert record.status == "described"
    assert len(model.requests) == 3
    assert describer.report.requests == 3


def test_a_stream_cut_mid_answer_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("langchain_flexai.describe._retry._FIRST_BACKOFF", 0.0)
    (image,) = [prepare_image(p) for p in _folder(tmp_path, 1)]
    error = FlexAIStreamInterruptedError("FlexAI's stream broke after 3 chunks: truncated")
    model = CountingModel(
        fail_for={image.sha256 or "": error}, failures_left={image.sha256 or "": 2}
    )
    describer = ImageDescriber(model)
    (record,) = describer.describe([image])
    assert record.status == "described"
    assert len(model.requests) == 3


def test_a_stream_cut_every_time_fails_that_image_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("langchain_flexai.describe._retry._FIRST_BACKOFF", 0.0)
    images = [prepare_image(p) for p in _folder(tmp_path, 2)]
    error = FlexAIStreamInterruptedError("FlexAI's stream broke after 3 chunks: truncated")
    model = CountingModel(fail_for={images[0].sha256 or "": error})
    describer = ImageDescriber(model, max_retries=2, max_concurrency=1)
    records = list(describer.describe(images))
    assert [r.status for r in records] == ["failed", "described"]
    assert records[0].error == (
        "FlexAIStreamInterruptedError: FlexAI's stream broke after 3 chunks: truncated"
    )
    assert model.image_counts() == {images[0].sha256: 3, images[1].sha256: 1}


@pytest.mark.parametrize(
    "error", [TypeError("unsupported operand"), KeyError("choices"), AttributeError("no .text")]
)
def test_a_programming_error_stops_the_run_instead_of_failing_each_image(
    tmp_path: Path, error: Exception
) -> None:
    images = [prepare_image(p) for p in _folder(tmp_path, 3)]
    model = CountingModel(fail_for={images[0].sha256 or "": error})
    describer = ImageDescriber(model, max_retries=2, max_concurrency=1)
    with pytest.raises(type(error)) as raised:
        list(describer.describe(images))
    assert raised.value is error
    assert len(model.requests) == 1  # not retried, and no further image is sent


async def test_a_programming_error_stops_an_async_run(tmp_path: Path) -> None:
    images = [prepare_image(p) for p in _folder(tmp_path, 3)]
    error = TypeError("unsupported operand")
    model = CountingModel(fail_for={images[0].sha256 or "": error})
    describer = ImageDescriber(model, max_retries=2, max_concurrency=1)
    with pytest.raises(TypeError, match="unsupported operand"):
        [r async for r in describer.adescribe(images)]
    assert len(model.requests) == 1


def test_rate_limit_after_every_retry_stops_the_run(tmp_path: Path) -> None:
    images = [prepare_image(p) for p in _folder(tmp_path, 3)]
    error = _status_error(openai.RateLimitError, 429, **{"retry-after": "0"})
    model = CountingModel(fail_for={images[0].sha256 or "": error})
    describer = ImageDescriber(model, max_retries=2, max_concurrency=1)
    with pytest.raises(openai.RateLimitError, match="status 429"):
        list(describer.describe(images))
    # One image's attempts, then nothing more: the others would be rate-limited as well.
    assert len(model.requests) == 3
    assert describer.report.requests == 3


@pytest.mark.parametrize(
    "error",
    [
        _status_error(openai.InternalServerError, 503, **{"retry-after": "0"}),
        _status_error(openai.InternalServerError, 500),
        openai.APITimeoutError(httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")),
        openai.APIConnectionError(
            request=httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
        ),
    ],
    ids=["503", "500", "timeout", "connection"],
)
def test_transient_errors_are_retried_by_the_describer(
    tmp_path: Path, error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("langchain_flexai.describe._retry._FIRST_BACKOFF", 0.001)
    (image,) = [prepare_image(p) for p in _folder(tmp_path, 1)]
    model = CountingModel(
        fail_for={image.sha256 or "": error}, failures_left={image.sha256 or "": 2}
    )
    describer = ImageDescriber(model, requests_per_minute=100)
    (record,) = describer.describe([image])
    assert record.status == "described"
    assert len(model.requests) == 3
    assert describer.report.requests == 3


def test_unreachable_server_after_every_retry_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("langchain_flexai.describe._retry._FIRST_BACKOFF", 0.001)
    images = [prepare_image(p) for p in _folder(tmp_path, 4)]
    error = openai.APIConnectionError(
        request=httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    )
    model = CountingModel(fail_for={image.sha256 or "": error for image in images})
    describer = ImageDescriber(model, max_retries=1, max_concurrency=1)
    with pytest.raises(openai.APIConnectionError):
        list(describer.describe(images))
    assert len(model.requests) == 2


def test_timeouts_after_every_retry_fail_only_that_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("langchain_flexai.describe._retry._FIRST_BACKOFF", 0.001)
    images = [prepare_image(p) for p in _folder(tmp_path, 2)]
    error = openai.APITimeoutError(httpx.Request("POST", "http://127.0.0.1/v1/chat/completions"))
    model = CountingModel(fail_for={images[0].sha256 or "": error})
    records = list(ImageDescriber(model, max_retries=1, max_concurrency=1).describe(images))
    assert [r.status for r in records] == ["failed", "described"]
    assert records[0].error == "APITimeoutError: Request timed out."


def test_a_429_pauses_the_whole_run_without_a_limiter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []
    original = RunState.pause

    def spy(run: Any, seconds: float) -> None:
        pauses.append(seconds)
        original(run, seconds)

    monkeypatch.setattr(RunState, "pause", spy)
    (image,) = [prepare_image(p) for p in _folder(tmp_path, 1)]
    error = _status_error(openai.RateLimitError, 429, **{"retry-after": "0.01"})
    model = CountingModel(
        fail_for={image.sha256 or "": error}, failures_left={image.sha256 or "": 1}
    )
    (record,) = ImageDescriber(model).describe([image])
    assert record.status == "described"
    assert pauses == [0.01]


def test_report_problems_do_not_keep_the_exception(tmp_path: Path) -> None:
    # An openai error holds the request, whose body carries the base64 image: a report of
    # 10,000 failures must not keep 10,000 request bodies alive.
    (image,) = [prepare_image(p) for p in _folder(tmp_path, 1)]
    error = _status_error(openai.BadRequestError, 400)
    model = CountingModel(fail_for={image.sha256 or "": error})
    describer = ImageDescriber(model)
    (record,) = describer.describe([image])
    assert record.exception is error  # the consumer still gets the live exception
    (problem,) = describer.report.problems
    assert (problem.error, problem.exception) == ("BadRequestError: status 400", None)


def test_https_urls_are_resumed_by_the_url_text(tmp_path: Path) -> None:
    url = "https://example.com/cat.png"
    cache = tmp_path / "d.sqlite"
    first = FakeListChatModel(responses=["a cat"])
    (record,) = ImageDescriber(first, cache_path=cache).describe([prepare_image(url)])
    assert (record.status, record.description) == ("described", "a cat")
    # The same settings (a fake model's responses are its settings), a fresh model: no request.
    again = FakeListChatModel(responses=["a cat"])
    describer = ImageDescriber(again, cache_path=cache)
    (record,) = describer.describe([prepare_image(url)])
    assert (record.status, record.description) == ("cached", "a cat")
    assert describer.report.requests == 0
    assert resume_key(prepare_image(url)) == "url:" + hashlib.sha256(url.encode()).hexdigest()


def test_reports_add_up() -> None:
    one = DescribeReport(described=1, failed=1, requests=3, usage=USAGE, elapsed_s=1.0)
    two = DescribeReport(cached=2, skipped=1, usage_saved=USAGE, elapsed_s=0.5)
    assert one + two == DescribeReport(
        described=1,
        cached=2,
        skipped=1,
        failed=1,
        requests=3,
        usage=USAGE,
        usage_saved=USAGE,
        elapsed_s=1.5,
    )


def test_no_text_message_names_the_finish_reason() -> None:
    message = AIMessage(content="", response_metadata={"finish_reason": "length"})
    assert no_text_message(message) == "the model answered with no text (finish_reason='length')"
    assert no_text_message(None) == "the model answered with no text (finish_reason=None)"


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.0, "0 ms"), (0.01, "10 ms"), (0.25, "250 ms"), (1.0, "1.0 s")]
)
def test_format_seconds(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


def test_sdk_retries_are_turned_off_on_a_copy() -> None:
    model = ChatFlexAI(api_key="fake-test-key", base_url="http://127.0.0.1:9/v1")
    assert model.root_client.max_retries == 3
    quiet = without_sdk_retries(model)
    assert isinstance(quiet, ChatFlexAI)
    assert (quiet.root_client.max_retries, quiet.root_async_client.max_retries) == (0, 0)
    assert quiet.client is quiet.root_client.chat.completions
    assert quiet.async_client is quiet.root_async_client.chat.completions
    assert quiet.root_client._client is model.root_client._client
    assert (model.root_client.max_retries, model.max_retries) == (3, 3)
    assert without_sdk_retries(CountingModel()).__class__ is CountingModel


def test_invalid_describer_options() -> None:
    with pytest.raises(ValueError, match="max_concurrency must be >= 1"):
        ImageDescriber(CountingModel(), max_concurrency=0)
    with pytest.raises(TypeError, match="prompt must be a str"):
        ImageDescriber(CountingModel(), prompt=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("photos/caf\udce9.jpg", "photos/caf\\xe9.jpg"),  # b"caf\xe9.jpg" as os.fsdecode gives it
        ("photos/ok é.jpg", "photos/ok é.jpg"),
        ("lone \ud800", "lone \\ud800"),
        (None, None),
    ],
)
def test_json_records_encode_as_utf8_whatever_the_names(
    source: str | None, shown: str | None
) -> None:
    record = DescribeRecord(
        source=source, sha256=None, description="answer \ud83d", error=None, reason=None
    )
    data = record.to_json_dict()
    assert data["source"] == shown
    assert data["description"] == "answer \\ud83d"
    json.dumps(data, ensure_ascii=False).encode("utf-8")
    assert record.source == source  # the Python object keeps the name that opens the file


# -- the request a ChatFlexAI run sends -------------------------------------------------------


class _TracedMessages(BaseCallbackHandler):
    """The messages each chat model run reports to its callbacks (what tracing records)."""

    def __init__(self) -> None:
        self.messages: list[list[Any]] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.messages.extend([m.model_dump() for m in batch] for batch in messages)


@pytest.mark.parametrize("detail", [None, "low"])
def test_a_chatflexai_run_sends_the_request_of_the_standard_image_block(
    tmp_path: Path, detail: str | None
) -> None:
    image = prepare_image(save_image(tmp_path / "a.png", fmt="PNG"))
    recorder = WireRecorder()
    traced = _TracedMessages()
    model = recorder.model(api_key="test-key", callbacks=[traced])
    describer = ImageDescriber(model, "Q", detail=detail)
    # FlexAI's own part, which the model sends as it is (no block inspection on the way).
    assert describer.messages_for(image)[0].content == [
        {"type": "text", "text": "Q"},
        image.to_openai_part(detail),
    ]
    assert [r.description for r in describer.describe([image])] == ["ok"]

    async def run() -> list[str | None]:
        return [r.description async for r in describer.adescribe([image])]

    assert asyncio.run(run()) == ["ok"]
    model.invoke([vision_message("Q", image.to_content_block(detail))])
    first, second, standard = (request.body for request in recorder.requests)
    assert first == second == standard  # the same wire bytes as the standard block
    assert len(traced.messages) == 3  # the user's callbacks see every request
    if detail is None:  # core traces a standard block as this part (without its detail)
        assert traced.messages[0] == traced.messages[1] == traced.messages[2]


def test_other_models_get_the_standard_image_block(tmp_path: Path) -> None:
    image = prepare_image(save_image(tmp_path / "a.png", fmt="PNG"))
    content = ImageDescriber(CountingModel(), "Q", detail="low").messages_for(image)[0].content
    assert content == [{"type": "text", "text": "Q"}, image.to_content_block("low")]


def test_an_async_chatflexai_run_sends_prepared_images_without_a_thread_hop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = [prepare_image(p) for p in _folder(tmp_path, 6)]
    hops: list[str] = []
    real = asyncio.to_thread

    async def counting(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        if getattr(func, "__module__", "").startswith("langchain_flexai"):
            hops.append(func.__qualname__)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    describer = ImageDescriber(WireRecorder().model(api_key="test-key"), max_concurrency=3)

    async def run() -> list[str | None]:
        return [r.description async for r in describer.adescribe(images)]

    assert asyncio.run(run()) == ["ok"] * 6
    assert hops == []  # each image is checked on the loop (a header walk), none re-encoded
