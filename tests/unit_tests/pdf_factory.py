"""PDFs written by hand in tests: real text layers, odd page boxes and hostile structures.

No binary fixtures: every PDF a test needs is built here, byte by byte, with a correct cross-
reference table, so PDFium opens it without repairing anything and extracts its text (each page's
text is drawn with the standard Helvetica font, so no font file is embedded). The hostile
builders keep everything valid except the one property they exercise: a truncated file, a user
password (the standard security handler, RC4, revision 2, written out in full so the right
password really opens it), no pages, an absurd page box, a page tree claiming a huge number of
pages, a content stream or an image that inflates to far more than its file size, a file of many
small objects. Shared by the unit and integration tests (import ``tests.unit_tests.pdf_factory``).
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Sequence

__all__ = [
    "claimed_pages_pdf",
    "encrypted_pdf",
    "image_bomb_pdf",
    "inflating_content_pdf",
    "make_pdf",
    "make_pdf_with_ops",
    "many_objects_pdf",
    "nested_forms_pdf",
    "not_a_pdf",
    "reused_forms_pdf",
    "split_content_pdf",
    "strokes_form_pdf",
    "truncated_pdf",
]

_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
"""The standard security handler's password padding (ISO 32000-1, 7.6.3.3, Algorithm 2)."""

_FILE_ID = hashlib.md5(b"langchain-flexai test pdf").digest()  # noqa: S324 - the PDF algorithm


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def text_ops(text: str, *, height: float, size: int = 12) -> bytes:
    """Content-stream operators drawing ``text`` (one line per ``\\n``) from the top left."""
    lines = text.split("\n") if text else []
    if not lines:
        return b""
    out = [
        b"BT",
        f"/F1 {size} Tf {size * 1.2:.1f} TL".encode(),
        f"36 {height - 48:.1f} Td".encode(),
    ]
    for index, line in enumerate(lines):
        out.append(b"(" + _escape(line) + b") " + (b"Tj" if index == 0 else b"'"))
    out.append(b"ET")
    return b"\n".join(out) + b"\n"


class _Writer:
    """Objects numbered from 1, written with exact byte offsets in the cross-reference table."""

    def __init__(self) -> None:
        self.objects: list[bytes | None] = []

    def reserve(self) -> int:
        self.objects.append(None)
        return len(self.objects)

    def set(self, number: int, body: bytes) -> None:
        self.objects[number - 1] = body

    def add(self, body: bytes) -> int:
        number = self.reserve()
        self.set(number, body)
        return number

    def write(self, root: int, *, trailer_extra: bytes = b"") -> bytes:
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(self.objects, start=1):
            offsets.append(len(out))
            out += f"{number} 0 obj\n".encode() + (body or b"null") + b"\nendobj\n"
        xref = len(out)
        out += f"xref\n0 {len(self.objects) + 1}\n0000000000 65535 f \n".encode()
        for offset in offsets:
            out += f"{offset:010d} 00000 n \n".encode()
        ident = b"<" + _FILE_ID.hex().encode() + b">"
        out += (
            f"trailer\n<< /Size {len(self.objects) + 1} /Root {root} 0 R ".encode()
            + trailer_extra
            + b" /ID [" + ident + b" " + ident + b"] >>\n"
            + f"startxref\n{xref}\n%%EOF\n".encode()
        )  # fmt: skip
        return bytes(out)


def _stream(data: bytes, *, compress: bool, extra: bytes = b"") -> bytes:
    if compress:
        data = zlib.compress(data, 9)
        extra += b" /Filter /FlateDecode"
    return f"<< /Length {len(data)}".encode() + extra + b" >>\nstream\n" + data + b"\nendstream"


def _pages(
    writer: _Writer,
    contents: Sequence[bytes],
    boxes: Sequence[tuple[float, float]],
    *,
    compress: bool,
    resources: bytes,
    count: int | None = None,
) -> int:
    pages = writer.reserve()
    kids = []
    for content, (width, height) in zip(contents, boxes, strict=True):
        stream = writer.add(_stream(content, compress=compress))
        kids.append(
            writer.add(
                f"<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {width:g} {height:g}] ".encode()
                + b"/Resources " + resources + f" /Contents {stream} 0 R >>".encode()
            )
        )  # fmt: skip
    kid_refs = " ".join(f"{kid} 0 R" for kid in kids)
    total = len(kids) if count is None else count
    writer.set(pages, f"<< /Type /Pages /Kids [{kid_refs}] /Count {total} >>".encode())
    return pages


