"""The loader's https entries with ``remote_images="fetch"``, and paths as before without it.

No socket: ``_loader._remote.fetch_image_bytes`` is replaced by a stub serving generated images.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from langchain_flexai import FetchPolicy, FlexAIImageLoader, ImageErrorReason, ImageInputError
from langchain_flexai._loader import _remote
from tests.unit_tests.image_factory import encode

PHOTO = encode(Image.new("RGB", (3000, 2000), (200, 30, 30)), "JPEG")


class Served:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, pages: dict[str, bytes]) -> None:
        self.pages = pages
        self.calls: list[str] = []
        monkeypatch.setattr(_remote, "fetch_image_bytes", self)

    def __call__(self, url: str, policy: Any = None, *, max_bytes: int | None = None) -> bytes:
        self.calls.append(url)
        if url not in self.pages:
            raise ImageInputError(
                "the image could not be fetched: the server answered HTTP 404",
                reason=ImageErrorReason.FETCH_FAILED,
                source=url,
            )
        return self.pages[url]


def _local(tmp_path: Path) -> str:
    path = tmp_path / "local.png"
    Image.new("RGB", (32, 16), (10, 200, 10)).save(path)
    return str(path)


def test_url_entries_are_fetched_in_their_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = Served(monkeypatch, {"https://img.example/a.jpg?sig=1": PHOTO})
    local = _local(tmp_path)
    entries = ["https://img.example/a.jpg?sig=1", local, "https://img.example/gone.jpg?sig=2"]
    loader = FlexAIImageLoader(entries, remote_images="fetch", on_error="skip")
    documents = loader.load()
    assert [d.metadata["source"] for d in documents] == ["https://img.example/a.jpg?…", local]
    first = documents[0].metadata
    assert (first["width"], first["height"], first["file_size"]) == (2048, 1365, len(PHOTO))
    assert first["transformations"][:2] == ["fetched", "resized"]
    assert first["image_url"].startswith("data:image/jpeg;base64,")
    assert [(s.source, s.reason) for s in loader.skipped] == [
        ("https://img.example/gone.jpg?…", "fetch_failed")
    ]
    assert served.calls == entries[::2]


def test_async_loading_fetches_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Served(monkeypatch, {"https://img.example/a.jpg": PHOTO})
    loader = FlexAIImageLoader(
        ["https://img.example/a.jpg", _local(tmp_path)], remote_images="fetch"
    )

    async def run() -> list[Any]:
        return [d async for d in loader.alazy_load()]

    documents = asyncio.run(run())
    assert [d.metadata["width"] for d in documents] == [2048, 32]


def test_a_progress_total_counts_urls_without_fetching_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = Served(monkeypatch, {"https://img.example/a.jpg": PHOTO})
    loader = FlexAIImageLoader(
        ["https://img.example/a.jpg", _local(tmp_path)],
        remote_images="fetch",
        fetch_policy=FetchPolicy(max_bytes=1 << 20),
    )
    assert loader._count() is None  # no progress asked for: nothing counted
    assert sum(1 for _ in loader._walk(count_only=True)) == 2
    assert served.calls == []


def test_without_the_switch_a_url_is_a_path_and_nothing_is_fetched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = Served(monkeypatch, {"https://img.example/a.jpg": PHOTO})
    with pytest.raises(FileNotFoundError):
        FlexAIImageLoader("https://img.example/a.jpg").load()
    assert served.calls == []


def test_a_file_url_is_refused_not_opened(tmp_path: Path) -> None:
    local = Path(_local(tmp_path))
    loader = FlexAIImageLoader([local.as_uri()], remote_images="fetch", on_error="skip")
    assert loader.load() == []
    assert [s.reason for s in loader.skipped] == ["fetch_refused"]


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="remote_images"):
        FlexAIImageLoader("x", remote_images="download")  # type: ignore[arg-type]


def test_a_fetched_pdf_becomes_one_document_per_page(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.unit_tests.pdf_factory import make_pdf  # noqa: PLC0415

    pdf = make_pdf(["first page", "second page", "third page"])
    url = "https://files.example.com/get?id=1&sig=token"
    Served(monkeypatch, {url: pdf})
    loader = FlexAIImageLoader([url], remote_images="fetch", pages="2-3")
    documents = loader.load()
    assert [
        (d.metadata["source"], d.metadata["page"], d.metadata["page_count"], d.page_content)
        for d in documents
    ] == [
        ("https://files.example.com/get?…", 2, 3, "second page"),
        ("https://files.example.com/get?…", 3, 3, "third page"),
    ]
    assert all(d.metadata["file_size"] == len(pdf) for d in documents)
    assert all(d.metadata["image_url"].startswith("data:image/") for d in documents)
    assert loader.skipped == []


def test_a_fetched_damaged_pdf_is_one_skip_named_by_its_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.unit_tests.pdf_factory import truncated_pdf  # noqa: PLC0415

    url = "https://files.example.com/r.pdf?sig=token"
    Served(monkeypatch, {url: truncated_pdf(["a", "b"])})
    loader = FlexAIImageLoader([url], remote_images="fetch", on_error="skip")
    assert loader.load() == []
    assert [(s.source, s.reason, s.page) for s in loader.skipped] == [
        ("https://files.example.com/r.pdf?…", "corrupt", None)
    ]
