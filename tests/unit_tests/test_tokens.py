"""Token estimates: each family's arithmetic against cases computed by hand from the cited rule."""

from __future__ import annotations

import ast
import base64
import io
from pathlib import Path
from types import ModuleType

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from PIL import Image

from langchain_flexai import _files, tokens
from langchain_flexai import _token_rules as rules
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images import _policy, _prepared
from langchain_flexai.images._doors import prepare_image
from langchain_flexai.images._policy import ImagePolicy
from langchain_flexai.tokens import (
    TOKENS_PER_MESSAGE,
    TOKENS_PER_REPLY,
    ImageFamily,
    count_message_tokens,
    estimate_image_tokens,
    estimate_text_tokens,
    image_family,
    text_token_ids,
)

PHI = "phi-4-multimodal-instruct"
QWEN3 = "Qwen3.6-27B-FP8"
GEMMA4 = "gemma-4-31b-it"


def png_b64(width: int, height: int) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def jpeg_b64(width: int, height: int) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (30, 30, 200)).save(buf, "JPEG")
    return base64.b64encode(buf.getvalue()).decode()


class TestFamilies:
    @pytest.mark.parametrize(
        ("model", "family"),
        [
            ("phi-4-multimodal-instruct", ImageFamily.PHI4_MULTIMODAL),
            ("microsoft/Phi-4-multimodal-instruct", ImageFamily.PHI4_MULTIMODAL),
            ("Qwen2.5-VL-7B-Instruct", ImageFamily.QWEN2_VL),
            ("Qwen2-VL-2B", ImageFamily.QWEN2_VL),
            ("Qwen3-VL-8B-Instruct", ImageFamily.QWEN3_VL),
            ("Qwen3.5-9B", ImageFamily.QWEN3_VL),
            ("Qwen3.6-27B-FP8", ImageFamily.QWEN3_VL),
            ("Qwen3.6-35B-A3B-FP8", ImageFamily.QWEN3_VL),
            ("Qwen3.8-Flash-Next", ImageFamily.QWEN3_VL),
            ("gemma-3-27b-it", ImageFamily.GEMMA3),
            ("gemma-4-31b-it", ImageFamily.GEMMA4),
            ("google/gemma-4-26B-A4B-it", ImageFamily.GEMMA4),
            ("GLM-5.3-Flash", ImageFamily.DEFAULT),
            ("Muse-Glimmer-30B", ImageFamily.DEFAULT),
            ("Qwen3-32B", ImageFamily.DEFAULT),  # a text-only Qwen3: no vision processor
            ("gpt-oss-120b", ImageFamily.DEFAULT),
        ],
    )
    def test_model_ids_map_to_families(self, model: str, family: ImageFamily) -> None:
        assert image_family(model) is family


