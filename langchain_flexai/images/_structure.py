"""Structural walks of JPEG, PNG, GIF, WebP and ICO files: bound the work before any decoder runs.

Pillow limits pixels, not structure. A small file can ask a decoder for seconds of work with
counts no real image has: thousands of progressive scans (each one a pass over every block), a
million empty PNG chunks or JPEG comment segments or GIF extension blocks (Pillow reads those one
by one in Python), an ICO hiding a 150-megapixel PNG (Pillow decodes it while reading the ICO
header). The walks here read only the container layout (segment, chunk and block headers) with
``bytes`` slicing and C-speed searches, stop as soon as a cap is passed, and refuse with
:attr:`ImageErrorReason.TOO_COMPLEX` (or ``DECOMPRESSION_BOMB`` for a container's embedded image).

They also answer whether a file is *complete*: its image data and its end marker are present
(JPEG: frame header, a scan with data, EOI at the end; PNG: IHDR first, an IDAT, IEND last; GIF: an
image with its data and the trailer; WebP: the RIFF size covered and a VP8/VP8L image chunk, or
animation frames). Only a complete file may be sent byte for byte; an incomplete one is decoded,
and the decoder reports what is missing. A file that ends whole with no image data at all (EOI
before any scan, IEND before any IDAT, ...) is refused here as ``CORRUPT``, saying so.

Two depths, because the fast path has a budget of microseconds: :func:`walk_header` reads what
Pillow's plugins read in Python before any pixel (JPEG segments up to the first scan, every PNG
chunk header, GIF blocks up to the second image, WebP chunks, ICO entries); :func:`check_scans`
reads a JPEG's entropy-coded data for its scan count (under 1 ms per MB), and runs before a JPEG
is decoded, and for a progressive one always (FlexAI would decode its scans too).
Knows byte layouts only: nothing about Pillow, policies or pixels' meaning.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from typing import NamedTuple

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._jpeg_header import JpegHeader, exif_orientation, frame_header

MAX_JPEG_SEGMENTS = 1000
"""Marker segments a JPEG may have (a photo has 10-30, a progressive one up to about 40)."""
MAX_JPEG_SCANS = 100
"""Scans a JPEG may have (libjpeg's progressive script writes 10, mozjpeg's about 10-20)."""
MAX_JPEG_SCAN_MEGAPIXELS = 1500
"""Scans times megapixels: libjpeg-turbo spends about 1 ms per scan per megapixel, whatever the
scan holds, so this bounds scan work near 1.5 s (a 120 MP progressive photo with 12 scans fits)."""
MAX_PADDING_BYTES = 65536
"""Fill and stray bytes between JPEG segments, or unknown bytes between GIF blocks (both read a
byte at a time by Pillow in Python)."""
MAX_PNG_CHUNKS = 100_000
"""Chunks of any kind in a PNG (a 64 MiB file written in 8 KiB IDAT chunks has 8,000)."""
MAX_PNG_METADATA_CHUNKS = 1000
"""PNG chunks other than image data (IDAT) and animation frames (fcTL, fdAT)."""
MAX_GIF_EXTENSIONS = 1000
"""GIF extension blocks (comments, application data, graphic control) before the second frame."""
MAX_GIF_EXTENSION_SUBBLOCKS = 10_000
"""Data sub-blocks inside those extensions (Pillow reads each in Python)."""
MAX_GIF_SUBBLOCKS = 1_000_000
"""Image data sub-blocks of the first frame (a 64 MiB GIF in 255-byte sub-blocks has 260,000)."""
MAX_WEBP_CHUNKS = 100_000
"""RIFF chunks in a WebP (one per animation frame plus a few)."""
MAX_ICO_ENTRIES = 256
"""Images in one ICO (real icons hold 1-16 sizes)."""

_SOI = b"\xff\xd8"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IMAGE_CHUNKS = frozenset({b"IDAT", b"fdAT", b"fcTL"})
_APP1, _APP2 = 0xE1, 0xE2
_EXIF = b"Exif\x00\x00"
_MPF = b"MPF\x00"  # the multi-picture index's identifier (CIPA DC-007)
_PNG_EXIF = b"eXIf"
_PNG_IEND = b"IEND"
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_EOI, _SOS, _DQT, _DHT = 0xD9, 0xDA, 0xDB, 0xC4
_NOT_A_SEGMENT = frozenset({0x00, 0xFF, 0xD9, *_STANDALONE})  # EOI too: handled apart
_SEGMENT_HEAD = struct.Struct(">BBH")  # 0xFF, marker, length
_CHECKED_SEGMENTS = frozenset({0xDB, 0xC4, 0xC0, 0xC1, 0xC2, 0xDA})
# At a place where a marker is due: stray bytes, one or more 0xFF (fill), the marker byte.
_MARKER_DUE = re.compile(rb"([^\xff]*)(\xff+)([^\xff])", re.DOTALL)
# In entropy-coded data a 0xFF is followed by 0x00 (stuffing) or a restart marker; anything
# else is the next segment. (No "\xff+": a literal first byte keeps the search at memchr speed,
# and the last fill byte before a marker matches as well as the first.)
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_GIF_TRAILER, _GIF_EXTENSION, _GIF_IMAGE = 0x3B, 0x21, 0x2C
_FULL_SUBBLOCK = 255
_GIF_SCREEN = struct.Struct("<2H")  # logical screen width, height
_GIF_BOX = struct.Struct("<4H")  # image left, top, width, height
_WEBP_FIRST = frozenset({b"VP8 ", b"VP8L", b"VP8X"})
_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
# Segments a file sent byte for byte may hold before its first scan: APPn, COM, DQT, DHT, DRI and a
# baseline, extended or progressive Huffman frame. Anything else (arithmetic coding, lossless,
# hierarchical, unknown markers) is legal enough for libjpeg to try, so it is decoded, not sent.
_PLAIN_SEGMENTS = frozenset({*range(0xE0, 0xF0), 0xFE, 0xDB, 0xC4, 0xDD, 0xC0, 0xC1, 0xC2, 0xDA})


class Structure(NamedTuple):
    """What a header walk learnt: the container format and whether the file is complete.

    A named tuple rather than a frozen dataclass: built on every fast-path call, 10x cheaper.
    """

    format: str
    """``"JPEG"``, ``"PNG"``, ``"GIF"``, ``"WEBP"`` or ``"ICO"``."""
    complete: bool
    """Image data and end marker present: the file may be sent byte for byte."""
    pixels: int = 0
    """Width times height from the header, when the walk read one (JPEG frame, PNG IHDR)."""
    progressive: bool = False
    """A progressive JPEG: its scans are counted (:func:`check_scans`) even on the fast path."""
    late_exif: tuple[int, int] | None = None
    """Where the data of a PNG's last ``eXIf`` chunk after the pixels lies (start, end), when the
    walk met one with a valid CRC. Pillow finds such a chunk only after decoding; the walk passes
    every chunk header anyway, so the orientation costs no search of the file."""
    mpf: bool | None = None
    """A JPEG whose header holds a multi-picture index (APP2 ``MPF``): True or False once the walk
    passed every header segment, None when it stopped before the scan (then nobody knows)."""
    jpeg: JpegHeader | None = None
    """A complete JPEG's frame header and EXIF orientation (what
    :func:`~langchain_flexai.images._jpeg_header.probe_jpeg` reads), read on the walk's way; None
    for an incomplete file, or when a multi-picture index or no 8-bit frame came before the scan.
    """
    shown: tuple[int, int] | None = None
    """A complete GIF's size as decoders show it (the logical screen, grown to hold the first
    image), when only extension blocks came before that image and the screen is not empty; None
    otherwise. The walk passes the screen and the image descriptor anyway: the header probe
    (:mod:`langchain_flexai.images._still_header`) need not walk the blocks again."""

    def complete_as(self, fmt: str) -> bool:
        """Whether the file is complete and of Pillow's format ``fmt`` (MPO counts as JPEG)."""
        family = "JPEG" if fmt == "MPO" else fmt
        return self.complete and family == self.format


