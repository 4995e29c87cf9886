"""Sniff, probe, decode and re-encode image bytes under an :class:`ImagePolicy`.

Knows Pillow, pixel modes and the four formats FlexAI accepts; knows nothing about base64, URLs,
caching or LangChain. Every Pillow failure is turned into an :class:`ImageInputError` here.

The routes, in order:

1. **Header probe** (no pixel decode). The image is identified with the Pillow plugins in
   :data:`OPEN_FORMATS` only, straight through Pillow's plugin registry rather than ``Image.open``,
   so that Pillow's process-wide ``Image.MAX_IMAGE_PIXELS`` neither refuses nor warns about a legit
   image within *our* limit; ``width * height`` is then checked against
   ``policy.max_decode_pixels`` before anything is decoded.
2. **Fast path**: JPEG, PNG, WebP or a still GIF within every limit, upright, in a mode that
   displays as is, and complete (its image data and end marker found by the structural walk of
   :mod:`langchain_flexai.images._structure`) is sent byte for byte.
3. **Slow path**: decode (JPEG with DCT scaling through ``Image.draft``), downscale, rotate upright
   (after downscaling: fewer pixels to move), normalise the pixel mode, encode.

Before all three, a multi-picture JPEG (MPO, gain-map HDR) is cut to its primary picture
(:mod:`langchain_flexai.images._mpo`). Bytes no plugin here opens are named by
:mod:`langchain_flexai.images._formats` (``UNSUPPORTED_FORMAT``) unless they are no image at all.
The decode limit is a share of ``max_decode_pixels`` per format (:func:`decode_limit`). An APNG's
animation chunks are never passed through, whatever its frame count says.

The output-format rule of the slow path: PNG when the image has real transparency (alpha kept), is a
palette or bilevel image, or is small (long side <= 256 px: icons, diagrams) and not from a JPEG;
JPEG otherwise
(baseline, ``policy.jpeg_quality``, no ``optimize``/``progressive``: 2-5x cheaper for ~5% bytes).
An alpha channel that is fully opaque counts as no alpha. If the result exceeds ``max_bytes``, a
PNG becomes a JPEG (transparency flattened on white, recorded as ``"flattened"``), then the JPEG
quality steps down, then the size steps down, and finally :attr:`ImageErrorReason.TOO_LARGE`.

Structure: before any of this, :mod:`langchain_flexai.images._structure` walks the container
(segments, chunks, blocks) and refuses counts no real image has, so that no route costs seconds,
and a file that ends whole without image data. Truncation: the fast path never decodes, so it
relies on that walk's ``complete`` (JPEG: a frame, a scan with data and EOI at the end; PNG: IHDR,
IDAT, IEND; GIF: an image and the trailer; WebP: the RIFF size present and an image chunk). An
image failing that check goes to the slow path, whose full decode (with
``ImageFile.LOAD_TRUNCATED_IMAGES`` left at Pillow's default ``False``) refuses a truncated file
as :attr:`ImageErrorReason.CORRUPT`. Damage in the middle of a complete-looking file is not
detected on the fast path.
"""

from __future__ import annotations

import importlib
import io
import math
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from PIL import Image, ImageFile, JpegImagePlugin

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._formats import unsupported_format
from langchain_flexai.images._jpeg_header import probe_jpeg
from langchain_flexai.images._mpo import PrimaryPicture, primary_picture
from langchain_flexai.images._orientation import orientation_of
from langchain_flexai.images._structure import Structure, check_scans, walk_header

if TYPE_CHECKING:
    from langchain_flexai.images._doors import ImagePolicy

