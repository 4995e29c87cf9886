"""The SQLite resume cache: keys, persistence across connections, refusal of foreign files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from langchain_flexai._describe_cache import (
    CachedDescription,
    DescribeCache,
    DescribeCacheError,
    prompt_key,
)

SHA = "ab" * 32


def test_round_trip_and_key_parts(tmp_path: Path) -> None:
    with DescribeCache(tmp_path / "c.sqlite") as cache:
        cache.put(SHA, "m1", "Describe.", "a cat", {"input_tokens": 10, "output_tokens": 2})
        assert cache.get(SHA, "m1", "Describe.") == CachedDescription(
            "a cat", {"input_tokens": 10, "output_tokens": 2}
        )
        # Every key part matters: another model, prompt or image is a miss.
        assert cache.get(SHA, "m2", "Describe.") is None
        assert cache.get(SHA, "m1", "Describe!") is None
        assert cache.get("cd" * 32, "m1", "Describe.") is None
        assert len(cache) == 1


def test_answers_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "c.sqlite"
    with DescribeCache(path) as cache:
        cache.put(SHA, "m", "p", "first")
        cache.put(SHA, "m", "p", "second")  # replaces
    with DescribeCache(path) as cache:
        assert cache.get(SHA, "m", "p") == CachedDescription("second", None)
        assert len(cache) == 1


def test_rows_are_committed_without_close(tmp_path: Path) -> None:
    # A run killed mid-way never reaches close(): what was put must already be on disk.
    path = tmp_path / "c.sqlite"
    cache = DescribeCache(path)
    cache.put(SHA, "m", "p", "kept")
    other = sqlite3.connect(path)
    rows = other.execute("SELECT description, prompt_sha256 FROM descriptions").fetchall()
    other.close()
    cache.close()
    assert rows == [("kept", prompt_key("p"))]


def test_prompt_key_is_sha256_of_utf8() -> None:
    assert prompt_key("é") == "4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c"


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
            cache.put(SHA, "m", "p", "d")
        with pytest.raises(DescribeCacheError, match=r"another run is using it"):
            DescribeCache(path, timeout=0)
    finally:
        other.execute("ROLLBACK")
        other.close()
        cache.close()