def _too_complex(what: str, cap: int, fmt: str) -> ImageInputError:
    return ImageInputError(
        f"the {fmt} file has more than {cap:,} {what}; no real image needs that many, and "
        "decoding it would cost seconds of CPU: refused before decoding (re-save the image with "
        "an ordinary encoder)",
        reason=ImageErrorReason.TOO_COMPLEX,
    )


def _no_image(fmt: str, what: str) -> ImageInputError:
    return ImageInputError(
        f"the {fmt} file holds no image data: {what}; it is damaged or was written without "
        "its pixels (re-export the image)",
        reason=ImageErrorReason.CORRUPT,
    )


def walk_header(data: bytes, max_decode_pixels: int) -> Structure | None:
    """Walk the container of a JPEG, PNG, GIF, WebP or ICO; None for any other format.

    Raises:
        ImageInputError: ``TOO_COMPLEX`` when a structural cap is passed; ``DECOMPRESSION_BOMB``
            when an image inside an ICO claims more than ``max_decode_pixels``; ``CORRUPT`` when
            the file ends, whole, without any image data.
    """
    if data.startswith(_SOI):
        return _walk_jpeg(data)
    if data.startswith(_PNG_SIGNATURE):
        return _walk_png(data, 0, len(data))
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _walk_gif(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _walk_webp(data)
    if data[:4] == b"\x00\x00\x01\x00":
        _walk_ico(data, max_decode_pixels)
        return Structure("ICO", complete=False)
    return None


# --- JPEG ------------------------------------------------------------------------------------


def _walk_jpeg(data: bytes) -> Structure:  # noqa: C901 - one loop over the segments
    """Segments from SOI to the first scan; complete when a scan with data ends in EOI.

    Stray bytes between segments and unusual markers are walked over (libjpeg tolerates them)
    but make the file incomplete: it is decoded rather than sent as it is. This runs on every
    fast-path call, hence the single ``unpack_from`` per segment and the regex only when odd.
    """
    pos, end, segments, padding, pixels = 2, len(data), 0, 0, 0
    plain, progressive, mpf = True, False, False
    # What probe_jpeg reads, read on the way: the first frame and the EXIF orientation before it.
    header: JpegHeader | None = None
    framed, orientation = False, 1
    while pos + 4 <= end:
        ff, marker, length = _SEGMENT_HEAD.unpack_from(data, pos)
        if ff != 0xFF or marker in _NOT_A_SEGMENT:  # noqa: PLR2004
            found = _MARKER_DUE.match(data, pos)
            if found is None:
                break
            padding += found.end() - pos - 2
            plain, marker, pos = False, found.group(3)[0], found.end() - 2
            if _not_a_segment(marker, padding) or pos + 4 > end:
                pos += 2
                continue
            length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        segments += 1
        if segments > MAX_JPEG_SEGMENTS:
            raise _too_complex("marker segments", MAX_JPEG_SEGMENTS, "JPEG")
        pos += 2
        if not 2 <= length <= end - pos:  # noqa: PLR2004
            break  # a segment cut short
        plain = plain and _segment_ok(marker, data, pos, length)
        mpf = mpf or (marker == _APP2 and data.startswith(_MPF, pos + 2))
        if marker in _SOF_MARKERS:
            pixels = max(pixels, _frame_pixels(data, pos, length))
            progressive = progressive or marker in _PROGRESSIVE
            if not framed:  # a multi-picture index before the frame: Pillow knows its frames
                framed = True
                header = None if mpf else frame_header(data, pos + 2, length, orientation)
        elif marker == _APP1 and not framed and data.startswith(_EXIF, pos + 2):
            orientation = exif_orientation(data[pos + 8 : pos + length]) or 1
        pos += length
        if marker == _SOS:
            complete = plain and _ends_after_scan_data(data, pos, pixels)
            return Structure(
                "JPEG",
                complete=complete,
                pixels=pixels,
                progressive=progressive,
                mpf=mpf,
                # Only a complete file's segments are exactly the ones probe_jpeg would read.
                jpeg=header if complete else None,
            )
    if data.startswith(b"\xff\xd9", pos):  # the loop stops 4 bytes short of the end
        raise _no_image("JPEG", "its end marker (EOI) comes before any scan data")
    return Structure("JPEG", complete=False, pixels=pixels, progressive=progressive)


def _ends_after_scan_data(data: bytes, pos: int, pixels: int) -> bool:
    """A frame header came first, scan data follows ``pos``, and the file ends with EOI.

    Zero padding after EOI is tolerated, as is a second picture after the first (MPO, gain
    maps) when the file ends with EOI too; any other trailer sends the file to the decoder.
    """
    tail = data.rstrip(b"\x00")
    return pixels > 0 and len(tail) > pos + 2 and tail.endswith(b"\xff\xd9")


def _not_a_segment(marker: int, padding: int) -> bool:
    """After odd bytes: whether the marker found stands alone.

    Raises:
        ImageInputError: ``TOO_COMPLEX`` for too many odd bytes; ``CORRUPT`` for an end of
            image before any scan (nothing a decoder could show).
    """
    if padding > MAX_PADDING_BYTES:
        raise _too_complex("fill or stray bytes between segments", MAX_PADDING_BYTES, "JPEG")
    if marker == _EOI:
        raise _no_image("JPEG", "its end marker (EOI) comes before any scan data")
    return marker in _STANDALONE or marker == 0  # 0xFF00 outside a scan: a stray 0xFF


def _segment_ok(marker: int, data: bytes, pos: int, length: int) -> bool:
    """Whether a segment may be in a file sent as it is (see :data:`_PLAIN_SEGMENTS`)."""
    if marker in _CHECKED_SEGMENTS:
        return _tables_ok(marker, data, pos, length)
    return marker in _PLAIN_SEGMENTS


def _tables_ok(marker: int, data: bytes, pos: int, length: int) -> bool:
    """Whether a DQT, DHT, SOF or SOS segment is laid out exactly as its own counts say.

    A damaged table often still parses in libjpeg's eyes; these few bytes decide whether the
    entropy data can be read at all, so a file sent as it is must have them right.
    """
    body, end = pos + 2, pos + length
    if marker == _DQT:
        return _dqt_ok(data, body, end)
    if marker == _DHT:
        return _dht_ok(data, body, end)
    if marker in _SOF_MARKERS:  # 8-bit samples, 1 or 3 components of 3 bytes each
        components = data[pos + 7] if length >= 8 else 0  # noqa: PLR2004
        return data[body] == 8 and components in (1, 3) and length == 8 + 3 * components  # noqa: PLR2004
    if marker == _SOS:  # 1-4 components of 2 bytes each, then 3 bytes of spectral selection
        return 1 <= data[body] <= 4 and length == 6 + 2 * data[body]  # noqa: PLR2004
    return True


def _dqt_ok(data: bytes, body: int, end: int) -> bool:
    """(precision, table id), then 64 or 128 bytes; repeated to the segment's end."""
    while body < end:
        precision, table = data[body] >> 4, data[body] & 15
        if precision > 1 or table > 3:  # noqa: PLR2004
            return False
        body += 1 + 64 * (precision + 1)
    return body == end


def _dht_ok(data: bytes, body: int, end: int) -> bool:
    """(class, table id), 16 code counts, the symbols; repeated to the segment's end."""
    while body < end:
        if data[body] >> 4 > 1 or data[body] & 15 > 3 or body + 17 > end:  # noqa: PLR2004
            return False
        body += 17 + sum(data[body + 1 : body + 17])
    return body == end


def _frame_pixels(data: bytes, pos: int, length: int) -> int:
    if length < 8:  # noqa: PLR2004 - length, precision, height, width, components
        return 0
    height = int.from_bytes(data[pos + 3 : pos + 5], "big")
    width = int.from_bytes(data[pos + 5 : pos + 7], "big")
    return width * height


def check_scans(data: bytes) -> None:
    """Count a JPEG's scans through its entropy-coded data, before libjpeg decodes them.

    Raises:
        ImageInputError: ``TOO_COMPLEX`` past :data:`MAX_JPEG_SCANS`,
            :data:`MAX_JPEG_SCAN_MEGAPIXELS` or :data:`MAX_JPEG_SEGMENTS`.
    """
    if not data.startswith(_SOI):
        return
    scans = pixels = 0
    for segments, (marker, pos, length) in enumerate(_all_segments(data), start=1):
        if segments > MAX_JPEG_SEGMENTS:
            raise _too_complex("marker segments", MAX_JPEG_SEGMENTS, "JPEG")
        if marker in _SOF_MARKERS:
            pixels = max(pixels, _frame_pixels(data, pos, length))
        elif marker == _SOS:
            scans += 1
            if scans > MAX_JPEG_SCANS:
                raise _too_complex("scans", MAX_JPEG_SCANS, "JPEG")
            if scans * pixels > MAX_JPEG_SCAN_MEGAPIXELS * 1_000_000:
                raise ImageInputError(
                    f"the JPEG has {scans} or more scans over {pixels / 1e6:.1f} megapixels, "
                    f"more than {MAX_JPEG_SCAN_MEGAPIXELS:,} scan-megapixels: decoding it would "
                    "cost seconds of CPU; refused before decoding (re-save it as a baseline JPEG)",
                    reason=ImageErrorReason.TOO_COMPLEX,
                )


def _all_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, offset of its length field, length) of every segment, scans' data jumped over."""
    pos, end = 2, len(data)
    while (found := _MARKER_DUE.match(data, pos)) is not None:
        marker, pos = found.group(3)[0], found.end()
        if marker in _STANDALONE or marker == 0:
            continue
        if marker == _EOI or pos + 2 > end:
            return
        length = max(int.from_bytes(data[pos : pos + 2], "big"), 2)
        yield marker, pos, length
        pos += length
        if marker == _SOS:
            following = _NEXT_MARKER.search(data, pos)  # C speed through the entropy data
            if following is None:
                return
            pos = following.start()


