"""Odd but real inputs: every one is either prepared into a valid image or refused with a reason.

Each input is generated here: multi-picture JPEGs (MPO, gain-map HDR), PNGs whose orientation
lives in an ``eXIf`` chunk after the pixels, in ImageMagick's "Raw profile" text or in XMP, APNGs
with a wrong frame count, every format this Pillow can write, ``.npy`` headers that lie, and
https URLs in upper case.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from PIL import Image, ImageOps

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._doors import prepare_image
from langchain_flexai.images._policy import ImagePolicy
from langchain_flexai.images._prepared import PreparedImage
from tests.unit_tests.wire import WireRecorder

# -- https URLs: scheme and host lower-cased on the wire ------------------------------------------


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (
            "HTTPS://EXAMPLE.COM/Photos/Cat.PNG?Sig=AbC",
            "https://example.com/Photos/Cat.PNG?Sig=AbC",
        ),
        ("https://example.com/a.png", "https://example.com/a.png"),
    ],
)
@pytest.mark.parametrize(
    "shape",
    [
        lambda url: {"type": "image", "url": url},
        lambda url: {"type": "image_url", "image_url": {"url": url}},
        lambda url: {"type": "image", "source_type": "url", "url": url},
    ],
    ids=["v1", "openai", "v0"],
)
def test_https_urls_reach_the_wire_with_scheme_and_host_lower_cased(
    wire: WireRecorder, given: str, sent: str, shape: Any
) -> None:
    wire.model().invoke([HumanMessage(content=["what is it?", shape(given)])])
    parts = wire.last["messages"][0]["content"]
    assert parts[1] == {"type": "image_url", "image_url": {"url": sent}}


def test_prepare_image_returns_the_url_it_sends() -> None:
    prepared = prepare_image("HTTPS://Example.COM/A.png")
    assert prepared.url == "https://example.com/A.png"
    assert prepared.to_openai_part() == {
        "type": "image_url",
        "image_url": {"url": "https://example.com/A.png"},
    }


# -- .npy blobs: the header is checked before numpy allocates ------------------------------------


def _npy_header(header: str, version: tuple[int, int] = (1, 0)) -> bytes:
    """A ``.npy`` preamble with ``header`` as its dictionary, padded as numpy pads it."""
    text = header.encode("latin1")
    size_format = "<H" if version == (1, 0) else "<I"
    preamble = 10 if version == (1, 0) else 12
    pad = -(preamble + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack(size_format, len(text)) + text


def _npy_parse(data: bytes, policy: ImagePolicy | None = None) -> Any:
    from langchain_core.documents.base import Blob  # noqa: PLC0415

    from langchain_flexai.document_loaders import FlexAIImageParser  # noqa: PLC0415

    blob = Blob.from_data(data, mime_type="application/x-npy", path="page3_img1.npy")
    return list(FlexAIImageParser(policy=policy).lazy_parse(blob))


def _dict(shape: str, descr: str = "'|u1'", fortran: str = "False") -> str:
    return f"{{'descr': {descr}, 'fortran_order': {fortran}, 'shape': {shape}, }}"


NPY_REFUSED: list[tuple[str, bytes, ImageErrorReason, str]] = [
    (
        "absurd shape",
        _npy_header(_dict("(1000000000, 1000000000, 3)")),
        ImageErrorReason.DECOMPRESSION_BOMB,
        r"claims 1000000000x1000000000 = 10{18} pixels, more than the policy's decode limit",
    ),
    (
        "huge wide dtype",
        _npy_header(_dict("(20000, 20000)", "'<f8'")) + b"\0" * 64,
        ImageErrorReason.DECOMPRESSION_BOMB,
        r"claims 20000x20000 = 400000000 pixels",
    ),
    (
        "shape larger than the data",
        _npy_header(_dict("(3000, 4000, 3)")) + b"\x80" * 1000,
        ImageErrorReason.CORRUPT,
        (
            r"truncated: its shape \(3000, 4000, 3\) of uint8 needs 36000000 data bytes, "
            r"the blob holds 1000"
        ),
    ),
    (
        "int16 one byte short",
        _npy_header(_dict("(4, 5)", "'<i2'")) + b"\1" * 39,
        ImageErrorReason.CORRUPT,
        r"needs 40 data bytes, the blob holds 39",
    ),
    (
        "negative side",
        _npy_header(_dict("(-5, 10)")) + b"\0" * 64,
        ImageErrorReason.NOT_AN_IMAGE,
        r"with no empty side; got \(-5, 10\)",
    ),
    (
        "zero side",
        _npy_header(_dict("(0, 10, 3)")),
        ImageErrorReason.NOT_AN_IMAGE,
        r"with no empty side; got \(0, 10, 3\)",
    ),
    (
        "one dimension",
        _npy_header(_dict("(100,)")) + b"\0" * 100,
        ImageErrorReason.NOT_AN_IMAGE,
        r"got \(100,\)",
    ),
    (
        "four dimensions",
        _npy_header(_dict("(2, 2, 2, 3)")) + b"\0" * 24,
        ImageErrorReason.NOT_AN_IMAGE,
        r"got \(2, 2, 2, 3\)",
    ),
    (
        "object dtype",
        _npy_header(_dict("(2, 2)", "'|O'")) + b"\0" * 64,
        ImageErrorReason.NOT_AN_IMAGE,
        r"must hold numbers \(bool, int, uint or float\); got dtype object",
    ),
    (
        "record dtype",
        _npy_header(_dict("(2, 2)", "[('r', '|u1'), ('g', '|u1')]")) + b"\0" * 8,
        ImageErrorReason.NOT_AN_IMAGE,
        r"got dtype \[\('r', 'u1'\), \('g', 'u1'\)\]",
    ),
    (
        "string dtype",
        _npy_header(_dict("(2, 2)", "'<U4'")) + b"\0" * 64,
        ImageErrorReason.NOT_AN_IMAGE,
        r"got dtype <U4",
    ),
    (
        "complex dtype",
        _npy_header(_dict("(2, 2)", "'<c8'")) + b"\0" * 32,
        ImageErrorReason.NOT_AN_IMAGE,
        r"got dtype complex64",
    ),
    (
        "not a dictionary",
        _npy_header("__import__('os').system('true')") + b"\0" * 8,
        ImageErrorReason.CORRUPT,
        r"header cannot be read",
    ),
    ("header cut short", _npy_header(_dict("(2, 2)"))[:20], ImageErrorReason.CORRUPT, r"header"),
    ("no magic", b"\x93NUMPX\x01\x00" + b"\0" * 64, ImageErrorReason.CORRUPT, r"header"),
]


@pytest.mark.parametrize(
    ("data", "reason", "match"), [r[1:] for r in NPY_REFUSED], ids=[r[0] for r in NPY_REFUSED]
)
def test_npy_headers_that_lie_are_refused_before_loading(
    data: bytes, reason: ImageErrorReason, match: str
) -> None:
    pytest.importorskip("numpy")
    with pytest.raises(ImageInputError, match=match) as info:
        _npy_parse(data)
    assert info.value.reason is reason
    assert info.value.source == "page3_img1.npy"


def test_npy_pixel_limit_is_the_policys() -> None:
    np = pytest.importorskip("numpy")
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((100, 100), dtype=np.uint8))
    assert _npy_parse(buffer.getvalue())  # within the default limit
    with pytest.raises(ImageInputError, match="10000 pixels, more than the policy's") as info:
        _npy_parse(buffer.getvalue(), ImagePolicy(max_pixels=1000, max_decode_pixels=9999))
    assert info.value.reason is ImageErrorReason.DECOMPRESSION_BOMB


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
@pytest.mark.parametrize("fortran", [False, True])
@pytest.mark.parametrize("dtype", ["|u1", ">u2", "<f4", "|b1"])
def test_npy_arrays_of_any_layout_load_as_written(
    version: tuple[int, int], fortran: bool, dtype: str
) -> None:
    np = pytest.importorskip("numpy")
    rows = np.arange(12 * 20 * 3).reshape(12, 20, 3) % 2
    array = (rows * {"|u1": 255, ">u2": 65535, "<f4": 1.0, "|b1": 1}[dtype]).astype(dtype)
    array = np.asfortranarray(array) if fortran else np.ascontiguousarray(array)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    (doc,) = _npy_parse(buffer.getvalue() + b"trailing bytes are ignored")
    prepared = PreparedImage.__new__(PreparedImage)  # only for its data() helper
    object.__setattr__(prepared, "url", doc.metadata["image_url"])
    with Image.open(io.BytesIO(prepared.data())) as image:
        got = np.asarray(image.convert("RGB"))
    assert got.shape == (12, 20, 3)
    assert (got == (rows * 255).astype(np.uint8)).all()


# -- multi-picture JPEGs: the primary picture only ------------------------------------------------

_HDRGM_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" '
    b'hdrgm:Version="1.0"/></rdf:RDF></x:xmpmeta>'
)


def _mpo(*sizes: tuple[int, int], **save: Any) -> bytes:
    """A multi-picture JPEG: a noisy primary of sizes[0], then plain pictures of the others."""
    primary = Image.effect_noise(sizes[0], 60).convert("RGB")
    others = [Image.new("RGB", size, (20, 200, 20)) for size in sizes[1:]]
    buffer = io.BytesIO()
    primary.save(buffer, "MPO", save_all=True, append_images=others, **save)
    return buffer.getvalue()


def _jpeg_of(data: bytes) -> tuple[str | None, int, tuple[int, int]]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.format, getattr(image, "n_frames", 1), image.size


@pytest.mark.parametrize(
    ("sizes", "save"),
    [
        (((400, 300), (200, 150)), {}),  # stereo / preview pair
        (((320, 240), (320, 240), (64, 48)), {}),  # three pictures
        (((400, 300), (100, 75)), {"xmp": _HDRGM_XMP}),  # gain-map HDR: Pillow calls it a JPEG
    ],
    ids=["two", "three", "gain-map"],
)
def test_a_multi_picture_jpeg_is_sent_as_its_primary_picture_without_a_re_encode(
    sizes: tuple[tuple[int, int], ...], save: dict[str, Any]
) -> None:
    data = _mpo(*sizes, **save)
    first_end = data.index(b"\xff\xd9\xff\xd8") + 2  # Pillow writes the pictures back to back
    prepared = prepare_image(data)
    sent = prepared.data()
    assert _jpeg_of(sent) == ("JPEG", 1, sizes[0])  # one picture: Pillow sees no MPO
    assert sent.count(b"\xff\xd8") == 1
    assert sent.endswith(b"\xff\xd9")
    assert b"MPF\x00" not in sent
    # Cut, not re-encoded: the primary's bytes minus its picture index segment (APP2 "MPF").
    assert len(sent) < first_end
    assert sent[-1000:] == data[first_end - 1000 : first_end]
    assert prepared.transformations == ("primary_picture",)
    assert prepared.mime_type == "image/jpeg"
    assert (prepared.width, prepared.height) == sizes[0]
    assert (prepared.original_width, prepared.original_height) == sizes[0]


def test_a_multi_picture_jpeg_is_cut_before_any_other_step() -> None:
    data = _mpo((3000, 200), (300, 20))
    prepared = prepare_image(data, mime_type="image/png")
    assert prepared.transformations == ("mime_corrected", "primary_picture", "resized")
    assert _jpeg_of(prepared.data()) == ("JPEG", 1, (2048, 136))


def test_a_multi_picture_jpeg_with_a_damaged_index_sends_its_first_picture_re_encoded() -> None:
    data = bytearray(_mpo((400, 300), (200, 150)))
    mpf = data.index(b"MPF\x00") + 4
    # Entry sizes and offsets point past the file: the index cannot be trusted.
    tiff = bytes(data[mpf : mpf + 200])
    entries = mpf + int.from_bytes(tiff[4:8], "big")  # IFD0
    count = int.from_bytes(data[entries : entries + 2], "big")
    for at in range(entries + 2, entries + 2 + 12 * count, 12):
        if data[at : at + 2] == b"\xb0\x02":
            table = mpf + int.from_bytes(data[at + 8 : at + 12], "big")
            data[table + 4 : table + 12] = b"\x7f" * 8
            data[table + 20 : table + 28] = b"\x7f" * 8
    prepared = prepare_image(bytes(data))
    assert _jpeg_of(prepared.data()) == ("JPEG", 1, (400, 300))
    assert prepared.transformations == ("primary_picture",)
    assert b"MPF\x00" not in prepared.data()


def test_primary_pictures_are_counted_in_response_metadata(wire: WireRecorder) -> None:
    block = {"type": "image", "base64": _b64(_mpo((64, 48), (32, 24))), "mime_type": "image/jpeg"}
    reply = wire.model().invoke([HumanMessage(content=["x", block])])
    assert reply.response_metadata["images_primary_picture"] == 1
    assert reply.response_metadata["images_sent"] == 1


def _b64(data: bytes) -> str:
    import base64  # noqa: PLC0415

    return base64.b64encode(data).decode()


# -- PNG orientation, wherever it is written ------------------------------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _exif_block(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()  # "Exif\0\0" + TIFF


def _oriented_png(orientation: int, where: str) -> bytes:
    """A 7x3 PNG of distinct pixels whose orientation tag sits in ``where``."""
    image = Image.new("RGB", (7, 3))
    image.putdata([(i * 30, 255 - i * 10, (i * 70) % 256) for i in range(21)])
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    plain = buffer.getvalue()
    idat, iend = plain.index(b"IDAT") - 4, plain.index(b"IEND") - 4
    tiff = _exif_block(orientation)[6:]
    if where == "eXIf before IDAT":
        extra, at = _png_chunk(b"eXIf", tiff), idat
    elif where == "eXIf after IDAT":
        extra, at = _png_chunk(b"eXIf", tiff), iend
    elif where.startswith("raw profile"):
        digits = (b"Exif\x00\x00" + tiff).hex()
        text = f"\nexif\n{len(digits) // 2:8d}\n" + "\n".join(
            digits[i : i + 72] for i in range(0, len(digits), 72)
        )
        key = b"Raw profile type exif\x00"
        body = (
            key + text.encode()
            if where.endswith("tEXt")
            else key + b"\0" + zlib.compress(text.encode())
        )
        extra, at = _png_chunk(b"tEXt" if where.endswith("tEXt") else b"zTXt", body), idat
    else:  # XMP in iTXt
        xmp = (
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
            '22-rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
            f'tiff:Orientation="{orientation}"/></rdf:RDF></x:xmpmeta>'
        )
        body = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp.encode()
        extra, at = _png_chunk(b"iTXt", body), idat
    return plain[:at] + extra + plain[at:]


PLACES = ["eXIf before IDAT", "eXIf after IDAT", "raw profile tEXt", "raw profile zTXt", "XMP"]


@pytest.mark.parametrize("where", PLACES)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_png_is_turned_upright_wherever_its_orientation_is_written(
    orientation: int, where: str
) -> None:
    data = _oriented_png(orientation, where)
    with Image.open(io.BytesIO(data)) as source:
        upright = ImageOps.exif_transpose(source).convert("RGB")  # Pillow's reading of the file
    prepared = prepare_image(data)
    with Image.open(io.BytesIO(prepared.data())) as sent:
        assert sent.size == upright.size
        assert sent.convert("RGB").tobytes() == upright.tobytes()
        assert sent.getexif().get(0x0112, 1) == 1  # nothing left to rotate it again
        if orientation != 1:
            assert not {"Raw profile type exif", "xmp", "XML:com.adobe.xmp"} & set(sent.info)
    assert ("transposed" in prepared.transformations) is (orientation != 1)
    if orientation == 1:
        assert prepared.data() == data  # nothing to do: sent untouched


def test_orientation_is_read_without_decoding_the_png(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import PngImagePlugin  # noqa: PLC0415

    def no_decode(self: Any) -> Any:
        raise AssertionError("decoded")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", no_decode)
    data = _oriented_png(1, "eXIf after IDAT")
    assert prepare_image(data).data() == data


# -- animations: the first frame sent always decodes ---------------------------------------------


def _apng(frames: int = 3, **save: Any) -> bytes:
    images = [Image.new("RGB", (30, 20), (i * 60, 100, 255 - i * 60)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "PNG", save_all=True, append_images=images[1:], **save)
    return buffer.getvalue()


def _with_frame_count(data: bytes, count: int) -> bytes:
    at = data.index(b"acTL") - 4
    plays = data[at + 12 : at + 16]
    return data[:at] + _png_chunk(b"acTL", struct.pack(">I", count) + plays) + data[at + 20 :]


def _animated(fmt: str) -> bytes:
    images = [Image.new("RGB", (30, 20), (i * 60, 100, 255 - i * 60)) for i in range(3)]
    buffer = io.BytesIO()
    images[0].save(buffer, fmt, save_all=True, append_images=images[1:], duration=50, loop=0)
    return buffer.getvalue()


ANIMATIONS = {
    "apng": _apng(),
    "apng default image outside the animation": _apng(default_image=True),
    "apng zero frames": _with_frame_count(_apng(), 0),
    "apng claims one frame, has three": _with_frame_count(_apng(), 1),
    "apng claims seven frames, has three": _with_frame_count(_apng(), 7),
    "apng claims two frames, has three": _with_frame_count(_apng(), 2),
    "gif": _animated("GIF"),
    "webp": _animated("WEBP"),
}


@pytest.mark.filterwarnings("ignore:Invalid APNG")
@pytest.mark.parametrize("name", list(ANIMATIONS))
def test_the_first_frame_sent_is_one_still_picture_that_decodes(name: str) -> None:
    data = ANIMATIONS[name]
    with Image.open(io.BytesIO(data)) as source:
        source.load()
        first = source.convert("RGB")
        animated = source.is_animated
    prepared = prepare_image(data)
    sent = prepared.data()
    with Image.open(io.BytesIO(sent)) as image:
        image.load()
        assert getattr(image, "n_frames", 1) == 1
        assert image.size == first.size == (30, 20)
        if prepared.mime_type == "image/png":
            assert image.convert("RGB").tobytes() == first.tobytes()
    for chunk in (b"acTL", b"fcTL", b"fdAT", b"ANIM", b"ANMF", b"NETSCAPE2.0"):
        assert chunk not in sent
    assert "first_frame" in prepared.transformations
    if not animated:  # a frame count of 0 or 1: a still image for the policy, sent as one
        assert prepare_image(data, ImagePolicy(animated="error")).data() == sent
        return
    with pytest.raises(ImageInputError) as info:
        prepare_image(data, ImagePolicy(animated="error"))
    assert info.value.reason is ImageErrorReason.ANIMATED


# -- formats: converted, or refused by name; "not an image" only for what is not one --------------

_MODE_FOR = {"XBM": "1", "MSP": "1", "PALM": "1", "SPIDER": "F", "BLP": "P", "FITS": "L"}
# Pillow writes these but no Pillow plugin identifies them (and a PDF is a document, not an image).
_WRITE_ONLY = {"PALM", "PDF"}
_WIRE = {"image/jpeg", "image/png", "image/webp", "image/gif"}


def _written_by_pillow() -> dict[str, bytes]:
    Image.init()
    written = {}
    for fmt in sorted(Image.SAVE):
        image = Image.new("RGB", (64, 48), (120, 30, 200)).convert(_MODE_FOR.get(fmt, "RGB"))
        buffer = io.BytesIO()
        try:
            image.save(buffer, fmt)
        except (OSError, ValueError, KeyError):  # a stub without its handler, a codec not built
            continue
        written[fmt] = buffer.getvalue()
    return written


WRITTEN = _written_by_pillow()


def test_this_pillow_writes_the_formats_the_issue_names() -> None:
    assert {"DDS", "ICNS", "EPS", "IM", "MSP", "SPIDER", "XBM", "PDF"} <= set(WRITTEN)


def _check_refusal(fmt: str, data: bytes, error: ImageInputError) -> None:
    if fmt in _WRITE_ONLY:  # nothing can tell these bytes from any other
        assert error.reason is ImageErrorReason.NOT_AN_IMAGE
        with pytest.raises(Image.UnidentifiedImageError):
            Image.open(io.BytesIO(data))  # fails once Pillow learns the format: update
        return
    assert error.reason is ImageErrorReason.UNSUPPORTED_FORMAT, error
    named = fmt if fmt != "EPS" else "PostScript"
    assert named in error.detail
    assert "FlexAI takes JPEG, PNG, WebP and GIF: " in error.detail
    assert "not an image" not in str(error)


@pytest.mark.parametrize("fmt", list(WRITTEN))
def test_every_format_pillow_writes_is_converted_or_refused_by_name(fmt: str) -> None:
    data = WRITTEN[fmt]
    try:
        prepared = prepare_image(data)
    except ImageInputError as exc:
        _check_refusal(fmt, data, exc)
        return
    assert prepared.mime_type in _WIRE
    with Image.open(io.BytesIO(prepared.data())) as sent:
        sent.load()
        assert Image.MIME[sent.format or ""] == prepared.mime_type
        assert sent.size == (prepared.width, prepared.height)
    if fmt == "ICO":  # an icon holds square-ish sizes up to the source's: the largest is sent
        assert prepared.width <= 64
        assert prepared.width * 3 == prepared.height * 4
    else:
        assert sent.size == (64, 48)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"8BPS\x00\x01" + b"\x00" * 20, "a Photoshop (PSD) image"),
        (b"8BPS\x00\x02" + b"\x00" * 20, "a Photoshop (PSD) image"),
        (b'/* XPM */\nstatic char *x[] = {\n"1 1 1 1",\n"a c #ff0000",\n"a"};\n', "XPM"),
        (b"SIMPLE  =                    T" + b" " * 50, "a FITS (astronomy data) image"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n", "PostScript (EPS)"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "an SVG"),
        (b'<svg width="10" height="10"></svg>', "an SVG"),
        (b"\xff\x0a\xfa\x7f", "a JPEG XL image"),
        (b"\x00\x00\x00\x0cJXL \r\n\x87\n\x00\x00", "a JPEG XL image"),
        (b"\x76\x2f\x31\x01\x02\x00\x00\x00", "OpenEXR"),
        (b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n", "Radiance HDR"),
        (b"DDS \x7c\x00\x00\x00" + b"\x00" * 120, "DirectDraw texture (DDS)"),
        (b"\x00\x00\x00\x1c\x00\x00\x00\x02" + b"\x00" * 12 + b"GIMP" + b"\x00" * 8, "GIMP brush"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_formats_pillow_cannot_write_are_named_too(data: bytes, named: str) -> None:
    with pytest.raises(ImageInputError) as info:
        prepare_image(data)
    assert info.value.reason is ImageErrorReason.UNSUPPORTED_FORMAT
    assert named in info.value.detail
    assert "FlexAI takes JPEG, PNG, WebP and GIF: " in info.value.detail


@pytest.mark.parametrize(
    "data",
    [
        b"hello, this is text and not an image at all",
        b"\x00" * 200,
        bytes(range(256)) * 4,
        b"PK\x03\x04" + b"\x00" * 60,  # a ZIP archive
        b'{"json": true}',
        b"\x01\x00\x00\x00" + b"\x00" * 60,  # starts like EMF, but is not
    ],
    ids=["text", "zeros", "ramp", "zip", "json", "emf-like"],
)
def test_what_is_not_an_image_is_still_called_so(data: bytes) -> None:
    with pytest.raises(ImageInputError) as info:
        prepare_image(data)
    assert info.value.reason is ImageErrorReason.NOT_AN_IMAGE


# -- decode limits: a share of max_decode_pixels for formats decoded at full size ------------------


@pytest.mark.parametrize(
    ("fmt", "limit"),
    [("JPEG", 800), ("PNG", 400), ("GIF", 400), ("TIFF", 400), ("BMP", 400), ("WEBP", 200)],
)
def test_formats_decoded_at_full_size_get_a_share_of_the_decode_limit(fmt: str, limit: int) -> None:
    policy = ImagePolicy(max_side=10, max_pixels=100, max_decode_pixels=800)

    def encoded(size: tuple[int, int]) -> bytes:
        buffer = io.BytesIO()
        Image.effect_noise(size, 40).convert("RGB").save(buffer, fmt)
        return buffer.getvalue()

    taken = prepare_image(encoded((limit // 20, 20)), policy)  # at the limit: taken
    assert max(taken.width, taken.height) == 10
    with pytest.raises(ImageInputError) as info:
        prepare_image(encoded((limit // 20 + 1, 20)), policy)
    assert info.value.reason is ImageErrorReason.DECOMPRESSION_BOMB
    assert f"more than the policy's decode limit of {limit}" in info.value.detail


def test_a_share_never_falls_under_max_pixels() -> None:
    policy = ImagePolicy(max_side=100, max_pixels=1000, max_decode_pixels=1000)
    buffer = io.BytesIO()
    Image.new("RGB", (40, 25)).save(buffer, "WEBP")
    assert prepare_image(buffer.getvalue(), policy).width == 40


def test_a_16_bit_png_is_scaled_to_8_bits_after_the_downscale() -> None:
    ramp = Image.linear_gradient("L").resize((512, 256)).convert("I")
    sixteen = ramp.point(lambda v: v * 257).convert("I;16")
    buffer = io.BytesIO()
    sixteen.save(buffer, "PNG")
    prepared = prepare_image(buffer.getvalue(), ImagePolicy(max_side=128, max_pixels=128 * 64))
    with Image.open(io.BytesIO(prepared.data())) as sent:
        assert sent.size == (128, 64)
        assert sent.mode == "L"
        expected = ramp.convert("L").resize((128, 64), Image.Resampling.LANCZOS, reducing_gap=3.0)
        diffs = [abs(a - b) for a, b in zip(sent.tobytes(), expected.tobytes(), strict=True)]
    assert max(diffs) <= 3  # the full 16-bit range kept, not clipped at 255


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_tiff_turned_upright_by_pillow_is_recorded_as_transposed(orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.effect_noise((40, 20), 50).convert("RGB").save(buffer, "TIFF", exif=exif)
    with Image.open(io.BytesIO(buffer.getvalue())) as source:
        upright = ImageOps.exif_transpose(source)
    prepared = prepare_image(buffer.getvalue())
    assert (prepared.width, prepared.height) == upright.size
    assert ("transposed" in prepared.transformations) is (orientation != 1)


def test_the_loader_reads_mpo_files_as_their_primary_picture(tmp_path: Any) -> None:
    from langchain_flexai.document_loaders import FlexAIImageLoader  # noqa: PLC0415

    (tmp_path / "stereo.MPO").write_bytes(_mpo((80, 60), (80, 60)))
    (doc,) = FlexAIImageLoader(tmp_path).load()
    assert doc.metadata["transformations"] == ["primary_picture"]
    assert (doc.metadata["width"], doc.metadata["height"]) == (80, 60)


# -- Pillow's pure-Python decoders: bounded by the input's size ------------------------------------


def _bmp_rle8(width: int, height: int) -> bytes:
    """An RLE8 BMP of runs of one pixel (the most Python work per byte)."""
    row = bytes(v for i in range(width) for v in (1, i % 256)) + b"\x00\x00"
    pixels = row * height + b"\x00\x01"
    palette = bytes(4 * 256)
    offset = 14 + 40 + len(palette)
    header = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(pixels), 2835, 2835, 256, 0)
    return header + info + palette + pixels


def _qoi(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(buffer, "QOI")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "small", "large"),
    [
        ("BMP", lambda: _bmp_rle8(64, 32), lambda: _bmp_rle8(1200, 1400)),
        ("QOI", lambda: _qoi((64, 32)), lambda: _qoi((1300, 1000))),
    ],
)
def test_inputs_for_pure_python_decoders_are_bounded_by_size(
    name: str, small: Any, large: Any
) -> None:
    from langchain_flexai.images._probe import PYTHON_DECODER_MAX_BYTES  # noqa: PLC0415

    assert prepare_image(small()).width == 64
    data = large()
    assert len(data) > PYTHON_DECODER_MAX_BYTES
    with pytest.raises(ImageInputError) as info:
        prepare_image(data)
    assert info.value.reason is ImageErrorReason.TOO_LARGE
    assert f"this {name} image ({len(data)} bytes) would be decoded by Pillow's pure-Python" in (
        info.value.detail
    )


def test_the_picture_index_is_looked_for_in_the_first_segments_only() -> None:
    from langchain_flexai.images._mpo import primary_picture  # noqa: PLC0415

    data = _mpo((64, 48), (32, 24))
    assert primary_picture(data) is not None
    comments = b"\xff\xfe\x00\x03x" * 100_000  # a hundred thousand comment segments first
    assert primary_picture(data[:2] + comments + data[2:]) is None


def test_a_late_exif_chunk_is_found_by_the_chunk_walk_not_by_a_search() -> None:
    from langchain_flexai.images._structure import walk_header  # noqa: PLC0415

    data = _oriented_png(6, "eXIf after IDAT")
    structure = walk_header(data, 10**8)
    assert structure is not None
    assert structure.late_exif is not None
    start, _ = structure.late_exif
    assert data[start - 4 : start] == b"eXIf"
    assert prepare_image(data).transformations == ("transposed",)
    # The chunk type's bytes repeated inside a text chunk are no chunk: they neither turn a
    # picture nor hide the real chunk.
    fake = _png_chunk(b"tEXt", b"Comment\x00" + b"\x00\x00\x00\x10eXIf" * 100_000)
    idat = data.index(b"IDAT") - 4
    assert prepare_image(data[:idat] + fake + data[idat:]).transformations == ("transposed",)
    plain = _oriented_png(1, "eXIf after IDAT")
    start = plain.index(b"IDAT") - 4
    assert prepare_image(plain[:start] + fake + plain[start:]).transformations == ()
