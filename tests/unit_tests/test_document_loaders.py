"""FlexAIImageLoader and FlexAIImageParser: Documents, messages, errors, describe mode."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import pathlib
import sys
import warnings
from pathlib import Path

import pybase64
import pytest
from langchain_core.document_loaders import Blob
from langchain_core.documents import Document
from langchain_core.messages import HumanMessage
from PIL import Image, ImageFile

from langchain_flexai._env import usable_cores
from langchain_flexai._loader import _pipeline as _loader_pipeline
from langchain_flexai._loader._documents import image_from_npy, vision_content, vision_message
from langchain_flexai.describe import (
    DEFAULT_PROMPT,
    ImageDescriber,
    RequestRateLimiter,
    SkippedImage,
)
from langchain_flexai.describe._records import LoadedImage
from langchain_flexai.document_loaders import (
    FlexAIImageLoader,
    FlexAIImageParser,
    ImageSkippedWarning,
    OnError,
    SkippedFile,
)
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._doors import prepare_image
from langchain_flexai.images._policy import ImagePolicy
from langchain_flexai.tools import tool_image_content
from tests.unit_tests.loader_samples import (
    CountingModel,
    corrupt_png,
    describe_text,
    half_and_half,
    make_deep_tree,
    phone_folder,
    remove_deep_tree,
    save_image,
)

GOOD_ORDER = ["B.PNG", "a.jpg", "d.bmp", "sub/c.webp", "sub/r.jpg", "z_big.jpg"]


def _names(root: Path, docs: list[Document]) -> list[str]:
    return [Path(d.metadata["source"]).relative_to(root).as_posix() for d in docs]


def _quiet(loader: FlexAIImageLoader) -> list[Document]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImageSkippedWarning)
        return loader.load()


# -- loading -------------------------------------------------------------------------------


def test_load_equals_lazy_load_and_aload(tmp_path: Path) -> None:
    phone_folder(tmp_path)
    loader = FlexAIImageLoader(tmp_path, on_error="skip")
    loaded = loader.load()
    assert loaded == list(loader.lazy_load())
    assert _names(tmp_path, loaded) == GOOD_ORDER


async def test_aload_equals_load(tmp_path: Path) -> None:
    phone_folder(tmp_path)
    loader = FlexAIImageLoader(tmp_path, on_error="skip", workers=2)
    assert await loader.aload() == loader.load()


@pytest.mark.parametrize("slow_file_s", [-1.0, 1.0], ids=["pool", "inline"])
def test_order_does_not_depend_on_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slow_file_s: float
) -> None:
    # -1: every file counts as expensive, so every chunk goes to the pool; 1: none does.
    monkeypatch.setattr(_loader_pipeline, "_SLOW_FILE_S", slow_file_s)
    for i in range(40):
        save_image(tmp_path / f"{i:03d}.png", (8 + i, 8))
    corrupt_png(tmp_path / "017x.png")
    serial = FlexAIImageLoader(tmp_path, workers=1, on_error="skip")
    parallel = FlexAIImageLoader(tmp_path, workers=3, on_error="skip")
    assert serial.load() == parallel.load()
    assert _names(tmp_path, parallel.load()) == [f"{i:03d}.png" for i in range(40)]
    assert [Path(s.source or "").name for s in parallel.skipped] == ["017x.png"]


def test_metadata_and_stand_in_text(tmp_path: Path) -> None:
    path = save_image(tmp_path / "Photo.JPG", (80, 60))
    (doc,) = FlexAIImageLoader(path).load()
    raw = path.read_bytes()
    meta = dict(doc.metadata)
    url = meta.pop("image_url")
    assert url == "data:image/jpeg;base64," + pybase64.b64encode(raw).decode()
    assert meta == {
        "source": str(path),
        "file_name": "Photo.JPG",
        "file_size": len(raw),
        "mime_type": "image/jpeg",
        "width": 80,
        "height": 60,
        "original_mime_type": "image/jpeg",
        "original_width": 80,
        "original_height": 60,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "transformations": [],
    }
    assert len(raw) < 1024  # a solid colour: sizes below a KiB are given in bytes
    assert doc.page_content == f"Image Photo.JPG: JPEG 80×60, {len(raw)} B"


def test_compliant_files_are_sent_byte_for_byte(tmp_path: Path) -> None:
    files = phone_folder(tmp_path)
    docs = {Path(d.metadata["source"]).name: d for d in _quiet(FlexAIImageLoader(tmp_path))}
    for key in ("a", "b", "c"):
        doc = docs[files[key].name]
        payload = doc.metadata["image_url"].split(",", 1)[1]
        assert pybase64.b64decode(payload) == files[key].read_bytes()
        assert doc.metadata["transformations"] == []


def test_compliant_files_are_never_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for fmt, suffix in (("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp"), ("GIF", ".gif")):
        save_image(tmp_path / f"x{suffix}", (64, 48), fmt=fmt)
    save_image(tmp_path / "y.bmp", (64, 48))  # the control: BMP must be decoded to convert it
    decoded: list[str | None] = []
    real_load = ImageFile.ImageFile.load

    def load(self: ImageFile.ImageFile) -> object:
        decoded.append(self.format)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    docs = FlexAIImageLoader(tmp_path, workers=1).load()
    assert [d.metadata["transformations"] for d in docs] == [[], [], [], [], ["converted"]]
    assert set(decoded) == {"BMP"}  # load() may be called more than once per image


def test_oversize_is_downscaled_and_converted_formats_recorded(tmp_path: Path) -> None:
    files = phone_folder(tmp_path)
    docs = {Path(d.metadata["source"]).name: d for d in _quiet(FlexAIImageLoader(tmp_path))}
    big = docs[files["big"].name]
    assert (big.metadata["width"], big.metadata["height"]) == (2048, 1024)
    assert big.metadata["transformations"] == ["resized"]
    assert big.page_content.endswith("(sent as JPEG 2048×1024)")
    bmp = docs[files["bmp"].name]
    assert (bmp.metadata["original_mime_type"], bmp.metadata["mime_type"]) == (
        "image/bmp",
        "image/png",
    )
    assert bmp.metadata["transformations"] == ["converted"]


def test_policy_is_applied(tmp_path: Path) -> None:
    save_image(tmp_path / "a.png", (400, 100))
    (doc,) = FlexAIImageLoader(tmp_path, policy=ImagePolicy(max_side=200, max_pixels=40_000)).load()
    assert (doc.metadata["width"], doc.metadata["height"]) == (200, 50)


def test_exif_rotation_is_honoured(tmp_path: Path) -> None:
    # Orientation 6: the camera was turned; display = rotate 90° clockwise. The stored left
    # (red) half must end up on top.
    path = half_and_half(tmp_path / "rot.jpg", (200, 100), orientation=6)
    (doc,) = FlexAIImageLoader(path).load()
    assert (doc.metadata["width"], doc.metadata["height"]) == (100, 200)
    assert doc.metadata["transformations"] == ["transposed"]
    data = pybase64.b64decode(doc.metadata["image_url"].split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as image:
        assert image.getexif().get(0x0112, 1) == 1
        top = image.convert("RGB").getpixel((50, 20))
        bottom = image.convert("RGB").getpixel((50, 180))
    assert (top[0] > 200, top[2] < 60) == (True, True)  # red
    assert (bottom[0] < 60, bottom[2] > 200) == (True, True)  # blue


def test_heic_is_converted(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    path = tmp_path / "IMG_0001.HEIC"
    Image.new("RGB", (64, 48), (0, 120, 0)).save(path)
    (doc,) = FlexAIImageLoader(tmp_path).load()
    assert doc.metadata["original_mime_type"] in ("image/heif", "image/heic")
    assert doc.metadata["mime_type"] in ("image/jpeg", "image/png")  # the codec's choice
    assert doc.metadata["transformations"] == ["converted"]


# -- walk options ---------------------------------------------------------------------------


def test_suffixes_are_case_insensitive_and_configurable(tmp_path: Path) -> None:
    phone_folder(tmp_path)
    docs = FlexAIImageLoader(tmp_path, suffixes=["png"], on_error="skip").load()
    assert _names(tmp_path, docs) == ["B.PNG"]
    docs = FlexAIImageLoader(tmp_path, suffixes=[".JPG", ".webp"]).load()
    assert _names(tmp_path, docs) == ["a.jpg", "sub/c.webp", "sub/r.jpg", "z_big.jpg"]


def test_hidden_files_are_skipped(tmp_path: Path) -> None:
    save_image(tmp_path / "a.png")
    save_image(tmp_path / ".secret.png")
    save_image(tmp_path / ".thumbs" / "t.png")
    assert _names(tmp_path, FlexAIImageLoader(tmp_path).load()) == ["a.png"]


def test_recursion_on_and_off(tmp_path: Path) -> None:
    save_image(tmp_path / "a.png")
    save_image(tmp_path / "sub" / "b.png")
    assert _names(tmp_path, FlexAIImageLoader(tmp_path, recursive=False).load()) == ["a.png"]
    assert _names(tmp_path, FlexAIImageLoader(tmp_path).load()) == ["a.png", "sub/b.png"]


def test_glob_exclude_and_path_list(tmp_path: Path) -> None:
    for name in ("2024/IMG_1.png", "2024/thumbs/IMG_2.png", "2023/IMG_3.png", "x.png"):
        save_image(tmp_path / name)
    loader = FlexAIImageLoader(tmp_path, glob="IMG_*", exclude="thumbs")
    assert _names(tmp_path, loader.load()) == ["2023/IMG_3.png", "2024/IMG_1.png"]
    loader = FlexAIImageLoader([tmp_path / "x.png", tmp_path / "2024"], exclude=["thumbs"])
    assert _names(tmp_path, loader.load()) == ["x.png", "2024/IMG_1.png"]


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    save_image(tmp_path / "a" / "x.png")
    (tmp_path / "a" / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert _names(tmp_path, FlexAIImageLoader(tmp_path).load()) == ["a/x.png"]


def test_invalid_options_are_refused() -> None:
    with pytest.raises(ValueError, match="on_error must be one of"):
        FlexAIImageLoader(".", on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one file or directory"):
        FlexAIImageLoader([])
    with pytest.raises(TypeError, match="collection of suffixes"):
        FlexAIImageLoader(".", suffixes=".jpg")
    with pytest.raises(ValueError, match="workers must be >= 1"):
        FlexAIImageLoader(".", workers=0)


# -- errors ---------------------------------------------------------------------------------


def test_corrupt_file_with_on_error_raise(tmp_path: Path) -> None:
    phone_folder(tmp_path)
    loader = FlexAIImageLoader(tmp_path, on_error="raise")
    with pytest.raises(ImageInputError) as info:
        loader.load()
    assert info.value.reason is ImageErrorReason.CORRUPT
    assert str(info.value).startswith(
        f"cannot load {tmp_path / 'broken.png'}: the file is truncated"
    )
    assert isinstance(info.value.__cause__, ImageInputError)


def test_corrupt_file_with_on_error_skip(tmp_path: Path) -> None:
    phone_folder(tmp_path)
    loader = FlexAIImageLoader(tmp_path, on_error="skip")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        docs = loader.load()
    assert _names(tmp_path, docs) == GOOD_ORDER
    (skipped,) = loader.skipped
    assert (skipped.source, skipped.reason) == (str(tmp_path / "broken.png"), "corrupt")
    assert skipped.message == "the file is truncated: its 40 bytes end inside the PNG header"


def test_corrupt_file_with_on_error_warn(tmp_path: Path) -> None:
    phone_folder(tmp_path)
    loader = FlexAIImageLoader(tmp_path, on_error="warn")
    with pytest.warns(ImageSkippedWarning, match=r"skipped .*broken\.png: the file is") as record:
        docs = loader.load()
    assert len(record) == 1
    assert _names(tmp_path, docs) == GOOD_ORDER
    assert [s.reason for s in loader.skipped] == ["corrupt"]


def test_skipped_is_reset_per_run(tmp_path: Path) -> None:
    corrupt_png(tmp_path / "x.png")
    loader = FlexAIImageLoader(tmp_path, on_error="skip")
    loader.load()
    loader.load()
    assert len(loader.skipped) == 1


def test_unreadable_file_follows_on_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_image(tmp_path / "a.png")
    locked = save_image(tmp_path / "locked.png")
    real_open = os.open

    def fake_open(path: str, flags: int, *args: int, **kwargs: object) -> int:
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", fake_open)
    loader = FlexAIImageLoader(tmp_path, on_error="skip")
    assert _names(tmp_path, loader.load()) == ["a.png"]
    assert loader.skipped == [
        SkippedFile(
            str(locked),
            "unreadable",
            "cannot read the image file: Permission denied",
        )
    ]
    with pytest.raises(ImageInputError, match="Permission denied") as info:
        FlexAIImageLoader(tmp_path, on_error="raise").load()
    assert info.value.reason is ImageErrorReason.UNREADABLE


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_chmod_000_file_is_skipped(tmp_path: Path) -> None:
    save_image(tmp_path / "a.png")
    locked = save_image(tmp_path / "locked.png")
    locked.chmod(0)
    loader = FlexAIImageLoader(tmp_path, on_error="skip")
    assert _names(tmp_path, loader.load()) == ["a.png"]
    assert [s.reason for s in loader.skipped] == ["unreadable"]


def test_fifo_and_device_are_reported_not_read(tmp_path: Path) -> None:
    # Named explicitly, so the walk hands them over: the loader itself must refuse them (a FIFO
    # used to block forever, /dev/zero to end in MemoryError).
    save_image(tmp_path / "a.png")
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    loader = FlexAIImageLoader([fifo, "/dev/zero", tmp_path / "a.png"], on_error="skip")
    assert _names(tmp_path, loader.load()) == ["a.png"]
    assert loader.skipped == [
        SkippedFile(
            str(fifo), "unreadable", "cannot read it: not a regular file, it is a FIFO (named pipe)"
        ),
        SkippedFile(
            "/dev/zero",
            "unreadable",
            "cannot read it: not a regular file, it is a character device",
        ),
    ]


def test_file_over_max_file_bytes_is_too_large(tmp_path: Path) -> None:
    small = save_image(tmp_path / "a.png", (4, 4))
    big = save_image(tmp_path / "b.png", (64, 64))
    limit = small.stat().st_size
    loader = FlexAIImageLoader(tmp_path, on_error="skip", max_file_bytes=limit)
    assert _names(tmp_path, loader.load()) == ["a.png"]
    assert loader.skipped == [
        SkippedFile(
            str(big),
            "too_large",
            f"the file has {big.stat().st_size} bytes, more than the limit of {limit} bytes "
            "for an image file (raise max_file_bytes if it really is an image)",
        )
    ]
    with pytest.raises(ValueError, match=r"max_file_bytes must be >= 1, got 0"):
        FlexAIImageLoader(tmp_path, max_file_bytes=0)


async def _collect(loader: FlexAIImageLoader, how: str) -> list[Document]:
    if how == "load":
        return loader.load()
    if how == "lazy_load":
        return list(loader.lazy_load())
    if how == "aload":
        return await loader.aload()
    return [doc async for doc in loader.alazy_load()]


LOAD_METHODS = ["load", "lazy_load", "aload", "alazy_load"]


@pytest.mark.parametrize("how", LOAD_METHODS)
@pytest.mark.parametrize("on_error", ["raise", "skip", "warn"])
async def test_a_missing_path_is_an_error_whatever_on_error(
    tmp_path: Path, how: str, on_error: OnError
) -> None:
    save_image(tmp_path / "a.png", (4, 4))
    missing = tmp_path / "nope"
    loader = FlexAIImageLoader([tmp_path, missing], on_error=on_error)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ImageSkippedWarning either: an error, not a skip
        with pytest.raises(FileNotFoundError) as info:
            await _collect(loader, how)
    assert str(info.value) == (
        f"[Errno 2] cannot load images from it: No such file or directory: '{missing}'"
    )
    assert loader.skipped == []


@pytest.mark.parametrize("how", LOAD_METHODS)
async def test_a_missing_path_is_an_error_with_a_model_too(tmp_path: Path, how: str) -> None:
    model = CountingModel()
    loader = FlexAIImageLoader(tmp_path / "nope.jpg", model=model, on_error="skip")
    with pytest.raises(FileNotFoundError, match=r"nope\.jpg'$"):
        await _collect(loader, how)
    assert model.requests == []


@pytest.mark.parametrize("how", LOAD_METHODS)
async def test_a_tree_deeper_than_the_recursion_limit_loads(tmp_path: Path, how: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (9, 9, 9)).save(buffer, "PNG")
    depth = max(1200, sys.getrecursionlimit() + 200)
    made = make_deep_tree(tmp_path, depth, {0: buffer.getvalue(), depth: buffer.getvalue()})
    try:
        docs = await _collect(FlexAIImageLoader(tmp_path, on_error="raise"), how)
    finally:
        remove_deep_tree(tmp_path, depth)
    assert [d.metadata["source"] for d in docs] == [made[1], made[0]]


def _non_utf8_file(folder: Path, raw_name: bytes, data: bytes) -> str:
    """A file whose name is not valid UTF-8 (POSIX names are bytes); returns its str path."""
    path = os.path.join(os.fsencode(folder), raw_name)  # noqa: PTH118 - bytes path
    with open(path, "wb") as handle:  # noqa: PTH123 - bytes path
        handle.write(data)
    return os.fsdecode(path)


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX byte file names")
@pytest.mark.parametrize("how", LOAD_METHODS)
async def test_non_utf8_names_load_and_their_metadata_is_utf8(tmp_path: Path, how: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (9, 9, 9)).save(buffer, "PNG")
    raw_names = [b"caf\xe9.png", b"\xff\xfe.png", "ok é.png".encode(), b"mixed-\xc3\xa9-\x80.png"]
    for raw in raw_names:
        _non_utf8_file(tmp_path, raw, buffer.getvalue())
    docs = await _collect(FlexAIImageLoader(tmp_path, on_error="raise"), how)
    sources = [d.metadata["source"] for d in docs]
    expected = sorted(os.fsdecode(raw) for raw in raw_names)  # the walk's order: by str name
    assert sources == [
        str(tmp_path / os.fsencode(n).decode("utf-8", "backslashreplace")) for n in expected
    ]
    assert {d.metadata["file_name"] for d in docs} == {
        "caf\\xe9.png",
        "\\xff\\xfe.png",
        "ok é.png",
        "mixed-é-\\x80.png",
    }
    for doc in docs:  # any UTF-8 sink takes the whole Document
        json.dumps(doc.metadata, ensure_ascii=False).encode("utf-8")
        doc.page_content.encode("utf-8")


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX byte file names")
def test_a_skipped_non_utf8_name_warns_in_utf8_and_keeps_the_real_path(tmp_path: Path) -> None:
    real = _non_utf8_file(tmp_path, b"bad\xff.png", b"not a png")
    with pytest.warns(ImageSkippedWarning) as caught:
        assert FlexAIImageLoader(tmp_path).load() == []
    (warning,) = caught
    message = str(warning.message)
    assert message.startswith(f"skipped {tmp_path}/bad\\xff.png: ")
    message.encode("utf-8")
    loader = FlexAIImageLoader(tmp_path, on_error="skip")
    loader.load()
    (skipped,) = loader.skipped
    assert skipped.source == real
    assert Path(real).read_bytes() == b"not a png"  # the path in the record opens the file


def test_glob_matches_upper_case_names_unless_case_sensitive(tmp_path: Path) -> None:
    for name in ("IMG_1.JPG", "img_2.jpg", "IMG_3.png"):
        save_image(tmp_path / name, (4, 4))
    assert _names(tmp_path, FlexAIImageLoader(tmp_path, glob="**/*.jpg").load()) == [
        "IMG_1.JPG",
        "img_2.jpg",
    ]
    exact = FlexAIImageLoader(tmp_path, glob="**/*.jpg", case_sensitive=True).load()
    assert _names(tmp_path, exact) == ["img_2.jpg"]


# -- laziness -------------------------------------------------------------------------------


def test_lazy_load_prepares_a_bounded_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(300):
        save_image(tmp_path / f"{i:03d}.png", (4, 4))
    prepared: list[str] = []
    real = _loader_pipeline.prepare_file

    def counting(path: str, policy: ImagePolicy, max_file_bytes: int) -> object:
        prepared.append(path)
        return real(path, policy, max_file_bytes)

    monkeypatch.setattr(_loader_pipeline, "prepare_file", counting)
    monkeypatch.setattr(_loader_pipeline, "_SLOW_FILE_S", -1.0)  # the pool path
    documents = FlexAIImageLoader(tmp_path, workers=2).lazy_load()
    next(documents)
    # Two workers: a window of 2 x 4 chunks of 2 files ahead, not the folder.
    assert len(prepared) <= 20
    documents.close()
    prepared.clear()
    monkeypatch.setattr(_loader_pipeline, "_SLOW_FILE_S", 1.0)  # the inline path
    documents = FlexAIImageLoader(tmp_path, workers=2).lazy_load()
    next(documents)
    assert len(prepared) <= _loader_pipeline.CHUNK_SIZE
    documents.close()


# -- messages -------------------------------------------------------------------------------


def test_lazy_load_messages(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.png", (30, 20), fmt="PNG")
    prompt = 'What is {this}? Reply in JSON like {"a": 1}.'
    (message,) = FlexAIImageLoader(tmp_path).lazy_load_messages(prompt)
    assert message == HumanMessage(
        content=[
            {"type": "text", "text": prompt},
            {
                "type": "image",
                "base64": pybase64.b64encode(path.read_bytes()).decode(),
                "mime_type": "image/png",
            },
        ]
    )


async def test_alazy_load_messages_equals_sync(tmp_path: Path) -> None:
    phone_folder(tmp_path)
    loader = FlexAIImageLoader(tmp_path, on_error="skip", prompt="Describe.", detail="low")
    sync = list(loader.lazy_load_messages())
    asynchronous = [m async for m in loader.alazy_load_messages()]
    assert sync == asynchronous
    assert len(sync) == len(GOOD_ORDER)
    assert sync[0].content[0] == {"type": "text", "text": "Describe."}
    assert sync[0].content[1]["extras"] == {"detail": "low"}


def test_empty_prompt_sends_the_image_alone(tmp_path: Path) -> None:
    save_image(tmp_path / "a.png")
    (message,) = FlexAIImageLoader(tmp_path).lazy_load_messages("")
    assert [block["type"] for block in message.content] == ["image"]


def test_to_message_round_trip(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.jpg")
    (doc,) = FlexAIImageLoader(path).load()
    message = FlexAIImageLoader.to_message(doc, "Caption {it}.", detail="high")
    assert message.content == [
        {"type": "text", "text": "Caption {it}."},
        {
            "type": "image",
            "base64": pybase64.b64encode(path.read_bytes()).decode(),
            "mime_type": "image/jpeg",
            "extras": {"detail": "high"},
        },
    ]
    plain = {k: v for k, v in message.content[1].items() if k != "extras"}
    assert FlexAIImageLoader.to_message(doc).content == [plain]


def test_to_message_without_image_is_refused(tmp_path: Path) -> None:
    save_image(tmp_path / "a.png")
    (doc,) = FlexAIImageLoader(tmp_path, include_image=False).load()
    assert "image_url" not in doc.metadata
    with pytest.raises(ImageInputError, match="the Document has no image") as info:
        FlexAIImageLoader.to_message(doc, "hi")
    assert info.value.reason is ImageErrorReason.UNSUPPORTED_SOURCE


def test_to_message_never_opens_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = save_image(tmp_path / "secret.png")
    doc = Document(page_content="x", metadata={"image_url": str(secret)})

    def no_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("a file was opened")

    monkeypatch.setattr("builtins.open", no_open)
    monkeypatch.setattr(pathlib.Path, "read_bytes", no_open)
    with pytest.raises(ImageInputError, match="never opened") as info:
        FlexAIImageLoader.to_message(doc)
    assert info.value.reason is ImageErrorReason.UNSUPPORTED_URL


def test_to_message_https_and_bad_data(tmp_path: Path) -> None:
    https = Document(page_content="x", metadata={"image_url": "https://example.com/a.png"})
    assert FlexAIImageLoader.to_message(https, "hi").content == [
        {"type": "text", "text": "hi"},
        {"type": "image", "url": "https://example.com/a.png"},
    ]
    bad = Document(page_content="x", metadata={"image_url": "data:image/png;base64,@@@@"})
    with pytest.raises(ImageInputError) as info:
        FlexAIImageLoader.to_message(bad)
    assert info.value.reason is ImageErrorReason.INVALID_BASE64


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://", "it names no host (expected 'https://host/path')"),
        (
            "https://example.com/a.png\nX-Injected: 1",
            (
                "it contains whitespace or a control character ('\\n' at position 25); "
                "percent-encode it (a space is %20) or remove it"
            ),
        ),
    ],
)
def test_to_message_refuses_a_broken_https_url(url: str, problem: str) -> None:
    doc = Document(page_content="x", metadata={"image_url": url})
    with pytest.raises(ImageInputError) as info:
        FlexAIImageLoader.to_message(doc)
    assert info.value.reason is ImageErrorReason.UNSUPPORTED_URL
    assert info.value.detail == f"invalid https URL: {problem}"


def test_to_message_https_detail_is_checked() -> None:
    doc = Document(page_content="x", metadata={"image_url": "https://example.com/a.png"})
    assert FlexAIImageLoader.to_message(doc, detail="low").content == [
        {"type": "image", "url": "https://example.com/a.png", "extras": {"detail": "low"}}
    ]
    with pytest.raises(ImageInputError) as info:
        FlexAIImageLoader.to_message(doc, detail="ultra")
    assert info.value.reason is ImageErrorReason.INVALID_DETAIL


# -- parser ---------------------------------------------------------------------------------


def test_parser_matches_the_loader(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.png", fmt="PNG")
    (from_loader,) = FlexAIImageLoader(path).load()
    (from_parser,) = FlexAIImageParser().lazy_parse(Blob.from_path(path))
    assert from_parser == from_loader


def test_parser_on_in_memory_blob(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 10), "white").save(buffer, format="GIF")
    blob = Blob.from_data(buffer.getvalue(), path="scan.gif")
    (doc,) = FlexAIImageParser().lazy_parse(blob)
    assert doc.metadata["source"] == "scan.gif"
    assert doc.metadata["file_size"] == len(buffer.getvalue())
    assert doc.metadata["mime_type"] == "image/gif"


def _npy(array: object) -> bytes:
    np = pytest.importorskip("numpy")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def test_parser_reads_npy_blobs() -> None:
    np = pytest.importorskip("numpy")
    rgb = np.zeros((12, 20, 3), dtype=np.uint8)
    rgb[:, :, 1] = 200
    blob = Blob.from_data(_npy(rgb), mime_type="application/x-npy", path="page1_img0")
    (doc,) = FlexAIImageParser().lazy_parse(blob)
    assert (doc.metadata["width"], doc.metadata["height"]) == (20, 12)
    assert doc.metadata["source"] == "page1_img0"
    data = pybase64.b64decode(doc.metadata["image_url"].split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as image:
        assert image.convert("RGB").getpixel((5, 5)) == (0, 200, 0)


@pytest.mark.parametrize(
    ("shape", "dtype", "fill", "expected"),
    [
        ((8, 8), "uint8", 77, 77),
        ((8, 8, 1), "uint8", 77, 77),
        ((8, 8), "float32", 1.0, 255),
        ((8, 8), "uint16", 65535, 255),
        ((8, 8), "bool", True, 255),
    ],
)
def test_parser_npy_dtypes(shape: tuple[int, ...], dtype: str, fill: object, expected: int) -> None:
    np = pytest.importorskip("numpy")
    blob = Blob.from_data(_npy(np.full(shape, fill, dtype=dtype)), mime_type="application/x-npy")
    (doc,) = FlexAIImageParser().lazy_parse(blob)
    data = pybase64.b64decode(doc.metadata["image_url"].split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as image:
        assert image.convert("L").getpixel((3, 3)) == expected


@pytest.mark.parametrize(
    ("dtype", "values", "expected"),
    [
        # 8-bit samples in a wide integer type (numpy's default int64) are kept.
        ("int64", [0, 128, 255], [0, 128, 255]),
        # 16-bit samples: divided by 256; negatives count as 0.
        ("int32", [-5, 300, 65535], [0, 1, 255]),
        # Beyond 16 bits: scaled from the type's range; 70000 used to wrap around to 17.
        ("int32", [0, 70000, 2**30, 2**31 - 1], [0, 0, 128, 255]),
        ("uint32", [0, 70000, 2**32 - 1], [0, 0, 255]),
        # Floats up to 1.0 are unit range.
        ("float32", [0.0, 0.5, 1.0], [0, 128, 255]),
        # Floats beyond 1.0 are 0-255 data (it used to clip to white), clipped and rounded.
        ("float64", [-1.0, 0.4, 127.6, 255.0, 300.0], [0, 0, 128, 255, 255]),
        ("float64", [float("nan"), 1.0], [0, 255]),
    ],
)
def test_npy_sample_rule(dtype: str, values: list[float], expected: list[int]) -> None:
    np = pytest.importorskip("numpy")
    image = image_from_npy(_npy(np.array([values], dtype=dtype)), "x")
    assert image.mode == "L"
    assert list(image.tobytes()) == expected


def test_parser_refuses_bad_npy() -> None:
    np = pytest.importorskip("numpy")
    with pytest.raises(ImageInputError, match=r"not a valid \.npy array") as info:
        list(FlexAIImageParser().lazy_parse(Blob.from_data(b"nope", mime_type="application/x-npy")))
    assert info.value.reason is ImageErrorReason.CORRUPT
    blob = Blob.from_data(_npy(np.zeros((2, 3, 5), dtype=np.uint8)), mime_type="application/x-npy")
    with pytest.raises(ImageInputError, match=r"shaped \(H, W\).*got \(2, 3, 5\)") as info:
        list(FlexAIImageParser().lazy_parse(blob))
    assert info.value.reason is ImageErrorReason.NOT_AN_IMAGE


def test_parser_names_numpy_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)
    blob = Blob.from_data(b"\x93NUMPY", mime_type="application/x-npy")
    with pytest.raises(ImageInputError, match=r"need numpy: pip install numpy") as info:
        list(FlexAIImageParser().lazy_parse(blob))
    assert info.value.reason is ImageErrorReason.MISSING_EXTRA


def test_parser_describes_with_a_model(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.png")
    model = CountingModel()
    (doc,) = FlexAIImageParser(model=model, prompt="Say {what}").lazy_parse(Blob.from_path(path))
    assert doc.page_content == describe_text(doc.metadata["sha256"])
    (request,) = model.requests
    assert request[0].content[0] == {"type": "text", "text": "Say {what}"}


def test_describe_records_carry_their_file_and_size(tmp_path: Path) -> None:
    files = phone_folder(tmp_path)
    loader = FlexAIImageLoader(tmp_path, model=CountingModel(), on_error="skip")
    records = list(loader.lazy_describe())
    by_source = {r.source: r for r in records}
    broken = by_source[str(files["corrupt"])]
    assert isinstance(broken.input, SkippedImage)
    assert broken.input.source == str(files["corrupt"])
    described = [r for r in records if r.error is None]
    assert len(described) == len(records) - 1
    for record in described:
        assert isinstance(record.input, LoadedImage)
        assert record.input.image is record.image
        assert record.input.file_size == Path(record.source or "").stat().st_size
    # The sizes in the Documents come from the records (no table kept beside the run).
    docs = loader.load()
    assert [d.metadata["file_size"] for d in docs] == [
        Path(r.source or "").stat().st_size for r in described
    ]
    # The input stays out of the JSON form.
    assert list(records[0].to_json_dict()) == [
        "source",
        "page",
        "sha256",
        "status",
        "description",
        "usage",
        "cached",
        "error",
        "reason",
        "model",
        "prompt_sha256",
        "response_id",
        "finish_reason",
        "cost_usd",
        "width",
        "height",
        "mime_type",
        "transformations",
        "data",
        "sidecar",
        "sidecar_status",
    ]


# -- describer= ----------------------------------------------------------------------------


def _describe_outcome(
    loader: FlexAIImageLoader, model: CountingModel
) -> tuple[list[dict[str, object]], list[Document], list[object], list[object]]:
    """What a describe loader produces and sends: records, Documents, requests, messages."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImageSkippedWarning)
        records = [r.to_json_dict() for r in loader.lazy_describe()]
        docs = loader.load()
        messages = [m.content for m in loader.lazy_load_messages()]
    # Requests run concurrently: compared in a fixed order, not in the order they arrived.
    requests = sorted((r[0].content for r in model.requests), key=repr)
    return records, docs, requests, messages


