"""ImageInputError: what a user reads, where it points, and what it never echoes (raw controls)."""

from __future__ import annotations

import pickle
import random

import pytest

from langchain_flexai.errors import ImageErrorReason, ImageInputError, escape_text, preview_source


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


# -- nothing from content can forge a log line ---------------------------------------------------

# Every C0 and C1 control, DEL, the line and paragraph separators, and every bidi control.
_UNSAFE = (
    [chr(c) for c in range(0x20)]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u061c", "\u200e", "\u200f", "\u2028", "\u2029"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)


def _has_unsafe(text: str) -> bool:
    return any(char in text for char in _UNSAFE)


@pytest.mark.parametrize("char", _UNSAFE, ids=lambda c: f"U+{ord(c):04X}")
def test_every_control_character_is_escaped(char: str) -> None:
    text = f"cat{char}.png"
    escaped = escape_text(text)
    assert not _has_unsafe(escaped)
    assert escaped.startswith("cat\\")
    assert escaped.endswith(".png")
    assert escape_text(escaped) == escaped  # idempotent


def test_escapes_read_like_repr_and_keep_plain_text() -> None:
    assert escape_text("a\nb\rc\td\x1b[31m\x85\u202e") == "a\\nb\\rc\\td\\x1b[31m\\x85\\u202e"
    plain = "C:\\photos\\été 日本 😀 'quoted' \"double\""
    assert escape_text(plain) == plain


def test_image_error_text_is_one_line_whatever_the_source() -> None:
    forged = "".join(_UNSAFE) + "\n2026-01-01 INFO forged log line"
    error = ImageInputError(
        f"unknown block type {forged}", reason=ImageErrorReason.UNSUPPORTED_BLOCK, source=forged
    ).at(message_index=0, part_index=3)
    text = str(error)
    assert not _has_unsafe(text)
    assert text.startswith("message 0, part 3: unknown block type \\x00\\x01")
    assert "\\n2026-01-01 INFO forged log line" in text
    revived = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert str(revived) == text


def test_generated_sources_never_reach_the_message_raw() -> None:
    rng = random.Random(11)
    alphabet = [*_UNSAFE, "a", "/", ".", "\\", " ", "é", "😀"]
    for _ in range(500):
        source = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 300)))
        detail = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        error = ImageInputError(detail, reason=ImageErrorReason.CORRUPT, source=source)
        assert not _has_unsafe(str(error))
