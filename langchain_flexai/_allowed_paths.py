"""Open an image file named by a model, but only inside folders the developer allowed.

Knows how to turn a path string that came from an LLM (untrusted) into the bytes of one regular
file that really lies inside one of the allowed folders: ``..`` components are refused outright,
every candidate is resolved with symlinks followed (``os.path.realpath``) before the containment
check, the final open refuses a symlink swapped in since the check (``O_NOFOLLOW`` where the OS has
it) and reads only a regular file, never more than a byte cap. Knows nothing about pixels or tools.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from langchain_flexai.errors import ImageErrorReason, ImageInputError

# O_NOFOLLOW / O_NONBLOCK do not exist on Windows; there the realpath check is the guard.
# O_NONBLOCK keeps a FIFO planted in an allowed folder from hanging the open.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


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


def _candidates(text: str, folders: Sequence[str]) -> list[str]:
    if PurePath(text).is_absolute():
        return [text]
    # A relative name is looked up in each allowed folder first (the names an agent is shown),
    # then relative to the working directory (a path the developer wrote, e.g. "photos/a.jpg").
    return [str(Path(folder) / text) for folder in folders] + [str(Path.cwd() / text)]


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
            absolute path elsewhere, a symlink pointing outside) or no folder is allowed;
            ``UNREADABLE`` when no such file exists inside them.
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
    outside = False
    for candidate in _candidates(text, folders):
        try:
            real = os.path.realpath(candidate, strict=True)
        except (OSError, ValueError):
            continue
        if not any(_inside(real, folder) for folder in folders):
            outside = True
            continue
        if Path(real).is_file():
            return real
    if outside:
        raise _refuse(
            "the image path is outside the folders this tool may read",
            text,
            ImageErrorReason.LOCAL_PATH,
        )
    raise _refuse(
        "no such image file in the folders this tool may read", text, ImageErrorReason.UNREADABLE
    )


def read_allowed_file(text: str, folders: Sequence[str], *, max_bytes: int) -> AllowedFile:
    """Resolve ``text`` with :func:`resolve_allowed_path`, then read it safely.

    Args:
        text: The path as the model wrote it.
        folders: Allowed folders, resolved.
        max_bytes: Files larger than this are refused without being read.

    Returns:
        The resolved path and the file's bytes.

    Raises:
        ImageInputError: As :func:`resolve_allowed_path`; ``UNREADABLE`` when the file is not a
            regular file, cannot be read, or is replaced by a symlink after the check;
            ``TOO_LARGE`` when it exceeds ``max_bytes``.
    """
    real = resolve_allowed_path(text, folders)
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except OSError as exc:
        raise _refuse(
            f"cannot open the image file: {exc.strerror or exc}", text, ImageErrorReason.UNREADABLE
        ) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _refuse("not a regular file", text, ImageErrorReason.UNREADABLE)
        if info.st_size > max_bytes:
            raise _refuse(
                f"the file has {info.st_size} bytes, more than this tool reads ({max_bytes})",
                text,
                ImageErrorReason.TOO_LARGE,
            )
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # the file grew after fstat
        raise _refuse(f"the file has more than {max_bytes} bytes", text, ImageErrorReason.TOO_LARGE)
    return AllowedFile(real, data)
