"""The emulator's prompt cache: which prompt tokens a request reports as read from cache.

FlexAI's usage may carry ``cache_read_input_tokens`` and ``cache_creation_input_tokens``
(docs/flexai_api.md); when a real server caches is its own business. The emulator's rule, so
that tests can predict it (docs/emulator.md, "Prompt cache"):

- a request's cacheable prefixes are its first k messages, k = 1 .. all, compared exactly (the
  JSON of each message) and per model;
- when the longest prefix an earlier request also had counts at least ``MIN_CACHED_TOKENS``
  prompt tokens (OpenAI's minimum for its prompt cache), the usage reports those tokens as
  ``cache_read_input_tokens`` and the rest of ``prompt_tokens`` as
  ``cache_creation_input_tokens``; otherwise neither field is sent (as before);
- every request's prefixes are then remembered, the most recent ``MAX_PREFIXES`` of them.

``prompt_tokens`` still counts every prompt token, cached or not. Knows nothing about HTTP.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MIN_CACHED_TOKENS = 1024
"""A prefix shorter than this is never reported as cached."""
MAX_PREFIXES = 4096
"""Prefixes remembered (least recently seen dropped first)."""


@dataclass(frozen=True)
class CacheUse:
    """The two usage fields of a request that hit the cache."""

    read: int
    creation: int

    def usage_fields(self) -> dict[str, int]:
        """``cache_read_input_tokens`` and ``cache_creation_input_tokens``."""
        return {"cache_read_input_tokens": self.read, "cache_creation_input_tokens": self.creation}


def prefix_keys(model: str, messages: Sequence[Any]) -> list[bytes]:
    """One digest per prefix of ``messages``: the k-th names the first k messages exactly."""
    digest = hashlib.blake2b(model.encode(), digest_size=16)
    keys = []
    for message in messages:
        _feed(digest, message)
        keys.append(digest.copy().digest())
    return keys


def _feed(digest: Any, value: Any) -> None:
    # A walk rather than json.dumps: a data URL of megabytes is hashed without an escaped copy.
    # Each value is tagged and length-prefixed, so different structures never feed the same bytes.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            data = item.encode("utf-8", "surrogatepass")
            digest.update(b"s" + len(data).to_bytes(8, "big"))
            digest.update(data)
        elif isinstance(item, dict):
            digest.update(b"d" + len(item).to_bytes(8, "big"))
            for key in sorted(item, key=str, reverse=True):
                stack.extend((item[key], str(key)))
        elif isinstance(item, list):
            digest.update(b"l" + len(item).to_bytes(8, "big"))
            stack.extend(reversed(item))
        else:  # numbers, booleans, null: their JSON text
            digest.update(b"v" + json.dumps(item).encode())


class PromptCache:
    """The prefixes seen so far, shared by every request to one emulator."""

    def __init__(self, max_prefixes: int = MAX_PREFIXES) -> None:
        """An empty cache remembering at most ``max_prefixes`` prefixes."""
        self._max = max_prefixes
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def use(
        self, model: str, messages: Sequence[Any], prefix_tokens: Sequence[int], prompt_tokens: int
    ) -> CacheUse | None:
        """What this request reads from the cache (None: nothing), then remember its prefixes.

        ``prefix_tokens[k - 1]`` is the prompt tokens of the first k messages.
        """
        keys = prefix_keys(model, messages)
        read = 0
        with self._lock:
            for key, tokens in zip(keys, prefix_tokens, strict=False):
                if key in self._seen:
                    read = tokens
            for key in keys:
                self._seen[key] = None
                self._seen.move_to_end(key)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
        if read < MIN_CACHED_TOKENS:
            return None
        return CacheUse(read=read, creation=max(0, prompt_tokens - read))

    def clear(self) -> None:
        """Forget every prefix."""
        with self._lock:
            self._seen.clear()