# --- PNG -------------------------------------------------------------------------------------


def _walk_png(data: bytes, start: int, end: int) -> Structure:
    """Every chunk header, capped; CRCs checked except over pixel data (left to the decoder)."""
    pos, chunks, metadata, pixels, seen_idat = start + 8, 0, 0, 0, False
    late_exif: tuple[int, int] | None = None
    while pos + 12 <= end:
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = pos + 8
        if length > 0x7FFFFFFF or body + length + 4 > end:  # noqa: PLR2004 - PNG's own maximum
            break
        chunks += 1
        if chunks > MAX_PNG_CHUNKS:
            raise _too_complex("chunks", MAX_PNG_CHUNKS, "PNG")
        if chunks == 1 and kind == b"IHDR" and length >= 8:  # noqa: PLR2004
            width, height = struct.unpack_from(">II", data, body)
            pixels = width * height
        elif chunks == 1:
            break
        if kind in _PNG_IMAGE_CHUNKS:
            seen_idat = seen_idat or kind == b"IDAT"
        else:
            metadata = _one_more_metadata_chunk(metadata)
            if not _crc_ok(data, pos, length):  # Pillow checks these; IDAT's would cost 1 ms/MB
                break
            if kind == _PNG_IEND:
                if not seen_idat:
                    raise _no_image("PNG", "its IEND chunk comes before any IDAT chunk")
                return Structure(
                    "PNG", complete=body + 4 == end, pixels=pixels, late_exif=late_exif
                )
            late_exif = (body, body + length) if kind == _PNG_EXIF and seen_idat else late_exif
        pos = body + length + 4
    return Structure("PNG", complete=False, pixels=pixels, late_exif=late_exif)


