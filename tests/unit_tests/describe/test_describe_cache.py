"""The SQLite resume cache: keys, persistence, refusal of foreign, old and damaged files."""

from __future__ import annotations

import json
import pickle
import sqlite3
from pathlib import Path

import pytest

import langchain_flexai
from langchain_flexai import describe
from langchain_flexai.describe._cache import (
    _COLUMNS,
    _TABLE,
    CachedDescription,
    DescribeCache,
    DescribeCacheError,
)
from langchain_flexai.describe._key import RequestIdentity, prompt_key

SHA = "ab" * 32
FLEXAI = "https://tokens.flex.ai/v1"
FRESH = (
    "delete the file to start a fresh cache (its stored answers are lost), or give another "
    "cache path"
)


def identity(
    endpoint: str = "https://tokens.flex.ai/v1",
    model: str = "m1",
    prompt: str = "Describe.",
    settings: str = "{}",
) -> RequestIdentity:
    return RequestIdentity(endpoint, model, prompt_key(prompt), settings)


def test_round_trip_and_key_parts(tmp_path: Path) -> None:
    with DescribeCache(tmp_path / "c.sqlite") as cache:
        cache.put(SHA, identity(), "a cat", {"input_tokens": 10, "output_tokens": 2})
        assert cache.get(SHA, identity()) == CachedDescription(
            "a cat", {"input_tokens": 10, "output_tokens": 2}
        )
        # Every key part matters: another endpoint, model, prompt, setting or image is a miss.
        assert cache.get(SHA, identity(endpoint="emulator")) is None
        assert cache.get(SHA, identity(model="m2")) is None
        assert cache.get(SHA, identity(prompt="Describe!")) is None
        assert cache.get(SHA, identity(settings='{"temperature":0}')) is None
        assert cache.get("cd" * 32, identity()) is None
        assert len(cache) == 1


def test_answers_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "c.sqlite"
    with DescribeCache(path) as cache:
        cache.put(SHA, identity(), "first")
        cache.put(SHA, identity(), "second")  # replaces
    with DescribeCache(path) as cache:
        assert cache.get(SHA, identity()) == CachedDescription("second", None)
        assert len(cache) == 1


def test_rows_are_committed_without_close_and_say_what_made_them(tmp_path: Path) -> None:
    # A run killed mid-way never reaches close(): what was put must already be on disk.
    path = tmp_path / "c.sqlite"
    cache = DescribeCache(path)
    request = identity(settings='{"max_tokens":64,"temperature":0.5}')
    cache.put(SHA, request, "kept")
    other = sqlite3.connect(path)
    rows = other.execute(
        f"SELECT image_key, request_key, endpoint, model, request, description FROM {_TABLE}"  # noqa: S608
    ).fetchall()
    other.close()
    cache.close()
    assert rows == [(SHA, request.key, FLEXAI, "m1", request.to_json(), "kept")]
    assert json.loads(rows[0][4]) == {
        "endpoint": "https://tokens.flex.ai/v1",
        "model": "m1",
        "prompt_sha256": prompt_key("Describe."),
        "settings": {"max_tokens": 64, "temperature": 0.5},
    }


def test_prompt_key_is_sha256_of_utf8() -> None:
    assert prompt_key("é") == "4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c"


def test_the_error_is_public_and_pickles() -> None:
    assert langchain_flexai.DescribeCacheError is DescribeCacheError
    assert "DescribeCacheError" in langchain_flexai.__all__
    assert describe.DescribeCacheError is DescribeCacheError
    assert "DescribeCacheError" in describe.__all__
    error = DescribeCacheError(Path("/x/c.sqlite"), "describe cache /x/c.sqlite: broken")
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (type(again), again.path, str(again)) == (
        DescribeCacheError,
        Path("/x/c.sqlite"),
        "describe cache /x/c.sqlite: broken",
    )


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DescribeCacheError) as info:
        DescribeCache(path)
    assert str(info.value) == (
        f"describe cache {path}: cannot open it: file is not a database; it is not a describe "
        "cache (or is damaged, or from another version): give another cache path, or delete the "
        "file to start a fresh cache (its stored answers are lost)"
    )
    assert info.value.path == path
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(DescribeCacheError, match=r"schema version 99, this version of langchain"):
        DescribeCache(path)


