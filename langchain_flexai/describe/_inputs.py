"""Small helpers of the describe run for what it consumes: the image of an input, async input.

Knows that a loader's ``LoadedImage`` carries its ``PreparedImage``, how a record already known
(skipped, cached) becomes a finished future, and how a sync or async iterable of inputs is read
on the event loop. Knows nothing about requests, the cache or ordering (``_run``).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable
from concurrent.futures import Future

from langchain_flexai.describe._records import DescribeInput, DescribeRecord, LoadedImage
from langchain_flexai.images._prepared import PreparedImage

__all__ = ["aiter_inputs", "completed", "image_of"]


def image_of(item: PreparedImage | LoadedImage) -> PreparedImage:
    """The prepared image of an input."""
    return item.image if isinstance(item, LoadedImage) else item


def completed(record: DescribeRecord) -> Future[DescribeRecord]:
    """A future already holding ``record``."""
    done: Future[DescribeRecord] = Future()
    done.set_result(record)
    return done


async def aiter_inputs(
    items: Iterable[DescribeInput] | AsyncIterable[DescribeInput],
) -> AsyncIterator[DescribeInput]:
    """``items``, sync or async, as one async iterator."""
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