def _one_more_metadata_chunk(metadata: int) -> int:
    if metadata >= MAX_PNG_METADATA_CHUNKS:
        raise _too_complex(
            "metadata chunks (other than IDAT, fcTL, fdAT)", MAX_PNG_METADATA_CHUNKS, "PNG"
        )
    return metadata + 1


def _crc_ok(data: bytes, pos: int, length: int) -> bool:
    view = memoryview(data)[pos + 4 : pos + 8 + length]
    return zlib.crc32(view) == int.from_bytes(data[pos + 8 + length : pos + 12 + length], "big")


# --- GIF -------------------------------------------------------------------------------------


def _skip_subblocks(data: bytes, pos: int, budget: int) -> tuple[int, int]:
    """(offset after a sub-block chain's terminator or -1 if the data ends first, sub-blocks).

    Stops counting at ``budget + 1`` sub-blocks: the caller refuses past its cap.
    """
    end, count = len(data), 0
    while pos < end and count <= budget:
        size = data[pos]
        if size == _FULL_SUBBLOCK:
            # Encoders write 255-byte sub-blocks: count a run of them at C speed, every 256th
            # byte being the next one's length.
            run = data[pos : pos + 256 * (budget - count + 1) : 256]
            full = len(run) - len(run.lstrip(b"\xff"))
            count, pos = count + full, pos + 256 * full
            continue
        count += 1
        if size == 0:
            return pos + 1, count
        pos += size + 1
    return -1, count