def test_describer_argument_equals_the_describe_options(tmp_path: Path) -> None:
    phone_folder(tmp_path)  # one corrupt file among them
    old_model, new_model = CountingModel(), CountingModel()
    old = FlexAIImageLoader(
        tmp_path, model=old_model, prompt="Say {what}", detail="low", max_concurrency=2
    )
    describer = ImageDescriber(new_model, "Say {what}", detail="low", max_concurrency=2)
    new = FlexAIImageLoader(tmp_path, describer=describer)
    old_outcome = _describe_outcome(old, old_model)
    assert _describe_outcome(new, new_model) == old_outcome
    records, docs, requests, messages = old_outcome
    assert [r["status"] for r in records].count("skipped") == 1
    assert len(docs) == len(records) - 1 == len(requests) // 2
    assert requests[0][0] == {"type": "text", "text": "Say {what}"}  # type: ignore[index]
    assert requests[0][1]["extras"] == {"detail": "low"}  # type: ignore[index]
    # The loader's prompt and detail are the describer's (lazy_describe and load each sent all).
    assert sorted(messages * 2, key=repr) == requests
    assert new.describer is describer
    assert new.report is not None
    assert old.report == dataclasses.replace(new.report, elapsed_s=old.report.elapsed_s)
    assert (new.model, new.prompt, new.detail) == (new_model, "Say {what}", "low")


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("model", CountingModel()),
        ("prompt", "Other"),
        ("max_concurrency", 8),
        ("requests_per_minute", 60),
        ("rate_limiter", RequestRateLimiter(60)),
        ("cache_path", "d.sqlite"),
        ("detail", "high"),
        ("on_progress", print),
    ],
)
def test_describer_with_a_describe_option_is_refused(
    tmp_path: Path, option: str, value: object
) -> None:
    describer = ImageDescriber(CountingModel())
    with pytest.raises(ValueError, match="either describer= or the describe options") as caught:
        FlexAIImageLoader(tmp_path, describer=describer, **{option: value})  # type: ignore[arg-type]
    assert f"({option} given with describer=)" in str(caught.value)


