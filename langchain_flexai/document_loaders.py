"""Image and PDF files as LangChain Documents and vision-ready messages, described on request.

Knows the public loader and parser: how their options map onto the file walk (``_loader._walk``,
checked by ``_loader._options``), the preparation pipeline (``_loader._pipeline``), Documents
(``_loader._documents``; PDF pages: ``_loader._pdf``) and the bulk describe run
(:mod:`langchain_flexai.describe`, glued on by ``_loader._describe``), and what happens to a
file that cannot be used (``on_error``).
Knows no pixels (images.py does) and no wire format (ChatFlexAI does).

Built on langchain-core's ``BaseLoader``, ``BaseBlobParser`` and ``Blob`` only; the parser also
works with langchain-community's ``GenericLoader`` and as the ``images_parser`` of its PDF loaders.
"""

from __future__ import annotations

import os
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import aclosing, closing
from dataclasses import replace
from typing import Literal

from langchain_core.document_loaders import BaseBlobParser, BaseLoader, Blob
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from langchain_flexai._loader._describe import (
    DEFAULT_CONCURRENCY,
    loader_describer,
    parser_describer,
)
from langchain_flexai._loader._documents import (
    blob_size,
    document_to_message,
    image_document,
    image_from_npy,
    vision_message,
)
from langchain_flexai._loader._options import (
    OnError,
    as_paths,
    check_options,
    default_workers,
    walk_filter,
)
from langchain_flexai._loader._pdf import (
    LoadedPage,
    PageSelection,
    counts_as_pdf,
    data_pages,
    is_pdf_blob,
    page_document,
    page_total,
)
from langchain_flexai._loader._pipeline import (
    Prepared,
    WalkItem,
    aiter_prepared,
    iter_prepared,
)
from langchain_flexai._loader._problems import ProblemLog, SkippedFile
from langchain_flexai._loader._remote import is_remote, walk_with_urls
from langchain_flexai._progress import ProgressBar
from langchain_flexai.describe._rate_limit import RequestRateLimiter
from langchain_flexai.describe._records import LoadedImage
from langchain_flexai.describe._run import (
    DEFAULT_PROMPT,
    DescribeProgress,
    DescribeRecord,
    DescribeReport,
    ImageDescriber,
    SkippedImage,
)
from langchain_flexai.errors import ImageInputError, ImageSkippedWarning  # noqa: F401 - 0.2.0 import paths
from langchain_flexai.images._doors import blob_name, prepare_image, read_blob
from langchain_flexai.images._fetch_policy import FetchPolicy
from langchain_flexai.images._policy import MAX_FILE_BYTES, ImagePolicy
from langchain_flexai.images._prepared import PreparedImage

__all__ = [
    "FlexAIImageLoader",
    "FlexAIImageParser",
    "ImageSkippedWarning",
    "OnError",
    "SkippedFile",
]


_NPY_MIME = "application/x-npy"