def _walk_gif(data: bytes) -> Structure:  # noqa: C901, PLR0912 - one loop, counters in locals
    """Blocks up to the trailer, or the second image (an animation is never sent as it is).

    Counts what Pillow would read one by one in Python. One function with local counters: it
    runs on every GIF's fast path, where each call and attribute costs a share of the budget.
    """
    end = len(data)
    if end < 13:  # noqa: PLR2004 - header + logical screen descriptor
        return Structure("GIF", complete=False)
    flags, pos = data[10], 13
    if flags & 0x80:
        pos += 3 << ((flags & 7) + 1)
    images = extensions = extension_subblocks = padding = 0
    shown: tuple[int, int] | None = None
    while 0 <= pos < end:
        block = data[pos]
        if block == _GIF_TRAILER:
            if not images:
                raise _no_image("GIF", "its trailer comes before any image")
            return Structure("GIF", True, 0, False, None, None, None, shown)  # noqa: FBT003 - positional: faster
        if block == _GIF_EXTENSION:  # introducer, label, sub-blocks
            extensions += 1
            if extensions > MAX_GIF_EXTENSIONS:
                raise _too_complex("extension blocks", MAX_GIF_EXTENSIONS, "GIF")
            budget = MAX_GIF_EXTENSION_SUBBLOCKS - extension_subblocks
            pos, count = _skip_subblocks(data, pos + 2, budget)
            extension_subblocks += count
            if extension_subblocks > MAX_GIF_EXTENSION_SUBBLOCKS:
                raise _too_complex(
                    "data sub-blocks in its extensions", MAX_GIF_EXTENSION_SUBBLOCKS, "GIF"
                )
        elif block == _GIF_IMAGE:  # descriptor, local palette, LZW code size, sub-blocks
            images += 1
            if images > 1 or pos + 10 > end:
                break
            if not padding:  # stray bytes before the image: Pillow decides what is shown
                shown = _gif_shown(data, pos)
            local = data[pos + 9]
            pos += 11 + ((3 << ((local & 7) + 1)) if local & 0x80 else 0)
            pos, count = _skip_subblocks(data, pos, MAX_GIF_SUBBLOCKS)
            if count > MAX_GIF_SUBBLOCKS:
                raise _too_complex("image data sub-blocks", MAX_GIF_SUBBLOCKS, "GIF")
        else:
            # Pillow skips unknown bytes one at a time; so may we, within a bound.
            padding += 1
            if padding > MAX_PADDING_BYTES:
                raise _too_complex("stray bytes between its blocks", MAX_PADDING_BYTES, "GIF")
            pos += 1
    return Structure("GIF", complete=False)