def _old_cache(path: Path) -> None:
    """A cache as langchain-flexai 0.2.0 wrote it (schema 1: image, model, prompt)."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE descriptions (image_sha256 TEXT NOT NULL, model TEXT NOT NULL, "
        "prompt_sha256 TEXT NOT NULL, description TEXT NOT NULL, usage TEXT, created_at REAL "
        "NOT NULL, PRIMARY KEY (image_sha256, model, prompt_sha256)) WITHOUT ROWID"
    )
    conn.execute(
        "INSERT INTO descriptions VALUES (?, 'm1', ?, 'an emulator caption', NULL, 0)",
        (SHA, prompt_key("Describe.")),
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def test_an_old_schema_cache_is_refused_not_reused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    _old_cache(path)
    with pytest.raises(DescribeCacheError) as info:
        DescribeCache(path)
    assert str(info.value) == (
        f"describe cache {path}: it was written by an older langchain-flexai (cache schema 1), "
        "whose answers are keyed by image, model and prompt only and may come from another "
        "server (such as the emulator) or other settings, so they are not reused; " + FRESH
    )
    assert info.value.path == path
    # Refusing does not touch the file: the user decides what to do with it.
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (1,)
    assert conn.execute("SELECT description FROM descriptions").fetchall() == [
        ("an emulator caption",)
    ]
    conn.close()


def test_a_database_of_something_else_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (name TEXT)")
    conn.close()
    with pytest.raises(
        DescribeCacheError,
        match=r"cannot open it: it holds other tables \(photos\); it is not a describe cache",
    ):
        DescribeCache(path)


def test_a_table_with_other_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE {_TABLE} (image_key TEXT, description TEXT)")
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    with pytest.raises(
        DescribeCacheError,
        match=rf"its {_TABLE} table has the columns image_key, description; it is not a describe",
    ):
        DescribeCache(path)


def test_a_directory_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(DescribeCacheError) as info:
        DescribeCache(tmp_path)
    assert str(info.value) == (
        f"describe cache {tmp_path}: it is a directory; give a file path, such as "
        f"{tmp_path / 'describe-cache.sqlite'}"
    )


def test_a_path_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(DescribeCacheError, match=r"cannot create it: .*writable directory"):
        DescribeCache(tmp_path / "f" / "c.sqlite")


def test_a_locked_cache_is_reported_on_open_and_on_write(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    cache = DescribeCache(path, timeout=0)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DescribeCacheError, match=r"cannot write it: database is locked; "):
            cache.put(SHA, identity(), "d")
        with pytest.raises(DescribeCacheError, match=r"another run is using it"):
            DescribeCache(path, timeout=0)
    finally:
        other.execute("ROLLBACK")
        other.close()
        cache.close()


# -- damaged rows: every column x every wrong type -------------------------------------------

REQUEST = identity()
GOOD_ROW = {
    "image_key": SHA,
    "request_key": REQUEST.key,
    "endpoint": REQUEST.endpoint,
    "model": REQUEST.model,
    "request": REQUEST.to_json(),
    "description": "a cat",
    "usage": '{"input_tokens": 3, "output_tokens": 1, "total_tokens": 4}',
    "created_at": 1_700_000_000.5,
    "response": '{"id": "chatcmpl-1", "finish_reason": "stop"}',
}
WRONG_TYPES: list[object] = [None, 0, -7, 2**62, 1.5, float("inf"), b"", b"\xff\x00", b"a cat"]
"""Values of every SQLite storage class but the column's own (and edge cases of each)."""
BAD_USAGE_TEXT = [
    "",
    "not json",
    "null",
    "5",
    '"text"',
    "[1, 2]",
    '{"input_tokens": "3"}',
    '{"input_tokens": -1}',
    '{"input_tokens": true}',
    '{"input_tokens": 1.5}',
    '{"input_tokens": NaN}',
    '{"input_tokens": 1e400}',
    '{"input_tokens": null}',
    '{"input_tokens": {"n": 1}}',
    "[" * 100_000 + "]" * 100_000,
]
assert tuple(GOOD_ROW) == _COLUMNS