class TestPhi4Multimodal:
    """vllm phi4mm.py `_compute_num_image_tokens`; transformers phi4_multimodal image processor."""

    # Each case: crops = ceil(w/448) x ceil(h/448) (<= 36), the image scaled into that grid and
    # padded; features = grid*32 per side minus floor(padding/14); pooled = ceil(features/2);
    # tokens = pooled_w*pooled_h + pooled_h (newlines) + 256 + 16 (global view) + 1 (separator).
    @pytest.mark.parametrize(
        ("width", "height", "expected"),
        [
            # 1x1 crop, no padding: 16*16 + 16 + 273
            (448, 448, 545),
            # 3x2 crops -> 1344x896; scale 1.344; padding_h = 896 - int(895.104) = 1 (< 14):
            # 48*32 + 32 + 273
            (1000, 666, 1841),
            # 2x1 crops -> 896x448; scale 1.792; padding_h = 448 - 358 = 90 -> 6 features gone:
            # feat 64 x 26 -> pooled 32 x 13: 416 + 13 + 273
            (500, 200, 702),
            # 3x3 crops -> 1344x1344, exact fit: 48*48 + 48 + 273
            (1024, 1024, 2625),
            # 9x7 = 63 crops > 36: closest ratio to 4/3 with <= 36 crops is (4, 3) -> 1792x1344;
            # exact fit: 64*48 + 48 + 273
            (4000, 3000, 3393),
            # small image: still one full crop (scaled up): 545
            (16, 16, 545),
        ],
    )
    def test_hand_computed(self, width: int, height: int, expected: int) -> None:
        assert rules.phi4mm_image_tokens(width, height) == expected
        assert estimate_image_tokens(PHI, width, height) == expected

    def test_grid_over_the_crop_budget(self) -> None:
        assert rules.phi4mm_crop_grid(4000, 3000) == (4, 3)
        # 12 x 1 would be 12 crops (<= 36): kept as is
        assert rules.phi4mm_crop_grid(5376, 448) == (12, 1)

    @staticmethod
    def _transformers_mask_count(width: int, height: int) -> int:
        """The transformers formulation: build the attention mask, downsample it 2x, count."""
        columns, rows = rules.phi4mm_crop_grid(width, height)
        target_w, target_h = 448 * columns, 448 * rows
        ratio_w, ratio_h = target_w / width, target_h / height
        if ratio_w < ratio_h:
            pad_w, pad_h = 0, target_h - int(height * ratio_w)
        else:
            pad_w, pad_h = target_w - int(width * ratio_h), 0
        mask = [[1] * (32 * columns) for _ in range(32 * rows)]
        if pad_w >= 14:
            for row in mask:
                for i in range(len(row) - pad_w // 14, len(row)):
                    row[i] = 0
        if pad_h >= 14:
            for row in mask[len(mask) - pad_h // 14 :]:
                row[:] = [0] * len(row)
        down = [row[0::2] for row in mask[0::2]]
        return 256 + 1 + sum(map(sum, down)) + sum(row[0] for row in down) + 16

    @pytest.mark.parametrize(
        ("width", "height"),
        [(448, 448), (1000, 666), (500, 200), (200, 500), (1920, 1080), (333, 777), (5000, 600)],
    )
    def test_closed_form_agrees_with_the_mask_formulation(self, width: int, height: int) -> None:
        assert rules.phi4mm_image_tokens(width, height) == self._transformers_mask_count(
            width, height
        )


class TestQwen:
    """transformers qwen2_vl image_processing_qwen2_vl.py `smart_resize`."""

    @pytest.mark.parametrize(
        ("width", "height", "expected"),
        [
            # round(666/32)=21 -> 672, round(1000/32)=31 -> 992; in bounds: 31*21 + 2
            (1000, 666, 653),
            # 192x160 < 65536 px -> beta = sqrt(65536/30000) = 1.4780;
            # ceil(150*1.478/32)=7, ceil(200*1.478/32)=10: 70 + 2
            (200, 150, 72),
            # 4992x4000 > 16777216 -> beta = sqrt(2e7/16777216) = 1.09183;
            # floor(4000/1.09183/32)=114, floor(5000/1.09183/32)=143: 16302 + 2
            (5000, 4000, 16304),
            # 1024 = 32*32 exactly: 32*32 + 2
            (1024, 1024, 1026),
        ],
    )
    def test_qwen3_family_hand_computed(self, width: int, height: int, expected: int) -> None:
        assert estimate_image_tokens(QWEN3, width, height) == expected
        assert estimate_image_tokens("Qwen3.5-9B", width, height) == expected

    def test_qwen3_resized_dimensions(self) -> None:
        assert rules.qwen_smart_resize(
            1000, 666, factor=32, min_pixels=65_536, max_pixels=16_777_216
        ) == (992, 672)

    def test_qwen2_factor_28(self) -> None:
        # round(666/28)=24 -> 672, round(1000/28)=36 -> 1008: 36*24 + 2
        assert estimate_image_tokens("Qwen2.5-VL-7B-Instruct", 1000, 666) == 866

    def test_round_half_to_even_like_the_reference(self) -> None:
        # 80/32 = 2.5 rounds to 2 (banker's rounding), 48/32 = 1.5 rounds to 2; 64x64 < min
        # pixels, so the min branch applies: beta = sqrt(65536/3840) = 4.131;
        # ceil(48*4.131/32) = 7, ceil(80*4.131/32) = 11
        assert rules.qwen_smart_resize(
            80, 48, factor=32, min_pixels=65_536, max_pixels=16_777_216
        ) == (352, 224)

    def test_default_family_caps_at_1280_tokens(self) -> None:
        # 2044x1540 > 28*28*1280 -> beta = sqrt(3145728/1003520) = 1.77051;
        # floor(1536/1.77051/28)=30, floor(2048/1.77051/28)=41: 1230 + 2
        assert estimate_image_tokens("GLM-5.3-Flash", 2048, 1536) == 1232
        assert estimate_image_tokens("Some-New-Model", 10_000, 10_000) <= 1280 + 2


class TestGemma:
    def test_gemma3_is_fixed(self) -> None:
        # processing_gemma3.py: image_seq_length 256, wrapped in <start_of_image>/<end_of_image>
        for size in [(16, 16), (1000, 666), (8000, 100)]:
            assert estimate_image_tokens("gemma-3-27b-it", *size) == 258

    @pytest.mark.parametrize(
        ("width", "height", "expected"),
        [
            # target 645120 px: factor sqrt(645120/666000)=0.98420 -> 984.2 x 655.5;
            # floor to multiples of 48: 960 x 624 -> 60*39 = 2340 patches // 9 = 260, + 2
            (1000, 666, 262),
            # 1024^2: factor 0.78438 -> 803.2 -> 768 = 16*48: 48*48 = 2304 // 9 = 256, + 2
            (1024, 1024, 258),
            # tiny image scaled up: 16x16 -> factor 50.2 -> 803.2 -> 768 as above
            (16, 16, 258),
            # 100:1 -> height 80.3 floors to 48, width 8031.9 -> 8016: 3*501 = 1503 // 9 = 167
            (10_000, 100, 169),
        ],
    )
    def test_gemma4_hand_computed(self, width: int, height: int, expected: int) -> None:
        assert estimate_image_tokens(GEMMA4, width, height) == expected

    def test_gemma4_target_size(self) -> None:
        assert rules.gemma4_target_size(1000, 666) == (960, 624)


class TestUnknownSize:
    def test_unknown_size_is_the_documented_1024_square(self) -> None:
        for model in (PHI, QWEN3, GEMMA4, "gemma-3-4b-it", "Step-3.7-Flash"):
            assert estimate_image_tokens(model, None, None) == estimate_image_tokens(
                model, 1024, 1024
            )
        assert estimate_image_tokens(PHI, None, 500) == 2625

    def test_non_positive_size_is_refused(self) -> None:
        with pytest.raises(ValueError, match="image size must be positive, got 0x10"):
            estimate_image_tokens(PHI, 0, 10)


class TestText:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("", 0),
            ("a", 1),
            ("abcd", 1),
            ("abcde", 2),
            ("Describe this image in one sentence.", 9),  # 36 bytes
            ("日本語", 3),  # 9 UTF-8 bytes -> ceil(9/4)
        ],
    )
    def test_bytes_over_four(self, text: str, expected: int) -> None:
        assert estimate_text_tokens(text) == expected
        assert len(text_token_ids(text)) == expected

    def test_token_ids_are_the_values_of_four_byte_slices(self) -> None:
        assert text_token_ids("") == []
        assert text_token_ids("abcde") == [0x61626364, 0x65]
        text = "日本語"  # e6 97 a5 e6 9c ac e8 aa 9e
        assert text_token_ids(text) == [0xE697A5E6, 0x9CACE8AA, 0x9E]
        # The ids carry every byte of the text, in order.
        data = text.encode()
        rebuilt = b"".join(
            i.to_bytes(min(4, len(data) - 4 * n), "big") for n, i in enumerate(text_token_ids(text))
        )
        assert rebuilt == data


