"""Find image files under paths: ``os.scandir``, sorted, filtered, loop-safe and lazy.

Knows file names, suffixes, glob and exclude patterns, hidden entries and directory identities.
Knows nothing about image contents: a file is chosen by its name alone and opened by someone else.

The walk is iterative (an explicit stack of directory listings), so a tree thousands of levels
deep walks like a flat one instead of raising ``RecursionError``. A path given to walk that does
not exist or cannot be listed is an error raised before anything is yielded; what cannot be read
inside is reported to the caller's handler and the walk goes on.

The order is deterministic: the given paths in the order given, and inside a directory the entries
sorted by name (code point order) with subdirectories walked where their name sorts. That is the
order of the paths' component tuples, the same on every machine and every run.

``os.scandir`` is used instead of ``pathlib.Path.rglob`` because it is ~5x faster (the file type
comes from the directory entry, no ``stat`` per file), and it lets us see each directory's identity
so a symlink loop is walked once instead of forever.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

WalkErrorHandler = Callable[[str, OSError], None]
"""Called with a path and the error when a path or a directory cannot be read."""


def printable_path(path: str) -> str:
    r"""``path`` as text any UTF-8 sink accepts: undecodable bytes written as ``\xNN``.

    On POSIX a file name is bytes; Python decodes the bytes that are not UTF-8 to lone
    surrogates (``b"caf\xe9.jpg"`` becomes ``"caf\udce9.jpg"``), which open the file again but
    make ``text.encode("utf-8")`` (a JSON line, a terminal, a vector store) raise. Those bytes
    are written as backslash escapes instead: the name prints as ``caf\xe9.jpg``. A name that
    is valid UTF-8 is returned unchanged (the common case costs one ``encode``).
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = os.fsencode(path)  # the bytes the name was decoded from
        except UnicodeEncodeError:  # a lone surrogate that did not come from a file name
            return path.encode("utf-8", "backslashreplace").decode("utf-8")
        return raw.decode("utf-8", "backslashreplace")
    return path


def normalize_suffixes(suffixes: Iterable[str]) -> frozenset[str]:
    """Lower-case suffixes with a leading dot: ``"JPG"`` and ``".jpg"`` both become ``".jpg"``.

    Raises:
        ValueError: A suffix is empty.
        TypeError: A single string was given instead of a collection.
    """
    if isinstance(suffixes, str):
        msg = f"suffixes must be a collection of suffixes, not the string {suffixes!r}"
        raise TypeError(msg)
    normalized = set()
    for suffix in suffixes:
        text = suffix.strip().lower()
        if not text.lstrip("."):
            raise ValueError(f"empty suffix in suffixes: {suffix!r}")
        normalized.add(text if text.startswith(".") else f".{text}")
    return frozenset(normalized)


