"""The environment's names and defaults: where FlexAI is and which key to use, unless told.

Knows the two environment variables (``FLEXAI_API_KEY``, ``FLEXAI_API_BASE``), FlexAI's default
base URL and the host names of FlexAI's gateway. Everything else reads them from here: the chat
model (through langchain-core's ``secret_from_env`` / ``from_env`` field factories, so its fields
keep LangChain's semantics), the catalog, the CLI and the describe cache key. Knows nothing about
HTTP, keys' validity or what a base URL answers. A leaf: standard library only.
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
