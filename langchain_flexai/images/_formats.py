"""Naming the format of an image this library does not convert, so it is never "not an image".

Knows the signatures of image (and image-like) formats outside the set the codec opens, and what
a user can do with each; knows nothing about decoding. It is asked only after every plugin the
codec opens has declined the bytes, so it costs nothing on the normal path.

A PDF is a document, not an image: it stays "not an image" (message content turns that into the
file-block refusal). Two sources, in order: a table of formats worth a specific hint (Photoshop
layers, vector formats that need rendering, scientific data that needs a stretch, formats Pillow
cannot read at all such as JPEG XL and SVG); then the signature checks of every other Pillow
plugin (imported here, on this failure path only), for the long tail of formats Pillow can
identify. Why these are refused rather than converted: docs/images.md, "Formats".
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from PIL import Image

from langchain_flexai.errors import ImageErrorReason, ImageInputError

ACCEPTED_ON_THE_WIRE = "FlexAI takes JPEG, PNG, WebP and GIF"
_EXPORT = "export it as PNG or JPEG"
_PREFIX = 64
# Pillow plugins whose signature check is too weak to name a format by (any little-endian 1, any
# two plausible integers); the table above checks those formats more strictly.
_WEAK_SIGNATURES = frozenset({"WMF", "GBR"})


def _svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head)


def _emf(data: bytes) -> bool:
    return data.startswith(b"\x01\x00\x00\x00") and data[40:44] == b" EMF"


# (what it is, does the data start like it, what to do): the first match wins.
_NAMED: tuple[tuple[str, Callable[[bytes], bool], str], ...] = (
    (
        "a Photoshop (PSD) image",
        lambda d: d.startswith((b"8BPS\x00\x01", b"8BPS\x00\x02")),
        "export it as PNG or JPEG (File > Export): only a flattened picture shows its layers",
    ),
    (
        "a PostScript (EPS) image",
        lambda d: d.startswith((b"%!PS", b"\xc5\xd0\xd3\xc6")),
        "render it as PNG first (this library never runs Ghostscript)",
    ),
    (
        "an SVG (vector) image",
        _svg,
        "render it as PNG first (for example with cairosvg or a browser)",
    ),
    (
        "a JPEG XL image",
        lambda d: d.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")),
        _EXPORT,
    ),
    (
        "a FITS (astronomy data) image",
        lambda d: d.startswith(b"SIMPLE  ="),
        "stretch its data to 8 bits and save it as PNG",
    ),
    (
        "an OpenEXR (HDR) image",
        lambda d: d.startswith(b"\x76\x2f\x31\x01"),
        "tone-map it to PNG or JPEG",
    ),
    (
        "a Radiance HDR image",
        lambda d: d.startswith((b"#?RADIANCE", b"#?RGBE")),
        "tone-map it to PNG or JPEG",
    ),
    ("a DirectDraw texture (DDS)", lambda d: d.startswith(b"DDS "), _EXPORT),
    ("an Apple icon (ICNS)", lambda d: d.startswith(b"icns"), _EXPORT),
    ("a Windows cursor (CUR)", lambda d: d.startswith(b"\x00\x00\x02\x00"), _EXPORT),
    ("an X pixmap (XPM) image", lambda d: d.startswith(b"/* XPM */"), _EXPORT),
    ("an X bitmap (XBM) image", lambda d: d.lstrip().startswith(b"#define"), _EXPORT),
    (
        "an IFF/ILBM (Amiga) image",
        lambda d: d[:4] == b"FORM" and d[8:12] in (b"ILBM", b"PBM "),
        _EXPORT,
    ),
    (
        "a Windows metafile (WMF/EMF)",
        lambda d: d.startswith(b"\xd7\xcd\xc6\x9a") or _emf(d),
        "render it as PNG first",
    ),
    ("an IM (LabEye) image", lambda d: d.startswith(b"Image type:"), _EXPORT),
    ("a GIMP brush (GBR)", lambda d: d[20:24] == b"GIMP", _EXPORT),
    ("a Kodak Photo CD image", lambda d: d[2048:2055] == b"PCD_IPI", _EXPORT),
)


def _spider(data: bytes) -> bool:
    # Pillow's SPIDER plugin has no signature check; its header is 23+ floats with fixed meanings.
    if len(data) < 92:  # noqa: PLR2004
        return False
    plugin: Any = _pillow_plugin("SpiderImagePlugin")
    if plugin is None:
        return False
    for order in (">", "<"):
        header = struct.unpack(f"{order}23f", data[:92])
        try:
            if plugin.isSpiderHeader(header):
                return True
        except (ValueError, OverflowError, IndexError):  # NaN or infinite fields
            continue
    return False


def _pillow_plugin(module: str) -> object | None:
    import importlib  # noqa: PLC0415

    try:
        return importlib.import_module(f"PIL.{module}")
    except ImportError:
        return None


def _pillow_format(data: bytes, skip: frozenset[str]) -> str | None:
    """What the first other Pillow plugin whose signature check takes ``data`` reads."""
    Image.init()  # every plugin: this is the failure path only
    prefix = data[:_PREFIX]
    for name, (factory, accept) in Image.OPEN.items():
        if name in skip or name in _WEAK_SIGNATURES or accept is None:
            continue
        try:
            accepted = accept(prefix)
        except (struct.error, IndexError, ValueError, TypeError):
            continue
        if accepted and not isinstance(accepted, str):
            description = getattr(factory, "format_description", None) or name
            return f"an image in Pillow's {description} ({name}) format"
    if _spider(data):
        return "an image in Pillow's SPIDER format"
    return None


def unsupported_format(data: bytes, opened: tuple[str, ...]) -> ImageInputError | None:
    """``UNSUPPORTED_FORMAT`` naming the format, when ``data`` is an image we do not convert.

    ``opened``: the Pillow formats the codec already tried (not reported again here).
    """
    for what, matches, advice in _NAMED:
        if matches(data):
            return _refusal(what, advice)
    named = _pillow_format(data, frozenset(opened))
    return None if named is None else _refusal(named, _EXPORT)


def _refusal(what: str, advice: str) -> ImageInputError:
    return ImageInputError(
        f"{what}, a format this library does not convert; {ACCEPTED_ON_THE_WIRE}: {advice}",
        reason=ImageErrorReason.UNSUPPORTED_FORMAT,
    )
