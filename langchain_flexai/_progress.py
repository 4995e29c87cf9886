"""A progress bar for long loads and describe runs: tqdm when installed (extra ``progress``).

Knows how to open, advance and close a bar showing the outcome counts; knows nothing about what is
being counted. Without ``show_progress`` nothing is imported and every call is a no-op.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


class ProgressBar:
    """A tqdm bar with ``name=count`` outcome counters, or nothing when disabled."""

    def __init__(self, *, enabled: bool, total: int | None, desc: str, unit: str = "img") -> None:
        """Open the bar (only if ``enabled``).

        Raises:
            ImportError: ``enabled`` but tqdm is not installed; the message names the extra.
        """
        self._bar: Any = None
        if not enabled:
            return
        try:
            tqdm = importlib.import_module("tqdm.auto").tqdm
        except ImportError as exc:
            raise ImportError(
                'show_progress=True needs tqdm: pip install "langchain-flexai[progress]"'
            ) from exc
        self._bar = tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True)

    def advance(self, counts: Mapping[str, int]) -> None:
        """Count one more item and show the outcome counters (tqdm adds rate and ETA)."""
        if self._bar is None:
            return
        self._bar.set_postfix(counts, refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        """Close the bar (idempotent)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
