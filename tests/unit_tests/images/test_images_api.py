"""images.py's public surface: sources, PreparedImage, ImagePolicy, image_block, the cache."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import pickle
import stat
import threading
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest
from langchain_core.documents.base import Blob
from PIL import Image

import langchain_flexai
from langchain_flexai._files import (
    OPEN_FLAGS,
    FileTooLargeError,
    NotRegularFileError,
    read_at_most,
    read_regular_file,
)
from langchain_flexai.errors import ImageErrorReason, ImageInputError, preview_source
from langchain_flexai.images import _codec as _image_codec
from langchain_flexai.images import _doors as images
from langchain_flexai.images import _prepared, _render
from langchain_flexai.images._cache import ByteBoundedLRU
from langchain_flexai.images._doors import (
    clear_image_cache,
    image_block,
    prepare_image,
    prepare_inline_image,
)
from langchain_flexai.images._policy import ACCEPTED_SUFFIXES, SUPPORTED_MIME_TYPES, ImagePolicy
from langchain_flexai.images._prepared import PreparedImage
from langchain_flexai.tokens import estimate_image_tokens
from tests.unit_tests.image_factory import (  # noqa: F401 - fixtures
    RED,
    corner_image,
    encode,
    fresh_cache,
)

_PNG = encode(corner_image(), "PNG")
_B64 = base64.b64encode(_PNG).decode()
_DATA_URL = f"data:image/png;base64,{_B64}"


def test_public_names_are_exported() -> None:
    for name in (
        "ImagePolicy",
        "PreparedImage",
        "clear_image_cache",
        "image_block",
        "prepare_image",
        "prepare_inline_image",
    ):
        assert name in langchain_flexai.__all__
        assert getattr(langchain_flexai, name) is getattr(images, name)
    assert {"image/jpeg", "image/png", "image/webp", "image/gif"} == SUPPORTED_MIME_TYPES
    assert {".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif", ".bmp", ".tiff"} <= (
        ACCEPTED_SUFFIXES
    )


# --- every source type of prepare_image ------------------------------------------------------


def _sources(tmp_path: Path) -> dict[str, object]:
    path = tmp_path / "corner.png"
    path.write_bytes(_PNG)
    return {
        "path": path,
        "str path": str(path),
        "bytes": _PNG,
        "bytearray": bytearray(_PNG),
        "memoryview": memoryview(_PNG),
        "BytesIO": io.BytesIO(_PNG),
        "open file": path.open("rb"),
        "Blob data": Blob.from_data(_PNG, mime_type="image/png"),
        "Blob path": Blob.from_path(path),
        "data URL": _DATA_URL,
        "base64": _B64,
    }


@pytest.mark.parametrize(
    "kind",
    ["path", "str path", "bytes", "bytearray", "memoryview", "BytesIO", "open file", "Blob data",
     "Blob path", "data URL", "base64"],
)  # fmt: skip
def test_every_byte_source_sends_the_same_bytes(kind: str, tmp_path: Path) -> None:
    source = _sources(tmp_path)[kind]
    try:
        prepared = prepare_image(source)
    finally:
        if hasattr(source, "close"):
            source.close()
    assert prepared.url == _DATA_URL
    assert prepared.data() == _PNG
    assert (prepared.width, prepared.height, prepared.mime_type) == (64, 32, "image/png")
    if kind in ("path", "str path", "Blob path", "open file"):
        assert prepared.source == str(tmp_path / "corner.png")
        assert prepared.url == _DATA_URL


def test_pil_image_source_is_encoded() -> None:
    prepared = prepare_image(corner_image())
    assert prepared.mime_type == "image/png"  # small, not from a JPEG
    assert prepared.transformations == ()
    assert Image.open(io.BytesIO(prepared.data())).getpixel((0, 0)) == RED


def test_pil_image_with_orientation_is_transposed_and_left_untouched() -> None:
    im = Image.open(io.BytesIO(encode(corner_image(), "PNG")))
    exif = im.getexif()
    exif[0x0112] = 3
    im.info["exif"] = exif.tobytes()
    before = im.tobytes()
    prepared = prepare_image(im)
    assert prepared.transformations == ("transposed",)
    assert Image.open(io.BytesIO(prepared.data())).getpixel((63, 31)) == RED
    assert im.tobytes() == before


def test_https_url_is_passed_through_untouched() -> None:
    url = "https://example.com/cat.png?x=1"
    prepared = prepare_image(url)
    assert prepared == PreparedImage(
        url=url, mime_type=None, width=None, height=None, size_bytes=None, source=url
    )
    assert prepared.sha256 is None
    with pytest.raises(ValueError, match="never fetched"):
        prepared.data()


@pytest.mark.parametrize(
    "url", ["http://example.com/a.png", "ftp://x/a.png", "file:///etc/passwd", "https://"]
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ImageInputError) as info:
        prepare_image(url)
    assert info.value.reason is ImageErrorReason.UNSUPPORTED_URL


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("https://", "invalid https URL: it names no host (expected 'https://host/path')"),
        (
            "https://example.com/a b.png",
            (
                "invalid https URL: it contains whitespace or a control character (' ' at position "
                "21); percent-encode it (a space is %20) or remove it"
            ),
        ),
        (
            "mailto:me@example.com",
            (
                "only https:// and data: image URLs are accepted (pass local files as a "
                "pathlib.Path, not a file:// URL)"
            ),
        ),
    ],
)
def test_refused_urls_say_why(url: str, detail: str) -> None:
    with pytest.raises(ImageInputError) as info:
        prepare_image(url)
    assert (info.value.reason, info.value.detail) == (ImageErrorReason.UNSUPPORTED_URL, detail)


def test_an_https_string_is_never_read_as_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "https:/../x.png" names <cwd>/https:/../x.png; the URL door must not fall back to reading it.
    (tmp_path / "https:").mkdir()
    (tmp_path / "x.png").write_bytes(b"not read")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ImageInputError) as info:
        prepare_image("https:/../x.png")
    assert info.value.reason is ImageErrorReason.UNSUPPORTED_URL
    assert info.value.detail.startswith("invalid https URL: it names no host")


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jpg"
    for source in (missing, str(missing)):
        with pytest.raises(ImageInputError) as info:
            prepare_image(source)
        assert info.value.reason is ImageErrorReason.UNREADABLE
        assert info.value.source == preview_source(str(missing))


def test_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ImageInputError) as info:
        prepare_image(tmp_path)
    assert info.value.reason is ImageErrorReason.UNREADABLE


def test_fifo_and_device_paths_are_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    expected = {
        fifo: "cannot read the image file: not a regular file, it is a FIFO (named pipe)",
        Path("/dev/zero"): "cannot read the image file: not a regular file, it is a character "
        "device",
    }
    for path, message in expected.items():
        with pytest.raises(ImageInputError) as info:
            prepare_image(path)  # used to block forever / end in MemoryError
        assert info.value.reason is ImageErrorReason.UNREADABLE
        assert info.value.detail == message
        assert info.value.source == str(path)


def test_file_over_the_byte_limit_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    Image.new("RGB", (8, 8), "red").save(path)
    size = path.stat().st_size
    assert images.MAX_FILE_BYTES == 64 * 1024 * 1024
    assert images.prepare_image_file(path, max_file_bytes=size).width == 8
    with pytest.raises(ImageInputError) as info:
        images.prepare_image_file(path, max_file_bytes=size - 1)
    assert info.value.reason is ImageErrorReason.TOO_LARGE
    assert info.value.detail == (
        f"the file has {size} bytes, more than the limit of {size - 1} bytes for an image file "
        "(raise max_file_bytes if it really is an image)"
    )


def test_a_file_growing_past_the_limit_is_read_no_further(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"x" * 100)
    real_fstat = os.fstat

    def small_fstat(fd: int) -> os.stat_result:  # as if the file grew after fstat
        info = list(real_fstat(fd))
        info[6] = 1  # st_size
        return os.stat_result(info)

    monkeypatch.setattr(os, "fstat", small_fstat)
    with pytest.raises(ImageInputError) as info:
        images.read_image_file(path, max_bytes=10)
    assert info.value.reason is ImageErrorReason.TOO_LARGE
    assert info.value.detail.startswith("the file grew while being read, more than the limit of 10")


def test_text_file_object_and_unknown_objects_are_refused() -> None:
    with pytest.raises(ImageInputError) as info:
        prepare_image(io.StringIO("hello"))
    assert info.value.reason is ImageErrorReason.UNSUPPORTED_SOURCE
    assert "binary mode" in str(info.value)
    with pytest.raises(ImageInputError) as info:
        prepare_image(42)
    assert info.value.reason is ImageErrorReason.UNSUPPORTED_SOURCE
    assert str(info.value).startswith("cannot prepare an image from a int")


def test_errors_from_files_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"not an image at all")
    with pytest.raises(ImageInputError) as info:
        prepare_image(path)
    assert info.value.reason is ImageErrorReason.NOT_AN_IMAGE
    assert info.value.source == preview_source(str(path))
    assert str(info.value).endswith(f"(source: {preview_source(str(path))})")


# --- PreparedImage --------------------------------------------------------------------------


def test_wire_shapes_are_exact() -> None:
    prepared = prepare_image(_PNG)
    assert prepared.to_openai_part() == {"type": "image_url", "image_url": {"url": _DATA_URL}}
    assert prepared.to_openai_part("low") == {
        "type": "image_url",
        "image_url": {"url": _DATA_URL, "detail": "low"},
    }
    assert prepared.to_content_block() == {
        "type": "image",
        "base64": _B64,
        "mime_type": "image/png",
    }
    assert prepared.to_content_block("high") == {
        "type": "image",
        "base64": _B64,
        "mime_type": "image/png",
        "extras": {"detail": "high"},
    }
    url = prepare_image("https://example.com/a.png")
    assert url.to_content_block("auto") == {
        "type": "image",
        "url": "https://example.com/a.png",
        "extras": {"detail": "auto"},
    }
    assert url.to_openai_part() == {
        "type": "image_url",
        "image_url": {"url": "https://example.com/a.png"},
    }


def test_image_block_is_the_content_block_of_prepare_image() -> None:
    assert image_block(_PNG, detail="low") == {
        "type": "image",
        "base64": _B64,
        "mime_type": "image/png",
        "extras": {"detail": "low"},
    }


def test_invalid_detail_is_refused() -> None:
    with pytest.raises(ImageInputError) as info:
        prepare_image(_PNG).to_openai_part("ultra")
    assert info.value.reason is ImageErrorReason.INVALID_DETAIL
    assert str(info.value) == "detail must be one of 'auto', 'low', 'high', got 'ultra'"


def test_sha256_is_of_the_bytes_sent_and_repr_is_short() -> None:
    prepared = prepare_image(_PNG)
    assert prepared.sha256 == hashlib.sha256(_PNG).hexdigest()
    text = repr(prepared)
    assert _B64[60:120] not in text
    assert f"({len(_DATA_URL)} chars)" in text


def test_estimate_tokens_uses_the_token_rules() -> None:
    prepared = prepare_image(_PNG)
    assert prepared.estimate_tokens("gpt-4o") == estimate_image_tokens("gpt-4o", 64, 32)


# --- ImagePolicy ------------------------------------------------------------------------------


def test_policy_defaults() -> None:
    policy = ImagePolicy()
    assert (policy.max_side, policy.max_pixels, policy.max_bytes) == (
        2048,
        4_194_304,
        5 * 1024 * 1024,
    )
    assert (policy.animated, policy.jpeg_quality, policy.exif_transpose) == (
        "first_frame",
        85,
        True,
    )
    assert (policy.max_decode_pixels, policy.max_images) == (120_000_000, 20)
    assert hash(policy) == hash(ImagePolicy())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"max_side": 0}, ValueError, "ImagePolicy.max_side must be >= 1, got 0"),
        ({"max_pixels": -5}, ValueError, "ImagePolicy.max_pixels must be >= 1, got -5"),
        ({"max_bytes": 1.5}, TypeError, "ImagePolicy.max_bytes must be an int, got 1.5"),
        ({"max_images": True}, TypeError, "ImagePolicy.max_images must be an int, got True"),
        ({"jpeg_quality": 96}, ValueError, "ImagePolicy.jpeg_quality must be 1-95, got 96"),
        ({"jpeg_quality": 0}, ValueError, "ImagePolicy.jpeg_quality must be >= 1, got 0"),
        (
            {"animated": "loop"},
            ValueError,
            "ImagePolicy.animated must be 'first_frame' or 'error', got 'loop'",
        ),
        ({"exif_transpose": 1}, TypeError, "ImagePolicy.exif_transpose must be a bool, got 1"),
        (
            {"max_decode_pixels": 1000},
            ValueError,
            "ImagePolicy.max_decode_pixels (1000) must be at least max_pixels (4194304)",
        ),
    ],
)
def test_policy_validation(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        ImagePolicy(**kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


# --- the cache --------------------------------------------------------------------------------


def _count_identify(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count how often image bytes are prepared (the codec run, fast path or not)."""
    calls = [0]
    real = images.encode_bytes

    def counting(data: bytes, *args: object) -> object:
        calls[0] += 1
        return real(data, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(images, "encode_bytes", counting)
    return calls


def test_repeated_inline_image_is_prepared_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_identify(monkeypatch)
    first = prepare_inline_image(_DATA_URL)
    second = prepare_inline_image(_DATA_URL)
    equal_copy = prepare_inline_image("".join([_DATA_URL[:10], _DATA_URL[10:]]))
    assert first is second is equal_copy
    assert calls == [1]
    assert first.url is _DATA_URL  # the input string itself, not a copy


def test_cache_key_includes_policy_mime_and_source(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_identify(monkeypatch)
    prepare_inline_image(_B64)
    prepare_inline_image(_B64, policy=ImagePolicy(max_side=32))
    prepare_inline_image(_B64, mime_type="image/jpeg")
    prepare_inline_image(_B64, source="message 1")
    assert calls == [4]


def test_bytes_through_prepare_image_are_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_identify(monkeypatch)
    assert prepare_image(_PNG) is prepare_image(bytes(bytearray(_PNG)))
    assert calls == [1]


def test_files_are_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_identify(monkeypatch)
    path = tmp_path / "a.png"
    path.write_bytes(_PNG)
    prepare_image(path)
    path.write_bytes(encode(corner_image((10, 10)), "PNG"))
    assert prepare_image(path).width == 10
    assert calls == [2]


def test_clear_image_cache_forgets(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_identify(monkeypatch)
    first = prepare_inline_image(_DATA_URL)
    clear_image_cache()
    assert prepare_inline_image(_DATA_URL) is not first
    assert calls == [2]


def test_errors_are_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_identify(monkeypatch)
    for _ in range(2):
        with pytest.raises(ImageInputError):
            prepare_inline_image(b"junk")
    assert calls == [2]


def test_lru_is_bounded_by_bytes_and_evicts_least_recently_used() -> None:
    cache: ByteBoundedLRU[str, int] = ByteBoundedLRU(100)
    cache.put("a", 1, 40)
    cache.put("b", 2, 40)
    assert cache.get("a") == 1  # now "b" is least recently used
    cache.put("c", 3, 40)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)
    assert cache.total_bytes == 80
    cache.put("huge", 4, 101)
    assert cache.get("huge") is None
    assert len(cache) == 2
    cache.put("a", 5, 10)
    assert (cache.get("a"), cache.total_bytes) == (5, 50)
    cache.resize(20)
    assert (len(cache), cache.total_bytes) == (1, 10)
    assert (cache.hits, cache.misses) == (4, 2)


def test_lru_is_thread_safe() -> None:
    cache: ByteBoundedLRU[int, int] = ByteBoundedLRU(1000)

    def hammer(offset: int) -> None:
        for i in range(2000):
            cache.put((i + offset) % 150, i, 10)
            cache.get((i * 7) % 150)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.total_bytes == 10 * len(cache) <= 1000


def test_cache_is_shared_across_threads() -> None:
    results: list[PreparedImage] = []

    def work() -> None:
        results.append(prepare_inline_image(_DATA_URL))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r.url for r in results}) == 1
    assert prepare_inline_image(_DATA_URL) in results


