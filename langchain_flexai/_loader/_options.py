"""The loader's options, checked and normalised before anything is read.

Knows which values ``FlexAIImageLoader``'s walk and pipeline options may take (``on_error``,
``workers``, ``max_file_bytes``, the paths, ``glob`` / ``exclude`` / ``suffixes``) and what they
become (a list of paths, a :class:`~langchain_flexai._loader._walk.WalkFilter`, a worker count).
Knows nothing about describing (``_loader._describe``), Documents or the walk itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Literal

from langchain_flexai._env import usable_cores
from langchain_flexai._loader._pdf import PDF_SUFFIX
from langchain_flexai._loader._walk import PathPattern, WalkFilter, normalize_suffixes
from langchain_flexai.images._policy import ACCEPTED_SUFFIXES

DEFAULT_SUFFIXES = ACCEPTED_SUFFIXES | {PDF_SUFFIX}
"""What the walk keeps by default: every image format the pipeline reads, and PDFs."""

OnError = Literal["raise", "skip", "warn"]
ON_ERROR = ("raise", "skip", "warn")
MAX_DEFAULT_WORKERS = 8


def check_options(on_error: str, workers: int | None, max_file_bytes: int) -> None:
    """Refuse option values the loader cannot work with.

    Raises:
        ValueError: An unknown ``on_error``, ``workers`` < 1 or ``max_file_bytes`` < 1.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    if max_file_bytes < 1:
        raise ValueError(f"max_file_bytes must be >= 1, got {max_file_bytes!r}")


def default_workers() -> int:
    """Threads preparing files when none are asked for: the usable cores, at most 8."""
    return min(usable_cores(), MAX_DEFAULT_WORKERS)


def as_paths(path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    """The loader's ``path`` argument as a list of path strings.

    Raises:
        ValueError: An empty list.
    """
    if isinstance(path, (str, os.PathLike)):
        return [os.fspath(path)]
    paths = [os.fspath(p) for p in path]
    if not paths:
        raise ValueError("path must name at least one file or directory")
    return paths


def walk_filter(
    *,
    glob: str | None,
    case_sensitive: bool,
    recursive: bool,
    suffixes: Iterable[str] | None,
    exclude: str | Iterable[str],
) -> WalkFilter:
    """What the walk keeps (see ``FlexAIImageLoader`` for each option's meaning).

    Raises:
        ValueError: An empty pattern.
        TypeError: ``suffixes`` given as a single string.
    """
    items = [exclude] if isinstance(exclude, str) else list(exclude)
    return WalkFilter(
        suffixes=normalize_suffixes(DEFAULT_SUFFIXES if suffixes is None else suffixes),
        glob=PathPattern(glob, case_sensitive) if glob is not None else None,
        exclude=tuple(PathPattern(p, case_sensitive) for p in items),
        recursive=recursive,
    )
