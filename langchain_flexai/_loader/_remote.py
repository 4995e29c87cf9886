"""https URLs among the loader's paths, fetched when asked for (``remote_images="fetch"``).

Knows which of the loader's path entries are URLs (``_urls.classify_url``: an https URL, or any
other scheme, which the fetch policy then refuses: a ``file:`` URL is never opened), and how one
becomes the pipeline's item: fetched under the fetch policy, prepared like any inline image
(cached by content, hashed for the resume key), a PDF to expand into its pages (recognised by
its ``%PDF-`` header, whatever the URL or the server's content type says), or skipped with the
fetch's error under the URL's redacted name (query strings carry presigned tokens). Entries
that are not URLs go to the ordinary walk, in the order given.

Knows nothing about the walk itself (``_walk``), Documents or models. Without a fetch policy
nothing here runs and the loader treats every entry as a path, as it always did.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from langchain_flexai._loader._pdf import PageSelection, PdfFile, looks_like_pdf
from langchain_flexai._loader._pipeline import Prepared, WalkItem, expand, walk
from langchain_flexai._loader._walk import WalkFilter
from langchain_flexai._urls import classify_url
from langchain_flexai.describe._records import LoadedImage, SkippedImage
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._doors import prepare_fetched_image
from langchain_flexai.images._fetch import fetch_image_bytes, redact_url
from langchain_flexai.images._fetch_policy import FetchPolicy
from langchain_flexai.images._policy import ImagePolicy

__all__ = ["fetch_expanded", "fetch_one", "is_remote", "walk_with_urls"]


def is_remote(path: str | os.PathLike[str]) -> bool:
    """Whether a loader path entry is a URL (https, or a scheme the fetch policy will judge)."""
    return isinstance(path, str) and classify_url(path) in ("https", "other_scheme")


def fetch_one(url: str, policy: ImagePolicy, fetch: FetchPolicy) -> Prepared | PdfFile:
    """One URL as the pipeline's item: its prepared image, a PDF to expand, or why skipped."""
    name = redact_url(url)
    try:
        raw = fetch_image_bytes(url, fetch, max_bytes=policy.max_input_bytes)
    except ImageInputError as error:
        return SkippedImage(name, error)
    try:
        image = prepare_fetched_image(raw, url, policy)
        _ = image.sha256  # hashed here, off the consumer's thread, as for files
    except ImageInputError as error:
        if error.reason is ImageErrorReason.NOT_AN_IMAGE and looks_like_pdf(raw):
            # Its pages render where results leave the pipeline, like a PDF file's.
            return PdfFile(name, len(raw), data=raw)
        return SkippedImage(name, error)
    return LoadedImage(image, len(raw))


def fetch_expanded(
    url: str,
    policy: ImagePolicy,
    fetch: FetchPolicy,
    pages: PageSelection = None,
) -> Iterator[Prepared]:
    """One URL's outcomes: its image, the chosen pages of the PDF it serves, or a skip."""
    yield from expand(fetch_one(url, policy, fetch), policy, policy.max_input_bytes, pages)


def walk_with_urls(
    paths: Sequence[str],
    walk_filter: WalkFilter,
    policy: ImagePolicy,
    fetch: FetchPolicy | None,
    *,
    count_only: bool = False,
) -> Iterator[WalkItem]:
    """The walk, with each URL entry fetched in its place (``fetch`` None: the plain walk).

    ``count_only`` yields URLs unfetched (for a total) instead of fetching them.
    """
    if fetch is None or not any(is_remote(p) for p in paths):
        yield from walk(paths, walk_filter)
        return
    for path in paths:
        if not is_remote(path):
            yield from walk([path], walk_filter)
        elif count_only:
            yield path
        else:
            yield fetch_one(path, policy, fetch)
