"""Images made ready for FlexAI: the public face of the image pipeline.

The policy, the prepared result and the doors in (`prepare_image`, `image_block`,
`prepare_inline_image`). How bytes are probed, walked and re-encoded lives in the private
modules beside this one; see docs/design.md.
"""

from __future__ import annotations

from langchain_flexai.images._doors import (
    ACCEPTED_SUFFIXES,
    DEFAULT_CACHE_BYTES,
    MAX_FILE_BYTES,
    SUPPORTED_MIME_TYPES,
    ImagePolicy,
    PreparedImage,
    clear_image_cache,
    image_block,
    prepare_image,
    prepare_image_file,
    prepare_inline_image,
    read_image_file,
)

__all__ = [
    "ACCEPTED_SUFFIXES",
    "DEFAULT_CACHE_BYTES",
    "MAX_FILE_BYTES",
    "SUPPORTED_MIME_TYPES",
    "ImagePolicy",
    "PreparedImage",
    "clear_image_cache",
    "image_block",
    "prepare_image",
    "prepare_image_file",
    "prepare_inline_image",
    "read_image_file",
]
