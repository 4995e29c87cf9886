"""Pillow's failures on hostile or damaged input, turned into one :class:`ImageInputError`.

Knows the long tail of exception types Pillow's plugins raise (``OSError``, ``SyntaxError``,
``ValueError``, ``struct.error``, ``EOFError``, ``IndexError``, its decompression-bomb guard, memory
exhaustion) and how to tell a file cut short from other damage. Knows nothing about formats,
policies or what the caller does next.

:func:`pillow_errors` is meant to wrap *Pillow calls only* (open, load, draft, resize, transpose,
convert, save, ...): a bug of ours raised between them must propagate as itself, not be reported
as a corrupt image, which would make the loader skip a good file and hide the bug.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image

from langchain_flexai.errors import ImageErrorReason, ImageInputError

__all__ = ["is_truncation", "pillow_errors"]


def _error(reason: ImageErrorReason, detail: str) -> ImageInputError:
    return ImageInputError(detail, reason=reason)


def is_truncation(exc: BaseException) -> bool:
    """Whether Pillow failed because the data ended early.

    Pillow reads fixed-size fields with ``struct`` and indexing, and wraps what they raise in
    ``SyntaxError``: its text ("unpack_from requires a buffer of at least 4 bytes ...") says
    nothing to a user whose file is simply cut short, so such failures get one plain message.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (struct.error, EOFError, IndexError)):
            return True
        if "truncated" in str(seen).lower():
            return True
        seen = seen.__cause__
    return False


@contextmanager
def pillow_errors() -> Iterator[None]:
    """Turn anything Pillow raises on hostile or damaged input into an ImageInputError.

    Wrap the Pillow call alone, never our own code around it (see the module docstring).
    """
    try:
        yield
    except ImageInputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _error(
            ImageErrorReason.DECOMPRESSION_BOMB,
            f"image refused by Pillow's decompression-bomb guard (Image.MAX_IMAGE_PIXELS): {exc}",
        ) from exc
    except MemoryError as exc:
        raise _error(ImageErrorReason.TOO_LARGE, "not enough memory to decode the image") from exc
    # Pillow's plugins raise a long tail of types on damaged input (OSError, SyntaxError,
    # ValueError, struct.error, EOFError, IndexError, ...); the contract is one error type.
    except Exception as exc:
        if is_truncation(exc):
            raise _error(
                ImageErrorReason.CORRUPT,
                "the file is truncated: the data ends before the image does",
            ) from exc
        raise _error(ImageErrorReason.CORRUPT, f"the image data cannot be read: {exc}") from exc
