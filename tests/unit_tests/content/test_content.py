"""prepare_messages: every content shape of docs/images.md, next to the wire parts it becomes.

Each mapping row runs twice: on the content exactly as a user writes it, and on the content as
langchain-core's ``_normalize_messages`` hands it to a chat model (v0 and OpenAI ``file`` blocks
rewritten to v1, ``detail`` moved to ``extras``, image files relabelled ``application/pdf``).
Both must give the same wire parts.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from langchain_core.language_models._utils import _normalize_messages
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.messages.content import create_file_block, create_image_block
from PIL import Image

from langchain_flexai import ImageStats, prepare_messages
from langchain_flexai.content._parts import ACCEPTED
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._policy import ImagePolicy
from tests.unit_tests.content_samples import (
    B64_JPEG,
    B64_PNG,
    CORE_CRASHES,
    DATA_JPEG,
    DATA_PNG,
    HTTPS,
    PATHS,
    PDF,
    PNG,
    R,
    animated_gif,
    b64,
    image_bytes,
    img,
    locate,
    prepared_part,
    rotated_jpeg,
    run,
    text,
    through,
)

# -- the mapping table --------------------------------------------------------------------------

ROWS: list[tuple[str, list[Any], list[dict[str, Any]]]] = [
    # 1: text
    ("1 text parts", [text("a"), text("b")], [text("a"), text("b")]),
    ("1 bare strings", ["a", text("b"), "c"], [text("a"), text("b"), text("c")]),
    (
        "1 text with extra keys",
        [
            {
                "type": "text",
                "text": "a",
                "id": "lc_1",
                "index": 0,
                "extras": {"k": 1},
                "cache_control": {"type": "ephemeral"},
                "annotations": [],
            }
        ],
        [text("a")],
    ),
    ("1 gemini text", [{"text": "a"}], [text("a")]),
    ("1 responses input_text", [{"type": "input_text", "text": "a"}], [text("a")]),
    # 2: OpenAI https
    ("2 https", [text("look"), img(HTTPS)], [text("look"), img(HTTPS)]),
    ("2 https detail", [img(HTTPS, "high")], [img(HTTPS, "high")]),
    (
        "2 https extra keys",
        [
            {
                "type": "image_url",
                "image_url": {"url": HTTPS, "detail": "low", "format": "png"},
                "id": "x",
                "cache_control": {"type": "ephemeral"},
            }
        ],
        [img(HTTPS, "low")],
    ),
    (
        "2 https upper-case scheme",
        [img("HTTPS://EXAMPLE.COM/A.PNG")],
        [img("https://example.com/A.PNG")],  # scheme and host lower-cased, path kept
    ),
    # 3: OpenAI data URL
    ("3 data url", [img(DATA_PNG)], [img(DATA_PNG)]),
    ("3 data url detail", [img(DATA_JPEG, "auto")], [img(DATA_JPEG, "auto")]),
    # 4: string form
    ("4 string form https", [{"type": "image_url", "image_url": HTTPS}], [img(HTTPS)]),
    ("4 string form data", [{"type": "image_url", "image_url": DATA_PNG}], [img(DATA_PNG)]),
    (
        "4 string form with detail",
        [{"type": "image_url", "image_url": HTTPS, "detail": "low"}],
        [img(HTTPS, "low")],
    ),
    # 5: detail next to image_url
    (
        "5 detail outside",
        [{"type": "image_url", "image_url": {"url": HTTPS}, "detail": "high"}],
        [img(HTTPS, "high")],
    ),
    (
        "5 detail outside, data url",
        [{"type": "image_url", "image_url": {"url": DATA_PNG}, "detail": "low"}],
        [img(DATA_PNG, "low")],
    ),
    # 6: LangChain v0
    ("6 v0 url", [{"type": "image", "source_type": "url", "url": HTTPS}], [img(HTTPS)]),
    (
        "6 v0 base64",
        [{"type": "image", "source_type": "base64", "data": B64_PNG, "mime_type": "image/png"}],
        [img(DATA_PNG)],
    ),
    (
        "6 v0 with id",
        [{"type": "image", "source_type": "url", "url": HTTPS, "id": "blk-1"}],
        [img(HTTPS)],
    ),
    # 7: v0 base64 without mime
    (
        "7 v0 no mime",
        [{"type": "image", "source_type": "base64", "data": B64_JPEG}],
        [img(DATA_JPEG)],
    ),
    # 8: LangChain v1
    ("8 v1 url", [{"type": "image", "url": HTTPS}], [img(HTTPS)]),
    (
        "8 v1 base64",
        [{"type": "image", "base64": B64_PNG, "mime_type": "image/png"}],
        [img(DATA_PNG)],
    ),
    ("8 v1 base64 no mime", [{"type": "image", "base64": B64_PNG}], [img(DATA_PNG)]),
    ("8 create_image_block url", [create_image_block(url=HTTPS)], [img(HTTPS)]),
    (
        "8 create_image_block base64",
        [create_image_block(base64=B64_PNG, mime_type="image/png")],
        [img(DATA_PNG)],
    ),
    # 9: detail on v1 / v0
    (
        "9 v1 detail top level",
        [{"type": "image", "url": HTTPS, "detail": "low"}],
        [img(HTTPS, "low")],
    ),
    (
        "9 v1 detail in extras",
        [
            {
                "type": "image",
                "base64": B64_PNG,
                "mime_type": "image/png",
                "extras": {"detail": "high"},
            }
        ],
        [img(DATA_PNG, "high")],
    ),
    (
        "9 create_image_block detail",
        [create_image_block(url=HTTPS, detail="auto")],
        [img(HTTPS, "auto")],
    ),
    (
        "9 v0 detail extra key",
        [{"type": "image", "source_type": "url", "url": HTTPS, "detail": "high"}],
        [img(HTTPS, "high")],
    ),
    (
        "9 v0 base64 detail extra key",
        [
            {
                "type": "image",
                "source_type": "base64",
                "data": B64_PNG,
                "mime_type": "image/png",
                "detail": "low",
            }
        ],
        [img(DATA_PNG, "low")],
    ),
    # 10: base64 given as bytes
    (
        "10 v1 base64 as bytes",
        [{"type": "image", "base64": B64_PNG.encode(), "mime_type": "image/png"}],
        [img(DATA_PNG)],
    ),
    (
        "10 v1 raw image bytes",
        [{"type": "image", "base64": PNG, "mime_type": "image/png"}],
        [img(DATA_PNG)],
    ),
    (
        "10 line-wrapped base64 bytes",
        [{"type": "image", "base64": base64.encodebytes(PNG), "mime_type": "image/png"}],
        [img(DATA_PNG)],
    ),
    # 11: base64 that is already a data URL
    (
        "11 v1 base64 is a data url",
        [{"type": "image", "base64": DATA_PNG, "mime_type": "image/png"}],
        [img(DATA_PNG)],
    ),
    ("11 v1 base64 data url no mime", [{"type": "image", "base64": DATA_PNG}], [img(DATA_PNG)]),
    # 12: declared MIME differs from the bytes
    ("12 png labelled jpeg", [img(f"data:image/jpeg;base64,{B64_PNG}")], [img(DATA_PNG)]),
    (
        "12 png labelled jpg",
        [{"type": "image", "base64": B64_PNG, "mime_type": "image/jpg"}],
        [img(DATA_PNG)],
    ),
    (
        "12 v0 jpeg labelled png",
        [{"type": "image", "source_type": "base64", "data": B64_JPEG, "mime_type": "image/png"}],
        [img(DATA_JPEG)],
    ),
    # 13: Anthropic
    (
        "13 anthropic base64 cache_control",
        [
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": B64_PNG},
                "cache_control": {"type": "ephemeral"},
            }
        ],
        [img(DATA_PNG)],
    ),
    (
        "13 anthropic url",
        [{"type": "image", "source": {"type": "url", "url": HTTPS}}],
        [img(HTTPS)],
    ),
    # 14: non_standard
    (
        "14 non_standard image_url",
        [{"type": "non_standard", "value": img(HTTPS, "low")}],
        [img(HTTPS, "low")],
    ),
    ("14 non_standard text", [{"type": "non_standard", "value": text("a")}], [text("a")]),
    (
        "14 non_standard anthropic",
        [
            {
                "type": "non_standard",
                "value": {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": B64_PNG},
                },
            }
        ],
        [img(DATA_PNG)],
    ),
    # 15: images sent as file blocks
    (
        "15 openai file with image data url",
        [{"type": "file", "file": {"filename": "cat.png", "file_data": DATA_PNG}}],
        [img(DATA_PNG)],
    ),
    (
        "15 openai file with bare base64",
        [{"type": "file", "file": {"filename": "cat.png", "file_data": B64_PNG}}],
        [img(DATA_PNG)],
    ),
    (
        "15 v1 file relabelled pdf (as core does)",
        [
            {
                "type": "file",
                "base64": B64_PNG,
                "mime_type": "application/pdf",
                "filename": "cat.png",
            }
        ],
        [img(DATA_PNG)],
    ),
    (
        "15 v1 file image mime",
        [{"type": "file", "base64": B64_JPEG, "mime_type": "image/jpeg"}],
        [img(DATA_JPEG)],
    ),
    ("15 v1 file no mime", [{"type": "file", "base64": B64_JPEG}], [img(DATA_JPEG)]),
    (
        "15 create_file_block",
        [create_file_block(base64=B64_PNG, mime_type="image/png")],
        [img(DATA_PNG)],
    ),
    (
        "15 v0 file base64 image",
        [{"type": "file", "source_type": "base64", "data": B64_PNG, "mime_type": "image/png"}],
        [img(DATA_PNG)],
    ),
    (
        "15 v1 file https image",
        [{"type": "file", "url": HTTPS, "mime_type": "image/png"}],
        [img(HTTPS)],
    ),
    # 27: Gemini and Bedrock
    (
        "27 gemini media base64",
        [{"type": "media", "mime_type": "image/png", "data": B64_PNG}],
        [img(DATA_PNG)],
    ),
    (
        "27 gemini media bytes",
        [{"type": "media", "mime_type": "image/png", "data": PNG}],
        [img(DATA_PNG)],
    ),
    (
        "27 gemini media https file_uri",
        [{"type": "media", "mime_type": "image/png", "file_uri": HTTPS}],
        [img(HTTPS)],
    ),
    (
        "27 gemini inline_data",
        [{"inline_data": {"mime_type": "image/jpeg", "data": B64_JPEG}}],
        [img(DATA_JPEG)],
    ),
    (
        "27 gemini inlineData camel",
        [{"inlineData": {"mimeType": "image/png", "data": PNG}}],
        [img(DATA_PNG)],
    ),
    (
        "27 gemini typed inline_data",
        [{"type": "inline_data", "inline_data": {"mime_type": "image/png", "data": B64_PNG}}],
        [img(DATA_PNG)],
    ),
    (
        "27 gemini file_data https",
        [{"file_data": {"mime_type": "image/png", "file_uri": HTTPS}}],
        [img(HTTPS)],
    ),
    (
        "27 gemini typed file_data https",
        [{"type": "file_data", "file_uri": HTTPS, "mime_type": "image/png"}],
        [img(HTTPS)],
    ),
    ("27 bedrock bytes", [{"image": {"format": "png", "source": {"bytes": PNG}}}], [img(DATA_PNG)]),
    (
        "27 bedrock base64 str",
        [{"image": {"format": "jpeg", "source": {"bytes": B64_JPEG}}}],
        [img(DATA_JPEG)],
    ),
    # 30: history blocks dropped (also in a user message: they are never content)
    (
        "30 reasoning, thinking, tool_use dropped",
        [
            {"type": "reasoning", "reasoning": "hmm"},
            text("a"),
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "tool_use", "id": "t", "name": "f", "input": {}},
            {"type": "tool_call", "id": "t", "name": "f", "args": {}},
        ],
        [text("a")],
    ),
    # 32: many images, order kept
    (
        "32 many images in order",
        [
            text("1"),
            img(HTTPS),
            img(DATA_PNG),
            text("2"),
            {"type": "image", "url": HTTPS + "?2"},
            "3",
        ],
        [text("1"), img(HTTPS), img(DATA_PNG), text("2"), img(HTTPS + "?2"), text("3")],
    ),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("row", "content", "expected"), ROWS, ids=[r[0] for r in ROWS])
def test_mapping(row: str, content: list[Any], expected: list[dict[str, Any]], path: str) -> None:
    if path == "core-normalized" and row in CORE_CRASHES:
        with pytest.raises(TypeError, match="multiple values for keyword argument 'id'"):
            _normalize_messages([HumanMessage(content=content)])
        return
    result = run(content, path=path)
    assert result.messages[0].content == expected
    assert result.stats.images == sum(p["type"] == "image_url" for p in expected)


def test_plain_string_content_is_sent_as_is() -> None:
    message = HumanMessage(content="hello")
    result = prepare_messages([message])
    assert result.messages == [message]
    assert result.stats == ImageStats()


def test_content_blocks_constructor() -> None:
    message = HumanMessage(
        content_blocks=[
            {"type": "text", "text": "what is it?"},
            {
                "type": "image",
                "base64": B64_PNG,
                "mime_type": "image/png",
                "extras": {"detail": "low"},
            },
        ]
    )
    assert prepare_messages([message]).messages[0].content == [
        text("what is it?"),
        img(DATA_PNG, "low"),
    ]


# -- pixel rows: content.py must put images.py's result on the wire unchanged --------------------

PIXEL_ROWS: list[tuple[str, bytes, dict[str, Any], str]] = [
    ("16 animated gif", animated_gif(), {}, "first_frame"),
    ("17 bmp", image_bytes("BMP"), {}, "converted"),
    ("17 tiff", image_bytes("TIFF"), {}, "converted"),
    ("18 cmyk jpeg", image_bytes("CMYK-JPEG"), {}, "converted"),
    ("19 exif orientation", rotated_jpeg(), {}, "transposed"),
    ("20 larger than max_side", image_bytes("PNG", (64, 32)), {"max_side": 16}, "resized"),
]


@pytest.mark.parametrize(
    ("data", "policy", "counter"), [r[1:] for r in PIXEL_ROWS], ids=[r[0] for r in PIXEL_ROWS]
)
def test_pixel_rows(data: bytes, policy: dict[str, Any], counter: str) -> None:
    expected = prepared_part(data, "low", **policy)
    content = [text("x"), {"type": "image", "base64": b64(data), "extras": {"detail": "low"}}]
    result = run(content, policy=ImagePolicy(**policy))
    assert result.messages[0].content == [text("x"), expected]
    assert getattr(result.stats, counter) == 1
    assert result.stats.images == 1
    # The same image as an OpenAI data URL (wrong label on purpose) gives the same part.
    url = f"data:image/png;base64,{b64(data)}"
    again = run([text("x"), img(url, "low")], policy=ImagePolicy(**policy))
    assert again.messages[0].content == [text("x"), expected]


def test_resized_image_fits_the_policy() -> None:
    result = run(
        [{"type": "image", "base64": b64(image_bytes("PNG", (64, 32)))}],
        policy=ImagePolicy(max_side=16),
    )
    url = result.messages[0].content[0]["image_url"]["url"]  # type: ignore[index]
    head, data = url.split(",", 1)
    with Image.open(io.BytesIO(base64.b64decode(data))) as im:
        assert im.size == (16, 8)
        assert head == f"data:{Image.MIME[im.format]};base64"


# -- errors ---------------------------------------------------------------------------------------

URL_REFUSAL = (
    "{scheme}:// URLs cannot be sent: image URLs must be https:// or a base64 data: URL, and the "
    "chat model never fetches a URL named in message content. Fetch it in your own code and pass "
    "the bytes to langchain_flexai.image_block(). (source: {url})"
)
PATH_REFUSAL = (
    "a local path or file:// URL cannot be sent: the chat model never opens a file named in "
    "message content. Load files you trust with langchain_flexai.image_block(path). "
    "(source: {path})"
)
FILE_ID_REFUSAL = (
    "{what} refers to a provider file id, and FlexAI has no file store; send the image itself as "
    "a base64 data URL or an https URL (langchain_flexai.image_block() builds one from a file you "
    "trust). (source: file-abc)"
)

ERROR_ROWS: list[tuple[str, Any, ImageErrorReason, str]] = [
    # 9: bad detail
    (
        "detail bad value",
        img(HTTPS, "ultra"),
        R.INVALID_DETAIL,
        "detail must be 'auto', 'low' or 'high', got 'ultra'.",
    ),
    (
        "detail bad type in extras",
        {"type": "image", "url": HTTPS, "extras": {"detail": 3}},
        R.INVALID_DETAIL,
        "detail must be 'auto', 'low' or 'high', got 3.",
    ),
    (
        "detail upper-case",
        {"type": "image_url", "image_url": HTTPS, "detail": "HIGH"},
        R.INVALID_DETAIL,
        "detail must be 'auto', 'low' or 'high', got 'HIGH'.",
    ),
    # 24: URLs and paths the library would have to fetch or open
    *[
        (
            f"url {scheme}",
            img(url),
            R.UNSUPPORTED_URL,
            URL_REFUSAL.format(scheme=scheme, url=url),
        )
        for scheme, url in [
            ("http", "http://example.com/a.png"),
            ("ftp", "ftp://example.com/a.png"),
            ("gs", "gs://bucket/a.png"),
            ("s3", "s3://bucket/a.png"),
        ]
    ],
    *[
        (
            f"path {path}",
            shape,
            R.LOCAL_PATH,
            PATH_REFUSAL.format(path=path),
        )
        for path, shape in [
            ("file:///etc/passwd", img("file:///etc/passwd")),
            ("/etc/passwd", img("/etc/passwd")),
            ("./cat.png", {"type": "image_url", "image_url": "./cat.png"}),
            ("cat.png", {"type": "image", "source_type": "url", "url": "cat.png"}),
            ("~/cat.png", {"type": "image", "url": "~/cat.png"}),
            ("C:\\photos\\cat.png", img("C:\\photos\\cat.png")),
            ("../x.jpg", {"type": "image", "source": {"type": "url", "url": "../x.jpg"}}),
        ]
    ],
    (
        "gemini gs file_uri",
        {"type": "media", "mime_type": "image/png", "file_uri": "gs://b/a.png"},
        R.UNSUPPORTED_URL,
        URL_REFUSAL.format(scheme="gs", url="gs://b/a.png"),
    ),
    (
        "bedrock s3 location",
        {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/a.png"}}}},
        R.UNSUPPORTED_URL,
        URL_REFUSAL.format(scheme="s3", url="s3://b/a.png"),
    ),
    # 24: https URLs that are not valid URLs are refused, never sent for FlexAI to trip on
    *[
        (
            f"https {name}",
            img(url),
            R.UNSUPPORTED_URL,
            f"invalid https URL: {problem} (source: {source})",
        )
        for name, url, problem, source in [
            ("no host", "https://", "it names no host (expected 'https://host/path')", "https://"),
            (
                "no slashes",
                "https:/../secret/private.png",
                "it names no host (expected 'https://host/path')",
                "https:/../secret/private.png",
            ),
            (
                "space",
                "https:// evil",
                (
                    "it contains whitespace or a control character (' ' at position 8); "
                    "percent-encode it (a space is %20) or remove it"
                ),
                "https:// evil",
            ),
            (
                "header injection",
                "https://example.com/a.png\nX-Injected: 1",
                (
                    "it contains whitespace or a control character ('\\n' at position 25); "
                    "percent-encode it (a space is %20) or remove it"
                ),
                "https://example.com/a.png\\nX-Injected: 1",
            ),
        ]
    ],
    # A path spelled in the base64 alphabet (with '_', outside strict base64) is a path.
    (
        "path in base64 letters",
        img("photos/2024/summer/IMG0001fullresolutionversionnumberone_final_v2"),
        R.LOCAL_PATH,
        PATH_REFUSAL.format(
            path="photos/2024/summer/IMG0001fullresolutionversionnumberone_final_v2"
        ),
    ),
    (
        "data url header too long",
        img("data:image/png;" + "x" * 300 + ";base64," + B64_PNG),
        R.INVALID_DATA_URL,
        "malformed data URL: the header before ',' is longer than 256 characters (source: data:,…)",
    ),
    # 25: file references
    *[
        (
            f"file id {what}",
            shape,
            R.FILE_REFERENCE,
            FILE_ID_REFUSAL.format(what=what),
        )
        for what, shape in [
            ("an image block", {"type": "image", "file_id": "file-abc"}),
            ("an image block", {"type": "image", "source_type": "id", "id": "file-abc"}),
            (
                "an Anthropic image block with a file source",
                {"type": "image", "source": {"type": "file", "file_id": "file-abc"}},
            ),
            ("an input_image part", {"type": "input_image", "file_id": "file-abc"}),
        ]
    ],
    # 26: blocks FlexAI chat completions cannot take
    *[
        (f"unsupported {what}", shape, R.UNSUPPORTED_BLOCK, f"{what} cannot be sent: {ACCEPTED}.")
        for what, shape in [
            (
                "a video block",
                {"type": "video", "url": "https://example.com/v.mp4", "mime_type": "video/mp4"},
            ),
            ("an audio block", {"type": "audio", "base64": "AAAA", "mime_type": "audio/wav"}),
            (
                "an audio block",
                {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
            ),
            (
                "a text-plain (file) block",
                {"type": "text-plain", "text": "hi", "mime_type": "text/plain"},
            ),
            (
                "an Anthropic document block with source type 'text'",
                {"type": "document", "source": {"type": "text", "data": "hi"}},
            ),
            (
                "a file block (video/mp4)",
                {"type": "file", "base64": "AAAA", "mime_type": "video/mp4"},
            ),
            ("a file block (text/csv)", {"type": "file", "url": HTTPS, "mime_type": "text/csv"}),
            ("a file block", {"type": "file", "url": HTTPS}),
            (
                "a media block (video/mp4)",
                {"type": "media", "mime_type": "video/mp4", "data": "AAAA"},
            ),
            ("a Bedrock document part", {"document": {"format": "pdf", "source": {"bytes": PDF}}}),
            ("a 'mystery' block", {"type": "mystery"}),
            ("a content part without a 'type'", {"foo": 1}),
            ("a non_standard block", {"type": "non_standard", "value": "x"}),
            ("a text part without a string 'text'", {"type": "text", "text": 3}),
            ("an image block without url, base64 or source", {"type": "image"}),
            ("an image_url part without a URL", {"type": "image_url"}),
        ]
    ],
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("shape", "reason", "message"), [r[1:] for r in ERROR_ROWS], ids=[r[0] for r in ERROR_ROWS]
)
def test_errors(shape: Any, reason: ImageErrorReason, message: str, path: str) -> None:
    messages: list[BaseMessage] = [
        SystemMessage(content="be brief"),
        HumanMessage(content=["intro", text("look"), shape]),
    ]
    with pytest.raises(ImageInputError) as info:
        prepare_messages(through(messages, path))
    err = info.value
    assert (err.reason, err.message_index, err.part_index) == (reason, 1, 2)
    assert str(err) == locate(1, 2, message)


PDF_DAMAGED = (
    "the PDF cannot be read: it is damaged (PDFium found no valid document structure); "
    "re-export or re-download it"
)


@pytest.mark.parametrize(
    ("shape", "source"),
    [
        (
            {
                "type": "file",
                "file": {
                    "filename": "r.pdf",
                    "file_data": f"data:application/pdf;base64,{b64(PDF)}",
                },
            },
            "r.pdf",
        ),
        (
            {"type": "file", "base64": b64(PDF), "mime_type": "application/pdf"},
            f"<base64 application/pdf, {len(b64(PDF))} chars>",
        ),
    ],
    ids=["openai file pdf", "v1 file pdf"],
)
def test_pdf_file_is_read_as_a_pdf_after_sniffing(shape: dict[str, Any], source: str) -> None:
    # PDFs are sent as their pages (docs/pdf.md); this one is only a header, so it is refused
    # as a damaged PDF, located, before anything is sent.
    with pytest.raises(ImageInputError) as info:
        run(["read this", shape])
    err = info.value
    assert (err.reason, err.message_index, err.part_index) == (R.CORRUPT, 0, 1)
    assert str(err) == locate(0, 1, f"{PDF_DAMAGED} (source: {source})")


def test_core_normalized_pdf_file_is_read_as_a_pdf() -> None:
    shape = {
        "type": "file",
        "file": {"filename": "r.pdf", "file_data": f"data:application/pdf;base64,{b64(PDF)}"},
    }
    with pytest.raises(ImageInputError) as info:
        run([shape], path="core-normalized")
    assert info.value.reason is R.CORRUPT
    assert info.value.detail == PDF_DAMAGED
    assert info.value.source == "r.pdf"


@pytest.mark.parametrize(
    ("shape", "reason"),
    [
        ({"type": "image", "base64": "", "mime_type": "image/png"}, R.EMPTY),
        (
            {"type": "image", "base64": b64(b"hello, not an image"), "mime_type": "image/png"},
            R.NOT_AN_IMAGE,
        ),
        (
            {"type": "image", "base64": b64(PNG[: len(PNG) // 2]), "mime_type": "image/png"},
            R.CORRUPT,
        ),
        ({"type": "image", "base64": "not base64!", "mime_type": "image/png"}, R.INVALID_BASE64),
        (img("data:image/png;base64"), R.INVALID_DATA_URL),
        (img("data:image/png," + B64_PNG), R.INVALID_DATA_URL),
        ({"type": "image", "base64": 12345}, R.INVALID_BASE64),
    ],
    ids=[
        "21 empty",
        "21 not an image",
        "21 truncated",
        "23 bad base64",
        "23 data url no comma",
        "23 data url not base64",
        "23 not text",
    ],
)
def test_broken_image_errors_are_located(shape: dict[str, Any], reason: ImageErrorReason) -> None:
    messages = [
        HumanMessage(content="hi"),
        AIMessage(content="hello"),
        HumanMessage(content=[text("x"), shape]),
    ]
    with pytest.raises(ImageInputError) as info:
        prepare_messages(messages)
    err = info.value
    assert (err.reason, err.message_index, err.part_index) == (reason, 2, 1)
    assert str(err).startswith("message 2, part 1: ")
    assert B64_PNG[:60] not in str(err)
    assert isinstance(err, ValueError)


def test_animated_image_refused_when_the_policy_says_so() -> None:
    content = ["x", {"type": "image", "base64": b64(animated_gif()), "mime_type": "image/gif"}]
    with pytest.raises(ImageInputError) as info:
        run(content, policy=ImagePolicy(animated="error"))
    assert (info.value.reason, info.value.message_index, info.value.part_index) == (
        R.ANIMATED,
        0,
        1,
    )


def test_decompression_bomb_is_refused_without_decoding() -> None:
    big = image_bytes("PNG", (400, 400))
    with pytest.raises(ImageInputError) as info:
        run(
            [{"type": "image", "base64": b64(big)}],
            policy=ImagePolicy(max_pixels=1_000, max_decode_pixels=10_000),
        )
    assert (info.value.reason, info.value.message_index, info.value.part_index) == (
        R.DECOMPRESSION_BOMB,
        0,
        0,
    )


def test_error_source_never_holds_the_base64() -> None:
    blob = b64(b"\x00" * 3000)
    for shape in (
        {"type": "image", "base64": blob, "mime_type": "image/png"},
        img(f"data:image/png;base64,{blob}"),
        img(f"data:image/png;base64{blob}"),  # no comma: malformed
        {"type": "file", "base64": blob, "mime_type": "application/pdf"},
    ):
        with pytest.raises(ImageInputError) as info:
            run([shape])
        assert blob[:100] not in str(info.value)
        assert info.value.source is not None
        assert len(info.value.source) < 100


# -- bare text where a URL belongs: base64 or a path ---------------------------------------------

_MIXED = "photos/2024/summer/IMG0001fullresolutionversionnumberone_final_v2"


@pytest.mark.parametrize(
    ("url", "reason", "detail"),
    [
        # Strict base64 goes inline even with '/' in it (every JPEG's starts "/9j/").
        (B64_JPEG, None, None),
        # '/' (standard alphabet only) with '_' or '-' (URL-safe only): no base64 is that.
        (_MIXED, R.LOCAL_PATH, None),
        ("photos/2024-summer/IMG0001fullresolutionversionnumberonefinalcopy", R.LOCAL_PATH, None),
        # Broken base64 in one alphabet: the exact base64 fault is reported.
        (
            "A" * 62 + "-_",
            R.INVALID_BASE64,
            (
                "invalid base64 image data: base64 text has characters outside the standard "
                "alphabet or misplaced padding"
            ),
        ),
        (
            B64_JPEG[:-1],
            R.INVALID_BASE64,
            (
                f"invalid base64 image data: base64 length {len(B64_JPEG) - 1} is not a "
                "multiple of 4 (missing or extra padding)"
            ),
        ),
    ],
    ids=["strict jpeg", "slash and underscore", "slash and dash", "url-safe", "truncated"],
)
def test_bare_text_as_url_is_base64_or_a_path(
    url: str, reason: ImageErrorReason | None, detail: str | None
) -> None:
    if reason is None:
        assert run([img(url)]).messages[0].content == [prepared_part(url)]
        return
    with pytest.raises(ImageInputError) as info:
        run([img(url)])
    assert info.value.reason is reason
    if detail is not None:
        assert info.value.detail == detail
    else:
        assert info.value.detail.startswith("a local path or file:// URL cannot be sent")