def test_a_fifo_named_as_a_string_is_refused_as_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageInputError, match="not a regular file") as info:
        prepare_image(str(fifo))
    assert info.value.reason is ImageErrorReason.UNREADABLE


class _RecordingReader(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.asked.append(-1 if size is None else size)
        return super().read(size)


def test_bounded_reads_ask_for_the_file_size_not_the_cap() -> None:
    # read(n) allocates n bytes up front: asking for a 64 MiB cap per small file made the
    # compliant-file fast path 4-5x slower.
    small = _RecordingReader(b"x" * 10)
    assert read_at_most(small, 10, 64 * 1024 * 1024) == b"x" * 10
    assert small.asked == [11]
    grown = _RecordingReader(b"y" * 100)  # fstat said 10; the file grew since
    assert read_at_most(grown, 10, 50) == b"y" * 51  # one past the cap: the caller refuses it
    assert grown.asked == [11, 40]


# --- Pillow's failures only: a bug of ours is no "corrupt image" ------------------------------


def _our_bug(*args: object, **kwargs: object) -> NoReturn:
    raise TypeError("a bug of ours")


def _slow_path_png() -> bytes:
    # Over max_side: decoded, downscaled and re-encoded, so every helper below runs.
    return encode(corner_image((96, 64)), "PNG")


@pytest.mark.parametrize(
    ("module", "helper"),
    [
        (_render, "fit_size"),
        (_render, "_to_standard_mode"),
        (_render, "_drop_opaque_alpha"),
        (_render, "_fit_bytes"),
        (_render, "_encode"),
        (_image_codec, "sendable_as_is"),
        (_image_codec, "orientation_from_info"),
        (_image_codec, "check_python_decoder"),
        (images, "_build"),
    ],
)
def test_a_bug_of_ours_propagates_as_itself(
    module: ModuleType, helper: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, helper, _our_bug)
    policy = ImagePolicy(max_side=32)
    for source in (_slow_path_png(), base64.b64encode(_slow_path_png()).decode()):
        with pytest.raises(TypeError, match="a bug of ours") as info:
            prepare_image(source, policy)
        assert not isinstance(info.value, ImageInputError)


def test_a_bug_of_ours_under_a_pil_image_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_render, "_fit_bytes", _our_bug)
    with pytest.raises(TypeError, match="a bug of ours"):
        prepare_image(corner_image((96, 64)), ImagePolicy(max_side=32))