def _damaged_cases() -> list[tuple[str, object]]:
    cases = [
        (column, value)
        for column in _COLUMNS
        for value in WRONG_TYPES
        # NULL usage is legitimate (none was reported), as is a NULL response (a schema 2 row).
        if (column, value) not in (("usage", None), ("response", None))
    ]
    cases += [("description", "")]
    cases += [("usage", text) for text in BAD_USAGE_TEXT]
    return cases


def _write_row(path: Path, row: dict[str, object], *, typed: bool) -> None:
    """Write ``row`` with sqlite directly, into the library's table or an untyped copy of it."""
    DescribeCache(path).close()  # the real schema, version and all
    conn = sqlite3.connect(path)
    if not typed:
        # A file damaged by another tool: same columns, no types or constraints, so every value
        # keeps its own storage class.
        conn.execute(f"DROP TABLE {_TABLE}")
        conn.execute(f"CREATE TABLE {_TABLE} ({', '.join(_COLUMNS)})")
    marks = ", ".join("?" * len(_COLUMNS))
    conn.execute(f"INSERT INTO {_TABLE} VALUES ({marks})", list(row.values()))  # noqa: S608
    conn.commit()
    conn.close()


def _get(cache: DescribeCache) -> CachedDescription | DescribeCacheError | None:
    """The hit, the miss, or the cache error (any other exception propagates and fails)."""
    try:
        return cache.get(SHA, REQUEST)
    except DescribeCacheError as error:
        return error


@pytest.mark.parametrize("typed", [False, True], ids=["untyped", "typed"])
def test_the_good_row_reads_back(tmp_path: Path, *, typed: bool) -> None:
    path = tmp_path / "c.sqlite"
    _write_row(path, GOOD_ROW, typed=typed)
    with DescribeCache(path) as cache:
        assert cache.get(SHA, REQUEST) == CachedDescription(
            "a cat",
            {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4},
            "chatcmpl-1",
            "stop",
        )


@pytest.mark.parametrize(("column", "value"), _damaged_cases(), ids=repr)
@pytest.mark.parametrize("typed", [False, True], ids=["untyped", "typed"])
def test_a_damaged_row_is_a_cache_error(
    tmp_path: Path, column: str, value: object, *, typed: bool
) -> None:
    path = tmp_path / "c.sqlite"
    try:
        _write_row(path, {**GOOD_ROW, column: value}, typed=typed)
    except sqlite3.IntegrityError:
        return  # SQLite itself refuses this damage (NULL in a NOT NULL column or the key)
    conn = sqlite3.connect(path)
    stored = conn.execute(f"SELECT {column} FROM {_TABLE}").fetchone()[0]  # noqa: S608
    conn.close()
    with DescribeCache(path) as cache:
        hit = _get(cache)
    if isinstance(hit, DescribeCacheError):
        assert str(hit).startswith(
            f"describe cache {path}: the row for image {SHA} is damaged (its {column} is "
        )
        assert str(hit).endswith(f"); {FRESH}")
        assert hit.__cause__ is None
        return
    # No error: only because the damage never reached a value (a key that no longer matches),
    # or a typed column converted the value to its own type (SQLite's affinity: 0 -> "0").
    if column in ("image_key", "request_key"):
        assert hit is None
        return
    assert hit is not None
    assert isinstance(stored, (int, float) if column == "created_at" else str), (value, stored)
    if column == "description":
        assert hit.description == stored
