"""The on-disk resume cache of a describe run: one SQLite file, one row per answered request.

Knows how to store and find a description by (image key, request key): the SHA-256 of the image
bytes sent, and the SHA-256 of everything else that decides the answer (endpoint, model, prompt
and request settings; see ``_describe_key``). Knows nothing about models, images or scheduling:
the caller computes the keys and decides when to write.

Why SQLite: it is in the standard library, a row committed is on disk when ``commit`` returns (a run
killed by SIGKILL keeps every answer it had), and WAL mode lets readers work while the writer
commits. ``synchronous=NORMAL`` in WAL mode never loses a committed row to a process crash, only
possibly to a power cut, and keeps a commit to tens of microseconds, so writing after every answer
costs nothing next to a network request.

Only answers are stored, never failures: an image whose request failed is asked again next run.

Every failure of the file (a directory, a file that is not a cache, a cache of the old schema, a
lock held by another process, a full disk, a row whose values have the wrong types) is raised as
one type, :class:`DescribeCacheError`, naming the path and what to do, so a caller (the CLI) can
turn it into one line instead of a SQLite traceback.

Schema 1 (langchain-flexai 0.2.0) keyed rows by image, model and prompt only, so its answers may
come from another server (the emulator) or other settings: it is refused, never read or migrated
(its rows do not say what they were made with).
"""

from __future__ import annotations

import json
import math
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

from langchain_flexai.describe._key import RequestIdentity
from langchain_flexai.errors import DescribeCacheError

_SCHEMA_VERSION = 3
_ANSWER_IDS_VERSION = 2
"""Schema 2 is schema 3 without the ``response`` column (the answer's id and finish reason):
opened, it gains the column, its rows read with no id."""
_OLD_SCHEMA_VERSION = 1
_TABLE = "answers"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {_TABLE} (
    image_key TEXT NOT NULL,
    request_key TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    description TEXT NOT NULL,
    usage TEXT,
    created_at REAL NOT NULL,
    response TEXT,
    PRIMARY KEY (image_key, request_key)
) WITHOUT ROWID
"""
_COLUMNS = (
    "image_key",
    "request_key",
    "endpoint",
    "model",
    "request",
    "description",
    "usage",
    "created_at",
    "response",
)
_FRESH_CACHE_HINT = (
    "delete the file to start a fresh cache (its stored answers are lost), or give another "
    "cache path"
)


class _DamagedError(ValueError):
    """A row or the table is not what this version writes (reported as a damaged cache)."""


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
    response_id: str | None = None
    """The server's id of the answer (``chatcmpl-...``); None in rows of schema 2."""
    finish_reason: str | None = None
    """Why the model stopped, as the server said."""


