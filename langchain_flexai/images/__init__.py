"""Images made ready for FlexAI: the public face of the image pipeline.

The policy (``_policy``), the prepared result (``_prepared``) and the doors in (``_doors``:
`prepare_image`, `image_block`, `prepare_inline_image`, `prepare_image_file`, `read_image_file`).
How bytes are walked (``_structure``), probed (``_probe``), rendered (``_render``) and routed
between those (``_codec``) lives in the private modules beside this one; see docs/design.md.
"""

from __future__ import annotations

from langchain_flexai.images._doors import (
    DEFAULT_CACHE_BYTES,
    clear_image_cache,
    image_block,
    prepare_image,
    prepare_image_file,
    prepare_inline_image,
    read_image_file,
)
from langchain_flexai.images._pdf_door import pdf_block
from langchain_flexai.images._policy import (
    ACCEPTED_SUFFIXES,
    MAX_FILE_BYTES,
    SUPPORTED_MIME_TYPES,
    ImagePolicy,
)
from langchain_flexai.images._prepared import PreparedImage

__all__ = [
    "ACCEPTED_SUFFIXES",
    "DEFAULT_CACHE_BYTES",
    "MAX_FILE_BYTES",
    "SUPPORTED_MIME_TYPES",
    "ImagePolicy",
    "PreparedImage",
    "clear_image_cache",
    "image_block",
    "pdf_block",
    "prepare_image",
    "prepare_image_file",
    "prepare_inline_image",
    "read_image_file",
]
