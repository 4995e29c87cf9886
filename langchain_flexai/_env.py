"""What the environment says: where FlexAI is, which key to use, how many cores we may use.

Knows the two environment variables (``FLEXAI_API_KEY``, ``FLEXAI_API_BASE``), FlexAI's default
base URL and the host names of FlexAI's gateway. Everything else reads them from here: the chat
model (through langchain-core's ``secret_from_env`` / ``from_env`` field factories, so its fields
keep LangChain's semantics), the catalog, the CLI and the describe cache key; and how many CPU
cores this process may run on, which sizes the loader's workers and the chat model's image slots.
Knows nothing about HTTP, keys' validity or what a base URL answers. A leaf: standard library only.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

API_KEY_ENV = "FLEXAI_API_KEY"
"""The environment variable holding the FlexAI API key."""

API_BASE_ENV = "FLEXAI_API_BASE"
"""The environment variable holding the base URL of FlexAI's API (with its ``/v1``)."""

DEFAULT_BASE_URL = "https://tokens.flex.ai/v1"
"""FlexAI's gateway, as FlexAI's docs name it."""

ALIAS_BASE_URL = "https://api.flex.ai/v1"
"""The same gateway under the host name FlexAI's own client packages use."""

FLEXAI_HOSTS = frozenset(
    host for host in (urlsplit(url).hostname for url in (DEFAULT_BASE_URL, ALIAS_BASE_URL)) if host
)
"""FlexAI's gateway host names: FlexAI's docs use ``tokens.``, its own client packages ``api.``;
both front the same gateway (same ``/v1`` API, same ``/api/models`` at the host root)."""


def api_key_from_env() -> str | None:
    """``FLEXAI_API_KEY``, or None when it is unset or empty."""
    return os.environ.get(API_KEY_ENV) or None


def base_url_from_env() -> str:
    """``FLEXAI_API_BASE``, or :data:`DEFAULT_BASE_URL` when it is unset or empty."""
    return os.environ.get(API_BASE_ENV) or DEFAULT_BASE_URL


def usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count); >= 1."""
    process_cpu_count = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if process_cpu_count is not None:
        cores: int | None = process_cpu_count()
    else:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # macOS and Windows have no affinity call
            cores = os.cpu_count()
    return max(1, cores or 1)
