"""Hostile images built in code: files whose structure, not their pixel count, makes decoding dear.

Each builder returns bytes that a real decoder accepts as a well-formed file of its format; what
makes them hostile is a count (scans, chunks, segments, blocks) or a container hiding a large
image. Used by the tests and by the before/after measurement in docs/images.md.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from tests.unit_tests.image_factory import noisy


def _save(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def jpeg_scans(data: bytes) -> tuple[bytes, bytes, bytes]:
    """Split a JPEG into (everything before its first SOS, the scans with their tables, EOI)."""
    first = data.index(b"\xff\xda")
    # Scans may be preceded by their own DHT: start the repeatable part at the table before.
    dht = data.rfind(b"\xff\xc4", 0, first)
    start = dht if dht > data.rfind(b"\xff\xc0", 0, first) else first
    return data[:start], data[start:-2], data[-2:]


def progressive_jpeg_with_repeated_scans(
    size: tuple[int, int] = (1024, 1024), scans: int = 2000, *, quality: int = 30
) -> bytes:
    """A progressive JPEG whose refinement scans are repeated ``scans`` times over.

    Every repeat is a legal refinement of the same coefficients, so a decoder does the full
    per-scan work each time; a plain image has about 10 scans.
    """
    data = _save(Image.new("RGB", size, (120, 40, 200)), "JPEG", progressive=True, quality=quality)
    head, body, eoi = jpeg_scans(data)
    # The last scan of libjpeg's progressive script is a refinement one: repeating the final
    # SOS (with its table) costs a full pass over every block per repeat.
    last = body.rfind(b"\xff\xda")
    dht = body.rfind(b"\xff\xc4", 0, last)
    tail = body[dht:] if dht != -1 else body[last:]
    own = body.count(b"\xff\xda")
    return head + body + tail * max(0, scans - own) + eoi


def jpeg_with_comments(count: int, size: tuple[int, int] = (64, 64)) -> bytes:
    """A small JPEG with ``count`` empty COM segments before its frame header."""
    data = _save(noisy(size), "JPEG")
    return data[:2] + b"\xff\xfe\x00\x02" * count + data[2:]


def png_with_empty_chunks(count: int, size: tuple[int, int] = (64, 64)) -> bytes:
    """A small PNG with ``count`` empty tEXt-like private chunks before its IDAT."""
    data = _save(noisy(size), "PNG")
    ihdr_end = 8 + 25
    empty = png_chunk(b"teXt", b"")
    return data[:ihdr_end] + empty * count + data[ihdr_end:]


def png_with_tiny_idats(count: int) -> bytes:
    """A 1x1 PNG whose pixels come in ``count`` IDAT chunks, all but one of them empty."""
    data = _save(Image.new("L", (1, 1)), "PNG")
    idat = data.index(b"IDAT") - 4
    length = struct.unpack(">I", data[idat : idat + 4])[0]
    body = data[idat + 8 : idat + 8 + length]
    empties = png_chunk(b"IDAT", b"") * (count - 1)
    return data[:idat] + png_chunk(b"IDAT", body) + empties + data[idat + 12 + length :]


def gif_with_comments(count: int, size: tuple[int, int] = (64, 64)) -> bytes:
    """A small still GIF with ``count`` empty comment extensions before its image."""
    data = _save(noisy(size).convert("P"), "GIF")
    at = _gif_first_block(data)
    return data[:at] + b"\x21\xfe\x00" * count + data[at:]


def _gif_first_block(data: bytes) -> int:
    """The offset after the header and the global palette: where the first block starts."""
    flags = data[10]
    pos = 13
    if flags & 0x80:
        pos += 3 << ((flags & 7) + 1)
    return pos


def ico_with_large_png(side: int, *, pixels: bool = False) -> bytes:
    """An ICO whose single entry is a PNG declaring ``side`` x ``side`` RGB pixels.

    With ``pixels`` the PNG carries them all (zlib of zeros: about 0.1% of the raw size, and
    slow to build); without, one IDAT that a decoder would find short, enough for a header check.
    """
    row = b"\x00" * (1 + 3 * side)  # filter byte + RGB
    if pixels:
        packer = zlib.compressobj(9)
        idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    else:
        idat = zlib.compress(row * 16)
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )
    return ico_of(png)


def ico_of(*images: bytes) -> bytes:
    """An ICO file holding the given embedded images (PNG or BMP bodies), in that order."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries = b""
    for body in images:
        side = struct.unpack_from(">I", body, 16)[0] if body.startswith(b"\x89PNG") else 0
        declared = side if side < 256 else 0
        entries += struct.pack("<BBBBHHII", declared, declared, 0, 0, 1, 32, len(body), offset)
        offset += len(body)
    return header + entries + b"".join(images)
