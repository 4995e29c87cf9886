"""How many prompt tokens one image becomes, per vision-model family: arithmetic only.

Each function reproduces the public preprocessing code of one model family, from the image's
width and height alone (no pixels, no network, no tokenizer). The sources are cited next to each
rule and in docs/catalog.md; when a rule and its source disagree, the source wins and the rule is
a bug. It also knows which family a model id belongs to (by name pattern, :func:`image_family`)
and so the count for a model (:func:`estimate_image_tokens`, re-exported by ``tokens``).

A leaf: it imports nothing from the package, so a prepared image can price itself without
importing ``tokens`` (which imports content, which imports images).

What this module does not know: how an image is resized by the client's ImagePolicy before it is
sent (the images package), text tokens and whole messages (``tokens``), or the few template
tokens a chat format adds around an image besides the ones counted here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from enum import Enum

# --- Phi-4-multimodal -------------------------------------------------------------------------
# Source: vllm-project/vllm vllm/model_executor/models/phi4mm.py
#   (`_compute_num_image_tokens`, `_get_padding_size`), which reproduces the image processor
#   shipped with microsoft/Phi-4-multimodal-instruct (processing_phi4mm.py), and
#   huggingface/transformers src/transformers/models/phi4_multimodal/
#   image_processing_phi4_multimodal_fast.py (`dynamic_preprocess`, `find_closest_aspect_ratio`,
#   `num_img_tokens = 256 + 1 + mask.sum() + mask[:, 0].sum() + 16`).
# The image is fitted onto a grid of 448-px crops (at most `dynamic_hd` = 36 crops), each crop is
# a 32x32 SigLIP feature map pooled 2x2 to 16x16, features that only cover padding are dropped,
# and every row of features gets one newline token. A 448x448 global view (256 tokens + 16
# newlines) and one separator are always added.
PHI4MM_CROP_SIZE = 448
PHI4MM_PATCH_SIZE = 14
PHI4MM_TOKEN_COMPRESSION = 2
PHI4MM_DYNAMIC_HD = 36


def _phi4mm_closest_ratio(
    aspect_ratio: float,
    target_ratios: list[tuple[int, int]],
    width: int,
    height: int,
) -> tuple[int, int]:
    # Same tie-break as the reference: on an equal distance the later (larger) grid wins when
    # the image has more than half the pixels that grid holds.
    best_diff = float("inf")
    best = (1, 1)
    area = width * height
    for ratio in target_ratios:
        diff = abs(aspect_ratio - ratio[0] / ratio[1])
        if diff < best_diff:
            best_diff = diff
            best = ratio
        elif diff == best_diff and area > 0.5 * PHI4MM_CROP_SIZE**2 * ratio[0] * ratio[1]:
            best = ratio
    return best


def phi4mm_crop_grid(
    width: int, height: int, *, dynamic_hd: int = PHI4MM_DYNAMIC_HD
) -> tuple[int, int]:
    """Return the (columns, rows) grid of 448-px crops Phi-4-multimodal cuts an image into."""
    columns = math.ceil(width / PHI4MM_CROP_SIZE)
    rows = math.ceil(height / PHI4MM_CROP_SIZE)
    if columns * rows <= dynamic_hd:
        return columns, rows
    # Built exactly as the reference builds it (a set sorted by crop count), so that the
    # iteration order, and with it every tie-break, is the same.
    target_ratios = sorted(
        {
            (i, j)
            for i in range(1, dynamic_hd + 1)
            for j in range(1, dynamic_hd + 1)
            if 1 <= i * j <= dynamic_hd
        },
        key=lambda ratio: ratio[0] * ratio[1],
    )
    return _phi4mm_closest_ratio(width / height, target_ratios, width, height)


def phi4mm_image_tokens(width: int, height: int, *, dynamic_hd: int = PHI4MM_DYNAMIC_HD) -> int:
    """Image tokens Phi-4-multimodal-instruct spends on a ``width`` x ``height`` image."""
    columns, rows = phi4mm_crop_grid(width, height, dynamic_hd=dynamic_hd)
    target_width = PHI4MM_CROP_SIZE * columns
    target_height = PHI4MM_CROP_SIZE * rows
    # The image is scaled to fit the grid and padded on the right or at the bottom.
    ratio_width = target_width / width
    ratio_height = target_height / height
    if ratio_width < ratio_height:
        padding_width, padding_height = 0, target_height - int(height * ratio_width)
    else:
        padding_width, padding_height = target_width - int(width * ratio_height), 0

    feat_width = target_width // PHI4MM_PATCH_SIZE
    feat_height = target_height // PHI4MM_PATCH_SIZE
    if padding_width >= PHI4MM_PATCH_SIZE:
        feat_width -= padding_width // PHI4MM_PATCH_SIZE
    elif padding_height >= PHI4MM_PATCH_SIZE:
        feat_height -= padding_height // PHI4MM_PATCH_SIZE
    pooled_width = math.ceil(feat_width / PHI4MM_TOKEN_COMPRESSION)
    pooled_height = math.ceil(feat_height / PHI4MM_TOKEN_COMPRESSION)

    global_side = PHI4MM_CROP_SIZE // PHI4MM_PATCH_SIZE // PHI4MM_TOKEN_COMPRESSION  # 16
    hd_tokens = pooled_width * pooled_height + pooled_height  # features + one newline per row
    global_tokens = global_side * global_side + global_side  # 256 features + 16 newlines
    separator = 1
    return global_tokens + separator + hd_tokens


# --- Qwen2-VL / Qwen2.5-VL / Qwen3-VL / Qwen3.5 / Qwen3.6 ---------------------------------------
# Source: huggingface/transformers src/transformers/models/qwen2_vl/image_processing_qwen2_vl.py
#   (`smart_resize`; the processor used by every model below), tokens = grid_h * grid_w /
#   merge_size**2 = (h_bar / factor) * (w_bar / factor) with factor = patch_size * merge_size.
# Values: Qwen2-VL / Qwen2.5-VL ship patch_size 14, merge_size 2 (factor 28), min_pixels 3136,
#   max_pixels 12845056 in preprocessor_config.json. Qwen3-VL, Qwen3.5 and Qwen3.6 ship
#   patch_size 16, merge_size 2 (factor 32) and size {"shortest_edge": 65536,
#   "longest_edge": 16777216} (Qwen3VLProcessor + Qwen2VLImageProcessorFast), see
#   src/transformers/models/qwen3_5/configuration_qwen3_5.py (vision patch_size 16,
#   spatial_merge_size 2). The chat template wraps the pads in <|vision_start|> ... <|vision_end|>.
QWEN2_VL_FACTOR = 28
QWEN2_VL_MIN_PIXELS = 3136
QWEN2_VL_MAX_PIXELS = 12_845_056
QWEN3_VL_FACTOR = 32
QWEN3_VL_MIN_PIXELS = 65_536
QWEN3_VL_MAX_PIXELS = 16_777_216
QWEN_WRAPPER_TOKENS = 2  # <|vision_start|>, <|vision_end|>


def qwen_smart_resize(
    width: int,
    height: int,
    *,
    factor: int,
    min_pixels: int,
    max_pixels: int,
) -> tuple[int, int]:
    """Return the (width, height) Qwen's ``smart_resize`` gives an image.

    The reference refuses sides shorter than ``factor`` and aspect ratios above 200; the
    server will too. Here they are estimated by the same arithmetic rather than refused,
    because an estimate is asked for before the request.
    """
    # Python's round() (banker's rounding) is what the reference uses: keep it.
    h_bar = max(round(height / factor), 0) * factor
    w_bar = max(round(width / factor), 0) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return w_bar, h_bar


def qwen_image_tokens(
    width: int,
    height: int,
    *,
    factor: int,
    min_pixels: int,
    max_pixels: int,
) -> int:
    """Image tokens a Qwen-VL-family model spends: one per merged patch, plus the wrapper."""
    w_bar, h_bar = qwen_smart_resize(
        width, height, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels
    )
    return (w_bar // factor) * (h_bar // factor) + QWEN_WRAPPER_TOKENS


# --- Gemma 3 ------------------------------------------------------------------------------------
# Source: huggingface/transformers src/transformers/models/gemma3/processing_gemma3.py
#   (`image_seq_length = 256`; `full_image_sequence` = <start_of_image> + 256 image tokens +
#   <end_of_image>; `do_pan_and_scan` defaults to False, so no extra crops). Any size: 258.
GEMMA3_IMAGE_TOKENS = 256
GEMMA_WRAPPER_TOKENS = 2  # <start_of_image>/<end_of_image> (Gemma 3), boi/eoi (Gemma 4)


def gemma3_image_tokens(width: int, height: int) -> int:  # noqa: ARG001 - size does not matter
    """Image tokens Gemma 3 spends: a fixed 256 soft tokens plus begin/end markers."""
    return GEMMA3_IMAGE_TOKENS + GEMMA_WRAPPER_TOKENS


# --- Gemma 4 ------------------------------------------------------------------------------------
# Source: huggingface/transformers src/transformers/models/gemma4/image_processing_gemma4.py
#   (`get_aspect_ratio_preserving_size`; patch_size 16, pooling_kernel_size 3,
#   max_soft_tokens 280 by default) and processing_gemma4.py (`_get_num_multimodal_tokens`:
#   tokens = (h / 16) * (w / 16) // 9; `replace_image_token` adds boi and eoi).
# Unlike Gemma 3 the count depends on the aspect ratio: the image is scaled (up or down) to the
# largest size within 280 * 9 patches whose sides are multiples of 48 px.
GEMMA4_PATCH_SIZE = 16
GEMMA4_POOLING = 3
GEMMA4_MAX_SOFT_TOKENS = 280


def gemma4_target_size(
    width: int, height: int, *, max_soft_tokens: int = GEMMA4_MAX_SOFT_TOKENS
) -> tuple[int, int]:
    """Return the (width, height) Gemma 4's processor resizes an image to."""
    max_patches = max_soft_tokens * GEMMA4_POOLING**2
    target_px = max_patches * GEMMA4_PATCH_SIZE**2
    factor = math.sqrt(target_px / (height * width))
    side_mult = GEMMA4_POOLING * GEMMA4_PATCH_SIZE
    target_height = math.floor(factor * height / side_mult) * side_mult
    target_width = math.floor(factor * width / side_mult) * side_mult
    max_side = (max_patches // GEMMA4_POOLING**2) * side_mult
    # The reference raises when both sides round to 0, which cannot happen for a real image.
    if target_height == 0:
        target_height = side_mult
        target_width = min(math.floor(width / height) * side_mult, max_side)
    elif target_width == 0:
        target_width = side_mult
        target_height = min(math.floor(height / width) * side_mult, max_side)
    return target_width, target_height


def gemma4_image_tokens(
    width: int, height: int, *, max_soft_tokens: int = GEMMA4_MAX_SOFT_TOKENS
) -> int:
    """Image tokens Gemma 4 spends: pooled patches of the resized image, plus boi/eoi."""
    target_width, target_height = gemma4_target_size(width, height, max_soft_tokens=max_soft_tokens)
    patches = (target_height // GEMMA4_PATCH_SIZE) * (target_width // GEMMA4_PATCH_SIZE)
    return patches // GEMMA4_POOLING**2 + GEMMA_WRAPPER_TOKENS


# --- which family a model belongs to, and its count ---------------------------------------------
UNKNOWN_IMAGE_SIZE = (1024, 1024)
"""The size assumed for an image whose size is unknown (an https URL is never fetched)."""


class ImageFamily(str, Enum):
    """The image preprocessing rules a FlexAI model follows, for token estimates."""

    PHI4_MULTIMODAL = "phi4_multimodal"
    """448-px crop tiling plus a global view (Phi-4-multimodal)."""
    QWEN2_VL = "qwen2_vl"
    """28-px merged patch grid, 3,136 to 12,845,056 pixels (Qwen2-VL, Qwen2.5-VL)."""
    QWEN3_VL = "qwen3_vl"
    """32-px merged patch grid, 65,536 to 16,777,216 pixels (Qwen3-VL, Qwen3.5 and later)."""
    GEMMA3 = "gemma3"
    """A fixed 256 soft tokens per image (Gemma 3)."""
    GEMMA4 = "gemma4"
    """Aspect-preserving resize to at most 280 pooled 48-px cells (Gemma 4)."""
    DEFAULT = "default"
    """Any other model: Qwen2-VL's grid with transformers' default cap of 1,280 tokens."""


# Ordered: the first pattern that matches wins. Patterns are searched (not anchored) so that
# org-prefixed Hugging Face ids ("google/gemma-4-31b-it") map the same way as FlexAI's bare ids.
_FAMILY_PATTERNS: tuple[tuple[re.Pattern[str], ImageFamily], ...] = (
    (re.compile(r"phi-?4.*multimodal", re.IGNORECASE), ImageFamily.PHI4_MULTIMODAL),
    (re.compile(r"qwen2(\.5)?-vl", re.IGNORECASE), ImageFamily.QWEN2_VL),
    # Qwen3-VL, and the natively multimodal Qwen3.5 / 3.6; later 3.x releases are assumed to
    # keep the same vision processor until their preprocessor_config.json says otherwise.
    (re.compile(r"qwen3(-vl|\.\d)", re.IGNORECASE), ImageFamily.QWEN3_VL),
    (re.compile(r"gemma-?3", re.IGNORECASE), ImageFamily.GEMMA3),
    (re.compile(r"gemma-?4", re.IGNORECASE), ImageFamily.GEMMA4),
)

# The default family: transformers' Qwen2VLImageProcessor defaults when a checkpoint sets no
# bounds (min 56*56, max 28*28*1280 pixels), i.e. at most 1,280 tokens per image.
_DEFAULT_MAX_PIXELS = 28 * 28 * 1280


def image_family(model: str) -> ImageFamily:
    """Return the preprocessing family of a FlexAI model id (``DEFAULT`` when unknown)."""
    for pattern, family in _FAMILY_PATTERNS:
        if pattern.search(model):
            return family
    return ImageFamily.DEFAULT


def _qwen2(width: int, height: int) -> int:
    return qwen_image_tokens(
        width,
        height,
        factor=QWEN2_VL_FACTOR,
        min_pixels=QWEN2_VL_MIN_PIXELS,
        max_pixels=QWEN2_VL_MAX_PIXELS,
    )


def _qwen3(width: int, height: int) -> int:
    return qwen_image_tokens(
        width,
        height,
        factor=QWEN3_VL_FACTOR,
        min_pixels=QWEN3_VL_MIN_PIXELS,
        max_pixels=QWEN3_VL_MAX_PIXELS,
    )


def _default(width: int, height: int) -> int:
    return qwen_image_tokens(
        width,
        height,
        factor=QWEN2_VL_FACTOR,
        min_pixels=QWEN2_VL_MIN_PIXELS,
        max_pixels=_DEFAULT_MAX_PIXELS,
    )


def _phi4(width: int, height: int) -> int:
    return phi4mm_image_tokens(width, height)


def _gemma4(width: int, height: int) -> int:
    return gemma4_image_tokens(width, height)


_RULES: dict[ImageFamily, Callable[[int, int], int]] = {
    ImageFamily.PHI4_MULTIMODAL: _phi4,
    ImageFamily.QWEN2_VL: _qwen2,
    ImageFamily.QWEN3_VL: _qwen3,
    ImageFamily.GEMMA3: gemma3_image_tokens,
    ImageFamily.GEMMA4: _gemma4,
    ImageFamily.DEFAULT: _default,
}


def estimate_image_tokens(model: str, width: int | None, height: int | None) -> int:
    """Estimate the prompt tokens one image of ``width`` x ``height`` costs on ``model``.

    Args:
        model: A FlexAI model id (or a Hugging Face id); its family is found by name.
        width: Width in pixels of the image as sent, or None when unknown.
        height: Height in pixels of the image as sent, or None when unknown.

    Returns:
        The family's count for that size; for an unknown size, the count for
        ``UNKNOWN_IMAGE_SIZE`` (1024 x 1024).

    Raises:
        ValueError: A size that is zero or negative.
    """
    if width is None or height is None:
        width, height = UNKNOWN_IMAGE_SIZE
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    return _RULES[image_family(model)](width, height)