OPEN_FORMATS: tuple[str, ...] = (
    # Common first: identification tries these in order.
    "JPEG",
    "PNG",
    "WEBP",
    "GIF",
    "HEIF",
    "AVIF",
    "BMP",
    "DIB",
    "TIFF",
    "ICO",
    "PPM",
    "TGA",
    "QOI",
    "PCX",
    "SGI",
    "JPEG2000",
)
"""Pillow formats we open and convert (see docs/images.md, "Formats", for why these).

Deliberately excluded: EPS/PS (Pillow runs Ghostscript), PSD (its composite may not show the
layers), ICNS and CUR (containers of embedded PNGs), DDS (uncompressed textures go through a
pure-Python decoder), FITS (needs a stretch only the user can choose), XPM and the rest of
Pillow's plugins (rare, text or pure-Python decoders); :mod:`langchain_flexai.images._formats`
names them when refused."""

_PLUGIN_MODULES = (
    "WebPImagePlugin",
    "AvifImagePlugin",
    "TiffImagePlugin",
    "IcoImagePlugin",
    "TgaImagePlugin",
    "QoiImagePlugin",
    "PcxImagePlugin",
    "SgiImagePlugin",
    "Jpeg2KImagePlugin",
)
_WIRE_MIME = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # camera JPEGs with an appended depth/preview image: a valid JPEG
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
_FAST_MODES = {
    "JPEG": frozenset({"L", "RGB"}),  # CMYK JPEGs display wrongly in many decoders
    "MPO": frozenset({"L", "RGB"}),
    "PNG": frozenset({"1", "L", "LA", "P", "RGB", "RGBA"}),
    "WEBP": frozenset({"RGB", "RGBA"}),
    "GIF": frozenset({"L", "P"}),
}
_CAN_ANIMATE = frozenset({"GIF", "PNG", "WEBP"})
_MAGIC_PREFIXES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00")
_LONGEST_MAGIC = max(len(m) for m in _MAGIC_PREFIXES)
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SMALL_SIDE = 256
_PNG_COMPRESS_LEVEL = 3  # zlib-ng level 3: near level-6 size at a fraction of the time
_DRAFT_SLACK = 0.9  # accept a DCT scale within 10% under the target instead of resampling
_QUALITY_LADDER = (75, 60, 45)
_SHRINK_STEP = 0.75
_MIN_SIDE = 16
PYTHON_DECODER_MAX_BYTES = 3 * 1024 * 1024
"""Most input bytes handed to one of Pillow's pure-Python decoders (see check_python_decoder)."""
_DECODE_SHARE = {"JPEG": 1, "MPO": 1, "WEBP": 4}
_FULL_SIZE_SHARE = 2
_RESIZE_BEFORE_CONVERT = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
_PLAIN_MODES = frozenset({"1", "L", "LA", "P", "PA", "RGB", "RGBA"})
_RGB_FAMILY = frozenset({"RGB", "RGBA", "RGBX", "RGBa", "P", "PA"})
_GRAY_FAMILY = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})

_heif_lock = threading.Lock()
_heif_registered = False
_plugins_lock = threading.Lock()
_plugins_ready = False


@dataclass(frozen=True)
class Encoded:
    """What the codec produced: the bytes to send and what happened to them."""

    data: bytes
    mime_type: str
    width: int
    height: int
    original_mime_type: str | None
    original_width: int
    original_height: int
    transformations: tuple[str, ...]
    passthrough: bool
    """True when ``data`` is the input bytes unchanged (the fast path)."""


def _error(reason: ImageErrorReason, detail: str) -> ImageInputError:
    return ImageInputError(detail, reason=reason)


def _bytes(count: int) -> str:
    return "1 byte" if count == 1 else f"{count} bytes"


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
    """Turn anything Pillow raises on hostile or damaged input into an ImageInputError."""
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


def _ensure_plugins() -> None:
    global _plugins_ready  # noqa: PLW0603 - one-time, lock-guarded plugin import
    if _plugins_ready:
        return
    with _plugins_lock:
        # Only the plugins we open: Image.init() would import every plugin Pillow has.
        Image.preinit()
        for module in _PLUGIN_MODULES:
            _import_plugin(module)
        _plugins_ready = True