def test_describer_with_the_default_options_is_accepted(tmp_path: Path) -> None:
    describer = ImageDescriber(CountingModel())
    loader = FlexAIImageLoader(
        tmp_path, describer=describer, prompt=DEFAULT_PROMPT, max_concurrency=4, show_progress=True
    )
    assert loader.describer is describer


def test_parser_describer_argument_equals_the_describe_options(tmp_path: Path) -> None:
    blob = Blob.from_path(save_image(tmp_path / "a.png"))
    old_model, new_model = CountingModel(), CountingModel()
    (old,) = FlexAIImageParser(model=old_model, prompt="Say", detail="high").lazy_parse(blob)
    parser = FlexAIImageParser(describer=ImageDescriber(new_model, "Say", detail="high"))
    (new,) = parser.lazy_parse(blob)
    assert new == old
    assert [r[0].content for r in new_model.requests] == [r[0].content for r in old_model.requests]
    assert old_model.requests[0][0].content[1]["extras"] == {"detail": "high"}  # type: ignore[index]


@pytest.mark.parametrize(
    ("option", "value"),
    [("model", CountingModel()), ("prompt", "Other"), ("detail", "low"), ("cache_path", "d")],
)
def test_parser_describer_with_a_describe_option_is_refused(option: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"FlexAIImageParser: .*\\({option} given") as caught:
        FlexAIImageParser(describer=ImageDescriber(CountingModel()), **{option: value})  # type: ignore[arg-type]
    assert "set them on the ImageDescriber instead" in str(caught.value)


