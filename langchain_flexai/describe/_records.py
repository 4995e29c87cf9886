"""What a describe run produces: records, token usage, progress counts and the run's report.

Knows the value types a describe run hands out (:class:`DescribeRecord` per input,
:class:`DescribeProgress` while it runs, :class:`DescribeReport` at the end, :class:`TokenUsage`),
their JSON form (always encodable as UTF-8: file names that are not UTF-8 come escaped), and how
an answer message becomes text. Knows nothing about scheduling, retries or the cache
(:mod:`langchain_flexai.describe` runs; this module only describes what a run returns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage

from langchain_flexai._loader._walk import printable_path
from langchain_flexai.catalog._client import tokens_cost
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._prepared import PreparedImage

DEFAULT_PROMPT = (
    "Describe this image for a search index: what it shows, the setting, notable objects and "
    "colours, and any text it contains, quoted exactly."
)
"""The prompt used when none is given. Sent as it is: never formatted or templated."""


@dataclass(frozen=True)
class SkippedImage:
    """An input that could not be prepared: its full source name and the error.

    ``ImageInputError.source`` is shortened for messages; this keeps the whole path.
    """

    source: str | None
    error: ImageInputError
    page: int | None = None
    """The 1-based page of a PDF that could not be rendered (None: the whole file or image)."""


@dataclass(frozen=True)
class LoadedImage:
    """A file's prepared image and its size on disk (what the loader's pipeline yields)."""

    image: PreparedImage
    file_size: int
    page: int | None = None
    """The 1-based page number when the image is a rendered PDF page (None: an image file)."""


DescribeInput = PreparedImage | LoadedImage | SkippedImage | ImageInputError
"""What a run consumes: a prepared image (alone, or with its file's size), or what kept an image
from being prepared (passed through as a ``skipped`` record, so the output keeps one record per
input). Each record hands its input back (:attr:`DescribeRecord.input`)."""

_SKIP_REASONS = frozenset(reason.value for reason in ImageErrorReason)
"""Reasons of inputs never sent (status ``skipped``); every other reason is a ``failed`` record."""

_THINK_BLOCK = re.compile(r"^\s*<think>.*?</think>\s*", re.DOTALL)


@dataclass(frozen=True)
class TokenUsage:
    """Tokens counted by the model for one or more requests."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cache_read_tokens: int = 0
    """Of ``input_tokens``, those FlexAI served from its prompt cache (priced lower)."""

    def __add__(self, other: TokenUsage) -> TokenUsage:
        """Sum two usages."""
        return TokenUsage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.total_tokens + other.total_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
        )

    def as_usage_metadata(self) -> dict[str, Any]:
        """LangChain's ``usage_metadata`` shape, as ``catalog.usage_cost`` prices it."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "input_token_details": {"cache_read": self.cache_read_tokens},
        }

    @classmethod
    def from_message(cls, message: BaseMessage) -> TokenUsage | None:
        """The ``usage_metadata`` of an answer, or None when the model reported none."""
        usage = getattr(message, "usage_metadata", None)
        if not usage:
            return None
        details = usage.get("input_token_details") or {}
        return cls(
            int(usage.get("input_tokens", 0)),
            int(usage.get("output_tokens", 0)),
            int(usage.get("total_tokens", 0)),
            int(details.get("cache_read") or 0),
        )

    @classmethod
    def from_dict(cls, data: dict[str, int] | None) -> TokenUsage | None:
        """The inverse of :meth:`as_dict` (None stays None)."""
        if not data:
            return None
        return cls(
            data.get("input_tokens", 0),
            data.get("output_tokens", 0),
            data.get("total_tokens", 0),
            data.get("cache_read_tokens", 0),
        )

    def as_dict(self) -> dict[str, int]:
        """``{"input_tokens", "output_tokens", "total_tokens"}``, JSON-ready.

        ``cache_read_tokens`` is added only when some were read from the prompt cache.
        """
        counts = {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.cache_read_tokens:
            counts["cache_read_tokens"] = self.cache_read_tokens
        return counts


def usage_cost(
    usage: TokenUsage | None, price_per_mtok: tuple[float | None, float | None] | None
) -> float | None:
    """What ``usage`` costs at (input, output) USD prices per million tokens; None if unknown.

    Rounded to 1e-12 USD (a millionth of the cheapest token), so that a record holds
    ``5.15e-06``, not the float sum's ``5.150000000000001e-06``.
    """
    if usage is None or price_per_mtok is None:
        return None
    per_input, per_output = price_per_mtok
    cost = tokens_cost((usage.input_tokens, per_input), (usage.output_tokens, per_output))
    return None if cost is None else round(cost, 12)


@dataclass(frozen=True)
class DescribeRecord:
    """The outcome for one input image, JSONL-friendly through :meth:`to_json_dict`."""

    source: str | None
    """The image's path (or other source name), when known: as the file system gave it, so it
    opens the file again (the JSON form escapes names that are not valid UTF-8)."""
    sha256: str | None
    """Hex SHA-256 of the image bytes sent (the image half of the resume key)."""
    description: str | None = None
    """The model's answer text; None when there is no answer."""
    usage: TokenUsage | None = None
    """Tokens of the request that produced the description (also for a cached one)."""
    cached: bool = False
    """True when the description came from the resume cache: no request was sent."""
    error: str | None = None
    """Why there is no description, in words; None on success."""
    reason: str | None = None
    """Machine-readable cause: an ``ImageErrorReason`` value for files that could not be prepared
    (status ``skipped``), or ``"request_failed"`` / ``"empty_answer"`` (status ``failed``)."""
    page: int | None = None
    """The page number (from 1) of a document page rendered as this image; None for an image."""
    model: str | None = None
    """The model id the request named (the model half of the resume key)."""
    prompt_sha256: str | None = None
    """Hex SHA-256 of the prompt's UTF-8 text (the prompt itself can be long)."""
    response_id: str | None = None
    """The server's id of the answer (``chatcmpl-...``); kept by the cache for cached records."""
    finish_reason: str | None = None
    """Why the model stopped (``stop``, ``length``, ...), as the server said."""
    cost_usd: float | None = None
    """What :attr:`usage` costs at the catalog's prices (USD); None when no price is known.
    A cached record carries the cost of the request that made it (not paid again)."""
    width: int | None = None
    """Width in pixels of the image as sent (after rotation and downscaling); None for URLs."""
    height: int | None = None
    """Height in pixels of the image as sent."""
    mime_type: str | None = None
    """MIME type of the image as sent."""
    transformations: tuple[str, ...] = ()
    """What preparing did to the file (``transposed``, ``resized``, ``converted``, ...)."""
    data: dict[str, Any] | None = None
    """The structured object of an answer parsed against a schema; None for free text."""
    sidecar: str | None = None
    """The sidecar file of this image (a run with ``sidecar=``), when it has one."""
    sidecar_status: str | None = None
    """What happened to it: ``"written"``, ``"merged"`` (into an existing ``.xmp``), ``"kept"``
    (it existed; ``overwrite`` replaces it), ``"damaged"`` (an existing ``.xmp`` that could not
    be read, left untouched), ``"failed"`` (it could not be written: the record failed) or
    ``"not_a_file"`` (the image is not a local file: a URL or bytes get no sidecar)."""
    image: PreparedImage | None = field(default=None, repr=False, compare=False)
    """The prepared image itself (not part of the JSON form)."""
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    """The exception behind ``error``, for callers that re-raise it (not part of the JSON)."""
    input: DescribeInput | None = field(default=None, repr=False, compare=False)
    """The input this record answers, as it was given to the run, so a caller joins whatever
    it fed in (a file's size, ...) without a table of its own (not part of the JSON form)."""

    @property
    def status(self) -> str:
        """``"described"``, ``"cached"``, ``"skipped"`` (never sent) or ``"failed"`` (sent)."""
        if self.error is None:
            return "cached" if self.cached else "described"
        return "skipped" if self.reason in _SKIP_REASONS else "failed"

    def to_json_dict(self) -> dict[str, Any]:
        r"""The record as JSON-ready values (no image bytes), encodable as UTF-8.

        A file name that is not valid UTF-8 has its undecodable bytes written as ``\xNN``
        (``caf\xe9.jpg``), so the record can go to any UTF-8 file or terminal; so does any
        other text that could not be encoded.
        """
        return {
            "source": printable_path(self.source) if self.source is not None else None,
            "page": self.page,
            "sha256": self.sha256,
            "status": self.status,
            "description": _encodable(self.description),
            "usage": self.usage.as_dict() if self.usage else None,
            "cached": self.cached,
            "error": _encodable(self.error),
            "reason": self.reason,
            "model": self.model,
            "prompt_sha256": self.prompt_sha256,
            "response_id": self.response_id,
            "finish_reason": self.finish_reason,
            "cost_usd": self.cost_usd,
            "width": self.width,
            "height": self.height,
            "mime_type": self.mime_type,
            "transformations": list(self.transformations),
            "data": self.data,
            "sidecar": printable_path(self.sidecar) if self.sidecar is not None else None,
            "sidecar_status": self.sidecar_status,
        }