def _has_image_magic(data: bytes) -> bool:
    # Bytes that announce an image format make a failure "corrupt" rather than "not an image".
    return (
        data.startswith(_MAGIC_PREFIXES)
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
        or data[4:8] == b"ftyp"
    )


def _import_plugin(module: str) -> None:
    try:
        importlib.import_module(f"PIL.{module}")
    except ImportError:  # a plugin this Pillow build lacks (e.g. AVIF before 11.2)
        return


def is_heif(data: bytes) -> bool:
    """Whether the bytes are an ISO-BMFF HEIF/HEIC file (AVIF excluded: Pillow reads that)."""
    if data[4:8] != b"ftyp":
        return False
    box_end = min(int.from_bytes(data[0:4], "big"), len(data), 256)
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, box_end - 3, 4)}
    return bool(brands & _HEIF_BRANDS) and not (brands & _AVIF_BRANDS)


def _ensure_heif_opener() -> None:
    global _heif_registered  # noqa: PLW0603 - one-time, lock-guarded registration
    try:
        pillow_heif = importlib.import_module("pillow_heif")
    except ImportError:
        raise _error(
            ImageErrorReason.MISSING_EXTRA,
            'HEIC/HEIF images need the "heif" extra: pip install "langchain-flexai[heif]"',
        ) from None
    with _heif_lock:
        if not _heif_registered:
            pillow_heif.register_heif_opener()
            _heif_registered = True


def _accepts(accept: Callable[[bytes], object], prefix: bytes) -> bool:
    try:
        accepted = accept(prefix)
    except (struct.error, IndexError):  # some plugins' checks assume a long prefix
        return False
    return bool(accepted) and not isinstance(accepted, str)


def _header_failure(name: str, data: bytes, exc: BaseException) -> ImageInputError:
    if is_truncation(exc):
        return _error(
            ImageErrorReason.CORRUPT,
            f"the file is truncated: its {_bytes(len(data))} end inside the {name} header",
        )
    return _error(
        ImageErrorReason.CORRUPT,
        f"the data starts like a {name} image but its header cannot be read: {exc}",
    )


def identify(data: bytes) -> ImageFile.ImageFile:
    """Read the header only; the pixels stay undecoded.

    Raises:
        ImageInputError: EMPTY, NOT_AN_IMAGE, MISSING_EXTRA or CORRUPT.
    """
    if not data:
        raise _error(ImageErrorReason.EMPTY, "the image data is empty (0 bytes)")
    if is_heif(data):
        _ensure_heif_opener()
    _ensure_plugins()
    prefix = data[:16]
    fp = io.BytesIO(data)
    for name in OPEN_FORMATS:
        entry = Image.OPEN.get(name)
        if entry is None:
            continue
        factory, accept = entry
        if accept is not None and not _accepts(accept, prefix):
            continue
        fp.seek(0)
        try:
            # Same as Image.open's inner loop, minus its MAX_IMAGE_PIXELS check (see module doc).
            return factory(fp, "")
        except (
            SyntaxError,
            IndexError,
            TypeError,
            ValueError,
            EOFError,
            OSError,
            struct.error,
        ) as exc:
            if _has_image_magic(data):
                raise _header_failure(name, data, exc) from exc
    raise _unidentified(data)


def _unidentified(data: bytes) -> ImageInputError:
    """Why no plugin we open took the data: cut short, damaged, another format, or no image."""
    if len(data) < _LONGEST_MAGIC and any(m.startswith(data) for m in _MAGIC_PREFIXES):
        return _error(
            ImageErrorReason.CORRUPT,
            f"the file is truncated: its {_bytes(len(data))} end inside an image signature",
        )
    refused = unsupported_format(data, OPEN_FORMATS)
    if refused is not None:
        return refused
    if _has_image_magic(data):
        return _error(ImageErrorReason.CORRUPT, "the image header is damaged or truncated")
    return _error(
        ImageErrorReason.NOT_AN_IMAGE,
        "the data is not an image in a format we can read (JPEG, PNG, WebP, GIF, HEIC, AVIF, "
        "BMP, TIFF, ICO, PPM, ...)",
    )


