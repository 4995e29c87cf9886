"""What image bytes are, read from their header alone, and whether they may be decoded at all.

Knows Pillow's plugin registry (the formats in :data:`OPEN_FORMATS`, HEIF through the optional
``pillow_heif``), format signatures, the decode limits per format (pixels, Pillow's pure-Python
decoders, animation) and the fast-path rule: which identified images are sent byte for byte.
Never decodes pixels: :mod:`langchain_flexai.images._render` does that. Knows nothing about
base64, URLs, caching or LangChain.

Identification goes straight through Pillow's plugin registry rather than ``Image.open``, so that
Pillow's process-wide ``Image.MAX_IMAGE_PIXELS`` neither refuses nor warns about a legit image
within *our* limit; ``width * height`` is then checked against ``policy.max_decode_pixels`` (a
share of it per format, :func:`decode_limit`) before anything is decoded. Bytes no plugin here
opens are named by :mod:`langchain_flexai.images._formats` (``UNSUPPORTED_FORMAT``) unless they
are no image at all.
"""

from __future__ import annotations

import importlib
import io
import math
import struct
import threading
from collections.abc import Callable

from PIL import Image, ImageFile

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._formats import unsupported_format
from langchain_flexai.images._orientation import orientation_of
from langchain_flexai.images._pillow_errors import is_truncation, pillow_errors
from langchain_flexai.images._policy import ImagePolicy
from langchain_flexai.images._structure import Structure

__all__ = [
    "OPEN_FORMATS",
    "PYTHON_DECODER_MAX_BYTES",
    "WIRE_MIME",
    "check_animation",
    "check_pixels",
    "check_python_decoder",
    "decode_limit",
    "fit_size",
    "fits",
    "has_apng_control",
    "identify",
    "input_too_large",
    "is_heif",
    "mime_of",
    "orientation_from_info",
    "sendable_as_is",
    "tiff_turned_upright",
]

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
WIRE_MIME = {
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
_ORIENTATION_TAG = 0x0112
_TURNED = frozenset(range(2, 9))  # EXIF orientations 2-8 all move pixels
_CAN_ANIMATE = frozenset({"GIF", "PNG", "WEBP"})
_MAGIC_PREFIXES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00")
_LONGEST_MAGIC = max(len(m) for m in _MAGIC_PREFIXES)
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
PYTHON_DECODER_MAX_BYTES = 3 * 1024 * 1024
"""Most input bytes handed to one of Pillow's pure-Python decoders (see check_python_decoder)."""
_DECODE_SHARE = {"JPEG": 1, "MPO": 1, "WEBP": 4}
_FULL_SIZE_SHARE = 2
_heif_lock = threading.Lock()
_heif_registered = False
_plugins_lock = threading.Lock()
_plugins_ready = False


def _error(reason: ImageErrorReason, detail: str) -> ImageInputError:
    return ImageInputError(detail, reason=reason)


def _bytes(count: int) -> str:
    return "1 byte" if count == 1 else f"{count} bytes"


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
            with pillow_errors():
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
        with pillow_errors():
            if accept is not None and not _accepts(accept, prefix):
                continue
        fp.seek(0)
        failure: BaseException | None = None
        with pillow_errors():  # what the plugin raises beyond these: damaged data, CORRUPT
            try:
                # Same as Image.open's inner loop, minus its MAX_IMAGE_PIXELS check (module doc).
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
                failure = exc
        if failure is not None and _has_image_magic(data):
            raise _header_failure(name, data, failure) from failure
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
    return WIRE_MIME.get(fmt) or Image.MIME.get(fmt) or f"image/{fmt.lower()}"


def orientation_from_info(im: Image.Image, late_exif: bytes | None = None) -> int:
    """The orientation to undo, from metadata only (see `images._orientation`).

    ``getexif()`` on a PNG decodes the whole image; parsing ``info["exif"]`` costs microseconds.
    ``late_exif``: a PNG ``eXIf`` chunk after the pixels, as the structural walk found it.
    """
    return orientation_of(im, late_exif)


def fit_size(width: int, height: int, policy: ImagePolicy) -> tuple[int, int]:
    """The largest size with the same aspect within max_side and max_pixels; never larger."""
    scale = min(1.0, policy.max_side / max(width, height))
    if width * height * scale * scale > policy.max_pixels:
        scale = math.sqrt(policy.max_pixels / (width * height))
    if scale >= 1.0:
        return width, height
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def fits(size: tuple[int, int], policy: ImagePolicy) -> bool:
    w, h = size
    return max(w, h) <= policy.max_side and w * h <= policy.max_pixels


def has_apng_control(data: bytes) -> bool:
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
    with pillow_errors():  # GIF's is_animated reads on to the second frame
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


def tiff_turned_upright(im: Image.Image) -> bool:
    """Whether Pillow's TIFF reader turns this image upright as it decodes (``transposed``).

    A TIFF's orientation tag is honoured by the reader itself, so it is not undone again.
    """
    if im.format != "TIFF":
        return False
    with pillow_errors():
        value = getattr(im, "tag_v2", {}).get(_ORIENTATION_TAG, 1)
    return value in _TURNED


def sendable_as_is(
    im: ImageFile.ImageFile,
    data: bytes,
    policy: ImagePolicy,
    structure: Structure | None,
    *,
    animated: bool,
    orientation: int,
) -> bool:
    """The fast-path rule: whether an identified image may go to FlexAI byte for byte.

    JPEG, PNG, WebP or a still GIF within every limit, upright, in a mode that displays as is, and
    complete (its image data and end marker found by the structural walk of
    :mod:`langchain_flexai.images._structure`): the fast path never decodes, so it relies on that
    walk to refuse a truncated file. A 16-bit PNG is re-encoded (not every decoder shows it).
    """
    fmt = im.format or ""
    return (
        fmt in WIRE_MIME
        and not animated
        and orientation == 1
        and im.mode in _FAST_MODES[fmt]
        and fits(im.size, policy)
        and len(data) <= policy.max_bytes
        and structure is not None
        and structure.complete_as(fmt)
        and not (fmt == "PNG" and _png_is_16_bit(data))
    )
