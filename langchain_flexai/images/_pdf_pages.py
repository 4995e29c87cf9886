"""Which pages of a PDF: ``"1-3,7"`` or ``[1, 2, 3, 7]`` checked against the page count.

Knows the page-spec syntax (numbers from 1, ranges ``a-b`` and open ranges ``a-``, commas,
spaces) and the wording of its errors. A leaf: knows nothing about PDFs themselves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["parse_pages"]

_ITEM = re.compile(r"\s*(\d{1,9})\s*(?:(-)\s*(\d{1,9})?\s*)?")
_SYNTAX = 'pages are chosen like "1-3,7" (numbers from 1, ranges a-b or a-, commas between)'


def _check(number: int, count: int) -> int:
    if number < 1:
        raise ValueError(f"page {number} does not exist: pages are numbered from 1")
    if number > count:
        raise ValueError(
            f"page {number} does not exist: the PDF has {count} page{'s' if count != 1 else ''}"
            f" (1-{count})"
        )
    return number


def parse_pages(spec: str | Sequence[int] | None, count: int) -> list[int]:
    """The pages ``spec`` chooses from a PDF of ``count`` pages, in the order written.

    Args:
        spec: ``None`` (every page), a string such as ``"1-3,7"`` or ``"5-"`` (page 5 to the end),
            or a sequence of page numbers; pages are numbered from 1.
        count: Pages in the PDF.

    Returns:
        The page numbers, each once, in the order given.

    Raises:
        ValueError: A malformed spec, a page outside ``1..count``, a range going down, a page
            chosen twice or no page at all, saying which.
        TypeError: ``spec`` is neither text, a sequence of ints nor None.
    """
    if spec is None:
        return list(range(1, count + 1))
    if isinstance(spec, str):
        chosen = _parse_text(spec, count)
    elif isinstance(spec, Sequence) and not isinstance(spec, bytes | bytearray):
        chosen = []
        for item in spec:
            if isinstance(item, bool) or not isinstance(item, int):
                raise TypeError(f"page numbers must be ints, got {item!r}")
            chosen.append(_check(item, count))
    else:
        raise TypeError(f"pages must be a string like '1-3,7' or a list of ints, got {spec!r}")
    if not chosen:
        raise ValueError(f"no pages chosen; {_SYNTAX}")
    seen: set[int] = set()
    for number in chosen:
        if number in seen:
            raise ValueError(f"page {number} is chosen twice")
        seen.add(number)
    return chosen


def _parse_text(spec: str, count: int) -> list[int]:
    chosen: list[int] = []
    if not spec.strip():
        raise ValueError(f"no pages chosen; {_SYNTAX}")
    for item in spec.split(","):
        match = _ITEM.fullmatch(item)
        if match is None:
            raise ValueError(f"cannot read {item.strip()!r} as pages; {_SYNTAX}")
        first = int(match.group(1))
        if match.group(2) is None:
            chosen.append(_check(first, count))
            continue
        last = int(match.group(3)) if match.group(3) is not None else count
        if last < first:
            raise ValueError(f"the range {item.strip()!r} goes down; write it as {last}-{first}")
        _check(first, count)
        _check(last, count)
        chosen.extend(range(first, last + 1))
    return chosen
