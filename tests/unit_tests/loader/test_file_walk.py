"""The file walk: order, suffix case, hidden entries, recursion, globs, excludes, loops, errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from langchain_flexai._loader._walk import (
    PathPattern,
    WalkFilter,
    iter_files,
    normalize_suffixes,
)
from tests.unit_tests.loader_samples import make_deep_tree, remove_deep_tree

IMAGES = normalize_suffixes([".jpg", ".jpeg", ".png", ".heic"])


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def _walk(
    paths: list[Path | str],
    errors: list[tuple[str, OSError]] | None = None,
    **kwargs: object,
) -> list[str]:
    sink = errors if errors is not None else []
    walk_filter = WalkFilter(suffixes=IMAGES, **kwargs)  # type: ignore[arg-type]
    return list(iter_files(paths, walk_filter, lambda p, e: sink.append((p, e))))


def _rel(root: Path, found: list[str]) -> list[str]:
    return [Path(p).relative_to(root).as_posix() for p in found]


def test_order_is_sorted_by_path_components(tmp_path: Path) -> None:
    _touch(tmp_path, "b.jpg", "a/z.png", "a.png", "B.jpg", "a/b/c.jpg", "ab.jpg", "a/a.jpg")
    found = _rel(tmp_path, _walk([tmp_path]))
    assert found == ["B.jpg", "a/a.jpg", "a/b/c.jpg", "a/z.png", "a.png", "ab.jpg", "b.jpg"]


def test_suffixes_match_case_insensitively(tmp_path: Path) -> None:
    _touch(tmp_path, "IMG_1.JPG", "x.Png", "y.HeIc", "notes.txt", "noext", "z.jpg.bak")
    assert _rel(tmp_path, _walk([tmp_path])) == ["IMG_1.JPG", "x.Png", "y.HeIc"]


def test_hidden_files_and_directories_are_skipped(tmp_path: Path) -> None:
    _touch(tmp_path, ".hidden.jpg", ".cache/a.jpg", "ok/.b.png", "ok/c.png")
    assert _rel(tmp_path, _walk([tmp_path])) == ["ok/c.png"]


def test_a_hidden_root_given_explicitly_is_walked(tmp_path: Path) -> None:
    _touch(tmp_path, ".photos/a.jpg")
    assert _rel(tmp_path, _walk([tmp_path / ".photos"])) == [".photos/a.jpg"]


def test_recursion_off_stays_at_the_top(tmp_path: Path) -> None:
    _touch(tmp_path, "a.jpg", "sub/b.jpg")
    assert _rel(tmp_path, _walk([tmp_path], recursive=False)) == ["a.jpg"]
    assert _rel(tmp_path, _walk([tmp_path], recursive=True)) == ["a.jpg", "sub/b.jpg"]


def test_symlink_loop_terminates_and_walks_each_directory_once(tmp_path: Path) -> None:
    _touch(tmp_path, "a/x.jpg", "a/b/y.jpg")
    (tmp_path / "a" / "b" / "up").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "self").symlink_to(tmp_path, target_is_directory=True)
    assert _rel(tmp_path, _walk([tmp_path])) == ["a/b/y.jpg", "a/x.jpg"]


def test_symlinked_file_is_yielded_and_dangling_link_reported(tmp_path: Path) -> None:
    _touch(tmp_path, "real.png")
    (tmp_path / "link.png").symlink_to(tmp_path / "real.png")
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "missing.jpg")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "missing.txt")
    errors: list[tuple[str, OSError]] = []
    assert _rel(tmp_path, _walk([tmp_path], errors)) == ["link.png", "real.png"]
    assert [(Path(p).name, type(e)) for p, e in errors] == [("gone.jpg", FileNotFoundError)]


def test_links_to_devices_and_fifos_are_reported_as_not_regular_files(tmp_path: Path) -> None:
    _touch(tmp_path, "real.png")
    (tmp_path / "zero.png").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.jpg")
    errors: list[tuple[str, OSError]] = []
    assert _rel(tmp_path, _walk([tmp_path], errors)) == ["real.png"]
    assert [(Path(p).name, e.strerror) for p, e in errors] == [
        ("pipe.jpg", "not a regular file, it is a FIFO (named pipe)"),
        ("zero.png", "not a regular file, it is a character device"),
    ]


def test_a_missing_root_is_an_error_before_anything_is_yielded(tmp_path: Path) -> None:
    _touch(tmp_path, "a.jpg")
    errors: list[tuple[str, OSError]] = []
    walk_filter = WalkFilter(suffixes=IMAGES)
    found = iter_files(
        [tmp_path, tmp_path / "nope"], walk_filter, lambda p, e: errors.append((p, e))
    )
    with pytest.raises(FileNotFoundError) as info:
        next(found)  # the good root first: still nothing is yielded
    missing = str(tmp_path / "nope")
    assert str(info.value) == (
        f"[Errno 2] cannot load images from it: No such file or directory: '{missing}'"
    )
    assert info.value.filename == missing
    assert errors == []  # not the handler's business: it is for what is inside


def test_an_unreadable_root_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _touch(tmp_path, "a.jpg")
    root = str(tmp_path)

    def scandir(path: str) -> object:
        raise PermissionError(13, "Permission denied", os.fspath(path))

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(PermissionError) as info:
        _walk([tmp_path])
    assert str(info.value) == f"[Errno 13] cannot load images from it: Permission denied: '{root}'"


def test_an_unreadable_root_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # os.access, not chmod: the tests may run as root, who reads everything.
    _touch(tmp_path, "a.jpg", "secret.jpg")
    secret = str(tmp_path / "secret.jpg")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: p != secret and real_access(p, mode))
    with pytest.raises(PermissionError) as info:
        _walk([tmp_path / "a.jpg", tmp_path / "secret.jpg"])
    assert str(info.value) == (
        f"[Errno 13] cannot load images from it: Permission denied: '{secret}'"
    )
    # Inside a walked folder the same file is the handler's business (it is opened later).
    assert _rel(tmp_path, _walk([tmp_path])) == ["a.jpg", "secret.jpg"]


def test_unreadable_directory_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _touch(tmp_path, "a.jpg", "locked/b.jpg", "z/c.jpg")
    real_scandir = os.scandir
    locked = str(tmp_path / "locked")

    def scandir(path: str) -> object:
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    errors: list[tuple[str, OSError]] = []
    assert _rel(tmp_path, _walk([tmp_path], errors)) == ["a.jpg", "z/c.jpg"]
    assert [(p, type(e)) for p, e in errors] == [(locked, PermissionError)]


def test_error_handler_may_stop_the_walk(tmp_path: Path) -> None:
    _touch(tmp_path, "a.jpg")
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")

    def stop(path: str, error: OSError) -> None:
        raise error

    walk_filter = WalkFilter(suffixes=IMAGES)
    with pytest.raises(FileNotFoundError, match="dangling symbolic link"):
        list(iter_files([tmp_path], walk_filter, stop))


def test_a_tree_deeper_than_the_recursion_limit_is_walked(tmp_path: Path) -> None:
    depth = max(1200, sys.getrecursionlimit() + 200)
    made = make_deep_tree(tmp_path, depth, {0: b"x", 600: b"x", depth: b"x"})
    _touch(tmp_path, "z.jpg")  # after the deep branch: must not be lost
    try:
        found = _walk([tmp_path])
    finally:
        remove_deep_tree(tmp_path, depth)
    # "d/…" sorts before "f.png" at every level: deepest first, then back up.
    assert found == [made[2], made[1], made[0], str(tmp_path / "z.jpg")]


def test_glob_ignores_case_like_the_suffixes(tmp_path: Path) -> None:
    _touch(tmp_path, "IMG_1.JPG", "img_2.jpg", "sub/IMG_3.Jpg", "SUB2/x.png")
    assert _rel(tmp_path, _walk([tmp_path], glob=PathPattern("**/*.jpg"))) == [
        "IMG_1.JPG",
        "img_2.jpg",
        "sub/IMG_3.Jpg",
    ]
    assert _rel(tmp_path, _walk([tmp_path], glob=PathPattern("sub2/*"))) == ["SUB2/x.png"]
    excluded = _walk([tmp_path], exclude=(PathPattern("img_*"), PathPattern("SUB")))
    assert _rel(tmp_path, excluded) == ["SUB2/x.png"]


def test_case_sensitive_globs_match_case_exactly(tmp_path: Path) -> None:
    _touch(tmp_path, "IMG_1.JPG", "img_2.jpg", "sub/IMG_3.Jpg")
    glob = PathPattern("**/*.jpg", case_sensitive=True)
    assert _rel(tmp_path, _walk([tmp_path], glob=glob)) == ["img_2.jpg"]
    exclude = (PathPattern("IMG_*", case_sensitive=True),)
    assert _rel(tmp_path, _walk([tmp_path], exclude=exclude)) == ["img_2.jpg"]


def test_explicit_file_is_yielded_whatever_its_name(tmp_path: Path) -> None:
    _touch(tmp_path, "photo", ".hidden.bin")
    found = _walk([tmp_path / "photo", tmp_path / ".hidden.bin"])
    assert _rel(tmp_path, found) == ["photo", ".hidden.bin"]


def test_glob_without_slash_matches_names_at_any_depth(tmp_path: Path) -> None:
    _touch(tmp_path, "IMG_1.jpg", "a/IMG_2.jpg", "a/DSC_3.jpg")
    found = _walk([tmp_path], glob=PathPattern("IMG_*"))
    assert _rel(tmp_path, found) == ["IMG_1.jpg", "a/IMG_2.jpg"]


def test_glob_with_slash_matches_relative_paths(tmp_path: Path) -> None:
    _touch(tmp_path, "x.jpg", "2024/a.jpg", "2024/m/b.png", "2023/c.jpg")
    assert _rel(tmp_path, _walk([tmp_path], glob=PathPattern("2024/*"))) == ["2024/a.jpg"]
    deep = _walk([tmp_path], glob=PathPattern("2024/**/*"))
    assert _rel(tmp_path, deep) == ["2024/a.jpg", "2024/m/b.png"]
    anywhere = _walk([tmp_path], glob=PathPattern("**/*.png"))
    assert _rel(tmp_path, anywhere) == ["2024/m/b.png"]


def test_glob_character_classes(tmp_path: Path) -> None:
    _touch(tmp_path, "a1.jpg", "b2.jpg", "c3.jpg")
    assert _rel(tmp_path, _walk([tmp_path], glob=PathPattern("[ab]?.jpg"))) == [
        "a1.jpg",
        "b2.jpg",
    ]
    assert _rel(tmp_path, _walk([tmp_path], glob=PathPattern("[!ab]*"))) == ["c3.jpg"]


def test_exclude_prunes_directories_and_drops_files(tmp_path: Path) -> None:
    _touch(tmp_path, "a.jpg", "thumbs/t.jpg", "x/thumbs/u.jpg", "x/keep.jpg", "x/skip_me.png")
    exclude = (PathPattern("thumbs"), PathPattern("*skip*"))
    assert _rel(tmp_path, _walk([tmp_path], exclude=exclude)) == ["a.jpg", "x/keep.jpg"]
    by_path = (PathPattern("x/thumbs"),)
    assert _rel(tmp_path, _walk([tmp_path], exclude=by_path)) == [
        "a.jpg",
        "thumbs/t.jpg",
        "x/keep.jpg",
        "x/skip_me.png",
    ]


def test_walk_is_lazy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _touch(tmp_path, "a/1.jpg", "b/2.jpg", "c/3.jpg")
    scanned: list[str] = []
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        scanned.append(Path(path).name)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    walk = iter_files([tmp_path], WalkFilter(suffixes=IMAGES), lambda p, e: None)
    assert Path(next(walk)).name == "1.jpg"
    assert scanned == [tmp_path.name, "a"]


def test_normalize_suffixes() -> None:
    assert normalize_suffixes(["JPG", ".Png", " .heic "]) == {".jpg", ".png", ".heic"}
    with pytest.raises(TypeError, match="collection of suffixes"):
        normalize_suffixes(".jpg")
    with pytest.raises(ValueError, match="empty suffix"):
        normalize_suffixes(["."])


def test_empty_pattern_is_refused() -> None:
    with pytest.raises(ValueError, match="empty glob pattern"):
        PathPattern("/")
