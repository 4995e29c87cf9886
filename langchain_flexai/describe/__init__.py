"""Describe many images with a chat model: the public face of the bulk describe run.

The run itself (`_run`: concurrency, rate limit, progress), its records (`_records`), the resume
cache (`_cache`) and its key (`_key`), retry decisions (`_retry`) and the rate limiter
(`_rate_limit`).
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
from langchain_flexai.errors import DescribeCacheError

__all__ = [
    "DEFAULT_PROMPT",
    "EMULATOR_ENDPOINT",
    "DescribeCacheError",
    "DescribeInput",
    "DescribeProgress",
    "DescribeRecord",
    "DescribeReport",
    "ImageDescriber",
    "RequestRateLimiter",
    "SkippedImage",
    "TokenUsage",
    "answer_text",
    "no_text_message",
    "resume_key",
]
