"""Open an image file named by a model, but only inside folders the developer allowed.

Knows how to turn a path string that came from an LLM (untrusted) into the bytes of one regular
file that really lies inside one of the allowed folders:

- ``..`` components are refused outright, and a path that does not lie lexically (after
  ``os.path.abspath``) inside an allowed folder is refused before any filesystem call is made on
  it, so refusals never reveal whether a file outside the folders exists. A relative path is
  looked up in each allowed folder, then relative to the working directory only when that lands
  lexically inside a folder. Absolute paths must be written under the folders' real paths.
- a candidate inside is resolved with symlinks followed (``os.path.realpath``, non-strict, so a
  symlink pointing outside is refused the same way whether or not its target exists), then must
  still lie inside a folder and be a regular file.
- the open uses ``O_NOFOLLOW`` (where the OS has it) against a symlink swapped in as the last
  component, and ``O_NONBLOCK`` so a FIFO cannot hang it. Because ``O_NOFOLLOW`` does not guard
  the folders above the file, the *opened* file's location is checked again: on Linux through
  ``/proc/self/fd``; elsewhere by re-resolving the path and comparing device and inode with the
  open descriptor's. Only a regular file (``fstat``) is read, never more than a byte cap.

Knows nothing about pixels or tools. Does not defend against a process that can rewrite the
allowed folders *and* the file between the fallback's re-check and the read on a system without
``/proc`` (the inode comparison narrows, not closes, that window).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from langchain_flexai._files import (
    NOFOLLOW,
    OPEN_FLAGS,
    FileTooLargeError,
    NotRegularFileError,
    read_regular_file,
)
from langchain_flexai.errors import ImageErrorReason, ImageInputError

# O_NOFOLLOW does not exist on Windows; there the post-open check is the guard. O_NONBLOCK (in
# OPEN_FLAGS) keeps a FIFO planted in an allowed folder from hanging the open.
_OPEN_FLAGS = OPEN_FLAGS | NOFOLLOW

# One message for every path that leaves the folders, whatever lies there (no existence oracle).
_OUTSIDE = "the image path is outside the folders this tool may read"
_MISSING = "no such image file in the folders this tool may read"


@dataclass(frozen=True)
class AllowedFile:
    """A file found inside an allowed folder: its resolved path and its bytes."""

    path: str
    data: bytes


def _refuse(detail: str, source: str, reason: ImageErrorReason) -> ImageInputError:
    return ImageInputError(detail, reason=reason, source=source)


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives on Windows
        return False


def _inside_any(path: str, folders: Sequence[str]) -> bool:
    return any(_inside(path, folder) for folder in folders)


def _candidates(text: str, folders: Sequence[str]) -> list[str]:
    """Absolute, normalised spellings of ``text`` that lie lexically inside a folder.

    Pure string work (``abspath`` only asks for the working directory): nothing here touches a
    path outside the folders.
    """
    if PurePath(text).is_absolute():
        spellings = [text]
    else:
        # A relative name is looked up in each allowed folder first (the names an agent is
        # shown), then relative to the working directory (a path the developer wrote, e.g.
        # "photos/a.jpg").
        spellings = [str(Path(folder) / text) for folder in folders] + [text]
    # abspath, not Path.resolve: lexical on purpose, it must not follow links or stat anything.
    normalised = [os.path.abspath(spelling) for spelling in spellings]  # noqa: PTH100
    return [path for path in normalised if _inside_any(path, folders)]


def resolve_allowed_path(text: str, folders: Sequence[str]) -> str:
    """The real path of the regular file ``text`` names inside one of ``folders``.

    Args:
        text: The path as the model wrote it (absolute, or relative to an allowed folder or to
            the working directory).
        folders: Allowed folders, already resolved with ``os.path.realpath``.

    Returns:
        The resolved path (symlinks followed), inside one of ``folders``.

    Raises:
        ImageInputError: ``LOCAL_PATH`` when the path leaves the allowed folders (``..``, an
            absolute path elsewhere, a symlink pointing outside) or no folder is allowed, with
            the same message whether or not something exists there; ``UNREADABLE`` when no
            regular file of that name exists inside them.
    """
    if not folders:
        raise _refuse(
            "this tool reads no local files (no allowed_dirs were given); pass an https URL",
            text,
            ImageErrorReason.LOCAL_PATH,
        )
    if not text or "\x00" in text:
        raise _refuse("the image path is empty or malformed", text, ImageErrorReason.UNREADABLE)
    if ".." in PurePath(text).parts:
        raise _refuse(
            "'..' is not allowed in an image path; name a file inside the allowed folders",
            text,
            ImageErrorReason.LOCAL_PATH,
        )
    candidates = _candidates(text, folders)
    if not candidates:
        # Decided on the string alone: nothing outside was looked at.
        raise _refuse(_OUTSIDE, text, ImageErrorReason.LOCAL_PATH)
    outside = False
    for candidate in candidates:
        # Non-strict: a symlink pointing outside resolves outside whether or not its target
        # exists, so the refusal below says nothing about the target.
        real = os.path.realpath(candidate)
        if not _inside_any(real, folders):
            outside = True
            continue
        try:
            mode = Path(real).stat().st_mode
        except (OSError, ValueError):
            continue
        if stat.S_ISREG(mode):
            return real
    if outside:
        raise _refuse(_OUTSIDE, text, ImageErrorReason.LOCAL_PATH)
    raise _refuse(_MISSING, text, ImageErrorReason.UNREADABLE)


def _opened_inside(fd: int, real: str, folders: Sequence[str]) -> bool:
    """Whether the file open on ``fd`` really lies inside ``folders``.

    ``O_NOFOLLOW`` only covers the last component: a folder above the file may have been
    swapped for a symlink to elsewhere between :func:`resolve_allowed_path` and the open.
    """
    try:
        # Linux: the kernel's own record of what was opened.
        opened = str(Path(f"/proc/self/fd/{fd}").readlink())
    except OSError:
        pass
    else:
        # A file deleted since the open reads "<path> (deleted)"; refusing it is fine.
        return _inside_any(opened, folders)
    # No /proc: resolve the path again and check it is still inside and still this very file.
    again = os.path.realpath(real)
    if not _inside_any(again, folders):
        return False
    try:
        now = Path(again).stat()
    except OSError:
        return False
    info = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino)


def read_allowed_file(text: str, folders: Sequence[str], *, max_bytes: int) -> AllowedFile:
    """Resolve ``text`` with :func:`resolve_allowed_path`, then read it safely.

    Args:
        text: The path as the model wrote it.
        folders: Allowed folders, resolved.
        max_bytes: Files larger than this are refused without being read.

    Returns:
        The resolved path and the file's bytes.

    Raises:
        ImageInputError: As :func:`resolve_allowed_path`; ``LOCAL_PATH`` when the file opened
            turns out to lie outside the folders (a folder swapped for a symlink after the
            check); ``UNREADABLE`` when it is not a regular file or cannot be opened (e.g.
            replaced by a symlink after the check); ``TOO_LARGE`` when it exceeds ``max_bytes``.
    """
    real = resolve_allowed_path(text, folders)
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except OSError as exc:
        raise _refuse(
            f"cannot open the image file: {exc.strerror or exc}", text, ImageErrorReason.UNREADABLE
        ) from None
    with os.fdopen(fd, "rb") as handle:
        if not _opened_inside(fd, real, folders):
            raise _refuse(_OUTSIDE, text, ImageErrorReason.LOCAL_PATH)
        try:
            data = read_regular_file(handle, max_bytes)
        except NotRegularFileError:
            raise _refuse("not a regular file", text, ImageErrorReason.UNREADABLE) from None
        except FileTooLargeError as exc:
            has = f"{exc.size} bytes" if exc.size is not None else f"more than {max_bytes} bytes"
            tail = f", more than this tool reads ({max_bytes})" if exc.size is not None else ""
            raise _refuse(f"the file has {has}{tail}", text, ImageErrorReason.TOO_LARGE) from None
    return AllowedFile(real, data)
