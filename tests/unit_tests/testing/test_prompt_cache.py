"""The emulator's prompt-cache rule: a repeated message prefix of 1024+ tokens is cached."""

from __future__ import annotations

from langchain_flexai.testing._prompt_cache import MIN_CACHED_TOKENS, CacheUse, PromptCache

SYSTEM = {"role": "system", "content": "x" * 4096}
LONG = MIN_CACHED_TOKENS + 4


def _use(cache: PromptCache, question: str, *, model: str = "m") -> CacheUse | None:
    messages = [SYSTEM, {"role": "user", "content": question}]
    return cache.use(model, messages, [LONG, LONG + 10], LONG + 10)


def test_a_repeated_long_prefix_is_read_and_the_rest_written() -> None:
    cache = PromptCache()
    assert _use(cache, "first") is None
    assert _use(cache, "second") == CacheUse(read=LONG, creation=10)
    # The whole prompt repeated: all of it is read.
    assert _use(cache, "second") == CacheUse(read=LONG + 10, creation=0)
    assert CacheUse(5, 1).usage_fields() == {
        "cache_read_input_tokens": 5,
        "cache_creation_input_tokens": 1,
    }


def test_short_prefixes_other_models_and_changed_messages_are_not_cached() -> None:
    cache = PromptCache()
    short = [{"role": "system", "content": "brief"}, {"role": "user", "content": "q"}]
    for _ in range(2):
        assert cache.use("m", short, [10, 20], 20) is None
    _use(cache, "first")
    assert _use(cache, "first", model="other") is None
    changed = [{**SYSTEM, "content": "y" * 4096}, {"role": "user", "content": "first"}]
    assert cache.use("m", changed, [LONG, LONG + 10], LONG + 10) is None


def test_the_cache_is_bounded_and_can_be_cleared() -> None:
    cache = PromptCache(max_prefixes=2)
    _use(cache, "first")
    cache.use("m", [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], [1, 2], 2)
    assert _use(cache, "again") is None  # the system prefix was evicted
    cache.clear()
    assert _use(cache, "again") is None
    assert _use(cache, "again") is not None
