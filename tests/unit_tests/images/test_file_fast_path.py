"""The path door's fast path: a raw-descriptor bounded read, one path string, one-step results.

What the cheaper steps must keep: the bounded read refuses what it refused and returns every
byte even when the system returns them a few at a time; a path's ``source`` is the string it was
before; the doors' one-step ``PreparedImage`` is the very object ``__init__`` builds.
"""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import pytest

from langchain_flexai._files import (
    OPEN_FLAGS,
    FileTooLargeError,
    NotRegularFileError,
    read_regular_fd,
)
from langchain_flexai.images import _doors
from langchain_flexai.images._doors import prepare_image, prepare_image_file
from langchain_flexai.images._prepared import PreparedImage
from tests.unit_tests.image_factory import corner_image, encode


def _read(path: Path, max_bytes: int) -> bytes:
    fd = os.open(path, OPEN_FLAGS)
    try:
        return read_regular_fd(fd, max_bytes)
    finally:
        os.close(fd)


def _recording_reads(monkeypatch: pytest.MonkeyPatch, most: int | None = None) -> list[int]:
    """Record each os.read size; with ``most``, return at most that many bytes per call."""
    asked: list[int] = []
    real = os.read

    def read(fd: int, size: int) -> bytes:
        asked.append(size)
        return real(fd, size if most is None else min(size, most))

    monkeypatch.setattr(os, "read", read)
    return asked


def test_a_raw_read_asks_for_the_file_size_and_one_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"z" * 11)
    asked = _recording_reads(monkeypatch)
    assert _read(path, 64 * 1024 * 1024) == b"z" * 11
    assert asked == [12]  # never a cap-sized allocation, and no second read


def test_a_raw_read_refuses_what_is_no_regular_file_or_too_large(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, OPEN_FLAGS)  # non-blocking: no writer needed
    try:
        with pytest.raises(NotRegularFileError) as info:
            read_regular_fd(fd, 100)
    finally:
        os.close(fd)
    assert stat.S_ISFIFO(info.value.mode)
    path = tmp_path / "f.bin"
    path.write_bytes(b"z" * 11)
    assert _read(path, 11) == b"z" * 11
    with pytest.raises(FileTooLargeError) as too_large:
        _read(path, 10)
    assert too_large.value.size == 11


@pytest.mark.parametrize("most", [1, 3, 7, 50])
def test_short_reads_still_give_every_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, most: int
) -> None:
    # A network or FUSE file system may return less than asked before the end of the file.
    path = tmp_path / "f.bin"
    content = bytes(range(256)) * 3
    path.write_bytes(content)
    asked = _recording_reads(monkeypatch, most)
    assert _read(path, len(content)) == content
    assert max(asked) <= len(content) + 1


def _fstat_saying(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    real_fstat = os.fstat

    def fstat(fd: int) -> os.stat_result:  # as if the file changed after fstat
        info = list(real_fstat(fd))
        info[6] = size  # st_size
        return os.stat_result(info)

    monkeypatch.setattr(os, "fstat", fstat)


def test_a_file_grown_after_fstat_is_read_to_the_cap_and_no_further(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"y" * 100)
    _fstat_saying(monkeypatch, 10)
    asked = _recording_reads(monkeypatch)
    assert _read(path, 100) == b"y" * 100  # grew, but within the cap: all of it
    assert asked[0] == 11
    asked.clear()
    with pytest.raises(FileTooLargeError) as info:
        _read(path, 50)
    assert info.value.size is None
    assert sum(asked) <= 51 + 1  # one past the cap proves it passed; nothing more is read


def test_a_file_shrunk_after_fstat_gives_what_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 5)
    _fstat_saying(monkeypatch, 20)
    assert _read(path, 100) == b"x" * 5


def test_the_descriptor_is_closed_whatever_happens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(encode(corner_image(), "PNG"))
    closed: list[int] = []
    real_close = os.close

    def close(fd: int) -> None:
        closed.append(fd)
        real_close(fd)

    monkeypatch.setattr(os, "close", close)
    prepare_image(path)
    assert len(closed) == 1
    _fstat_saying(monkeypatch, 10**9)
    with pytest.raises(Exception, match="more than the limit"):
        prepare_image(path)
    assert len(closed) == 2


class _PathLike:
    def __init__(self, text: str) -> None:
        self.text = text

    def __fspath__(self) -> str:
        return self.text


def test_the_source_is_the_path_string_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(encode(corner_image(), "PNG"))
    assert prepare_image(path).source == str(path)
    assert prepare_image(str(path)).source == str(path)
    assert prepare_image_file(path).source == str(path)
    # Any other os.PathLike is normalised as pathlib would (as it always was).
    monkeypatch.chdir(tmp_path)
    assert prepare_image(_PathLike(".//a.png")).source == "a.png"


def test_a_pathlib_path_builds_no_new_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(encode(corner_image(), "PNG"))

    def no_path(*_args: object) -> None:
        pytest.fail("a Path was built on the fast path")

    monkeypatch.setattr(_doors, "Path", no_path)
    assert prepare_image(path).width == 64


def test_the_doors_constructor_builds_what_init_builds(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(encode(corner_image(), "PNG"))
    made = prepare_image(path)
    fields = {name: getattr(made, name) for name in PreparedImage.__dataclass_fields__}
    built = PreparedImage(**fields)
    assert made == built
    assert list(made.__dict__.items()) == list(built.__dict__.items())  # same keys, same order
    assert repr(made) == repr(built)
    assert pickle.dumps(made) == pickle.dumps(built)
    assert made.sha256 == built.sha256
    assert made.size_bytes == len(made.data())
