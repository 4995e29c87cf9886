"""What the loader does with a file, or a PDF page, it cannot use: ``on_error`` and the skip list.

Knows the :class:`SkippedFile` record, how a file that could not be prepared (``SkippedImage``)
or a failed describe record becomes one, and what each ``on_error`` value does with it: raise
the error (naming the whole path, and the page), warn with an ``ImageSkippedWarning``, or log
at INFO. Knows nothing about walking, preparing or describing.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

from langchain_flexai._loader._options import OnError
from langchain_flexai._loader._walk import printable_path
from langchain_flexai.describe._records import DescribeRecord, SkippedImage
from langchain_flexai.errors import ImageInputError, ImageSkippedWarning

# The loader's own logger name: what users filter on did not change when this moved here.
logger = logging.getLogger("langchain_flexai.document_loaders")


@dataclass(frozen=True)
class SkippedFile:
    """A file the loader did not turn into a Document, and why."""

    source: str | None
    """The path (None if unknown)."""
    reason: str
    """An ``ImageErrorReason`` value (``"corrupt"``, ``"unreadable"``, ...), or
    ``"request_failed"`` / ``"empty_answer"`` when describing it failed."""
    message: str
    """What went wrong (the path is in ``source``)."""
    page: int | None = None
    """The 1-based page of a PDF that could not be rendered (None: the whole file)."""


class ProblemLog:
    """One run's skipped files, and ``on_error`` applied to each as it comes."""

    def __init__(self, on_error: OnError) -> None:
        """Start an empty list for a run under ``on_error``."""
        self.on_error: OnError = on_error
        self.skipped: list[SkippedFile] = []

    def report(
        self,
        source: str | None,
        reason: str,
        message: str,
        error: BaseException | None,
        page: int | None = None,
    ) -> None:
        """Raise ``error``, or record the skip and warn or log it.

        Raises:
            BaseException: ``error`` (or a ``ValueError``) when ``on_error`` is ``"raise"``.
        """
        if self.on_error == "raise":
            raise error if error is not None else ValueError(f"{source}: {message}")
        self.skipped.append(SkippedFile(source, reason, message, page))
        # Escaped: a warning or log line may go to a strict UTF-8 file (non-UTF-8 file names).
        shown = printable_path(source) if source is not None else None
        if page is not None:
            shown = f"{shown} page {page}"
        if self.on_error == "warn":
            warnings.warn(f"skipped {shown}: {message}", ImageSkippedWarning, stacklevel=3)
        else:
            logger.info("skipped %s: %s", shown, message)

    def input_problem(self, item: SkippedImage) -> None:
        """A file (or page) that could not be read or prepared."""
        error = item.error
        # ImageInputError shortens its source for messages; name the whole path when raising.
        where = item.source if item.page is None else f"{item.source} page {item.page}"
        located = ImageInputError(f"cannot load {where}: {error.detail}", reason=error.reason)
        located.__cause__ = error
        self.report(item.source, error.reason.value, error.detail, located, item.page)

    def record_problem(self, record: DescribeRecord) -> None:
        """A describe record that failed (or stands for a file that could not be prepared)."""
        reason = record.reason or "request_failed"
        self.report(record.source, reason, record.error or reason, record.exception, record.page)