class TestCountMessageTokens:
    def test_text_only(self) -> None:
        messages = [SystemMessage("be brief"), HumanMessage("What is this?")]
        # "be brief" 8 bytes -> 2, "What is this?" 13 bytes -> 4
        assert count_message_tokens(messages, model=PHI) == (
            TOKENS_PER_REPLY + 2 * TOKENS_PER_MESSAGE + 2 + 4
        )

    def test_inline_image_uses_the_family_rule(self) -> None:
        url = f"data:image/png;base64,{png_b64(1000, 666)}"
        message = HumanMessage(
            content=[
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": url}},
            ]
        )
        expected = TOKENS_PER_REPLY + TOKENS_PER_MESSAGE + 4 + 1841
        assert count_message_tokens([message], model=PHI) == expected

    def test_every_shape_counts_and_https_is_not_fetched(self) -> None:
        # v1 base64 block, v1 url block, OpenAI string-form image_url: no socket is opened
        # (unit tests run with --disable-socket), the URL image counts as 1024x1024.
        data = png_b64(1000, 666)
        message = HumanMessage(
            content=[
                {"type": "image", "base64": data, "mime_type": "image/png"},
                {"type": "image", "url": "https://example.com/a.png"},
                {"type": "image_url", "image_url": "https://example.com/b.png"},
            ]
        )
        expected = TOKENS_PER_REPLY + TOKENS_PER_MESSAGE + 653 + 1026 + 1026
        assert count_message_tokens([message], model=QWEN3) == expected

    def test_images_are_counted_after_the_policy_resize(self) -> None:
        url = f"data:image/jpeg;base64,{jpeg_b64(4000, 3000)}"
        message = HumanMessage(content=[{"type": "image_url", "image_url": {"url": url}}])
        # The default policy fits 2048 px: 2048x1536 -> 5x4 crops -> 2240x1792; scale 1.09375,
        # padding_h = 1792 - 1680 = 112 -> 8 features gone: 80 x 60 + 60 + 273 = 5133
        assert count_message_tokens([message], model=PHI) == (
            TOKENS_PER_REPLY + TOKENS_PER_MESSAGE + 5133
        )
        # A tighter policy: 1024x768 -> 3x2 crops -> 1344x896; ratio_w 1.3125 > ratio_h 1.1667,
        # so the width is padded: 1344 - int(1024 * 1.1667) = 150 -> 10 features gone:
        # feat 86 x 64 -> pooled 43 x 32: 1376 + 32 + 273 = 1681
        small = ImagePolicy(max_side=1024)
        assert count_message_tokens([message], model=PHI, policy=small) == (
            TOKENS_PER_REPLY + TOKENS_PER_MESSAGE + 1681
        )

    def test_tool_calls_and_tool_results_count_as_text(self) -> None:
        call = {"name": "lookup", "args": {"q": "cat"}, "id": "call_1", "type": "tool_call"}
        messages = [
            HumanMessage("hi"),
            AIMessage("", tool_calls=[call]),
            ToolMessage("result", tool_call_id="call_1"),
        ]
        # '{"name": "lookup", "arguments": {"q": "cat"}}' is 45 bytes -> 12; "call_1" -> 2;
        # "hi" -> 1; "result" -> 2
        base = TOKENS_PER_REPLY + 3 * TOKENS_PER_MESSAGE
        assert count_message_tokens(messages, model=PHI) == base + 1 + 12 + 2 + 2

    def test_tools_are_counted_as_their_schema(self) -> None:
        def lookup(q: str) -> str:
            """Look something up."""
            return q

        without = count_message_tokens([HumanMessage("hi")], model=PHI)
        with_tools = count_message_tokens([HumanMessage("hi")], model=PHI, tools=[lookup])
        assert with_tools - without > 10

    def test_bad_image_raises_the_same_error_sending_would(self) -> None:
        message = HumanMessage(
            content=[{"type": "image_url", "image_url": {"url": "data:image/png;base64,!!!"}}]
        )
        with pytest.raises(ImageInputError) as info:
            count_message_tokens([message], model=PHI)
        assert info.value.reason is ImageErrorReason.INVALID_BASE64

    def test_prepared_image_reports_its_estimate(self) -> None:
        prepared = prepare_image(base64.b64decode(png_b64(1000, 666)))
        assert prepared.estimate_tokens(PHI) == 1841
        assert prepared.estimate_tokens(GEMMA4) == 262
        assert prepared.estimate_tokens("Qwen3.5-9B") == 653


# --- the leaves: what a prepared image needs to price itself imports nothing back -------------


def _package_imports(module: ModuleType) -> set[str]:
    """Every ``langchain_flexai`` module ``module`` imports, at any depth of its code."""
    tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == "langchain_flexai"}


@pytest.mark.parametrize("module", [rules, _files, _policy])
def test_leaf_modules_import_nothing_from_the_package(module: ModuleType) -> None:
    assert _package_imports(module) == set()


def test_a_prepared_image_prices_itself_without_tokens() -> None:
    assert "langchain_flexai.tokens" not in _package_imports(_prepared)
    assert tokens.image_family is rules.image_family
    assert tokens.estimate_image_tokens is rules.estimate_image_tokens
    assert tokens.ImageFamily is rules.ImageFamily
    assert tokens.UNKNOWN_IMAGE_SIZE == (1024, 1024)
    assert tokens.__all__ == [
        "BYTES_PER_TEXT_TOKEN",
        "TOKENS_PER_MESSAGE",
        "TOKENS_PER_REPLY",
        "UNKNOWN_IMAGE_SIZE",
        "ImageFamily",
        "count_message_tokens",
        "estimate_image_tokens",
        "estimate_text_tokens",
        "image_family",
        "text_token_ids",
    ]
