"""The loader's describe mode: its describer, and prepared files fed to it with their sizes.

Knows how the loader's describe options become one :class:`~langchain_flexai.describe.
ImageDescriber`, and how the loader's prepared files (``LoadedImage`` / ``SkippedImage``) go
through a describe run, each record coming back with its file's size on disk. Knows nothing
about ``on_error`` (the loader decides what a failed record means) nor about scheduling,
retries or the cache (:mod:`langchain_flexai.describe`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from contextlib import aclosing

from langchain_core.language_models import BaseChatModel

from langchain_flexai._loader._pipeline import LoadedImage, Prepared
from langchain_flexai.describe._rate_limit import RequestRateLimiter
from langchain_flexai.describe._run import (
    DescribeInput,
    DescribeProgress,
    DescribeRecord,
    ImageDescriber,
)

SizedRecord = tuple[DescribeRecord, int | None]
"""A describe record and the size on disk of its file (None when unknown)."""


def describer_for(
    model: BaseChatModel | None,
    prompt: str,
    *,
    max_concurrency: int,
    requests_per_minute: int | None,
    rate_limiter: RequestRateLimiter | None,
    cache_path: str | os.PathLike[str] | None,
    detail: str | None,
    on_progress: Callable[[DescribeProgress], None] | None,
    show_progress: bool,
) -> ImageDescriber | None:
    """The describer the loader's describe options stand for; None without a model."""
    if model is None:
        return None
    return ImageDescriber(
        model,
        prompt,
        max_concurrency=max_concurrency,
        requests_per_minute=requests_per_minute,
        rate_limiter=rate_limiter,
        cache_path=cache_path,
        detail=detail,
        on_progress=on_progress,
        show_progress=show_progress,
    )


def _inputs(prepared: Iterator[Prepared], sizes: dict[int, int]) -> Iterator[DescribeInput]:
    for item in prepared:
        if isinstance(item, LoadedImage):
            sizes[id(item.image)] = item.file_size
            yield item.image
        else:
            yield item


async def _ainputs(
    prepared: AsyncIterator[Prepared], sizes: dict[int, int]
) -> AsyncIterator[DescribeInput]:
    async for item in prepared:
        if isinstance(item, LoadedImage):
            sizes[id(item.image)] = item.file_size
            yield item.image
        else:
            yield item


def sized_records(
    describer: ImageDescriber, prepared: Iterator[Prepared], total: int | None
) -> Generator[SizedRecord, None, None]:
    """Each record with its file's size; the size is looked up (and forgotten) here."""
    # File sizes of images handed to the describer and not yet answered: every record pops
    # its own, so the dict holds only the images in flight, not one entry per file.
    sizes: dict[int, int] = {}
    for record in describer.describe(_inputs(prepared, sizes), total=total):
        size = sizes.pop(id(record.image), None) if record.image is not None else None
        yield record, size


async def asized_records(
    describer: ImageDescriber, prepared: AsyncIterator[Prepared], total: int | None
) -> AsyncGenerator[SizedRecord, None]:
    """Async :func:`sized_records`."""
    sizes: dict[int, int] = {}  # as in sized_records
    async with aclosing(describer.adescribe(_ainputs(prepared, sizes), total=total)) as records:
        async for record in records:
            size = sizes.pop(id(record.image), None) if record.image is not None else None
            yield record, size
