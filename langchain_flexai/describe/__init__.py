"""Describe many images with a chat model: the public face of the bulk describe run.

The run itself (`_run`: concurrency, rate limit, progress) and its state (`_state`), its records
(`_records`), the resume cache (`_cache`) and its key (`_key`), retry decisions (`_retry`), the
rate limiter (`_rate_limit`), and the output files (`_writers`, with the table columns in
`_tabular`).
Sidecars beside the images are `_sidecars`' (XMP packets `_xmp`'s), structured answers
`_structured`'s (a hand-written schema checked by `_structured_check`).
"""

from __future__ import annotations

from langchain_flexai.describe._run import (
    DEFAULT_PROMPT,
    EMULATOR_ENDPOINT,
    DescribeInput,
    DescribeProgress,
    DescribeRecord,
    DescribeReport,
    ImageDescriber,
    RequestRateLimiter,
    SkippedImage,
    TokenUsage,
    answer_text,
    no_text_message,
    resume_key,
)
from langchain_flexai.describe._sidecars import SidecarWriter, sidecar_path
from langchain_flexai.describe._structured import load_schema_file
from langchain_flexai.describe._tabular import STABLE_COLUMNS
from langchain_flexai.describe._writers import FORMATS, RecordWriter, open_writer
from langchain_flexai.errors import DescribeCacheError, DescribeOutputError, DescribeSchemaError

__all__ = [
    "DEFAULT_PROMPT",
    "EMULATOR_ENDPOINT",
    "FORMATS",
    "STABLE_COLUMNS",
    "DescribeCacheError",
    "DescribeInput",
    "DescribeOutputError",
    "DescribeProgress",
    "DescribeRecord",
    "DescribeReport",
    "DescribeSchemaError",
    "ImageDescriber",
    "RecordWriter",
    "RequestRateLimiter",
    "SidecarWriter",
    "SkippedImage",
    "TokenUsage",
    "answer_text",
    "load_schema_file",
    "no_text_message",
    "open_writer",
    "resume_key",
    "sidecar_path",
]