def test_parser_in_generic_loader(tmp_path: Path) -> None:
    generic = pytest.importorskip("langchain_community.document_loaders.generic")

    save_image(tmp_path / "a.png")
    save_image(tmp_path / "b.JPG")
    loader = generic.GenericLoader.from_filesystem(
        tmp_path, glob="**/*", suffixes=[".png", ".JPG"], parser=FlexAIImageParser()
    )
    docs = sorted(loader.load(), key=lambda d: d.metadata["source"])
    assert [d.metadata["file_name"] for d in docs] == ["a.png", "b.JPG"]


def test_parser_as_pdf_images_parser(tmp_path: Path) -> None:
    loaders = pytest.importorskip("langchain_community.document_loaders")
    pytest.importorskip("pypdf")

    pdf = tmp_path / "scan.pdf"
    Image.new("RGB", (120, 80), (0, 0, 200)).save(pdf)
    model = CountingModel()
    loader = loaders.PyPDFLoader(
        str(pdf), extract_images=True, images_parser=FlexAIImageParser(model=model)
    )
    (page,) = loader.load()
    assert len(model.requests) == 1
    assert "an image whose bytes hash to" in page.page_content


# -- usable cores ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("affinity", "cpu_count", "cores", "workers"),
    [({0, 1, 2}, 64, 3, 3), (set(range(12)), 64, 12, 8), (None, 5, 5, 5), (None, None, 1, 1)],
)
def test_default_workers_follow_the_usable_cores(
    monkeypatch: pytest.MonkeyPatch,
    affinity: set[int] | None,
    cpu_count: int | None,
    cores: int,
    workers: int,
) -> None:
    monkeypatch.delattr(os, "process_cpu_count", raising=False)  # the Python < 3.13 route
    if affinity is None:
        monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    else:
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: affinity, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: cpu_count)
    assert usable_cores() == cores
    assert FlexAIImageLoader(".").workers == workers


def test_usable_cores_asks_process_cpu_count_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "process_cpu_count", lambda: 6, raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert usable_cores() == 6


# -- "prompt + image" messages ---------------------------------------------------------------


def test_vision_message_is_the_text_as_given_then_the_image() -> None:
    block = {"type": "image", "url": "https://example.com/a.png"}
    assert vision_message("Look {here}", block).content == [
        {"type": "text", "text": "Look {here}"},
        block,
    ]
    assert vision_message("", block).content == [{"type": "text", "text": ""}, block]
    assert vision_message(None, block).content == [block]
    assert vision_content(None, block) == [block]


def test_every_prompt_and_image_message_has_one_shape(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.png")
    image = prepare_image(path)
    block = image.to_content_block("low")
    expected = [{"type": "text", "text": "Q"}, block]
    describer = ImageDescriber(CountingModel(), "Q", detail="low")
    assert describer.messages_for(image)[0].content == expected
    loader = FlexAIImageLoader(path, prompt="Q", detail="low")
    (message,) = loader.lazy_load_messages()
    assert message.content == expected
    (empty,) = loader.lazy_load_messages("")  # the loader's rule: "" sends the image alone
    assert empty.content == [block]
    assert tool_image_content(path, "Q", detail="low") == expected
