"""What loading one PDF page makes PDFium parse, counted from the raw bytes before it loads it.

PDFium parses a page's whole content while it loads the page (``FPDF_LoadPage``), before its
objects can be counted (:mod:`langchain_flexai.images._pdf_cost`), and it parses a Form XObject
again at every use. A 2 KB file of forms drawing forms ten times each, seven deep, makes it parse
ten million strokes; a page whose content is split over many streams, each under the stream cap
of :mod:`langchain_flexai.images._pdf_structure`, is parsed whole. So before a page is loaded its
*expanded* operator count is computed here: the operators of each of its content streams, plus,
for each ``Do``, :data:`FORM_USE_COST` and the expanded count of the form it names (memoised per
form; a form reaching itself is refused). A page over :data:`MAX_PAGE_OPERATORS` is refused as
``TOO_COMPLEX``.

Knows just enough PDF syntax for that: ``N G obj`` bodies (plain, and inside Flate-compressed
object streams, ``/ObjStm``), ``N G R`` references, the ``/Root``, ``/Pages``, ``/Kids``,
``/Contents``, ``/Resources`` (direct or indirect, inherited down the page tree) and ``/XObject``
entries, and content-stream operators as tokens (a string's letters count too: an over-count,
never an under-count). It is conservative where the bytes do not say: a ``Do`` whose name cannot
be resolved costs as much as the costliest form of the file, a stream in a filter other than
Flate counts :data:`_UNKNOWN_FILTER_OPS_PER_BYTE` operators a byte, and when the page tree cannot
be walked to the same page count PDFium reports, every page is charged the costliest page; a
file of more than :data:`MAX_INDEXED_OBJECTS` objects that needs the walk is refused. Knows
nothing of drawing, rendering or PDFium. A leaf: imports only the errors and the stream cap.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass, field

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._pdf_structure import MAX_STREAM_BYTES

__all__ = ["FORM_USE_COST", "MAX_INDEXED_OBJECTS", "MAX_PAGE_OPERATORS", "PageLoadCosts"]

MAX_PAGE_OPERATORS = 500_000
"""Most content-stream operators loading one page may make PDFium parse, forms expanded at each
use (half a million). PDFium loads about a million operators a second (measured: 1.2 million
strokes' operators over four streams, 1.3 s), so this bounds a page's load at about half a second,
leaving the rest of the second to drawing; a dense real page carries 10,000-100,000 (8,000 text
runs, the most a page may draw, are 40,000)."""

FORM_USE_COST = 10
"""What one use of a form costs beyond its operators, in operators: PDFium builds the form's
object and state again at each use (measured: about 3.5 microseconds, ten operators' worth)."""

MAX_INDEXED_OBJECTS = 100_000
"""Most objects the walk indexes (about 0.4 s of reading); a file with more whose pages draw
forms is refused: a real document that large is thousands of pages, split it."""

_UNKNOWN_FILTER_OPS_PER_BYTE = 4
_MAX_DEPTH = 64  # deeper form nesting than any real file: refused rather than recursed into
_OBJ = re.compile(rb"(?<![0-9])([0-9]{1,10})\s+[0-9]{1,5}\s+obj\b")
_REF = re.compile(rb"([0-9]{1,10})\s+[0-9]{1,5}\s+R\b")
_STREAM = re.compile(rb"stream(?:\r\n|\n|\r)")
_DICT_STREAM = re.compile(rb">>\s*stream(?:\r\n|\n|\r)")
# What lets one stream be parsed many times for one page: an array of content streams (direct
# or an indirect array object), annotations, objects hidden in object streams.
_REPEATABLE = re.compile(rb"/Contents\s*\[|\bobj\s*\[\s*[0-9]+\s+[0-9]+\s+R|/Annots\b|/ObjStm\b")
_ROOT = re.compile(rb"/Root\s+([0-9]{1,10})\s+[0-9]{1,5}\s+R\b")
# An operator is a keyword token: a letter (or ' " *) after whitespace or a delimiter. Counted
# at C speed: each byte is mapped to its class (" " separates, "a" starts a keyword, "0" is any
# other byte, a name's "/" included), then the class pairs " a" are counted.
_SEPARATORS = b" \t\r\n\f\x00()<>[]{}%"
_KEYWORD_STARTS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'\"*"
_CLASSES = bytes(
    ord(" ") if b in _SEPARATORS else ord("a") if b in _KEYWORD_STARTS else ord("0")
    for b in range(256)
)
_DO = re.compile(rb"/([^\s/<>\[\]()%{}]+)\s*Do(?![A-Za-z0-9])")
_NAME_REF = re.compile(rb"/([^\s/<>\[\]()%{}]+)\s*([0-9]{1,10})\s+[0-9]{1,5}\s+R\b")
_FLATE_ONLY = re.compile(rb"/Filter\s*(?:\[\s*)?/(?:FlateDecode|Fl)\b\s*\]?")
_FILTER = re.compile(rb"/Filter\b")
_FORM = re.compile(rb"/Subtype\s*/Form\b")
_OBJSTM = re.compile(rb"/Type\s*/ObjStm\b")
_INT = re.compile(rb"/(N|First)\s+([0-9]{1,10})")
_PAGE_TYPE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


@dataclass
class _Object:
    head: bytes  # the dictionary (or the whole body when there is no stream)
    stream: tuple[int, int] | None = None  # where the raw stream data lies in the file


@dataclass
class _Stats:
    operators: int
    uses: Counter[bytes]


@dataclass
class PageLoadCosts:
    """The expanded operator count of a PDF's pages, computed lazily page by page.

    Build it from the PDF's bytes (after :func:`~langchain_flexai.images._pdf_structure.outline`
    accepted them) and PDFium's page count, then call :meth:`check` before loading a page.
    """

    data: bytes
    page_count: int
    _objects: dict[int, _Object] | None = None
    _pages: list[int] | None = None
    _form_costs: dict[tuple[int, object], int] = field(default_factory=dict)
    _costliest_form: int | None = None
    _costliest_page: int | None = None
    _cheap: int | None = None
    _by_offset: dict[int, _Stats] = field(default_factory=dict)

    def check(self, number: int) -> None:
        """Refuse page ``number`` (from 1) if loading it would parse too much.

        Raises:
            ImageInputError: ``TOO_COMPLEX`` (unlocated: the caller names the file and page).
        """
        cost = self.cost(number)
        if cost > MAX_PAGE_OPERATORS:
            raise ImageInputError(
                f"loading the page would parse about {cost:,} drawing operators (its forms "
                "drawn within forms, or its content split over many streams), more than the "
                f"{MAX_PAGE_OPERATORS:,} any real page needs; it is not rendered. Flatten the PDF "
                "(print it to a new PDF) or export the page as an image with a tool you trust",
                reason=ImageErrorReason.TOO_COMPLEX,
            )

    def cost(self, number: int) -> int:
        """The expanded operator count of page ``number`` (from 1), conservative."""
        if self.data.count(b"endobj") > MAX_INDEXED_OBJECTS:  # C speed, before any loop
            # Too many objects to index: a bound over the whole file, or the refusal.
            if self._cheap_bound() <= MAX_PAGE_OPERATORS:
                return self._cheap_bound()
            raise _too_many_objects()
        pages = self._page_list()
        if pages is None or number > len(pages):
            return self._costliest_page_cost()
        return self._page_cost(pages[number - 1])

    # -- the bound without building an object index ---------------------------------------------

    def _cheap_bound(self) -> int:
        """An upper bound for every page, from all streams at once, or one past the budget.

        Every page's own operators are at most all the file's operators, each ``Do`` costs at
        most the largest stream (any stream may be a form: its type is not trusted to be within
        the dictionary window read here). It holds only when each stream is drawn once per page
        and no form draws a form, so not when two streams use ``Do``, a page lists content
        streams in an array, the file has annotations or object streams.
        """
        if self._cheap is None:
            total, uses, largest, users = 0, 0, 0, 0
            for head, start, end in _streams(self.data):
                stats = self._stats_at(head, start, end)
                total += stats.operators
                uses += sum(stats.uses.values())
                largest = max(largest, stats.operators)
                users += bool(stats.uses)
            sound = users <= 1 and not _REPEATABLE.search(self.data)
            self._cheap = (
                total + uses * (FORM_USE_COST + largest) if sound else MAX_PAGE_OPERATORS + 1
            )
        return self._cheap

    # -- the walk --------------------------------------------------------------------------------

    def _index(self) -> dict[int, _Object]:
        if self._objects is None:
            self._objects = _index(self.data)
        return self._objects

    def _page_list(self) -> list[int] | None:
        if self._pages is None:
            self._pages = _page_tree(self._index(), self.data, self.page_count) or []
        return self._pages if len(self._pages) == self.page_count else None

    def _costliest_page_cost(self) -> int:
        if self._costliest_page is None:
            pages = [n for n, obj in self._index().items() if _is_page(obj.head)]
            self._costliest_page = max((self._page_cost(n) for n in pages), default=0)
        return self._costliest_page

    def _page_cost(self, number: int) -> int:
        objects = self._index()
        page = objects.get(number)
        if page is None:
            return 0
        names = self._xobjects(_inherited_resources(objects, number))
        total = 0
        for stream in _content_streams(objects, page.head):
            stats = self._stream_stats(stream)
            total += 1 + stats.operators + self._uses_cost(stats.uses, names, (), 0)
            if total > MAX_PAGE_OPERATORS:
                return total  # refused already: the rest of the page is not read
        return total + self._annotations_cost(page.head)

    def _annotations_cost(self, page: bytes) -> int:
        """Annotation appearances (forms PDFium parses when it draws the page), every state."""
        objects, total = self._index(), 0
        annots = _value(objects, page, b"/Annots") or b""
        # An annotation is a dictionary in the array or a reference to one; either way every
        # form it names in /AP is counted (a reference to anything else costs nothing).
        forms = []
        for ref in _REF.findall(annots):
            annot = objects.get(int(ref))
            if annot is not None and annot.stream is None:
                forms += _REF.findall(_value(objects, annot.head, b"/AP") or b"")
            else:
                forms.append(ref)
        for form in forms:
            total += FORM_USE_COST + self._form_cost(int(form), None, (), 0)
            if total > MAX_PAGE_OPERATORS:
                return total
        return total

    def _stream_stats(self, number: int) -> _Stats:
        obj = self._index().get(number)
        if obj is None or obj.stream is None:
            return _Stats(0, Counter())
        return self._stats_at(obj.head, *obj.stream)

    def _stats_at(self, head: bytes, start: int, end: int) -> _Stats:
        """A stream's counts, once per stream whichever way it is reached."""
        if start not in self._by_offset:
            self._by_offset[start] = _stats_of(self.data, head, start, end)
        return self._by_offset[start]

    def _xobjects(self, resources: bytes | None) -> dict[bytes, int] | None:
        """The resources' ``/XObject`` names, or None when they cannot be read."""
        if resources is None:
            return None
        value = _value(self._index(), resources, b"/XObject")
        if value is None:
            return {} if b"/XObject" not in resources else None
        return {m.group(1): int(m.group(2)) for m in _NAME_REF.finditer(value)}

    def _uses_cost(
        self,
        uses: Counter[bytes],
        names: dict[bytes, int] | None,
        stack: tuple[int, ...],
        depth: int,
    ) -> int:
        total = 0
        for name, times in uses.items():
            target = None if names is None else names.get(name)
            child = (
                self._costliest()
                if target is None
                else self._form_cost(target, names, stack, depth)
            )
            total += times * (FORM_USE_COST + child)
            if total > MAX_PAGE_OPERATORS:
                return total  # already refused: no need to walk the rest
        return total

    def _form_cost(
        self, number: int, caller: dict[bytes, int] | None, stack: tuple[int, ...], depth: int
    ) -> int:
        obj = self._index().get(number)
        if obj is None or obj.stream is None or not _FORM.search(obj.head):
            return 0  # an image (its pixels are checked after loading), or nothing at all
        if number in stack or depth > _MAX_DEPTH:
            raise ImageInputError(
                "the page's forms draw themselves (a loop of Form XObjects) or nest more than "
                f"{_MAX_DEPTH} deep; the PDF is damaged or hostile and is not rendered. Flatten it "
                "(print it to a new PDF) with a tool you trust",
                reason=ImageErrorReason.TOO_COMPLEX,
            )
        resources = _value(self._index(), obj.head, b"/Resources")
        # A form without resources uses its caller's (PDF 1.1 allowed it; PDFium follows).
        names = caller if resources is None else self._xobjects(resources)
        key = (number, None if resources is not None or caller is None else _key(caller))
        if key not in self._form_costs:
            stats = self._stream_stats(number)
            self._form_costs[key] = stats.operators + self._uses_cost(
                stats.uses, names, (*stack, number), depth + 1
            )
        return self._form_costs[key]

    def _costliest(self) -> int:
        """The costliest form of the file, its unresolved uses counted at their own cost only."""
        if self._costliest_form is None:
            # While computing, an unresolved use inside costs nothing; those costs are kept apart.
            self._costliest_form, kept, self._form_costs = 0, self._form_costs, {}
            best = 0
            try:
                for number, obj in self._index().items():
                    if obj.stream is not None and _FORM.search(obj.head):
                        best = max(best, self._form_cost(number, None, (), 0))
            finally:
                self._form_costs = kept
            self._costliest_form = best
        return self._costliest_form


def _key(names: dict[bytes, int]) -> tuple[tuple[bytes, int], ...]:
    return tuple(sorted(names.items()))


def _streams(data: bytes) -> list[tuple[bytes, int, int]]:
    """Every stream of the file: its dictionary and where its raw data lies."""
    out = []
    position = 0
    while (match := _DICT_STREAM.search(data, position)) is not None:
        start = match.end()
        end = data.find(b"endstream", start)
        end = len(data) if end < 0 else end
        head = data[max(0, match.start() - 2048) : match.start() + 2]
        head = head[head.rfind(b"obj") + 3 :] if b"obj" in head else head
        out.append((head, start, end))
        position = end
    return out


def _inflate(data: bytes, head: bytes, start: int, end: int) -> bytes | None:
    """The stream's decoded bytes, capped; None when its filter is not read here."""
    raw = memoryview(data)[start:end]
    if not _FILTER.search(head):
        return bytes(raw[:MAX_STREAM_BYTES])
    if not _FLATE_ONLY.search(head):
        return None
    inflater = zlib.decompressobj()
    try:
        # The structural walk refused any stream past the cap; capping again keeps this a leaf.
        return inflater.decompress(raw, MAX_STREAM_BYTES + 1)
    except zlib.error:
        return b""  # damaged: PDFium draws nothing of it


def _stats_of(data: bytes, head: bytes, start: int, end: int) -> _Stats:
    content = _inflate(data, head, start, end)
    if content is None:
        return _Stats((end - start) * _UNKNOWN_FILTER_OPS_PER_BYTE, Counter())
    classes = b" " + content.translate(_CLASSES)
    return _Stats(classes.count(b" a"), Counter(_DO.findall(content)))


def _too_many_objects() -> ImageInputError:
    return ImageInputError(
        f"the PDF holds more than {MAX_INDEXED_OBJECTS:,} objects and its pages draw forms: too "
        "many to check what loading a page would parse, so it is not rendered. Split the PDF or "
        "flatten it (print it to a new PDF)",
        reason=ImageErrorReason.TOO_COMPLEX,
    )


def _index(data: bytes) -> dict[int, _Object]:
    """Every object of the file by number (the last definition wins, as in an update)."""
    objects: dict[int, _Object] = {}
    in_streams: list[tuple[int, int, bytes]] = []
    for match in _OBJ.finditer(data):
        number, body = int(match.group(1)), match.end()
        stop = data.find(b"endobj", body)
        stop = len(data) if stop < 0 else stop
        stream = _STREAM.search(data, body, stop)
        if stream is None:
            objects[number] = _Object(data[body:stop])
            continue
        end = data.find(b"endstream", stream.end())
        end = len(data) if end < 0 else end
        head = data[body : stream.start()]
        objects[number] = _Object(head, (stream.end(), end))
        if _OBJSTM.search(head):
            in_streams.append((stream.end(), end, head))
    for start, end, head in in_streams:
        for packed, content in _unpack(data, head, start, end).items():
            objects.setdefault(packed, _Object(content))
        if len(objects) > MAX_INDEXED_OBJECTS:
            raise _too_many_objects()
    return objects


def _unpack(data: bytes, head: bytes, start: int, end: int) -> dict[int, bytes]:
    """The objects of a compressed object stream (``/N`` pairs of number and offset)."""
    ints = {m.group(1): int(m.group(2)) for m in _INT.finditer(head)}
    content = _inflate(data, head, start, end)
    if content is None or b"N" not in ints or b"First" not in ints:
        return {}
    first = ints[b"First"]
    tokens = content[:first].split()[: 2 * min(ints[b"N"], MAX_INDEXED_OBJECTS)]
    pairs = [int(n) for n in tokens if n.isdigit()]
    offsets = list(zip(pairs[::2], pairs[1::2], strict=False))
    out = {}
    for index, (number, offset) in enumerate(offsets):
        stop = offsets[index + 1][1] if index + 1 < len(offsets) else len(content) - first
        out[number] = content[first + offset : first + stop]
    return out


def _value(objects: dict[int, _Object], body: bytes, key: bytes) -> bytes | None:
    """The value of ``key`` in a dictionary, or None when the key is absent.

    A direct ``<<…>>`` or ``[…]``, or the body of the object a reference names.
    """
    match = re.search(re.escape(key) + rb"(?![A-Za-z0-9])\s*", body)
    if match is None:
        return None
    rest = body[match.end() :]
    ref = _REF.match(rest)
    if ref is not None:
        target = objects.get(int(ref.group(1)))
        return None if target is None else target.head
    opener, closer = (b"<<", b">>") if rest.startswith(b"<<") else (b"[", b"]")
    if not rest.startswith(opener):
        return None
    depth = 0
    for token in re.finditer(re.escape(opener) + b"|" + re.escape(closer), rest):
        depth += 1 if token.group() == opener else -1
        if depth == 0:
            return rest[: token.end()]
    return rest


def _is_page(head: bytes) -> bool:
    return bool(_PAGE_TYPE.search(head)) and b"/Kids" not in head


def _page_tree(objects: dict[int, _Object], data: bytes, limit: int) -> list[int] | None:
    """The page objects in page order, walked from the trailer's ``/Root`` (at most ``limit``)."""
    roots = _ROOT.findall(data)
    catalog = objects.get(int(roots[-1])) if roots else None
    if catalog is None:
        for obj in objects.values():  # the trailer is inside a compressed xref stream's dict
            if re.search(rb"/Type\s*/Catalog\b", obj.head):
                catalog = obj
    if catalog is None:
        return None
    top = (
        _REF.search(catalog.head[catalog.head.find(b"/Pages") :])
        if b"/Pages" in catalog.head
        else None
    )
    if top is None:
        return None
    pages: list[int] = []
    stack, seen = [int(top.group(1))], set()
    while stack and len(pages) < limit:
        number = stack.pop()
        node = objects.get(number)
        if node is None:
            continue
        kids = _value(objects, node.head, b"/Kids")
        if kids is None:
            pages.append(number)
            continue
        if number in seen:
            return None  # a loop in the tree: PDFium repairs or refuses it; charge the worst
        seen.add(number)
        stack.extend(int(n) for n in reversed(_REF.findall(kids)))
    return pages


def _inherited_resources(objects: dict[int, _Object], number: int) -> bytes | None:
    """The page's ``/Resources`` value, or its nearest ancestor's."""
    seen = set()
    while number not in seen:
        seen.add(number)
        node = objects.get(number)
        if node is None:
            return None
        if b"/Resources" in node.head:
            return _value(objects, node.head, b"/Resources")
        parent = re.search(rb"/Parent\s+([0-9]{1,10})\s+[0-9]{1,5}\s+R\b", node.head)
        if parent is None:
            return b""
        number = int(parent.group(1))
    return None


def _content_streams(objects: dict[int, _Object], head: bytes) -> list[int]:
    match = re.search(rb"/Contents\s*", head)
    if match is None:
        return []
    rest = head[match.end() :]
    ref = _REF.match(rest)
    if ref is not None:
        target = objects.get(int(ref.group(1)))
        if target is not None and target.stream is None:  # an indirect array of streams
            return [int(n) for n in _REF.findall(target.head)]
        return [int(ref.group(1))]
    if rest.startswith(b"["):
        return [int(n) for n in _REF.findall(rest[: rest.find(b"]") + 1])]
    return []