def mime_of(fmt: str | None) -> str | None:
    """The MIME type of a Pillow format name (MPO counts as JPEG)."""
    if fmt is None:
        return None
    return _WIRE_MIME.get(fmt) or Image.MIME.get(fmt) or f"image/{fmt.lower()}"


def orientation_from_info(im: Image.Image, data: bytes | None = None) -> int:
    """The orientation to undo, from metadata only (see `images._orientation`).

    ``getexif()`` on a PNG decodes the whole image; parsing ``info["exif"]`` costs microseconds.
    """
    return orientation_of(im, data)


def fit_size(width: int, height: int, policy: ImagePolicy) -> tuple[int, int]:
    """The largest size with the same aspect within max_side and max_pixels; never larger."""
    scale = min(1.0, policy.max_side / max(width, height))
    if width * height * scale * scale > policy.max_pixels:
        scale = math.sqrt(policy.max_pixels / (width * height))
    if scale >= 1.0:
        return width, height
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def _fits(size: tuple[int, int], policy: ImagePolicy) -> bool:
    w, h = size
    return max(w, h) <= policy.max_side and w * h <= policy.max_pixels


def _has_apng_control(data: bytes) -> bool:
    # acTL must come before the first IDAT; a later one is ignored by every decoder.
    idat = data.find(b"IDAT")
    return data.find(b"acTL", 0, idat if idat >= 0 else len(data)) >= 0


def _png_is_16_bit(data: bytes) -> bool:
    # IHDR bit depth: 8-byte signature + 4 length + 4 type + 4 width + 4 height.
    return len(data) > 24 and data[24] == 16  # noqa: PLR2004


def check_animation(im: Image.Image, fmt: str | None, policy: ImagePolicy) -> bool:
    """Whether the image is animated (``is_animated``: never ``n_frames``, which walks every frame).

    Raises:
        ImageInputError: ANIMATED when the policy refuses animated images.
    """
    animated = fmt in _CAN_ANIMATE and bool(getattr(im, "is_animated", False))
    if animated and policy.animated == "error":
        raise _error(
            ImageErrorReason.ANIMATED,
            "animated images are refused by the policy (ImagePolicy(animated='error')); "
            "send a still image or use animated='first_frame'",
        )
    return animated


def input_too_large(size: int, policy: ImagePolicy, *, at_least: bool = False) -> ImageInputError:
    """The error for input over ``policy.max_input_bytes`` (``at_least``: base64 not decoded)."""
    has = f"at least {size}" if at_least else str(size)
    return _error(
        ImageErrorReason.TOO_LARGE,
        f"the image data has {has} bytes, more than the policy's input limit of "
        f"{policy.max_input_bytes} bytes (ImagePolicy.max_input_bytes); send a smaller file "
        "or raise the limit",
    )