def _parse_usage(text: object) -> dict[str, int] | None:
    """A stored usage column: None, or JSON of an object of non-negative whole numbers."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise _DamagedError(f"its usage is {_sql_type(text)}, not JSON text")
    try:
        usage = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested beyond the stack
        raise _DamagedError("its usage is not valid JSON") from None
    if not isinstance(usage, dict) or not all(
        isinstance(k, str) and type(v) is int and v >= 0 for k, v in usage.items()
    ):
        raise _DamagedError("its usage is not an object of token counts")
    return usage


def _sql_type(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return "a blob"
    if isinstance(value, float) and not math.isfinite(value):
        return "a non-finite number"
    return {int: "an integer", float: "a real number", str: "text"}.get(type(value), "unknown")


_READ_COLUMNS = (
    "endpoint",
    "model",
    "request",
    "description",
    "usage",
    "created_at",
    "response",
)


def _parse_response(text: object) -> tuple[str | None, str | None]:
    """A stored response column: None, or JSON ``{"id": str|null, "finish_reason": str|null}``."""
    if text is None:
        return None, None
    try:
        response = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        response = None
    if not isinstance(response, dict):
        raise _DamagedError("its response is not a JSON object")
    values = (response.get("id"), response.get("finish_reason"))
    if not all(value is None or isinstance(value, str) for value in values):
        raise _DamagedError("its response id or finish reason is not text")
    return values


def _check_row(row: tuple[object, ...]) -> CachedDescription:
    """The answer in a row, or :class:`_DamagedError` when a value has the wrong type."""
    endpoint, model, request, description, usage, created_at, response = row
    for name, value in (("endpoint", endpoint), ("model", model), ("request", request)):
        if not isinstance(value, str):
            raise _DamagedError(f"its {name} is {_sql_type(value)}, not text")
    if type(created_at) not in (int, float) or not math.isfinite(created_at):  # type: ignore[arg-type]
        raise _DamagedError(f"its created_at is {_sql_type(created_at)}, not a time")
    if not isinstance(description, str) or not description:
        # Only non-empty answers are ever stored.
        kind = "empty text" if description == "" else _sql_type(description)
        raise _DamagedError(f"its description is {kind}")
    return CachedDescription(description, _parse_usage(usage), *_parse_response(response))


class DescribeCache:
    """A thread-safe SQLite store of descriptions keyed by image key and request identity.

    Every method raises :class:`DescribeCacheError` when the file fails or a row is damaged
    (nothing from ``sqlite3``, ``json`` or a wrongly typed value leaks).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None:
        """Open (creating if needed) the cache file at ``path``.

        Args:
            path: The SQLite file.
            timeout: Seconds to wait for a lock held by another process before failing.

        Raises:
            DescribeCacheError: ``path`` is a directory, not a describe cache, written by an
                older or newer version, locked by another process, or cannot be created.
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
            self._refuse_old_schema()
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

    def _refuse_old_schema(self) -> None:
        if self._version() == _OLD_SCHEMA_VERSION:
            raise DescribeCacheError(
                self.path,
                f"describe cache {self.path}: it was written by an older langchain-flexai "
                "(cache schema 1), whose answers are keyed by image, model and prompt only and "
                "may come from another server (such as the emulator) or other settings, so "
                f"they are not reused; {_FRESH_CACHE_HINT}",
            )

    def _version(self) -> int:
        with self._guard("open"):
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _init_schema(self) -> None:
        version = self._version()
        if version == _ANSWER_IDS_VERSION:
            if self._columns() == _COLUMNS[:-1]:
                self._conn.execute(f"ALTER TABLE {_TABLE} ADD COLUMN response TEXT")
            version = _SCHEMA_VERSION  # other columns: refused by the check below
        if version not in (0, _SCHEMA_VERSION):
            raise _DamagedError(
                f"schema version {version}, this version of langchain-flexai reads "
                f"{_SCHEMA_VERSION}"
            )
        listed = self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        tables = {name for (name,) in listed}
        if version == 0 and tables:
            raise _DamagedError(f"it holds other tables ({', '.join(sorted(map(str, tables)))})")
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)
        columns = self._columns()
        if columns != _COLUMNS:
            raise _DamagedError(f"its {_TABLE} table has the columns {', '.join(columns)}")
        self._conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def _columns(self) -> tuple[str, ...]:
        return tuple(row[1] for row in self._conn.execute(f"PRAGMA table_info({_TABLE})"))

    def get(self, image_key: str, request: RequestIdentity) -> CachedDescription | None:
        """The stored answer for this image and request, or None.

        Raises:
            DescribeCacheError: The file fails, or the row is damaged (wrong types).
        """
        with self._lock, self._guard("read"):
            row = self._conn.execute(
                f"SELECT {', '.join(_READ_COLUMNS)} FROM {_TABLE} "  # noqa: S608 - constants
                "WHERE image_key = ? AND request_key = ?",
                (image_key, request.key),
            ).fetchone()
        if row is None:
            return None
        try:
            return _check_row(row)
        except _DamagedError as exc:
            raise DescribeCacheError(
                self.path,
                f"describe cache {self.path}: the row for image {image_key} is damaged ({exc}); "
                f"{_FRESH_CACHE_HINT}",
            ) from None

    def put(
        self,
        image_key: str,
        request: RequestIdentity,
        description: str,
        usage: dict[str, int] | None = None,
        *,
        response_id: str | None = None,
        finish_reason: str | None = None,
    ) -> None:
        """Store (or replace) an answer; it is committed before this returns."""
        response = json.dumps({"id": response_id, "finish_reason": finish_reason})
        with self._lock, self._guard("write"):
            self._conn.execute(
                f"INSERT OR REPLACE INTO {_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 - a constant
                (
                    image_key,
                    request.key,
                    request.endpoint,
                    request.model,
                    request.to_json(),
                    description,
                    json.dumps(usage, sort_keys=True) if usage else None,
                    time.time(),
                    response,
                ),
            )

    def __len__(self) -> int:
        """Number of stored answers."""
        with self._lock, self._guard("read"):
            return int(self._conn.execute(f"SELECT COUNT(*) FROM {_TABLE}").fetchone()[0])  # noqa: S608

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