def _gif_shown(data: bytes, pos: int) -> tuple[int, int] | None:
    """The screen grown to hold the image whose descriptor is at ``pos``; None if it is empty.

    As Pillow and browsers show a still GIF whose image reaches past the logical screen.
    """
    screen_width, screen_height = _GIF_SCREEN.unpack_from(data, 6)
    if not screen_width or not screen_height:
        return None
    left, top, width, height = _GIF_BOX.unpack_from(data, pos + 1)
    return max(screen_width, left + width), max(screen_height, top + height)


# --- WebP ------------------------------------------------------------------------------------


def _walk_webp(data: bytes) -> Structure:
    riff_end = int.from_bytes(data[4:8], "little") + 8
    if riff_end > len(data):
        return Structure("WEBP", complete=False)
    pos, chunks, has_image, first = 12, 0, False, b""
    while pos + 8 <= riff_end:
        kind = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        chunks += 1
        if chunks > MAX_WEBP_CHUNKS:
            raise _too_complex("chunks", MAX_WEBP_CHUNKS, "WebP")
        if chunks == 1:
            first = kind
        has_image = has_image or _webp_image_chunk(data, pos, kind)
        pos += 8 + size + (size & 1)
    # A missing pad byte after an odd-sized last chunk is a common writer slip: tolerated.
    whole = pos in (riff_end, riff_end + 1)
    if whole and not has_image:
        raise _no_image("WebP", "none of its chunks is an image (VP8, VP8L or animation frames)")
    return Structure("WEBP", complete=whole and has_image and first in _WEBP_FIRST)