@lru_cache(maxsize=64)
def _compile_glob(pattern: str, *, case_sensitive: bool) -> re.Pattern[str]:
    """Translate a glob (``*``, ``?``, ``[...]``, ``**``) to a regex over ``/``-separated paths."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")  # zero or more whole directories
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body.removeprefix("!").replace("\\", "\\\\")
            out.append(f"[{'^' if negate else ''}{body}]")
            i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    flags = re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE
    return re.compile("".join(out), flags)


@dataclass(frozen=True)
class PathPattern:
    """A glob matched like ``.gitignore`` entries.

    A pattern without ``/`` is matched against an entry's name at any depth (``"*.jpg"``,
    ``"thumbs"``); a pattern with ``/`` is matched against the whole path relative to the walked
    directory (``"2024/**/*.png"``). Matching ignores case by default, like the suffix filter:
    ``"**/*.jpg"`` matches ``IMG_1.JPG``, as the camera that wrote it meant (cameras and phones
    write upper-case names, people type lower-case globs). ``case_sensitive=True`` matches case
    exactly.
    """

    pattern: str
    case_sensitive: bool = False

    def __post_init__(self) -> None:
        """Reject patterns that can never match."""
        if not self.pattern.strip("/"):
            raise ValueError(f"empty glob pattern: {self.pattern!r}")

    @property
    def _by_name(self) -> bool:
        return "/" not in self.pattern.strip("/")

    def matches(self, relative_path: str, name: str) -> bool:
        """Whether the entry ``name`` at ``relative_path`` (``/``-separated) matches."""
        pattern = self.pattern.strip("/").removeprefix("./")
        target = name if self._by_name else relative_path
        compiled = _compile_glob(pattern, case_sensitive=self.case_sensitive)
        return compiled.fullmatch(target) is not None


@dataclass(frozen=True)
class WalkFilter:
    """Which entries a walk yields and which directories it enters."""

    suffixes: frozenset[str]
    glob: PathPattern | None = None
    exclude: tuple[PathPattern, ...] = ()
    recursive: bool = True

    def wants_file(self, relative_path: str, name: str) -> bool:
        """A file is yielded if its suffix, the glob and no exclude pattern say so."""
        if name.startswith("."):
            return False
        if os.path.splitext(name)[1].lower() not in self.suffixes:  # noqa: PTH122 - str speed
            return False
        if self.glob is not None and not self.glob.matches(relative_path, name):
            return False
        return not any(p.matches(relative_path, name) for p in self.exclude)

    def enters_dir(self, relative_path: str, name: str) -> bool:
        """A directory is walked unless hidden or excluded (exclusion prunes its whole tree)."""
        if not self.recursive or name.startswith("."):
            return False
        return not any(p.matches(relative_path, name) for p in self.exclude)


def root_error(path: str, error: OSError) -> OSError:
    """The error for a path given to walk that does not exist or cannot be read.

    Of the same type as ``error`` (``FileNotFoundError``, ``PermissionError``, ...), naming the
    path: ``[Errno 2] cannot load images from it: No such file or directory: 'photos'``.
    """
    detail = error.strerror or str(error) or type(error).__name__
    cls = type(error) if type(error).__init__ is OSError.__init__ else OSError
    result = cls(error.errno, f"cannot load images from it: {detail}", path)
    result.__cause__ = error
    return result


def check_root(path: str) -> os.stat_result:
    """The ``stat`` of a path given to walk, checked to exist and be readable.

    Raises:
        OSError: From :func:`root_error`: the path does not exist, or cannot be read (a file
            without read permission; a directory that cannot be listed is found when listed).
    """
    try:
        info = os.stat(path)  # noqa: PTH116 - str paths throughout, for speed
    except OSError as error:
        raise root_error(path, error) from error
    if stat.S_ISREG(info.st_mode) and not os.access(path, os.R_OK):
        denied = PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        raise root_error(path, denied)
    return info


def iter_files(
    paths: Iterable[str | os.PathLike[str]],
    walk_filter: WalkFilter,
    on_error: WalkErrorHandler,
) -> Iterator[str]:
    """Yield the image file paths under ``paths``, lazily, in the documented order.

    A path naming a file is yielded as it is, whatever its name: the caller asked for it. A path
    naming a directory is walked, iteratively (a tree thousands of levels deep costs no stack).
    A directory or entry inside that cannot be read is passed to ``on_error`` and the walk goes
    on (the handler may raise to stop it).

    Args:
        paths: Files and directories, walked in the order given.
        walk_filter: Which entries to yield and which directories to enter.
        on_error: Receives the path and the ``OSError`` of anything inside that cannot be read.

    Raises:
        OSError: A path in ``paths`` does not exist or (a directory) cannot be listed, whatever
            ``on_error`` does: that is a wrong argument, not a bad file. Every path is checked
            before the first one is yielded. See :func:`root_error`.
    """
    roots = [(os.fspath(root), check_root(os.fspath(root))) for root in paths]
    # Directory identities (device, inode) already walked: a symlink loop, or two roots that
    # overlap, walk each real directory once.
    seen_dirs: set[tuple[int, int]] = set()
    for root_path, info in roots:
        if not _is_dir_mode(info.st_mode):
            yield root_path
            continue
        seen_dirs.add((info.st_dev, info.st_ino))
        try:
            entries = _sorted_entries(root_path)
        except OSError as error:
            raise root_error(root_path, error) from error
        yield from _walk_tree(entries, walk_filter, seen_dirs, on_error)


def _is_dir_mode(mode: int) -> bool:
    return stat.S_ISDIR(mode)


def _sorted_entries(directory: str) -> list[os.DirEntry[str]]:
    with os.scandir(directory) as iterator:
        # One directory's entries at a time per level: memory follows the widest directories on
        # the current branch, not the tree. Sorting by name makes the order independent of the
        # file system.
        return sorted(iterator, key=lambda entry: entry.name)


def _walk_tree(
    root_entries: list[os.DirEntry[str]],
    walk_filter: WalkFilter,
    seen_dirs: set[tuple[int, int]],
    on_error: WalkErrorHandler,
) -> Iterator[str]:
    """A depth-first walk with an explicit stack (no recursion: depth is not bounded by it)."""
    # Each level: its remaining entries and its relative path prefix ("" or "a/b/").
    stack: list[tuple[Iterator[os.DirEntry[str]], str]] = [(iter(root_entries), "")]
    while stack:
        entries, relative = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        name = entry.name
        rel = f"{relative}{name}"
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError as error:
            on_error(entry.path, error)
            continue
        if is_file:
            if walk_filter.wants_file(rel, name):
                yield entry.path
        elif is_dir and walk_filter.enters_dir(rel, name):
            children = _enter(entry, seen_dirs, on_error)
            if children is not None:
                stack.append((iter(children), f"{rel}/"))
        elif not is_dir and not is_file and walk_filter.wants_file(rel, name):
            # Named like an image but not a file we can read (a dangling link, a FIFO, a link to a
            # device): the user will want to hear about it, and nobody should try to read it.
            on_error(entry.path, _not_a_file(entry))


def _enter(
    entry: os.DirEntry[str], seen_dirs: set[tuple[int, int]], on_error: WalkErrorHandler
) -> list[os.DirEntry[str]] | None:
    """A subdirectory's sorted entries, or None when it was walked already or cannot be read."""
    try:
        info = entry.stat()
    except OSError as error:
        on_error(entry.path, error)
        return None
    identity = (info.st_dev, info.st_ino)
    if identity in seen_dirs:
        return None
    seen_dirs.add(identity)
    try:
        return _sorted_entries(entry.path)
    except OSError as error:
        on_error(entry.path, error)
        return None


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words, from its ``st_mode``."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def not_regular_file(mode: int, path: str) -> OSError:
    """The error for a path that exists but is not a regular file (never opened for reading)."""
    return OSError(errno.EINVAL, f"not a regular file, it is {file_kind(mode)}", path)


def _not_a_file(entry: os.DirEntry[str]) -> OSError:
    try:
        info = entry.stat()
    except FileNotFoundError:
        return FileNotFoundError(errno.ENOENT, "dangling symbolic link", entry.path)
    except OSError as error:
        return error
    return not_regular_file(info.st_mode, entry.path)
