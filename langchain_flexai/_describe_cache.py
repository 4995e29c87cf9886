"""The on-disk resume cache of a describe run: one SQLite file, one row per answered request.

Knows how to store and find a description by (image SHA-256, model, prompt). Knows nothing about
models, images or scheduling: the caller decides what the key parts are and when to write.

Why SQLite: it is in the standard library, a row committed is on disk when ``commit`` returns (a run
killed by SIGKILL keeps every answer it had), and WAL mode lets readers work while the writer
commits. ``synchronous=NORMAL`` in WAL mode never loses a committed row to a process crash, only
possibly to a power cut, and keeps a commit to tens of microseconds, so writing after every answer
costs nothing next to a network request.

Only answers are stored, never failures: an image whose request failed is asked again next run.

Every failure of the file (a directory, a file that is not a cache, a lock held by another
process, a full disk) is raised as one type, :class:`DescribeCacheError`, naming the path and what
to do, so a caller (the CLI) can turn it into one line instead of a SQLite traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from typing_extensions import Self

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS descriptions (
    image_sha256 TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_sha256 TEXT NOT NULL,
    description TEXT NOT NULL,
    usage TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (image_sha256, model, prompt_sha256)
) WITHOUT ROWID
"""


class DescribeCacheError(RuntimeError):
    """The describe cache file cannot be opened, read or written.

    The message names the file, what went wrong and what to do; ``path`` is the file.
    """

    def __init__(self, path: Path, message: str) -> None:
        """Create the error for the cache at ``path``."""
        super().__init__(message)
        self.path = path


def _cache_error(path: Path, action: str, exc: BaseException) -> DescribeCacheError:
    detail = str(exc) or type(exc).__name__
    if "locked" in detail or "busy" in detail:
        hint = "another run is using it: wait for that run to finish, or give another cache path"
    elif isinstance(exc, (sqlite3.DatabaseError, ValueError)) and not isinstance(
        exc, sqlite3.OperationalError
    ):
        hint = (
            "it is not a describe cache (or is damaged, or from another version): give another "
            "cache path, or delete the file to start a fresh cache (its stored answers are lost)"
        )
    else:
        hint = "give a cache path to a file in a writable directory"
    return DescribeCacheError(path, f"describe cache {path}: cannot {action} it: {detail}; {hint}")


@dataclass(frozen=True)
class CachedDescription:
    """A stored answer."""

    description: str
    usage: dict[str, int] | None
    """Token usage of the request that produced it (not paid again when reused)."""


def prompt_key(prompt: str) -> str:
    """The hex SHA-256 of a prompt's UTF-8 text: prompts can be long, keys stay short."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


class DescribeCache:
    """A thread-safe SQLite store of descriptions keyed by image hash, model and prompt.

    Every method raises :class:`DescribeCacheError` when the file fails (nothing from
    ``sqlite3`` leaks).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None:
        """Open (creating if needed) the cache file at ``path``.

        Args:
            path: The SQLite file.
            timeout: Seconds to wait for a lock held by another process before failing.

        Raises:
            DescribeCacheError: ``path`` is a directory, not a describe cache, written by an
                incompatible version, locked by another process, or cannot be created.
        """
        self.path = Path(path)
        self._lock = threading.Lock()
        if self.path.is_dir():
            raise DescribeCacheError(
                self.path,
                f"describe cache {self.path}: it is a directory; give a file path, such as "
                f"{self.path / 'describe-cache.sqlite'}",
            )
        with self._guard("create"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One connection shared by the run's threads, serialised by our lock: SQLite's own
            # same-thread check would forbid the event loop thread and worker threads sharing it.
            self._conn = sqlite3.connect(
                self.path, timeout=timeout, check_same_thread=False, isolation_level=None
            )
        try:
            with self._guard("open"):
                self._init_schema()
        except DescribeCacheError:
            self._conn.close()
            raise

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn any failure of the file into :class:`DescribeCacheError`."""
        try:
            yield
        except (sqlite3.Error, OSError, ValueError) as exc:
            raise _cache_error(self.path, action, exc) from exc

    def _init_schema(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, _SCHEMA_VERSION):
            raise ValueError(
                f"schema version {version}, this version of langchain-flexai reads "
                f"{_SCHEMA_VERSION}"
            )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)
        self._conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def get(self, image_sha256: str, model: str, prompt: str) -> CachedDescription | None:
        """The stored answer for this image, model and prompt, or None."""
        with self._lock, self._guard("read"):
            row = self._conn.execute(
                "SELECT description, usage FROM descriptions "
                "WHERE image_sha256 = ? AND model = ? AND prompt_sha256 = ?",
                (image_sha256, model, prompt_key(prompt)),
            ).fetchone()
        if row is None:
            return None
        description, usage = row
        with self._guard("read"):
            return CachedDescription(description, json.loads(usage) if usage else None)

    def put(
        self,
        image_sha256: str,
        model: str,
        prompt: str,
        description: str,
        usage: dict[str, int] | None = None,
    ) -> None:
        """Store (or replace) an answer; it is committed before this returns."""
        with self._lock, self._guard("write"):
            self._conn.execute(
                "INSERT OR REPLACE INTO descriptions VALUES (?, ?, ?, ?, ?, ?)",
                (
                    image_sha256,
                    model,
                    prompt_key(prompt),
                    description,
                    json.dumps(usage, sort_keys=True) if usage else None,
                    time.time(),
                ),
            )

    def __len__(self) -> int:
        """Number of stored answers."""
        with self._lock, self._guard("read"):
            return int(self._conn.execute("SELECT COUNT(*) FROM descriptions").fetchone()[0])

    def close(self) -> None:
        """Close the file; the cache cannot be used afterwards."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        """Use as a context manager that closes the file on exit."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the file."""
        self.close()
