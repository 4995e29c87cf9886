"""Bounded reads of one regular file: the single owner of "never more than N bytes, never a FIFO".

Knows how to open a file without blocking (``O_NONBLOCK``: a FIFO cannot hang the open), how to
judge what was actually opened (``fstat`` on the descriptor, so a file swapped after a check is
judged by what is read), and how to read at most ``max_bytes + 1`` bytes without a cap-sized
allocation. A leaf: imports nothing from the package. Knows nothing about images, folders or
error messages: callers turn :class:`NotRegularFileError` and :class:`FileTooLargeError` into
their own errors (the image doors and the allowed-folders reader word them differently).
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

__all__ = [
    "NOFOLLOW",
    "OPEN_FLAGS",
    "FileTooLargeError",
    "NotRegularFileError",
    "read_at_most",
    "read_regular_fd",
    "read_regular_file",
]

OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
"""Flags for opening a file to read it: read-only, binary, never blocking on a FIFO, not inherited.

``O_NONBLOCK`` / ``O_CLOEXEC`` do not exist on Windows (and ``O_BINARY`` only there)."""

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
"""Add to :data:`OPEN_FLAGS` to refuse a symlink as the last component (0 where unsupported)."""


class NotRegularFileError(Exception):
    """The open descriptor is no regular file (a FIFO, a device, a directory, a socket)."""

    def __init__(self, mode: int) -> None:
        """Record the ``st_mode`` found."""
        super().__init__(f"not a regular file (mode {mode:o})")
        self.mode = mode


class FileTooLargeError(Exception):
    """The file holds more than the cap."""

    def __init__(self, size: int | None) -> None:
        """Record the ``fstat`` size, or None when the file grew past the cap while being read."""
        super().__init__("the file is larger than the cap")
        self.size = size


def _regular_size(fd: int, max_bytes: int) -> int:
    """The ``fstat`` size of the regular file open on ``fd``, refused before any read.

    Raises:
        NotRegularFileError: Not a regular file.
        FileTooLargeError: More than ``max_bytes``.
    """
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularFileError(info.st_mode)
    if info.st_size > max_bytes:
        raise FileTooLargeError(info.st_size)
    return info.st_size


def read_at_most(handle: BinaryIO, size: int, max_bytes: int) -> bytes:
    """Read an open file whose ``fstat`` size is ``size``, never more than ``max_bytes + 1`` bytes.

    ``read(n)`` allocates ``n`` bytes up front, so this asks for what fstat promised (plus one
    byte, to notice a file that grew since), not for the cap, which would cost a cap-sized
    allocation for every small file. The caller compares the length with ``max_bytes``.
    """
    data = handle.read(size + 1)
    if len(data) > size:  # the file grew after fstat: read on, still bounded
        data += handle.read(max_bytes + 1 - len(data))
    return data


def read_regular_file(handle: BinaryIO, max_bytes: int) -> bytes:
    """The bytes of the regular file open on ``handle``, at most ``max_bytes`` of them.

    Raises:
        NotRegularFileError: The descriptor is not a regular file (nothing is read).
        FileTooLargeError: ``fstat`` says more than ``max_bytes`` (nothing is read), or the file
            grew past the cap while being read (``size`` None).
        OSError: From ``fstat`` or the read.
    """
    data = read_at_most(handle, _regular_size(handle.fileno(), max_bytes), max_bytes)
    if len(data) > max_bytes:  # the file grew after fstat
        raise FileTooLargeError(None)
    return data


_GROWTH_STEP = 1 << 20  # bytes read at a time from a file that grew after fstat


def read_regular_fd(fd: int, max_bytes: int) -> bytes:
    """:func:`read_regular_file` on a raw descriptor, with ``os.read`` (no file object).

    The same checks and the same bound; what it saves is the ``FileIO`` and ``BufferedReader``
    objects, about half of the cost of reading a small image file. The descriptor stays open
    (the caller closes it).

    Raises:
        NotRegularFileError: The descriptor is not a regular file (nothing is read).
        FileTooLargeError: ``fstat`` says more than ``max_bytes`` (nothing is read), or the file
            grew past the cap while being read (``size`` None).
        OSError: From ``fstat`` or the read.
    """
    size = _regular_size(fd, max_bytes)
    # One byte more than fstat promised: a full answer means the file grew since.
    data = os.read(fd, size + 1)
    if len(data) != size:
        data = _read_on(fd, data, size, max_bytes)
    return data


def _read_on(fd: int, data: bytes, size: int, max_bytes: int) -> bytes:
    """After a first read that did not return exactly ``size`` bytes: on to EOF, bounded.

    Either the file grew after ``fstat`` (the first read filled ``size + 1``) or the read was
    short (a network or FUSE file system may return less than asked before the end).
    """
    parts, total = [data], len(data)
    while data and total <= max_bytes:
        # What fstat promised and one byte more, then (it grew) up to the cap and one byte more
        # (the one that proves the cap passed), a mebibyte at a time: no cap-sized allocation.
        want = size + 1 - total if total <= size else min(max_bytes + 1 - total, _GROWTH_STEP)
        data = os.read(fd, want)
        parts.append(data)
        total += len(data)
    if total > max_bytes:
        raise FileTooLargeError(None)
    return b"".join(parts)
