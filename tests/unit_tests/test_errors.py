"""ImageInputError: what a user reads, where it points, and what it never echoes."""

from __future__ import annotations

import pickle

import pytest

from langchain_flexai.errors import ImageErrorReason, ImageInputError, preview_source


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("data:image/png;base64," + "A" * 5000, "data:image/png;base64,…"),
        ("https://example.com/" + "a" * 100, "https://example.com/" + "a" * 28 + "…"),
        ("https://example.com/cat.png", "https://example.com/cat.png"),
        ("/photos/" + "d" * 200 + "/IMG_0001.HEIC", "…" + ("d" * 200 + "/IMG_0001.HEIC")[-160:]),
        ("photos/IMG_0001.HEIC", "photos/IMG_0001.HEIC"),
    ],
)
def test_preview_source(source: str, expected: str) -> None:
    assert preview_source(source) == expected


def test_long_paths_keep_the_file_name() -> None:
    path = "/var/pytest-of-root/pytest-27/" + "nested/" * 30 + "test_corrupt_file0.jpg"
    error = ImageInputError("cannot decode", reason=ImageErrorReason.CORRUPT, source=path)
    assert str(error).endswith("test_corrupt_file0.jpg)")


def test_message_composition_and_location() -> None:
    error = ImageInputError(
        "malformed base64",
        reason=ImageErrorReason.INVALID_BASE64,
        source="data:image/jpeg;base64,////",
    )
    assert str(error) == "malformed base64 (source: data:image/jpeg;base64,…)"
    located = error.at(message_index=2, part_index=1)
    assert str(located) == "message 2, part 1: malformed base64 (source: data:image/jpeg;base64,…)"
    assert located.reason is ImageErrorReason.INVALID_BASE64
    assert (located.message_index, located.part_index) == (2, 1)
    assert error.message_index is None  # the original is unchanged
    assert isinstance(located, ValueError)


def test_pickle_round_trip() -> None:
    error = ImageInputError(
        "too many images", reason=ImageErrorReason.TOO_MANY_IMAGES, message_index=0, part_index=21
    )
    revived = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert str(revived) == str(error)
    assert revived.reason is ImageErrorReason.TOO_MANY_IMAGES
    assert revived.part_index == 21
