"""The loader's describe mode: its describer, and the file size a record answers for.

Knows how the loader's and the parser's describe options (or a ``describer=``) become one
:class:`~langchain_flexai.describe.ImageDescriber`, and that the loader's prepared files
(``LoadedImage`` / ``SkippedImage``) are describe inputs as they are: each record hands its
input back, file size included. Knows nothing about ``on_error`` (the loader decides what a
failed record means) nor about scheduling, retries or the cache (:mod:`langchain_flexai.describe`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from langchain_core.language_models import BaseChatModel

from langchain_flexai.describe._rate_limit import RequestRateLimiter
from langchain_flexai.describe._records import LoadedImage
from langchain_flexai.describe._run import (
    DEFAULT_PROMPT,
    DescribeProgress,
    DescribeRecord,
    ImageDescriber,
)

DEFAULT_CONCURRENCY = 4
"""The loader's ``max_concurrency`` default (ImageDescriber's too)."""


def check_one_route(owner: str, describer: ImageDescriber | None, given: dict[str, bool]) -> None:
    """Refuse a ``describer`` given together with describe options it would silently override.

    Args:
        owner: The class named in the message (``"FlexAIImageLoader"``).
        describer: The ``describer`` argument.
        given: Each describe option's name, and whether it was given (differs from its default).

    Raises:
        ValueError: ``describer`` and at least one describe option were both given.
    """
    names = [name for name, is_given in given.items() if is_given]
    if describer is None or not names:
        return
    raise ValueError(
        f"{owner}: give either describer= or the describe options, not both "
        f"({', '.join(names)} given with describer=); set them on the ImageDescriber instead"
    )


def loader_describer(
    describer: ImageDescriber | None,
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
    """``FlexAIImageLoader``'s describer: ``describer``, or the one its options stand for.

    The options are the 0.2.0 way to describe, ``describer=`` the other; both end in one
    :class:`ImageDescriber` (None without either a describer or a model).

    Raises:
        ValueError: ``describer`` and a describe option were both given.
    """
    check_one_route(
        "FlexAIImageLoader",
        describer,
        {
            "model": model is not None,
            "prompt": prompt != DEFAULT_PROMPT,
            "max_concurrency": max_concurrency != DEFAULT_CONCURRENCY,
            "requests_per_minute": requests_per_minute is not None,
            "rate_limiter": rate_limiter is not None,
            "cache_path": cache_path is not None,
            "detail": detail is not None,
            "on_progress": on_progress is not None,
        },
    )
    if describer is not None or model is None:
        return describer
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


def parser_describer(
    describer: ImageDescriber | None,
    model: BaseChatModel | None,
    prompt: str,
    *,
    detail: str | None,
    cache_path: str | os.PathLike[str] | None,
) -> ImageDescriber | None:
    """``FlexAIImageParser``'s describer: ``describer``, or one request at a time for ``model``.

    Raises:
        ValueError: ``describer`` and a describe option were both given.
    """
    check_one_route(
        "FlexAIImageParser",
        describer,
        {
            "model": model is not None,
            "prompt": prompt != DEFAULT_PROMPT,
            "detail": detail is not None,
            "cache_path": cache_path is not None,
        },
    )
    if describer is not None or model is None:
        return describer
    return ImageDescriber(model, prompt, max_concurrency=1, cache_path=cache_path, detail=detail)


def file_size(record: DescribeRecord) -> int | None:
    """The size on disk of the file a record answers (None: not a file the loader read)."""
    given = record.input
    return given.file_size if isinstance(given, LoadedImage) else None