def _encodable(text: str | None) -> str | None:
    r"""``text`` with lone surrogates written as backslash escapes: UTF-8 encoding cannot fail.

    Lone surrogates come from a JSON ``"\ud800"`` escape in an answer, or a file name in an error.
    """
    if text is None:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return printable_path(text)
    return text


@dataclass(frozen=True)
class DescribeProgress:
    """Counts so far, given to ``on_progress`` after every record."""

    total: int | None
    """Inputs expected, when the caller said (None: unknown)."""
    described: int
    cached: int
    skipped: int
    failed: int
    requests: int
    """HTTP requests sent so far, every retry included."""
    elapsed_s: float

    @property
    def done(self) -> int:
        """Inputs finished, whatever the outcome."""
        return self.described + self.cached + self.skipped + self.failed

    @property
    def eta_s(self) -> float | None:
        """Seconds until the last input is done at the rate so far; None without a total.

        Cached and skipped inputs finish at once, so early on a resumed run the estimate is
        low; it settles as requests dominate.
        """
        if self.total is None or self.done == 0:
            return None
        return max(self.total - self.done, 0) * self.elapsed_s / self.done


@dataclass(frozen=True)
class DescribeReport:
    """What a run did: counts, tokens paid, tokens saved by the cache, and every problem."""

    described: int = 0
    cached: int = 0
    skipped: int = 0
    failed: int = 0
    requests: int = 0
    usage: TokenUsage = TokenUsage()
    """Tokens paid in this run."""
    usage_saved: TokenUsage = TokenUsage()
    """Tokens the cached descriptions cost when they were first made (not paid again)."""
    elapsed_s: float = 0.0
    problems: tuple[DescribeRecord, ...] = ()
    """The skipped and failed records, in input order (without their images)."""

    def __add__(self, other: DescribeReport) -> DescribeReport:
        """The report of two runs together (counts, tokens and time summed, problems joined)."""
        return DescribeReport(
            described=self.described + other.described,
            cached=self.cached + other.cached,
            skipped=self.skipped + other.skipped,
            failed=self.failed + other.failed,
            requests=self.requests + other.requests,
            usage=self.usage + other.usage,
            usage_saved=self.usage_saved + other.usage_saved,
            elapsed_s=self.elapsed_s + other.elapsed_s,
            problems=self.problems + other.problems,
        )

    def summary(self) -> str:
        """One line for a log or a terminal."""
        return (
            f"{self.described} described, {self.cached} from cache, {self.skipped} skipped, "
            f"{self.failed} failed; {self.requests} requests, {self.usage.total_tokens} tokens "
            f"({self.usage.input_tokens} in, {self.usage.output_tokens} out), "
            f"{self.usage_saved.total_tokens} tokens saved by the cache, {self.elapsed_s:.1f} s"
        )