class FlexAIImageLoader(BaseLoader):
    r"""Load image and PDF files as Documents (and vision-ready messages), described on request.

    Files are found with ``os.scandir`` (sorted; suffixes matched case-insensitively; dot-files
    and dot-directories skipped; symlink loops walked once), prepared by
    :func:`~langchain_flexai.images.prepare_image` (EXIF rotation, downscaling, conversion to a
    format FlexAI accepts; compliant files are never decoded), and yielded one at a time.

    Each Document's ``metadata`` holds ``source``, ``file_name``, ``file_size``, ``mime_type``,
    ``width``, ``height``, ``original_mime_type``, ``original_width``, ``original_height``,
    ``sha256`` (of the bytes sent), ``transformations`` and, unless ``include_image=False``,
    ``image_url``: the prepared image as a data URL, so a Document retrieved from a vector store
    can go straight back to the model (:meth:`to_message`). ``page_content`` is the model's
    description when ``model`` is given, else a short stand-in naming the file, format and size.

    A PDF (extra ``pdf``) gives one Document per page, in page order, each page rendered to an
    image at the policy's size; its metadata adds ``page`` (1-based) and ``page_count``
    (``source`` is the PDF, ``file_size`` its size), and ``page_content`` is the page's text
    layer when it has one (after the description, with a ``model``), so a retriever matches
    the page's words.

    Example:
        ```python
        loader = FlexAIImageLoader("photos/", on_error="warn")
        for message in loader.lazy_load_messages("What is in this photo?"):
            print(ChatFlexAI().invoke([message]).text)
        print(loader.skipped)  # the files that could not be used, and why
        ```
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        glob: str | None = None,
        case_sensitive: bool = False,
        recursive: bool = True,
        suffixes: Iterable[str] | None = None,
        exclude: str | Iterable[str] = (),
        policy: ImagePolicy | None = None,
        on_error: OnError = "warn",
        show_progress: bool = False,
        include_image: bool = True,
        detail: str | None = None,
        workers: int | None = None,
        max_file_bytes: int = MAX_FILE_BYTES,
        pages: PageSelection = None,
        model: BaseChatModel | None = None,
        prompt: str = DEFAULT_PROMPT,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        requests_per_minute: int | None = None,
        rate_limiter: RequestRateLimiter | None = None,
        cache_path: str | os.PathLike[str] | None = None,
        on_progress: Callable[[DescribeProgress], None] | None = None,
        describer: ImageDescriber | None = None,
        remote_images: Literal["pass", "fetch"] = "pass",
        fetch_policy: FetchPolicy | None = None,
    ) -> None:
        """Configure the loader (nothing is read until loading starts).

        Args:
            path: A file, a directory, or a list of them (walked in the order given). A file
                named explicitly is loaded whatever its suffix.
            glob: Only files matching this pattern: without ``/`` it matches file names at any
                depth (``"IMG_*"``), with ``/`` the path relative to the directory
                (``"2024/**/*.jpg"``). Case is ignored, as for ``suffixes``: ``"**/*.jpg"``
                matches ``IMG_1.JPG``.
            case_sensitive: Match ``glob`` and ``exclude`` with case (``"*.jpg"`` then skips
                ``IMG_1.JPG``). Suffixes are always matched without case.
            recursive: Walk subdirectories.
            suffixes: File suffixes to load, matched case-insensitively (``".JPG"`` is
                ``".jpg"``). Default: every format the image pipeline reads.
            exclude: Patterns (like ``glob``) of files or directories to leave out; an excluded
                directory is not entered.
            policy: Image limits (default :class:`~langchain_flexai.images.ImagePolicy`).
            on_error: A file that cannot be read, prepared or described: ``"raise"`` stops,
                ``"skip"`` logs it, ``"warn"`` emits an :class:`ImageSkippedWarning`. Skipped
                files are listed in :attr:`skipped` either way.
            show_progress: Show a progress bar (needs the ``progress`` extra: tqdm).
            include_image: Put the prepared image in ``metadata["image_url"]`` (see above).
            detail: Image ``detail`` hint for messages and requests (``auto``/``low``/``high``).
            workers: Threads preparing files (default: the CPUs available, at most 8).
            max_file_bytes: Largest file read (default 64 MiB); a larger file, like anything
                that is not a regular file (a FIFO, a device), is reported under ``on_error``
                (``TOO_LARGE`` / ``UNREADABLE``) without being read.
            pages: The pages to load from every PDF, 1-based: ``"1-3,7"`` or ``[1, 2, 3, 7]``
                (default: all). A PDF that lacks a page asked for is reported under
                ``on_error``.
            model: A vision chat model; when given, ``page_content`` is its description.
            prompt: The text sent with each image to ``model``, exactly as given; also the
                default prompt of :meth:`lazy_load_messages`.
            max_concurrency: Describe requests in flight at once.
            requests_per_minute: Describe request starts allowed in any 60 s (FlexAI tiers: 10,
                60, 100-300). None: no limit beyond ``max_concurrency``.
            rate_limiter: A :class:`~langchain_flexai.describe.RequestRateLimiter` to use (and
                share) instead of ``requests_per_minute``.
            cache_path: SQLite file of descriptions keyed by the SHA-256 of the image bytes
                sent, the endpoint, the model, the prompt and the request settings (see
                :class:`~langchain_flexai.describe.ImageDescriber`): an interrupted run started
                again pays for no image already described.
            on_progress: Called with counts after every described (or skipped) image.
            describer: An :class:`~langchain_flexai.describe.ImageDescriber` to describe with,
                instead of ``model`` and the options above from ``prompt`` to ``on_progress``
                (and ``detail``): its own model, prompt, concurrency, rate limit, cache,
                retries and ``detail`` apply, and its prompt and ``detail`` are also the
                defaults of :meth:`lazy_load_messages`.
            remote_images: ``"fetch"``: https URLs among ``path`` are fetched under
                ``fetch_policy`` (default ``FetchPolicy()``) and prepared like files, in their
                place; a failed fetch is a skipped entry under ``on_error``. ``"pass"`` (the
                default): every entry is a path, as always.
            fetch_policy: The limits of those fetches (see docs/images.md, "Remote images").

        Raises:
            ValueError: An unknown ``on_error``, an empty path list or pattern, bad numbers,
                or ``describer`` given together with ``model`` or another describe option.
            TypeError: ``suffixes`` given as a single string.

        Loading raises ``FileNotFoundError`` (or another ``OSError``: ``PermissionError``, ...)
        naming the path when a path given here does not exist or a directory given here cannot
        be listed, whatever ``on_error`` says: ``on_error`` is for the files inside.
        """
        check_options(on_error, workers, max_file_bytes)
        self.paths = as_paths(path)
        self.walk_filter = walk_filter(
            glob=glob,
            case_sensitive=case_sensitive,
            recursive=recursive,
            suffixes=suffixes,
            exclude=exclude,
        )
        self.policy = policy or ImagePolicy()
        self.on_error: OnError = on_error
        self.show_progress = show_progress
        self.include_image = include_image
        self.workers = workers or default_workers()
        self.max_file_bytes = max_file_bytes
        self.pages = pages
        self.describer = loader_describer(
            describer,
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
        # With a describer, its prompt and detail are the loader's too (messages match requests).
        self.model = describer.model if describer is not None else model
        self.prompt = describer.prompt if describer is not None else prompt
        self.detail = describer.detail if describer is not None else detail
        self._problems = ProblemLog(on_error)
        if remote_images not in ("pass", "fetch"):
            raise ValueError(f"remote_images must be 'pass' or 'fetch', got {remote_images!r}")
        self.fetch_policy = (fetch_policy or FetchPolicy()) if remote_images == "fetch" else None

    # -- reporting ---------------------------------------------------------------------

    @property
    def skipped(self) -> list[SkippedFile]:
        """The files skipped by the current or last run, in walk order (a copy)."""
        return list(self._problems.skipped)

    @property
    def report(self) -> DescribeReport | None:
        """The describe run's report (counts, tokens paid and saved); None without a model."""
        return self.describer.report if self.describer is not None else None

    # -- the pipeline --------------------------------------------------------------------

    def _count(self) -> int | None:
        wants_total = self.show_progress or (
            self.describer is not None and self.describer.on_progress is not None
        )
        if not wants_total:
            return None
        return sum(
            page_total(item, self.max_file_bytes, self.pages)
            # A URL entry is one item, and is never opened as a local path.
            if isinstance(item, str)
            and not is_remote(item)
            and counts_as_pdf(item, self.walk_filter.suffixes)
            else 1
            for item in self._walk(count_only=True)
        )

    def _prepared(self) -> Generator[Prepared, None, None]:
        return iter_prepared(
            self._walk(),
            self.policy,
            self.workers,
            max_file_bytes=self.max_file_bytes,
            pages=self.pages,
        )

    def _walk(self, *, count_only: bool = False) -> Iterator[WalkItem]:
        # The walk, and with remote_images="fetch" each URL entry fetched in its place.
        paths, fetch = self.paths, self.fetch_policy
        return walk_with_urls(paths, self.walk_filter, self.policy, fetch, count_only=count_only)

    def _aprepared(self) -> AsyncGenerator[Prepared, None]:
        return aiter_prepared(
            self._walk(),
            self.policy,
            self.workers,
            max_file_bytes=self.max_file_bytes,
            pages=self.pages,
        )

    def _iter_loaded(self) -> Generator[LoadedImage, None, None]:
        """Prepared files, with problems handled by ``on_error`` and counted on the bar."""
        self._problems = ProblemLog(self.on_error)
        bar = ProgressBar(enabled=self.show_progress, total=self._count(), desc="load")
        counts = {"loaded": 0, "skipped": 0}
        try:
            with closing(self._prepared()) as prepared:
                for item in prepared:
                    loaded = self._tally(item, counts, bar)
                    if loaded is not None:
                        yield loaded
        finally:
            bar.close()

    async def _aiter_loaded(self) -> AsyncGenerator[LoadedImage, None]:
        self._problems = ProblemLog(self.on_error)
        bar = ProgressBar(enabled=self.show_progress, total=self._count(), desc="load")
        counts = {"loaded": 0, "skipped": 0}
        try:
            async with aclosing(self._aprepared()) as prepared:
                async for item in prepared:
                    loaded = self._tally(item, counts, bar)
                    if loaded is not None:
                        yield loaded
        finally:
            bar.close()

    def _tally(
        self, item: LoadedImage | SkippedImage, counts: dict[str, int], bar: ProgressBar
    ) -> LoadedImage | None:
        """Count one prepared item on the bar; report a skipped one and return None for it."""
        if isinstance(item, SkippedImage):
            counts["skipped"] += 1
            bar.advance(counts)
            self._problems.input_problem(item)
            return None
        counts["loaded"] += 1
        bar.advance(counts)
        return item

    def _document(self, loaded: LoadedImage, description: str | None = None) -> Document:
        if isinstance(loaded, LoadedPage):
            return page_document(loaded, description=description, include_image=self.include_image)
        return image_document(
            loaded.image,
            loaded.file_size,
            description=description,
            include_image=self.include_image,
        )

    def _message(self, image: PreparedImage, prompt: str | None) -> HumanMessage:
        text = self.prompt if prompt is None else prompt
        # An empty prompt sends the image alone.
        return vision_message(text or None, image.to_content_block(self.detail))

    # -- Documents -----------------------------------------------------------------------

    def lazy_load(self) -> Iterator[Document]:
        """Yield one Document per image, in walk order (described first when ``model`` is set)."""
        if self.describer is None:
            for loaded in self._iter_loaded():
                yield self._document(loaded)
            return
        with closing(self._describe_records()) as records:
            for record in records:
                if record.image is not None and record.error is None:
                    yield self._described(record)

    async def alazy_load(self) -> AsyncIterator[Document]:
        """Async :meth:`lazy_load`: files are read on threads, requests run concurrently."""
        if self.describer is None:
            async for loaded in self._aiter_loaded():
                yield self._document(loaded)
            return
        async with aclosing(self._adescribe_records()) as records:
            async for record in records:
                if record.image is not None and record.error is None:
                    yield self._described(record)

    def _described(self, record: DescribeRecord) -> Document:
        """The Document of a described record: it carries the loader's prepared file back."""
        if not isinstance(record.input, LoadedImage):
            raise TypeError(f"not one of this loader's inputs: {record.input!r}")
        return self._document(record.input, record.description)

    # -- describe records (for CLIs: one JSON-ready record per file, failures included) --

    def _require_describer(self) -> ImageDescriber:
        if self.describer is None:
            raise ValueError(
                "describing needs a model: FlexAIImageLoader(path, model=ChatFlexAI())"
            )
        return self.describer

    def _describe_records(self) -> Generator[DescribeRecord, None, None]:
        # Prepared files are describe inputs as they are; each record carries its own back.
        describer = self._require_describer()
        self._problems = ProblemLog(self.on_error)
        total = self._count()
        with closing(self._prepared()) as prepared:
            for record in describer.describe(prepared, total=total):
                if record.error is not None:
                    self._problems.record_problem(record)
                yield record

    async def _adescribe_records(self) -> AsyncGenerator[DescribeRecord, None]:
        describer = self._require_describer()
        self._problems = ProblemLog(self.on_error)
        total = self._count()
        async with aclosing(self._aprepared()) as prepared:
            records = describer.adescribe(prepared, total=total)
            async with aclosing(records):
                async for record in records:
                    if record.error is not None:
                        self._problems.record_problem(record)
                    yield record

    def lazy_describe(self) -> Iterator[DescribeRecord]:
        """Yield a :class:`~langchain_flexai.describe.DescribeRecord` per file, failures included.

        Failures also follow ``on_error`` (with ``"raise"`` the first one stops the run). The
        totals are in :attr:`report` afterwards.

        Raises:
            ValueError: The loader has no ``model``.
        """
        with closing(self._describe_records()) as records:
            yield from records

    def alazy_describe(self) -> AsyncIterator[DescribeRecord]:
        """Async :meth:`lazy_describe`.

        Raises:
            ValueError: The loader has no ``model``.
        """
        self._require_describer()
        return self._adescribe_records()

    # -- messages --------------------------------------------------------------------------

    def lazy_load_messages(self, prompt: str | None = None) -> Iterator[HumanMessage]:
        """Yield one vision-ready ``HumanMessage`` per image: the prompt text, then the image.

        Args:
            prompt: The text before each image, sent as given; default: the loader's ``prompt``.
                An empty string sends the image alone.
        """
        for loaded in self._iter_loaded():
            yield self._message(loaded.image, prompt)

    async def alazy_load_messages(self, prompt: str | None = None) -> AsyncIterator[HumanMessage]:
        """Async :meth:`lazy_load_messages` (files are read on threads)."""
        async for loaded in self._aiter_loaded():
            yield self._message(loaded.image, prompt)

    @staticmethod
    def to_message(
        document: Document,
        prompt: str | None = None,
        *,
        detail: str | None = None,
        policy: ImagePolicy | None = None,
    ) -> HumanMessage:
        """Turn an image Document (e.g. retrieved from a vector store) back into a message.

        The image comes from ``metadata["image_url"]`` and is validated as untrusted data: a
        data URL or an https URL only; a path is never opened.

        Args:
            document: A Document made by this loader or parser with ``include_image=True``.
            prompt: Text to put before the image, sent as given (None: the image alone).
            detail: Image ``detail`` hint (``auto``/``low``/``high``).
            policy: Limits to check the image against (default ``ImagePolicy()``).

        Raises:
            ImageInputError: The Document carries no usable image.
        """
        return document_to_message(document, prompt, detail=detail, policy=policy)


