"""The allowed-folder rule under attack: existence oracles, races, special files, the size cap.

``test_tools.py`` checks which paths are accepted and refused. This file checks the two ways a
model-written path could still learn or read something outside ``allowed_dirs``: a refusal that
differs depending on whether an outside file exists, and a folder swapped for a symlink between
the check and the open (simulated by wrapping ``os.open``).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from langchain_flexai._allowed_paths import read_allowed_file
from langchain_flexai.errors import ImageErrorReason, ImageInputError

OUTSIDE = "the image path is outside the folders this tool may read"
MISSING = "no such image file in the folders this tool may read"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """<tmp>/{allowed/{ok.png, sub/in.png}, outside/{in.png, secret.png}}; cwd is <tmp>."""
    root = Path(os.path.realpath(tmp_path))
    (root / "allowed" / "sub").mkdir(parents=True)
    (root / "outside").mkdir()
    (root / "allowed" / "ok.png").write_bytes(b"inside ok")
    (root / "allowed" / "sub" / "in.png").write_bytes(b"inside sub")
    (root / "outside" / "in.png").write_bytes(b"SECRET")
    (root / "outside" / "secret.png").write_bytes(b"SECRET")
    monkeypatch.chdir(root)
    return root


def folders(tree: Path) -> list[str]:
    return [str(tree / "allowed")]


def refusal(text: str, tree: Path, max_bytes: int = 10**6) -> tuple[str, ImageErrorReason]:
    with pytest.raises(ImageInputError) as refused:
        read_allowed_file(text, folders(tree), max_bytes=max_bytes)
    return refused.value.detail, refused.value.reason


@pytest.fixture
def touched(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every path handed to os.stat / os.lstat / os.open / os.path.realpath / os.readlink."""
    seen: list[str] = []

    def recording(real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(path: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(path, (str, os.PathLike)):
                seen.append(os.fspath(path))
            return real(path, *args, **kwargs)

        return wrapper

    for name in ("stat", "lstat", "open", "readlink"):
        monkeypatch.setattr(os, name, recording(getattr(os, name)))
    monkeypatch.setattr(os.path, "realpath", recording(os.path.realpath))
    yield seen


class TestNoExistenceOracle:
    @pytest.mark.parametrize(
        ("absolute", "answer"),
        [
            (True, (OUTSIDE, ImageErrorReason.LOCAL_PATH)),
            # Relative: looked up in the folder (missing there); the working-directory spelling
            # lies outside, so it is never looked at.
            (False, (MISSING, ImageErrorReason.UNREADABLE)),
        ],
        ids=["absolute", "relative"],
    )
    def test_outside_existing_and_missing_look_the_same(
        self, tree: Path, touched: list[str], absolute: bool, answer: tuple[str, ImageErrorReason]
    ) -> None:
        exists, missing = "outside/secret.png", "outside/nope.png"
        assert (tree / exists).is_file()
        assert not (tree / missing).exists()
        if absolute:
            exists, missing = str(tree / exists), str(tree / missing)
        touched.clear()
        assert refusal(exists, tree) == refusal(missing, tree) == answer
        outside = str(tree / "outside")
        assert [path for path in touched if path.startswith(outside)] == []

    def test_the_recorder_sees_inside_lookups(self, tree: Path, touched: list[str]) -> None:
        # Guards the test above: the recorder does see the calls made on paths inside.
        touched.clear()
        assert read_allowed_file("ok.png", folders(tree), max_bytes=100).data == b"inside ok"
        ok = str(tree / "allowed" / "ok.png")
        assert ok in touched
        assert touched.count(ok) >= 3  # realpath's lstat, stat, open

    def test_symlink_out_is_refused_whether_or_not_its_target_exists(self, tree: Path) -> None:
        (tree / "allowed" / "there.png").symlink_to(tree / "outside" / "secret.png")
        (tree / "allowed" / "gone.png").symlink_to(tree / "outside" / "nope.png")
        assert refusal("there.png", tree) == refusal("gone.png", tree)
        assert refusal("gone.png", tree) == (OUTSIDE, ImageErrorReason.LOCAL_PATH)

    def test_absolute_system_paths(self, tree: Path) -> None:
        assert refusal("/etc/passwd", tree) == (OUTSIDE, ImageErrorReason.LOCAL_PATH)
        assert refusal("/etc/no-such-file", tree) == (OUTSIDE, ImageErrorReason.LOCAL_PATH)


def swap_before_open(
    monkeypatch: pytest.MonkeyPatch, target: Path, swap: Callable[[], None]
) -> list[int]:
    """Run ``swap`` just before ``os.open(target)``; returns the inodes that open really got."""
    real_open = os.open
    opened: list[int] = []

    def racing_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.fspath(path) == str(target):
            swap()
            fd = real_open(path, flags, *args, **kwargs)
            opened.append(os.fstat(fd).st_ino)
            return fd
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", racing_open)
    return opened


@pytest.fixture(params=["proc", "no-proc"])
def proc(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of checking the opened file: /proc/self/fd, and the dev/inode fallback."""
    if request.param == "no-proc":
        real_readlink = os.readlink

        def no_proc(path: Any, *args: Any, **kwargs: Any) -> Any:
            if os.fspath(path).startswith("/proc/"):
                raise FileNotFoundError(2, "No such file or directory")
            return real_readlink(path, *args, **kwargs)

        monkeypatch.setattr(os, "readlink", no_proc)
    elif not Path("/proc/self/fd").is_dir():
        pytest.skip("no /proc on this system")
    return str(request.param)


class TestRaceBetweenCheckAndOpen:
    def test_untouched_file_is_read(self, tree: Path, proc: str) -> None:
        found = read_allowed_file("sub/in.png", folders(tree), max_bytes=100)
        assert (found.path, found.data) == (str(tree / "allowed" / "sub" / "in.png"), b"inside sub")

    def test_folder_swapped_for_a_symlink_out(
        self, tree: Path, proc: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sub = tree / "allowed" / "sub"

        def swap() -> None:
            sub.rename(tree / "allowed" / "sub-old")
            sub.symlink_to(tree / "outside", target_is_directory=True)

        opened = swap_before_open(monkeypatch, sub / "in.png", swap)
        assert refusal("sub/in.png", tree) == (OUTSIDE, ImageErrorReason.LOCAL_PATH)
        # The race really happened: O_NOFOLLOW let the open reach the outside file.
        assert opened == [(tree / "outside" / "in.png").stat().st_ino]

    @pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="needs O_NOFOLLOW")
    def test_file_swapped_for_a_symlink_out(
        self, tree: Path, proc: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ok = tree / "allowed" / "ok.png"

        def swap() -> None:
            ok.unlink()
            ok.symlink_to(tree / "outside" / "secret.png")

        swap_before_open(monkeypatch, ok, swap)
        assert refusal("ok.png", tree) == (
            f"cannot open the image file: {os.strerror(errno.ELOOP)}",
            ImageErrorReason.UNREADABLE,
        )


class TestSpecialFiles:
    @pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
    def test_fifo_is_passed_over(self, tree: Path) -> None:
        os.mkfifo(tree / "allowed" / "pipe.png")
        assert refusal("pipe.png", tree) == (MISSING, ImageErrorReason.UNREADABLE)

    @pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
    def test_fifo_swapped_in_is_not_read_and_does_not_hang(
        self, tree: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ok = tree / "allowed" / "ok.png"

        def swap() -> None:
            ok.unlink()
            os.mkfifo(ok)

        opened = swap_before_open(monkeypatch, ok, swap)
        assert refusal("ok.png", tree) == ("not a regular file", ImageErrorReason.UNREADABLE)
        assert len(opened) == 1

    def test_device_swapped_in_is_not_read(
        self, tree: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ok = tree / "allowed" / "ok.png"
        try:
            os.mknod(tree / "allowed" / "probe", stat.S_IFCHR | 0o600, os.makedev(1, 5))
        except (AttributeError, OSError):
            pytest.skip("cannot create device nodes here")
        assert refusal("probe", tree) == (MISSING, ImageErrorReason.UNREADABLE)

        def swap() -> None:
            ok.unlink()
            (tree / "allowed" / "probe").rename(ok)  # /dev/zero: reading it never ends

        opened = swap_before_open(monkeypatch, ok, swap)
        assert refusal("ok.png", tree) == ("not a regular file", ImageErrorReason.UNREADABLE)
        assert len(opened) == 1

    def test_symlink_to_a_device_is_outside(self, tree: Path) -> None:
        (tree / "allowed" / "zero.png").symlink_to("/dev/zero")
        assert refusal("zero.png", tree) == (OUTSIDE, ImageErrorReason.LOCAL_PATH)


class TestSizeCap:
    def test_exactly_the_cap_is_read(self, tree: Path) -> None:
        assert read_allowed_file("ok.png", folders(tree), max_bytes=9).data == b"inside ok"

    def test_one_byte_over_is_refused(self, tree: Path) -> None:
        assert refusal("ok.png", tree, max_bytes=8) == (
            "the file has 9 bytes, more than this tool reads (8)",
            ImageErrorReason.TOO_LARGE,
        )

    def test_a_file_growing_after_fstat_is_refused(
        self, tree: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real_fstat = os.fstat

        def fstat_then_grow(fd: int) -> os.stat_result:
            info = real_fstat(fd)
            with (tree / "allowed" / "ok.png").open("ab") as grow:
                grow.write(b"!")
            return info

        monkeypatch.setattr(os, "fstat", fstat_then_grow)
        assert refusal("ok.png", tree, max_bytes=9) == (
            "the file has more than 9 bytes",
            ImageErrorReason.TOO_LARGE,
        )