def answer_text(message: BaseMessage) -> str:
    """The answer's text: text parts only (reasoning blocks dropped), a leading ``<think>`` cut."""
    return _THINK_BLOCK.sub("", str(message.text)).strip()


def no_text_message(message: BaseMessage | None) -> str:
    """Why an answer is unusable when it has no text, naming the ``finish_reason`` it gave."""
    finish = message.response_metadata.get("finish_reason") if message is not None else None
    return f"the model answered with no text (finish_reason={finish!r})"


def without_payload(record: DescribeRecord) -> DescribeRecord:
    return DescribeRecord(
        source=record.source,
        sha256=record.sha256,
        error=record.error,
        reason=record.reason,
        page=record.page,
        # No `exception`: an openai error keeps the whole request body (base64 images) alive.
        # The live exception reaches the consumer with the record itself, at emit time.
    )


def input_page(item: DescribeInput) -> int | None:
    """The PDF page an input stands for (None: an image, or a whole file that failed)."""
    return item.page if isinstance(item, (LoadedImage, SkippedImage)) else None


def skipped_record(item: SkippedImage | ImageInputError) -> DescribeRecord:
    if isinstance(item, ImageInputError):
        item = SkippedImage(item.source, item)
    return DescribeRecord(
        source=item.source,
        sha256=None,
        error=item.error.detail,
        reason=item.error.reason.value,
        exception=item.error,
    )