def test_pillow_failing_inside_a_pillow_call_is_still_an_image_error() -> None:
    # The narrowing keeps the contract for damaged data: cut the PNG inside its pixel data.
    damaged = _slow_path_png()[:-40]
    with pytest.raises(ImageInputError) as info:
        prepare_image(damaged, ImagePolicy(max_side=32))
    assert info.value.reason is ImageErrorReason.CORRUPT


# --- the hash and the bytes of a prepared image come from the bytes it had ---------------------


def test_sha256_and_data_never_decode_the_base64_just_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_decode(text: str) -> bytes:
        raise AssertionError("the base64 just made was decoded again")

    bmp = encode(corner_image(), "BMP")  # converted: new bytes
    prepared = [
        prepare_image(bmp),
        prepare_image(_PNG),  # sent as is
        prepare_inline_image(_DATA_URL, source="inline"),
        prepare_image(corner_image()),  # a PIL image
    ]
    monkeypatch.setattr(_prepared, "b64decode_strict", no_decode)
    for image in prepared:
        sent = base64.b64decode(image.url.split(",", 1)[1])
        assert image.data() == sent
        assert image.sha256 == hashlib.sha256(sent).hexdigest()


def test_a_pickled_prepared_image_keeps_only_its_url() -> None:
    prepared = prepare_image(encode(corner_image(), "BMP"))
    pickled = pickle.dumps(prepared)
    assert prepared.data() not in pickled  # the bytes travel once, as base64 in the URL
    again = pickle.loads(pickled)  # noqa: S301 - our own bytes
    assert again == prepared
    assert again.data() == prepared.data()
    assert again.sha256 == prepared.sha256


# --- one owner for bounded reads of a regular file --------------------------------------------


def test_bounded_read_refuses_what_is_no_regular_file_or_too_large(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, OPEN_FLAGS)  # non-blocking: no writer needed
    with os.fdopen(fd, "rb") as handle, pytest.raises(NotRegularFileError) as info:
        read_regular_file(handle, 100)
    assert stat.S_ISFIFO(info.value.mode)
    path = tmp_path / "f.bin"
    path.write_bytes(b"z" * 11)
    with path.open("rb") as handle:
        assert read_regular_file(handle, 11) == b"z" * 11
    with path.open("rb") as handle, pytest.raises(FileTooLargeError) as too_large:
        read_regular_file(handle, 10)
    assert too_large.value.size == 11
