"""How the emulator checks and reads one ``image_url`` content part, as a server would.

Knows FlexAI's image rules (https or base64 data URLs; JPEG, PNG, WebP, non-animated GIF;
the declared MIME type must match the bytes) and reads what a test can check: format,
width × height and a dominant-colour name decoded from the pixels. It never fetches a URL and
never opens a file. It deliberately does not use ``langchain_flexai.images``: the emulator
validates independently, like the real server, so client bugs cannot hide behind shared code.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from langchain_flexai.testing._errors import EmulatedError, invalid_request

_MIME_TO_FORMAT = {
    "image/jpeg": "JPEG",
    "image/jpg": "JPEG",  # a common mislabel servers accept for JPEG
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
}
_DETAILS = frozenset({"auto", "low", "high"})
_DATA_URL = re.compile(
    r"data:(?P<mime>[^;,]*)(?P<params>(?:;[^;,]*)*?);base64,(?P<data>.*)", re.DOTALL
)
_MAX_PIXELS = 100_000_000
_SAMPLE_SIDE = 64
_UNKNOWN_SIZE_TOKENS = 256
_PATCH = 28


@dataclass(frozen=True)
class ImageReport:
    """What the emulator read from one image part."""

    source: str
    """``"data"`` for inline bytes, ``"https"`` for a URL it did not fetch."""
    format: str | None = None
    """``JPEG``, ``PNG``, ``WEBP`` or ``GIF``; None for an unfetched URL."""
    width: int | None = None
    height: int | None = None
    colour: str | None = None
    """Dominant colour name (see ``colour_name``); None for an unfetched URL."""
    url: str | None = None
    """The https URL (None for data URLs)."""

    @property
    def tokens(self) -> int:
        """Prompt tokens for this image: one per started 28×28 patch, 256 when unknown."""
        if self.width is None or self.height is None:
            return _UNKNOWN_SIZE_TOKENS
        return math.ceil(self.width / _PATCH) * math.ceil(self.height / _PATCH)

    def describe(self) -> str:
        """One line for the reply, e.g. ``PNG 64x64, red``."""
        if self.source == "https":
            return f"https URL {self.url} (not fetched: the emulator never fetches URLs)"
        return f"{self.format} {self.width}x{self.height}, {self.colour}"

    def as_json(self) -> dict[str, Any]:
        """The report as a JSON object (used in JSON-mode replies)."""
        if self.source == "https":
            return {"source": "https", "url": self.url, "fetched": False}
        return {
            "source": "data",
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "colour": self.colour,
        }


def _bad(where: str, reason: str) -> EmulatedError:
    return invalid_request(f"Invalid image at {where}: {reason}", param=where, code="invalid_image")


def inspect_image_part(part: dict[str, Any], where: str) -> ImageReport:
    """Validate one ``{"type": "image_url", ...}`` part and read its image.

    Args:
        part: The content part as received.
        where: Its position, e.g. ``messages[0].content[1]`` (used in error messages).

    Returns:
        What the emulator read from the image.

    Raises:
        EmulatedError: 400 for anything a FlexAI server refuses.
    """
    extra = set(part) - {"type", "image_url"}
    if extra:
        raise _bad(where, f"unexpected keys {sorted(extra)} in an image_url part")
    image_url = part.get("image_url")
    if isinstance(image_url, str):
        raise _bad(where, "image_url must be an object {'url': ...}, not a string")
    if not isinstance(image_url, dict):
        raise _bad(where, "image_url must be an object with a 'url' string")
    extra = set(image_url) - {"url", "detail"}
    if extra:
        raise _bad(where, f"unexpected keys {sorted(extra)} in image_url")
    detail = image_url.get("detail")
    if detail is not None and (not isinstance(detail, str) or detail not in _DETAILS):
        raise _bad(where, f"detail must be one of auto, low, high; got {detail!r}")
    url = image_url.get("url")
    if not isinstance(url, str) or not url:
        raise _bad(where, "image_url.url must be a non-empty string")
    # URL schemes are case-insensitive (RFC 3986 3.1): HTTPS:// is an https URL.
    if url[:8].lower() == "https://":
        if not urlsplit(url).hostname:
            raise _bad(where, "the https URL has no host")
        return ImageReport(source="https", url=url)
    if url[:5].lower() == "data:":
        return _inspect_data_url(url, where)
    scheme = url.split(":", 1)[0] if ":" in url[:12] else ""
    shown = f"'{scheme}:' URLs are" if scheme else "a bare path or string is"
    raise _bad(where, f"{shown} not accepted; send an https URL or a base64 data URL")


def _inspect_data_url(url: str, where: str) -> ImageReport:
    match = _DATA_URL.fullmatch(url[:5].lower() + url[5:])
    if match is None:
        raise _bad(where, "malformed data URL; expected data:image/<type>;base64,<data>")
    declared = match["mime"].strip().lower()
    expected_format = _MIME_TO_FORMAT.get(declared)
    if expected_format is None:
        raise _bad(
            where,
            f"unsupported image type {declared or '(none)'!r}; "
            "FlexAI accepts image/jpeg, image/png, image/webp and image/gif",
        )
    try:
        data = base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError):
        raise _bad(where, "the data URL's base64 payload is malformed") from None
    if not data:
        raise _bad(where, "the data URL carries no image bytes")
    actual_format = _sniff(data)
    if actual_format is None:
        raise _bad(where, _name_unsupported(data))
    if actual_format != expected_format:
        raise _bad(
            where,
            f"declared type {declared} does not match the bytes, which are {actual_format}",
        )
    return _read_pixels(data, actual_format, where)


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in {b"GIF87a", b"GIF89a"}:
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _name_unsupported(data: bytes) -> str:
    # Identify the format only to word the message; the bytes are refused either way.
    try:
        with Image.open(io.BytesIO(data)) as img:
            found = img.format
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return "the bytes are not an image"
    return f"format {found} is not supported; FlexAI accepts JPEG, PNG, WebP and non-animated GIF"


def _read_pixels(data: bytes, fmt: str, where: str) -> ImageReport:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                width, height = img.size
                if width * height > _MAX_PIXELS:
                    raise _bad(where, f"{width}x{height} exceeds {_MAX_PIXELS} pixels")
                if fmt == "GIF" and getattr(img, "n_frames", 1) > 1:
                    raise _bad(where, "animated GIFs are not supported; send a single frame")
                colour = colour_name(img)
    except EmulatedError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bad(where, "the image has too many pixels to decode") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise _bad(where, f"the {fmt} bytes are truncated or corrupt") from None
    return ImageReport(source="data", format=fmt, width=width, height=height, colour=colour)


def colour_name(img: Image.Image) -> str:
    """Name the dominant colour: the most frequent name among sampled pixels.

    The image is sampled on a grid of at most 64×64 pixels (nearest neighbour, so no new
    colours are blended in); pixels with alpha below 128 are skipped. Each pixel is named by
    its HSV value in Pillow's ``HSV`` mode (each channel a byte, 0-255; V is max(R, G, B)):
    V < 51 (value 0.2) is black; S < 51 (saturation 0.2) is white (V ≥ 217, value 0.85) or
    gray; other pixels by hue byte H (0-255 for 0-360°): red (< 11 or ≥ 245, i.e. under 15° or
    from 345°), orange (< 32, 45°; brown when V < 153, value 0.6), yellow (< 50, 70°), green
    (< 117, 165°), cyan (< 139, 195°), blue (< 181, 255°), purple (< 206, 290°) and magenta
    (< 245). Ties go to the name earliest in the list black, white, gray, red, orange, brown,
    yellow, green, cyan, blue, purple, magenta. An image with no opaque pixel is
    ``transparent``.
    """
    img.draft("RGB", (_SAMPLE_SIDE * 2, _SAMPLE_SIDE * 2))
    # Sample first, convert after: nearest-neighbour picks the same pixels either way, and
    # converting 4,096 pixels instead of the whole image is most of the saving. resize() (not
    # thumbnail()) leaves the caller's image as it was.
    width, height = img.size
    scale = min(1.0, _SAMPLE_SIDE / max(width, height, 1))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    sample = img.resize(size, Image.Resampling.NEAREST) if size != img.size else img
    # Only modes that can carry transparency pay for the alpha mask.
    translucent = sample.mode in _ALPHA_MODES or "transparency" in sample.info
    rgba = sample.convert("RGBA") if translucent else None
    if rgba is not None:
        rgb = rgba.convert("RGB")
    else:  # convert() would copy an RGB sample; the caller's image is only read below
        rgb = sample if sample.mode == "RGB" else sample.convert("RGB")
    # Pillow's C core directly (what Image.point / ImageChops.add / histogram call): on a
    # 64x64 sample their Python wrappers cost more than the work (point() alone rounds its
    # 256-entry table in Python on every call).
    hue, sat, val = rgb.convert("HSV").im.split()
    # Each pixel's code (hue band * 8 + saturated * 4 + value band), then its name's index
    # in _NAME_ORDER: the histogram's first 12 bins count the names, no Python loop over
    # pixels or colours. The opacity mask leaves translucent pixels uncounted.
    code = hue.point(_HUE_CODE, "L").chop_add(sat.point(_SAT_CODE, "L"), 1.0, 0)
    code = code.chop_add(val.point(_VAL_CODE, "L"), 1.0, 0).point(_CODE_INDEX, "L")
    if rgba is None:
        counts = code.histogram()
    else:
        opaque = rgba.getchannel("A").im.point(_OPAQUE, "L")
        counts = code.histogram((0, 0), opaque)
    best = max(counts[: len(_NAME_ORDER)])
    if not best:
        return "transparent"
    # index() finds the first maximum: ties go to the name earliest in _NAME_ORDER.
    return _NAME_ORDER[counts.index(best)]


_NAME_ORDER = (
    "black",
    "white",
    "gray",
    "red",
    "orange",
    "brown",
    "yellow",
    "green",
    "cyan",
    "blue",
    "purple",
    "magenta",
)
# Upper bounds of the hue bands, as Pillow's hue byte (degrees * 255 / 360, rounded up).
_HUE_BANDS = (
    (11, "red"),
    (32, "orange"),
    (50, "yellow"),
    (117, "green"),
    (139, "cyan"),
    (181, "blue"),
    (206, "purple"),
    (245, "magenta"),
    (256, "red"),
)
_HUE_CODE = [
    next(band for band, (upper, _) in enumerate(_HUE_BANDS) if h < upper) * 8 for h in range(256)
]
_SAT_CODE = [0 if s < 51 else 4 for s in range(256)]  # noqa: PLR2004 - documented threshold
_VAL_CODE = [0 if v < 51 else 1 if v < 153 else 2 if v < 217 else 3 for v in range(256)]  # noqa: PLR2004
# A palette image may hold alpha in its palette (an RGBA palette) without a transparency key.
_ALPHA_MODES = frozenset({"LA", "La", "P", "PA", "RGBA", "RGBa"})
_OPAQUE = [255 if a >= 128 else 0 for a in range(256)]  # noqa: PLR2004 - half opacity


def _code_name(code: int) -> str:
    band, saturated, value = code >> 3, code >> 2 & 1, code & 3
    if value == 0:
        return "black"
    if not saturated:
        return "white" if value == 3 else "gray"  # noqa: PLR2004 - the bright band
    name = _HUE_BANDS[band][1] if band < len(_HUE_BANDS) else "red"
    return "brown" if name == "orange" and value == 1 else name


_CODE_INDEX = [_NAME_ORDER.index(_code_name(code)) for code in range(256)]