def decode_limit(policy: ImagePolicy, fmt: str | None) -> tuple[int, str]:
    """The most pixels ``fmt`` may claim under ``policy``, and why it differs from the field.

    ``max_decode_pixels`` is the limit for JPEG, which is decoded at 1/2 to 1/8 scale (DCT
    scaling), and for an image already in memory. Every other format is decoded at full size
    before the downscale, at several bytes a pixel, so it gets a share of the limit sized to keep
    the peak memory and CPU documented in docs/images.md ("Formats and their cost"): half, and a
    quarter for WebP, whose decoder (libwebp's, through Pillow) holds four full RGBA copies.
    """
    share = 1 if fmt is None else _DECODE_SHARE.get(fmt, _FULL_SIZE_SHARE)
    if share == 1:
        return policy.max_decode_pixels, ""
    limit = max(policy.max_pixels, policy.max_decode_pixels // share)
    return limit, f" ({fmt} is decoded at full size: it gets 1/{share} of that limit)"


def check_pixels(width: int, height: int, policy: ImagePolicy, fmt: str | None = None) -> None:
    """Refuse a decompression bomb from its header size, before any decode."""
    if width <= 0 or height <= 0:
        raise _error(ImageErrorReason.CORRUPT, f"the image claims an empty size {width}x{height}")
    limit, why = decode_limit(policy, fmt)
    if width * height > limit:
        raise _error(
            ImageErrorReason.DECOMPRESSION_BOMB,
            f"the image claims {width}x{height} = {width * height} pixels, more than the policy's "
            f"decode limit of {limit}{why} (ImagePolicy.max_decode_pixels); "
            "refused without decoding",
        )


def check_python_decoder(im: ImageFile.ImageFile, size: int) -> None:
    """Refuse a large input that one of Pillow's pure-Python decoders would have to read.

    Pillow decodes QOI, RLE-compressed BMP, plain-text PPM and 16-bit SGI in Python: about 0.4 to
    0.8 s of CPU per MB of input whatever the pixel count (a QOI of 64 MiB would take 45 s). Those
    decoders are exactly the ones registered in ``Image.DECODERS``; the C ones live in Pillow's
    core. Up to :data:`PYTHON_DECODER_MAX_BYTES` they cost at most about 2 s.
    """
    codecs = {tile[0] for tile in im.tile}
    if size > PYTHON_DECODER_MAX_BYTES and codecs & set(Image.DECODERS):
        raise _error(
            ImageErrorReason.TOO_LARGE,
            f"this {im.format} image ({size} bytes) would be decoded by Pillow's pure-Python "
            f"decoder, which costs about a second per MB; at most {PYTHON_DECODER_MAX_BYTES} "
            "bytes are decoded that way: convert it to PNG first",
        )


def _compliant_jpeg(
    data: bytes, policy: ImagePolicy, declared_mime: str | None, structure: Structure | None
) -> Encoded | None:
    """The fast path for the commonest input, without Pillow: None unless it applies."""
    header = probe_jpeg(data)
    if header is None or header.components not in (1, 3):
        return None
    size = (header.width, header.height)
    orientation = header.orientation if policy.exif_transpose else 1
    if (
        orientation != 1
        or not _fits(size, policy)
        or len(data) > policy.max_bytes
        or structure is None
        or not structure.complete_as("JPEG")
    ):
        return None
    check_pixels(header.width, header.height, policy)
    mime = _WIRE_MIME["JPEG"]
    corrected = declared_mime is not None and declared_mime != mime
    return Encoded(
        data=data,
        mime_type=mime,
        width=header.width,
        height=header.height,
        original_mime_type=mime,
        original_width=header.width,
        original_height=header.height,
        transformations=("mime_corrected",) if corrected else (),
        passthrough=True,
    )


def _primary_only(
    primary: PrimaryPicture, policy: ImagePolicy, declared_mime: str | None
) -> Encoded:
    """A multi-picture JPEG as its primary picture alone, recorded as ``primary_picture``."""
    if primary.data is not None:
        # Cut without decoding: a compliant primary still takes the fast path below.
        done = encode_bytes(primary.data, policy, declared_mime)
        head = ("mime_corrected",) if "mime_corrected" in done.transformations else ()
        rest = tuple(t for t in done.transformations if t != "mime_corrected")
        return replace(done, transformations=(*head, "primary_picture", *rest), passthrough=False)
    # A damaged index: Pillow's plain JPEG reader (not its MPO adapter, which trusts the index)
    # decodes the first picture only, since libjpeg stops at the first EOI; re-encoded.
    with pillow_errors():
        im = JpegImagePlugin.JpegImageFile(io.BytesIO(primary.whole))
        check_pixels(*im.size, policy)
        check_scans(primary.whole)  # libjpeg is about to decode every scan of the first picture
        orientation = orientation_from_info(im) if policy.exif_transpose else 1
        out, mime, steps = render(
            im,
            src_format="JPEG",
            orientation=orientation,
            policy=policy,
            allow_draft=True,
            owned=True,
            explained=True,
            keep_exif=None if policy.exif_transpose else im.info.get("exif"),
        )
    corrected = declared_mime is not None and declared_mime != "image/jpeg"
    return Encoded(
        data=out.data,
        mime_type=mime,
        width=out.width,
        height=out.height,
        original_mime_type="image/jpeg",
        original_width=im.width,
        original_height=im.height,
        transformations=(*(("mime_corrected",) if corrected else ()), "primary_picture", *steps),
        passthrough=False,
    )


def encode_bytes(data: bytes, policy: ImagePolicy, declared_mime: str | None) -> Encoded:
    """Prepare image bytes: fast path when compliant, slow path otherwise."""
    if len(data) > policy.max_input_bytes:
        raise input_too_large(len(data), policy)
    # Structure first: the caps bound what Pillow's plugins would walk (see _image_structure).
    structure = walk_header(data, policy.max_decode_pixels)
    if structure is not None and structure.progressive:
        check_scans(data)  # even for the fast path: FlexAI's decoder would pay for the scans
    primary = primary_picture(data)
    if primary is not None:
        return _primary_only(primary, policy, declared_mime)
    fast = _compliant_jpeg(data, policy, declared_mime, structure)
    if fast is not None:
        return fast
    with pillow_errors():
        im = identify(data)
        fmt = im.format or ""
        width, height = im.size
        check_pixels(width, height, policy, fmt)
        check_python_decoder(im, len(data))
        original_mime = mime_of(fmt)
        head: list[str] = []
        if declared_mime is not None and declared_mime != original_mime:
            head.append("mime_corrected")
        animated = check_animation(im, fmt, policy)
        # APNG chunks under a frame count of 0 or 1 (or one that lies) are no valid still PNG for
        # every decoder: sent as the default image, re-encoded like an animation's first frame.
        animated = animated or (fmt == "PNG" and _has_apng_control(data))
        orientation = orientation_from_info(im, data) if policy.exif_transpose else 1
        wire_mime = _WIRE_MIME.get(fmt)
        if (
            wire_mime is not None
            and not animated
            and orientation == 1
            and im.mode in _FAST_MODES[fmt]
            and _fits((width, height), policy)
            and len(data) <= policy.max_bytes
            and structure is not None
            and structure.complete_as(fmt)
            and not (fmt == "PNG" and _png_is_16_bit(data))
        ):
            return Encoded(
                data=data,
                mime_type=wire_mime,
                width=width,
                height=height,
                original_mime_type=original_mime,
                original_width=width,
                original_height=height,
                transformations=tuple(head),
                passthrough=True,
            )
        if animated:
            head.append("first_frame")
        if fmt in ("JPEG", "MPO") and not (structure is not None and structure.progressive):
            check_scans(data)  # libjpeg is about to decode every scan
        if fmt == "TIFF" and getattr(im, "tag_v2", {}).get(0x0112, 1) in _TRANSPOSE:
            head.append("transposed")  # Pillow's TIFF reader turns it upright as it decodes
        out, mime, steps = render(
            im,
            src_format=fmt,
            orientation=orientation,
            policy=policy,
            allow_draft=fmt in ("JPEG", "MPO"),
            owned=True,
            explained=animated,
            keep_exif=None if policy.exif_transpose else im.info.get("exif"),
        )
    return Encoded(
        data=out.data,
        mime_type=mime,
        width=out.width,
        height=out.height,
        original_mime_type=original_mime,
        original_width=width,
        original_height=height,
        transformations=(*head, *steps),
        passthrough=False,
    )


@dataclass(frozen=True)
class _Out:
    data: bytes
    width: int
    height: int


def _draft_for(im: Image.Image, target: tuple[int, int]) -> None:
    """Ask libjpeg to decode at the largest DCT scale (1/2, 1/4, 1/8) not far under the target."""
    w, h = im.size
    for s in (8, 4, 2):
        sw, sh = -(-w // s), -(-h // s)
        if sw >= target[0] * _DRAFT_SLACK and sh >= target[1] * _DRAFT_SLACK:
            im.draft(None, (w // s, h // s))
            return


def _to_standard_mode(im: Image.Image) -> Image.Image:
    """Bring any mode to L, LA, RGB or RGBA (alpha kept, 16/32-bit and float scaled to 8-bit)."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        result = im
    elif mode in ("P", "PA"):
        transparent = mode == "PA" or "transparency" in im.info
        result = im.convert("RGBA" if transparent else "RGB")
    elif mode == "1":
        result = im.convert("L")
    elif mode.startswith("I;16"):
        # convert("L") would clip 16-bit values at 255; scale the full range instead.
        result = im.convert("I").point(lambda v: v / 257).convert("L")
    elif mode in ("I", "F"):
        result = _stretch_to_l(im)
    elif mode == "La":
        result = im.convert("LA")
    elif "A" in mode or mode == "RGBa":
        result = im.convert("RGBA")
    else:
        result = im.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX
    return result


def _stretch_to_l(im: Image.Image) -> Image.Image:
    lo, hi = im.getextrema()
    if not isinstance(lo, (int, float)) or not isinstance(hi, (int, float)):
        return im.convert("L")
    if im.mode == "F" and lo >= 0 and hi <= 1:
        return im.point(lambda v: v * 255).convert("L")  # the usual float convention: 0.0-1.0
    if lo >= 0 and hi <= 255:  # noqa: PLR2004
        return im.convert("L")
    span = (hi - lo) or 1
    return im.point(lambda v: (v - lo) * 255 / span).convert("L")


def _drop_opaque_alpha(im: Image.Image) -> Image.Image:
    if im.mode not in ("LA", "RGBA"):
        return im
    lo, _ = im.getchannel("A").getextrema()
    if lo == 255:  # noqa: PLR2004
        return im.convert("L" if im.mode == "LA" else "RGB")
    return im


def _flatten(im: Image.Image) -> Image.Image:
    background = Image.new("RGB", im.size, (255, 255, 255))
    background.paste(im.convert("RGBA"), mask=im.getchannel("A"))
    return background


def _encode(im: Image.Image, fmt: str, quality: int, extra: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        im.save(buf, "JPEG", quality=quality, **extra)
    else:
        im.save(buf, "PNG", compress_level=_PNG_COMPRESS_LEVEL, **extra)
    return buf.getvalue()


def _same_family(src_mode: str, out_mode: str) -> bool:
    return (src_mode in _RGB_FAMILY and out_mode in ("RGB", "RGBA")) or (
        src_mode in _GRAY_FAMILY and out_mode in ("L", "LA")
    )


def render(
    im: Image.Image,
    *,
    src_format: str | None,
    orientation: int,
    policy: ImagePolicy,
    allow_draft: bool,
    owned: bool,
    explained: bool,
    keep_exif: object = None,
) -> tuple[_Out, str, tuple[str, ...]]:
    """Decode, downscale, rotate, normalise and encode; returns output, MIME and steps taken.

    Args:
        im: The image, header read; decoded here.
        src_format: Pillow's format name of the source, if any.
        orientation: EXIF orientation to undo (1 = none).
        policy: The limits to meet.
        allow_draft: Use JPEG DCT scaling (only for a not-yet-loaded JPEG we own).
        owned: Whether ``im`` is ours to modify (False for a caller's PIL image).
        explained: Whether the re-encode is already explained (e.g. by ``first_frame``).
        keep_exif: Raw EXIF to write back (when the policy does not transpose).
    """
    src_mode = im.mode
    icc = im.info.get("icc_profile")
    work, steps = _shape(im, orientation, policy, allow_draft=allow_draft)
    # A JPEG source is a photo by its author's choice, whatever its size.
    small = max(work.size) <= _SMALL_SIDE and src_format not in ("JPEG", "MPO")
    graphic = src_mode in ("1", "P", "PA") or small
    fmt = "PNG" if work.mode in ("LA", "RGBA") or graphic else "JPEG"
    extra: dict[str, bytes] = {}
    if isinstance(icc, bytes) and icc and _same_family(src_mode, work.mode):
        extra["icc_profile"] = icc
    if isinstance(keep_exif, bytes) and keep_exif:
        extra["exif"] = keep_exif
    if work is im and not owned:
        work = im.copy()  # never write into the caller's image object
    work.info = {}
    work, fmt, data, more = _fit_bytes(work, fmt, policy, extra)
    if "resized" in more and "resized" not in steps:
        steps.append("resized")
    # Mode changes that alter the pixels' meaning count as conversion; palette expansion does not.
    same_format = (
        src_format is None  # an in-memory image has no format to convert from
        or src_format == fmt
        or (src_format == "MPO" and fmt == "JPEG")
    )
    if src_mode not in _PLAIN_MODES or not same_format or not (steps or more or explained):
        steps.append("converted")
    if "flattened" in more:
        steps.append("flattened")
    mime = "image/jpeg" if fmt == "JPEG" else "image/png"
    return _Out(data, work.width, work.height), mime, tuple(steps)


def _shape(
    im: Image.Image, orientation: int, policy: ImagePolicy, *, allow_draft: bool
) -> tuple[Image.Image, list[str]]:
    """Decode (JPEG at a DCT scale), downscale, transpose; drop an alpha that is fully opaque."""
    steps: list[str] = []
    original = im.size
    target = fit_size(*original, policy)
    if target != original and allow_draft:
        _draft_for(im, target)
    im.load()
    work = im
    if im.mode in _RESIZE_BEFORE_CONVERT and not _fits(im.size, policy):
        # 16-bit samples are scaled to 8 bits through 32-bit "I" (4 bytes a pixel, twice): on
        # the downscaled image that costs a few MB instead of a gigabyte at 120 MP.
        work = im.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    work = _to_standard_mode(work)
    if not _fits(work.size, policy):
        work = work.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if work.size != original:
        steps.append("resized")
    if orientation in _TRANSPOSE:
        # After the downscale: moving fewer pixels, and no full-size rotated copy in memory.
        work = work.transpose(_TRANSPOSE[orientation])
        steps.append("transposed")
    return _drop_opaque_alpha(work), steps


def _fit_bytes(
    work: Image.Image, fmt: str, policy: ImagePolicy, extra: dict[str, bytes]
) -> tuple[Image.Image, str, bytes, set[str]]:
    """Encode; while over max_bytes: PNG to JPEG, then lower quality, then smaller size."""
    happened: set[str] = set()
    quality = policy.jpeg_quality
    ladder = [q for q in _QUALITY_LADDER if q < quality]
    data = _encode(work, fmt, quality, extra)
    while len(data) > policy.max_bytes:
        if fmt == "PNG":
            fmt = "JPEG"
            if work.mode in ("LA", "RGBA"):
                work = _flatten(work)
                happened.add("flattened")
        elif ladder:
            quality = ladder.pop(0)
        else:
            new_size = (
                math.floor(work.width * _SHRINK_STEP),
                math.floor(work.height * _SHRINK_STEP),
            )
            if min(new_size) < _MIN_SIDE:
                raise _error(
                    ImageErrorReason.TOO_LARGE,
                    f"the image cannot be brought under the policy's {policy.max_bytes} bytes "
                    "(ImagePolicy.max_bytes) even at low quality and small size",
                )
            work = work.resize(new_size, Image.Resampling.LANCZOS, reducing_gap=3.0)
            happened.add("resized")
        data = _encode(work, fmt, quality, extra)
    return work, fmt, data, happened