class FlexAIImageParser(BaseBlobParser):
    """Parse image (and PDF) blobs into Documents (the per-blob step of :class:`FlexAIImageLoader`).

    Works with any ``BlobLoader`` (for example langchain-community's ``GenericLoader``) and as
    the ``images_parser`` of langchain-community's PDF loaders, which hand over images as
    ``application/x-npy`` blobs (those need numpy). Metadata and ``page_content`` are the
    loader's; with a ``model``, each blob is described as it is parsed, and a failure raises.

    Example:
        ```python
        parser = FlexAIImageParser(model=ChatFlexAI(), prompt="Transcribe any text.")
        docs = list(parser.lazy_parse(Blob.from_path("scan.png")))
        ```
    """

    def __init__(
        self,
        *,
        policy: ImagePolicy | None = None,
        model: BaseChatModel | None = None,
        prompt: str = DEFAULT_PROMPT,
        include_image: bool = True,
        detail: str | None = None,
        cache_path: str | os.PathLike[str] | None = None,
        describer: ImageDescriber | None = None,
    ) -> None:
        """Configure the parser.

        Args:
            policy: Image limits (default ``ImagePolicy()``).
            model: A vision chat model; when given, ``page_content`` is its description.
            prompt: Sent with each image to ``model``, exactly as given.
            include_image: Put the prepared image in ``metadata["image_url"]``.
            detail: Image ``detail`` hint for the describe requests.
            cache_path: SQLite resume cache for descriptions (see :class:`FlexAIImageLoader`).
            describer: An :class:`~langchain_flexai.describe.ImageDescriber` to describe with,
                instead of ``model``, ``prompt``, ``detail`` and ``cache_path`` (its own apply).
                Blobs are described one at a time whatever its ``max_concurrency``.

        Raises:
            ValueError: ``describer`` given together with ``model`` or another describe option.
        """
        self.describer = parser_describer(
            describer, model, prompt, detail=detail, cache_path=cache_path
        )
        self.policy = policy or ImagePolicy()
        self.include_image = include_image

    def prepare(self, blob: Blob) -> PreparedImage:
        """The blob's image, prepared (``.npy`` arrays included).

        Raises:
            ImageInputError: The blob cannot be read or is not a usable image.
        """
        name = blob_name(blob)
        is_npy = blob.mimetype == _NPY_MIME or (name or "").lower().endswith(".npy")
        if not is_npy:
            return prepare_image(blob, self.policy)
        array_image = image_from_npy(read_blob(blob), name, self.policy.max_decode_pixels)
        image = prepare_image(array_image, self.policy)
        return replace(image, source=name)

    def _description(self, item: PreparedImage | LoadedImage) -> str | None:
        if self.describer is None:
            return None
        record = next(iter(self.describer.describe([item])))
        if record.error is not None:
            raise record.exception or ValueError(record.error)
        return record.description

    def lazy_parse(self, blob: Blob) -> Iterator[Document]:
        """Yield one Document for the blob's image, or one per page of a PDF blob.

        Raises:
            ImageInputError: The blob is not a usable image or PDF (or a page cannot be used).
            Exception: The model's error when describing fails (after its own retries).
        """
        name = blob_name(blob)
        if is_pdf_blob(blob.mimetype, name):
            for page in data_pages(read_blob(blob), name, self.policy):
                text = self._description(page)
                yield page_document(page, description=text, include_image=self.include_image)
            return
        image = self.prepare(blob)
        yield image_document(
            image,
            blob_size(blob),
            description=self._description(image),
            include_image=self.include_image,
        )