def _webp_image_chunk(data: bytes, pos: int, kind: bytes) -> bool:
    """An image chunk with its bitstream's signature (VP8: start code; VP8L: 0x2F); or a frame."""
    if kind == b"VP8 ":
        return data[pos + 11 : pos + 14] == b"\x9d\x01\x2a"
    if kind == b"VP8L":
        return data[pos + 8 : pos + 9] == b"\x2f"
    return kind == b"ANMF"


# --- ICO -------------------------------------------------------------------------------------


def _walk_ico(data: bytes, max_decode_pixels: int) -> None:
    """Check each embedded image's own header before Pillow opens (and decodes) the largest.

    The directory's one-byte width and height say at most 256; what counts is the embedded
    PNG's IHDR or the BMP's info header, which Pillow trusts while reading the ICO header.
    """
    count = int.from_bytes(data[4:6], "little")
    if count > MAX_ICO_ENTRIES:
        raise _too_complex("images", MAX_ICO_ENTRIES, "ICO")
    for index in range(count):
        entry = 6 + 16 * index
        if entry + 16 > len(data):
            return
        size, offset = struct.unpack_from("<II", data, entry + 8)
        stop = min(len(data), offset + size)
        if data.startswith(_PNG_SIGNATURE, offset):
            pixels = _walk_png(data, offset, stop).pixels
            what = "PNG"
        elif offset + 12 <= stop:
            width, height = struct.unpack_from("<ii", data, offset + 4)
            pixels = abs(width) * (abs(height) // 2)  # the height covers the AND mask too
            what = "BMP"
        else:
            continue
        if pixels > max_decode_pixels:
            raise ImageInputError(
                f"image {index + 1} inside the ICO is a {what} claiming {pixels} pixels, more "
                f"than the policy's decode limit of {max_decode_pixels} "
                "(ImagePolicy.max_decode_pixels); refused without decoding",
                reason=ImageErrorReason.DECOMPRESSION_BOMB,
            )
