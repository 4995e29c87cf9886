"""Who is calling: the ``User-Agent`` that names this package after the HTTP client's own.

FlexAI sees ``OpenAI/Python 3.57.0 langchain-flexai/0.3.0`` from the chat model (the SDK's own
product token first, as RFC 9110 orders them: most significant first), and
``python-httpx/0.28.1 langchain-flexai/0.3.0`` from the catalog. A ``User-Agent`` the user set
in ``default_headers`` is sent as it is. Knows nothing else about requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import openai

from langchain_flexai._version import __version__

__all__ = ["PRODUCT", "httpx_user_agent", "sdk_user_agent", "user_agent", "with_user_agent"]

PRODUCT = f"langchain-flexai/{__version__}"
"""This package's product token."""


def user_agent(base: str) -> str:
    """``base`` (the HTTP client's own ``User-Agent``) followed by this package's token."""
    return f"{base} {PRODUCT}" if base else PRODUCT


def sdk_user_agent(*, async_client: bool = False) -> str:
    """What the openai SDK's clients send, with this package's token after it."""
    name = "AsyncOpenAI" if async_client else "OpenAI"
    return user_agent(f"{name}/Python {openai.__version__}")


def httpx_user_agent() -> str:
    """What a plain httpx client sends, with this package's token after it."""
    return user_agent(f"python-httpx/{httpx.__version__}")


def with_user_agent(headers: Mapping[str, Any] | None, agent: str) -> dict[str, Any]:
    """A copy of ``headers`` with ``User-Agent: agent`` unless it already names one."""
    merged = dict(headers or {})
    if not any(str(name).lower() == "user-agent" for name in merged):
        merged["User-Agent"] = agent
    return merged