def _font(writer: _Writer) -> bytes:
    font = writer.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                      b"/Encoding /WinAnsiEncoding >>")  # fmt: skip
    return f"<< /Font << /F1 {font} 0 R >> >>".encode()


def make_pdf(
    pages: Sequence[str],
    *,
    box: tuple[float, float] = (612, 792),
    boxes: Sequence[tuple[float, float]] | None = None,
    compress: bool = False,
    font_size: int = 12,
) -> bytes:
    """A valid PDF with one page per string, each string drawn as its text layer.

    Args:
        pages: The text of each page (``\\n`` starts a new line; ``""`` leaves the page blank).
        box: Every page's MediaBox, width and height in points (US Letter by default).
        boxes: One box per page instead of ``box``.
        compress: Flate-compress the content streams, as most real PDFs do.
        font_size: Helvetica's size in points.
    """
    sizes = list(boxes) if boxes is not None else [box] * len(pages)
    writer = _Writer()
    catalog = writer.reserve()
    resources = _font(writer)
    contents = [
        text_ops(t, height=h, size=font_size) for t, (_, h) in zip(pages, sizes, strict=True)
    ]
    tree = _pages(writer, contents, sizes, compress=compress, resources=resources)
    writer.set(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>".encode())
    return writer.write(catalog)


def make_pdf_with_ops(ops: bytes, *, box: tuple[float, float] = (612, 792)) -> bytes:
    """A one-page PDF whose (Flate-compressed) content stream is ``ops``, Helvetica as /F1."""
    writer = _Writer()
    catalog = writer.reserve()
    resources = _font(writer)
    tree = _pages(writer, [ops], [box], compress=True, resources=resources)
    writer.set(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>".encode())
    return writer.write(catalog)


# -- hostile variants ----------------------------------------------------------------------------


def not_a_pdf() -> bytes:
    """Text that merely mentions PDFs."""
    return b"This is a plain text file about %PDF documents, not one of them.\n" * 4


def truncated_pdf(pages: Sequence[str], keep: float = 0.5) -> bytes:
    """A valid PDF cut after ``keep`` of its bytes (a broken download)."""
    whole = make_pdf(pages)
    return whole[: int(len(whole) * keep)]


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()  # noqa: S324 - the PDF standard security handler uses MD5


def encrypted_pdf(pages: Sequence[str], user_password: str = "secret") -> bytes:  # noqa: S107
    """A PDF encrypted with a user password (standard security handler, RC4 40-bit, R2).

    Written the way ISO 32000-1 7.6.3 describes (Algorithms 1-4): opened with ``user_password``
    it reads as :func:`make_pdf` of ``pages``; without it, no reader can show a page.
    """
    user = (user_password.encode("latin-1") + _PAD)[:32]
    owner_key = _md5((b"owner-" + user_password.encode("latin-1") + _PAD)[:32])[:5]
    o_entry = _rc4(owner_key, user)
    permissions = -4  # every permission bit set, as the standard requires for the reserved bits
    key = _md5(user + o_entry + struct.pack("<i", permissions) + _FILE_ID)[:5]
    u_entry = _rc4(key, _PAD)
    writer = _Writer()
    catalog = writer.reserve()
    resources = _font(writer)
    tree = writer.reserve()
    kids = []
    for text in pages:
        stream_number = writer.reserve()
        object_key = _md5(key + struct.pack("<i", stream_number)[:3] + b"\x00\x00")[:10]
        body = _rc4(object_key, text_ops(text, height=792))
        writer.set(stream_number, _stream(body, compress=False))
        kids.append(
            writer.add(
                f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 612 792] /Resources ".encode()
                + resources + f" /Contents {stream_number} 0 R >>".encode()
            )
        )  # fmt: skip
    refs = " ".join(f"{kid} 0 R" for kid in kids)
    writer.set(tree, f"<< /Type /Pages /Kids [{refs}] /Count {len(kids)} >>".encode())
    writer.set(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>".encode())
    encrypt = writer.add(
        b"<< /Filter /Standard /V 1 /R 2 /Length 40 /P " + str(permissions).encode()
        + b" /O <" + o_entry.hex().encode() + b"> /U <" + u_entry.hex().encode() + b"> >>"
    )  # fmt: skip
    return writer.write(catalog, trailer_extra=f"/Encrypt {encrypt} 0 R".encode())


def claimed_pages_pdf(levels: int = 19) -> bytes:
    """A page tree of ``2**levels`` pages from ``levels + 1`` page objects (a page-count bomb).

    Each intermediate node lists the node below it twice, so the tree is tiny while its
    ``/Count`` (honestly summed) says ``2**levels``; every leaf is the same one-line page.
    """
    writer = _Writer()
    catalog = writer.reserve()
    resources = _font(writer)
    content = writer.add(_stream(text_ops("one of very many pages", height=792), compress=False))
    nodes = [writer.reserve() for _ in range(levels + 1)]
    leaf = writer.add(
        f"<< /Type /Page /Parent {nodes[0]} 0 R /MediaBox [0 0 612 792] /Resources ".encode()
        + resources + f" /Contents {content} 0 R >>".encode()
    )  # fmt: skip
    below = leaf
    for depth, node in enumerate(nodes):
        parent = f" /Parent {nodes[depth + 1]} 0 R" if depth + 1 < len(nodes) else ""
        count = 2**depth if depth else 1
        kids = f"{below} 0 R" if depth == 0 else f"{below} 0 R {below} 0 R"
        writer.set(node, f"<< /Type /Pages{parent} /Kids [{kids}] /Count {count} >>".encode())
        below = node
    writer.set(catalog, f"<< /Type /Catalog /Pages {nodes[-1]} 0 R >>".encode())
    return writer.write(catalog)


def inflating_content_pdf(decoded_bytes: int = 256 * 1024 * 1024) -> bytes:
    """One page whose Flate content stream inflates to ``decoded_bytes`` of drawing operators.

    The file is a few hundred KB (Flate reaches about 1000:1 on repeated text); a renderer that
    inflated and ran it all would parse and stroke millions of paths.
    """
    op = b"0 0 m 612 792 l S\n"
    chunk = op * (1024 * 1024 // len(op))
    packer = zlib.compressobj(9)
    parts = []
    written = 0
    while written < decoded_bytes:
        parts.append(packer.compress(chunk))
        written += len(chunk)
    parts.append(packer.flush())
    data = b"".join(parts)
    writer = _Writer()
    catalog = writer.reserve()
    tree = writer.reserve()
    stream = writer.add(
        f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode() + data + b"\nendstream"
    )
    page = writer.add(
        f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 612 792] "
        f"/Contents {stream} 0 R >>".encode()
    )
    writer.set(tree, f"<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>".encode())
    writer.set(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>".encode())
    return writer.write(catalog)


def image_bomb_pdf(side: int = 100_000) -> bytes:
    """One page showing a ``side`` x ``side`` one-bit image whose stream is a few bytes of DCT-free
    Flate data claiming far more pixels than any page needs (the image's size is in its dictionary).
    """
    packer = zlib.compressobj(9)
    row = b"\x00" * ((side + 7) // 8)
    data = packer.compress(row * 64) + packer.flush()  # rows missing at the end: PDFium pads
    writer = _Writer()
    catalog = writer.reserve()
    tree = writer.reserve()
    image = writer.add(
        f"<< /Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceGray "
        f"/BitsPerComponent 1 /Filter /FlateDecode /Length {len(data)} >>\nstream\n".encode()
        + data + b"\nendstream"
    )  # fmt: skip
    content = writer.add(_stream(b"q 612 0 0 792 0 0 cm /Im1 Do Q\n", compress=False))
    page = writer.add(
        f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 612 792] "
        f"/Resources << /XObject << /Im1 {image} 0 R >> >> /Contents {content} 0 R >>".encode()
    )
    writer.set(tree, f"<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>".encode())
    writer.set(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>".encode())
    return writer.write(catalog)


def many_objects_pdf(objects: int = 1_000_000) -> bytes:
    """A one-page PDF carrying ``objects`` extra objects nothing refers to."""
    writer = _Writer()
    catalog = writer.reserve()
    resources = _font(writer)
    tree = _pages(writer, [text_ops("padding", height=792)], [(612, 792)], compress=False,
                  resources=resources)  # fmt: skip
    writer.set(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>".encode())
    for _ in range(objects):
        writer.add(b"0")
    return writer.write(catalog)


def nested_forms_pdf(levels: int = 6, uses: int = 10, *, annotation: bool = False) -> bytes:
    """A page drawing a form that draws the form below it ``uses`` times, ``levels`` deep.

    ``uses ** (levels - 1)`` strokes from a file of under 2 KB: PDFium parses each use of a form
    again while it loads the page, before its objects can be counted (see docs/pdf.md, Costs).
    With ``annotation``, the top form is instead the appearance of an annotation on an empty
    page (PDFium parses it when it draws the page's annotations).
    """
    writer = _Writer()
    catalog = writer.reserve()
    tree = writer.reserve()
    below: int | None = None
    for _ in range(levels):
        ops = b"0 0 m 1 1 l S\n" if below is None else b"/X Do\n" * uses
        resources = (
            b"" if below is None else f"/Resources << /XObject << /X {below} 0 R >> >> ".encode()
        )
        below = writer.add(
            b"<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] " + resources
            + f"/Length {len(ops)} >>\nstream\n".encode() + ops + b"\nendstream"
        )  # fmt: skip
    content = writer.add(_stream(b"" if annotation else b"/X Do\n", compress=False))
    annots = (
        f"/Annots [<< /Type /Annot /Subtype /Square /Rect [0 0 100 100] /AP << /N {below} 0 R >>"
        " >>] "
        if annotation
        else ""
    )
    page = writer.add(
        f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 612 792] {annots}"
        f"/Resources << /XObject << /X {below} 0 R >> >> /Contents {content} 0 R >>".encode()
    )
    writer.set(tree, f"<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>".encode())
    writer.set(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>".encode())
    return writer.write(catalog)


def strokes_form_pdf(strokes: int = 20_000, uses: int = 100) -> bytes:
    """One page drawing one Flate-compressed form of ``strokes`` strokes ``uses`` times."""
    writer = _Writer()
    catalog = writer.reserve()
    tree = writer.reserve()
    form = writer.add(
        _stream(b"0 0 m 1 1 l S\n" * strokes, compress=True,
                extra=b" /Type /XObject /Subtype /Form /BBox [0 0 10 10]")
    )  # fmt: skip
    content = writer.add(_stream(b"/X Do\n" * uses, compress=False))
    page = writer.add(
        f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 612 792] "
        f"/Resources << /XObject << /X {form} 0 R >> >> /Contents {content} 0 R >>".encode()
    )
    writer.set(tree, f"<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>".encode())
    writer.set(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>".encode())
    return writer.write(catalog)


def split_content_pdf(streams: int = 20, strokes: int = 100_000) -> bytes:
    """One page whose content is ``streams`` Flate streams of ``strokes`` strokes each: every
    stream is under the per-stream cap, their sum is not."""
    writer = _Writer()
    catalog = writer.reserve()
    tree = writer.reserve()
    body = b"0 0 m 1 1 l S\n" * strokes
    refs = " ".join(f"{writer.add(_stream(body, compress=True))} 0 R" for _ in range(streams))
    page = writer.add(
        f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 612 792] /Contents [{refs}] >>".encode()
    )
    writer.set(tree, f"<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>".encode())
    writer.set(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>".encode())
    return writer.write(catalog)


def reused_forms_pdf(
    pages: int = 20, *, levels: int = 2, uses: int = 3, packed: bool = False
) -> bytes:
    """A report whose pages all draw a letterhead form (``levels`` deep, each drawing the one
    below ``uses`` times: a logo of a few strokes) and a line of text, the way office suites and
    report generators reuse a logo on every page.

    The resources are one indirect dictionary inherited from the page tree (pages have none of
    their own) and the XObject names are an indirect dictionary too. ``packed`` puts every
    dictionary (catalog, page tree, pages, resources, font) into one compressed object stream
    indexed by a cross-reference stream, as PDF 1.5 writers (Acrobat, Word, pdf-lib, qpdf) do;
    only the streams stay plain objects, which the format requires.
    """
    streams: dict[int, bytes] = {}
    dicts: dict[int, bytes] = {}
    numbers = iter(range(1, 10_000))
    catalog, tree, resources, xobjects, font = (next(numbers) for _ in range(5))
    below: int | None = None
    for level in range(levels):
        ops = b"0 0 m 10 10 l S 0 10 m 10 0 l S\n" if below is None else b"/L Do\n" * uses
        inner = (
            b"" if below is None else f"/Resources << /XObject << /L {below} 0 R >> >> ".encode()
        )
        below = next(numbers)
        streams[below] = _stream(
            ops, compress=level % 2 == 0,
            extra=b" /Type /XObject /Subtype /Form /BBox [0 0 10 10] " + inner,
        )  # fmt: skip
    kids = []
    for page_number in range(pages):
        content = next(numbers)
        text = text_ops(f"page {page_number + 1} of the report", height=792)
        streams[content] = _stream(b"q 5 0 0 5 36 36 cm /Logo Do Q\n" + text, compress=True)
        kids.append(next(numbers))
        dicts[kids[-1]] = (
            f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 612 792] "
            f"/Contents {content} 0 R >>".encode()
        )
    dicts[catalog] = f"<< /Type /Catalog /Pages {tree} 0 R >>".encode()
    refs = " ".join(f"{kid} 0 R" for kid in kids)
    dicts[tree] = (
        f"<< /Type /Pages /Kids [{refs}] /Count {pages} /Resources {resources} 0 R >>".encode()
    )
    dicts[resources] = f"<< /Font << /F1 {font} 0 R >> /XObject {xobjects} 0 R >>".encode()
    dicts[xobjects] = f"<< /Logo {below} 0 R >>".encode()
    dicts[font] = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    if not packed:
        writer = _Writer()
        for number in range(1, max(streams | dicts) + 1):
            writer.set(writer.reserve(), streams.get(number) or dicts[number])
        return writer.write(catalog)
    return _packed(streams, dicts, catalog)


def _packed(streams: dict[int, bytes], dicts: dict[int, bytes], root: int) -> bytes:
    """A PDF 1.5 file: ``dicts`` in one object stream, ``streams`` plain, an xref stream."""
    objstm, xref_number = max(streams | dicts) + 1, max(streams | dicts) + 2
    order = sorted(dicts)
    header, body = [], b""
    for number in order:
        header.append(f"{number} {len(body)}")
        body += dicts[number] + b"\n"
    head = " ".join(header).encode() + b"\n"
    packed = zlib.compress(head + body, 9)
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(streams):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + streams[number] + b"\nendobj\n"
    offsets[objstm] = len(out)
    out += (
        f"{objstm} 0 obj\n<< /Type /ObjStm /N {len(order)} /First {len(head)} "
        f"/Length {len(packed)} /Filter /FlateDecode >>\nstream\n".encode()
        + packed + b"\nendstream\nendobj\n"
    )  # fmt: skip
    rows = [b"\x00\x00\x00\x00\x00\xff\xff"]
    for number in range(1, xref_number + 1):
        if number in dicts:
            rows.append(b"\x02" + struct.pack(">IH", objstm, order.index(number)))
        else:
            rows.append(b"\x01" + struct.pack(">IH", offsets.get(number, len(out)), 0))
    table = b"".join(rows)
    xref = len(out)
    out += (
        f"{xref_number} 0 obj\n<< /Type /XRef /Size {xref_number + 1} /W [1 4 2] /Root {root} 0 R "
        f"/Length {len(table)} >>\nstream\n".encode()
        + table + f"\nendstream\nendobj\nstartxref\n{xref}\n%%EOF\n".encode()
    )  # fmt: skip
    return bytes(out)
