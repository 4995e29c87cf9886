"""The model catalog: parsing both documented shapes, merging, caching, errors, cost estimates.

HTTP goes through httpx.MockTransport: no socket is opened.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from langchain_core.messages import HumanMessage
from PIL import Image

from langchain_flexai.catalog import _client as catalog_module
from langchain_flexai.catalog._client import (
    CatalogWarning,
    FlexAICatalog,
    FlexAICatalogError,
    ModelInfo,
    ModelNotFoundError,
    default_catalog,
    estimate_cost,
    is_flexai_url,
    parse_public_models,
    parse_v1_models,
)
from langchain_flexai.tokens import TOKENS_PER_MESSAGE, TOKENS_PER_REPLY

KEY = "fake-catalog-test-key"

# Shapes as docs/flexai_api.md documents them (Model catalog section).
PUBLIC: list[dict[str, Any]] = [
    {
        "slug": "phi-4-multimodal-instruct",
        "model_name": "phi-4-multimodal-instruct",
        "display_name": "Phi-4 Multimodal",
        "description": "Small multimodal model.",
        "category": "vision",
        "context_window": 131072,
        "max_output": 4096,
        "input_per_mtok": 0.05,
        "output_per_mtok": 0.1,
        "supports": ["chat", "streaming", "vision", "image_input"],
        "pricing": {"prompt": "0.00000005", "completion": "0.0000001"},
        "health_status": "healthy",
        "provider": "microsoft",
    },
    {
        "slug": "gpt-oss-120b",
        "model_name": "gpt-oss-120b",
        "display_name": "gpt-oss 120B",
        "category": "reasoning",
        "context_window": 131072,
        "max_output": 8192,
        "input_per_mtok": 0.09,
        "output_per_mtok": 0.45,
        "supports": ["chat", "tool_use", "reasoning"],
        "health_status": "degraded",
        "provider": "openai",
        "launch_tier": "beta",  # undocumented: kept in `extra`
    },
    {"display_name": "an entry without a model name is skipped"},
    "not an object",
    {
        "model_name": "odd-types",
        "context_window": "large",
        "max_output": True,
        "input_per_mtok": -1,
        "output_per_mtok": "n/a",
        "supports": "vision",
        "health_status": 1,
    },
]
V1: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "phi-4-multimodal-instruct",
            "object": "model",
            "created": 1767225600,
            "owned_by": "microsoft",
            "context_length": 131072,
            "max_output_length": 4096,
            "pricing": {"prompt": "0.00000005", "completion": "0.0000001"},
            "hugging_face_id": "microsoft/Phi-4-multimodal-instruct",
            "aliases": ["phi4mm"],
            "name": "Phi-4 Multimodal Instruct",
            "description": "Small multimodal model.",
            "supports": ["chat", "vision", "tool_use", "structured_outputs"],
            "category": "vision",
            "input_modalities": ["text", "image"],
            "output_modalities": ["text"],
            "supported_parameters": ["max_tokens", "temperature", "tools", "tool_choice"],
            "is_ready": True,
        },
        {
            "id": "gpt-oss-120b",
            "object": "model",
            "owned_by": "openai",
            "context_length": 131072,
            "pricing": {"input_per_mtok": 0.09, "output_per_mtok": 0.45},
            "supports": ["chat", "tool_use", "reasoning"],
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "supported_parameters": ["max_tokens", "tools"],
            "is_ready": False,
        },
        {
            "id": "Qwen3.5-9B",
            "object": "model",
            "supports": ["chat", "vision"],
            "pricing": {"prompt": "0.00000006", "completion": "0.00000018"},
        },
    ],
}


def png_data_url(width: int, height: int) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 10)).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


class Server:
    """An in-process stand-in for both catalog endpoints; records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.public: Callable[[], httpx.Response] = lambda: httpx.Response(200, json=PUBLIC)
        self.keyed: Callable[[], httpx.Response] = lambda: httpx.Response(200, json=V1)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/api/models":
            return self.public()
        if request.url.path == "/v1/models":
            return self.keyed()
        return httpx.Response(404)

    def catalog(self, **kwargs: Any) -> FlexAICatalog:
        kwargs.setdefault("api_key", KEY)
        return FlexAICatalog(
            http_client=httpx.Client(transport=httpx.MockTransport(self.handle)),
            http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(self.handle)),
            **kwargs,
        )

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]


@pytest.fixture
def server() -> Server:
    return Server()


class TestParsePublic:
    def test_documented_fields(self) -> None:
        phi = parse_public_models(PUBLIC)[0]
        assert phi == ModelInfo(
            id="phi-4-multimodal-instruct",
            name="Phi-4 Multimodal",
            description="Small multimodal model.",
            category="vision",
            capabilities=frozenset({"chat", "streaming", "vision", "image_input"}),
            context_window=131072,
            max_output=4096,
            input_per_mtok=0.05,
            output_per_mtok=0.1,
            health="healthy",
            provider="microsoft",
            slug="phi-4-multimodal-instruct",
            sources=frozenset({"public"}),
        )
        assert phi.vision

    def test_missing_and_extra_fields(self) -> None:
        models = parse_public_models(PUBLIC)
        assert [info.id for info in models] == [
            "phi-4-multimodal-instruct",
            "gpt-oss-120b",
            "odd-types",
        ]
        assert models[1].extra == {"launch_tier": "beta"}
        assert models[1].description is None
        assert not models[1].vision

    def test_fields_of_the_wrong_type_are_ignored(self) -> None:
        odd = parse_public_models(PUBLIC)[2]
        assert (odd.context_window, odd.max_output) == (None, None)
        assert (odd.input_per_mtok, odd.output_per_mtok) == (None, None)
        assert odd.capabilities == frozenset()
        assert odd.health is None
        assert odd.name == "odd-types"

    def test_prices_from_pricing_when_top_level_is_absent(self) -> None:
        entry = {"model_name": "m", "pricing": {"prompt": "0.0000002", "completion": "6E-7"}}
        info = parse_public_models([entry])[0]
        assert (info.input_per_mtok, info.output_per_mtok) == (0.2, 0.6)

    def test_wrong_overall_shape(self) -> None:
        with pytest.raises(
            FlexAICatalogError,
            match=r"^/api/models did not answer with a list of models \(got dict\)$",
        ):
            parse_public_models({"models": []})


class TestParseV1:
    def test_documented_fields(self) -> None:
        phi, oss, _ = parse_v1_models(V1)
        assert phi.aliases == ("phi4mm",)
        assert phi.hugging_face_id == "microsoft/Phi-4-multimodal-instruct"
        assert phi.input_modalities == ("text", "image")
        assert phi.supported_parameters == frozenset(
            {"max_tokens", "temperature", "tools", "tool_choice"}
        )
        assert (phi.input_per_mtok, phi.output_per_mtok) == (0.05, 0.1)
        assert phi.is_ready is True
        assert phi.provider == "microsoft"
        assert oss.is_ready is False
        assert (oss.input_per_mtok, oss.output_per_mtok) == (0.09, 0.45)
        assert oss.max_output is None

    def test_missing_fields_are_unknown(self) -> None:
        qwen = parse_v1_models(V1)[2]
        assert qwen.supported_parameters is None
        assert qwen.is_ready is None
        assert qwen.input_modalities == ()
        assert qwen.name == "Qwen3.5-9B"
        assert qwen.vision

    def test_bare_list_accepted_and_other_shapes_refused(self) -> None:
        assert [i.id for i in parse_v1_models(V1["data"])] == [
            "phi-4-multimodal-instruct",
            "gpt-oss-120b",
            "Qwen3.5-9B",
        ]
        with pytest.raises(
            FlexAICatalogError,
            match=r"^/v1/models did not answer with a list of models \(got str\)$",
        ):
            parse_v1_models("nope")


class TestMergeAndLookup:
    def test_one_record_per_model(self, server: Server) -> None:
        models = server.catalog().list_models()
        assert [info.id for info in models] == [
            "gpt-oss-120b",
            "odd-types",
            "phi-4-multimodal-instruct",
            "Qwen3.5-9B",
        ]
        phi = models[2]
        assert phi.sources == frozenset({"public", "v1"})
        assert phi.name == "Phi-4 Multimodal Instruct"  # the keyed list wins...
        assert phi.health == "healthy"  # ...except for health, which only the public list has
        assert phi.slug == "phi-4-multimodal-instruct"
        assert phi.capabilities == frozenset(
            {"chat", "streaming", "vision", "image_input", "tool_use", "structured_outputs"}
        )
        oss = models[0]
        assert (oss.max_output, oss.health, oss.is_ready) == (8192, "degraded", False)
        assert oss.extra == {"launch_tier": "beta"}

    def test_vision_filter(self, server: Server) -> None:
        ids = [info.id for info in server.catalog().list_models(capability="vision")]
        assert ids == ["phi-4-multimodal-instruct", "Qwen3.5-9B"]
        assert [i.id for i in server.catalog().list_models("reasoning")] == ["gpt-oss-120b"]

    @pytest.mark.parametrize(
        "name",
        [
            "phi-4-multimodal-instruct",
            "PHI-4-MULTIMODAL-INSTRUCT",
            "phi4mm",
            "microsoft/Phi-4-multimodal-instruct",
        ],
    )
    def test_aliases_resolve(self, server: Server, name: str) -> None:
        assert server.catalog().get_model(name).id == "phi-4-multimodal-instruct"

    def test_unknown_model_suggests_close_ids(self, server: Server) -> None:
        with pytest.raises(ModelNotFoundError) as info:
            server.catalog().get_model("phi-4-multimodal")
        assert str(info.value) == (
            "FlexAI's catalog has no model named 'phi-4-multimodal' (4 models listed). "
            "Did you mean: phi-4-multimodal-instruct?"
        )
        assert isinstance(info.value, LookupError)


class TestHttp:
    def test_urls_and_auth(self, server: Server) -> None:
        server.catalog().list_models()
        public, keyed = server.requests
        assert str(public.url) == "https://tokens.flex.ai/api/models"
        assert "authorization" not in public.headers  # the key never goes to the public list
        assert str(keyed.url) == "https://tokens.flex.ai/v1/models"
        assert keyed.headers["authorization"] == f"Bearer {KEY}"

    def test_base_url_from_environment(
        self, server: Server, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FLEXAI_API_BASE", "http://127.0.0.1:8765/v1/")
        server.catalog().list_models()
        assert [str(r.url) for r in server.requests] == [
            "http://127.0.0.1:8765/api/models",
            "http://127.0.0.1:8765/v1/models",
        ]

    def test_without_a_key_only_the_public_list_is_read(
        self, server: Server, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("FLEXAI_API_KEY", raising=False)
        models = server.catalog(api_key=None).list_models()
        assert server.paths() == ["/api/models"]
        assert [info.id for info in models] == [
            "gpt-oss-120b",
            "odd-types",
            "phi-4-multimodal-instruct",
        ]

    def test_key_from_the_environment(
        self, server: Server, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FLEXAI_API_KEY", "fake-env-key")
        server.catalog(api_key=None).list_models()
        assert server.requests[1].headers["authorization"] == "Bearer fake-env-key"

    def test_cached_for_the_ttl(self, server: Server) -> None:
        catalog = server.catalog()
        catalog.list_models()
        catalog.get_model("phi4mm")
        catalog.list_models("vision")
        assert server.paths() == ["/api/models", "/v1/models"]
        catalog.list_models(refresh=True)
        assert len(server.requests) == 4
        catalog.clear_cache()
        catalog.list_models()
        assert len(server.requests) == 6

    @pytest.mark.parametrize("base_url", ["https://api.flex.ai/v1", "https://API.flex.ai/v1/"])
    def test_flexai_other_host_name(self, server: Server, base_url: str) -> None:
        # FlexAI's own client packages use api.flex.ai: the same gateway, the same two lists.
        server.catalog(base_url=base_url).list_models()
        assert [str(r.url) for r in server.requests] == [
            "https://api.flex.ai/api/models",
            "https://api.flex.ai/v1/models",
        ]

    def test_cached_lookups_never_fetch(self, server: Server) -> None:
        catalog = server.catalog(ttl=60)
        assert (catalog.cached_models(), catalog.cached_model("phi4mm")) == (None, None)
        assert server.requests == []
        catalog.list_models()
        cached = catalog.cached_models()
        assert cached is not None
        assert [info.id for info in cached] == [info.id for info in catalog.list_models()]
        phi = catalog.cached_model("PHI4MM")  # aliases and case, as get_model
        assert phi is not None
        assert phi.id == "phi-4-multimodal-instruct"
        assert catalog.cached_model("no-such-model") is None
        assert len(server.requests) == 2

    def test_a_stale_cache_is_not_used_for_capabilities(self, server: Server) -> None:
        catalog = server.catalog(ttl=0)
        catalog.list_models()
        assert catalog.cached_model("phi-4-multimodal-instruct") is None  # may have changed
        assert catalog.cached_models() is not None  # still fine for spelling suggestions
        assert len(server.requests) == 2

    def test_zero_ttl_fetches_every_time(self, server: Server) -> None:
        catalog = server.catalog(ttl=0)
        catalog.list_models()
        catalog.list_models()
        assert len(server.requests) == 4

    def test_both_endpoints_failing(self, server: Server) -> None:
        server.public = lambda: httpx.Response(500, text="boom")
        server.keyed = lambda: httpx.Response(
            503, json={"error": {"message": "catalog under maintenance", "type": "x", "code": "y"}}
        )
        with pytest.raises(FlexAICatalogError) as info:
            server.catalog().list_models()
        assert str(info.value) == (
            "Could not read FlexAI's model catalog from https://tokens.flex.ai/api/models: "
            "HTTP 500: boom; Could not read FlexAI's model catalog from "
            "https://tokens.flex.ai/v1/models: HTTP 503: catalog under maintenance"
        )

    def test_one_endpoint_failing_warns_and_uses_the_other(self, server: Server) -> None:
        server.keyed = lambda: httpx.Response(
            401, json={"error": {"message": "Invalid API key", "code": "invalid_api_key"}}
        )
        catalog = server.catalog()
        with pytest.warns(CatalogWarning) as record:
            models = catalog.list_models()
        message = str(record[0].message)
        assert message == (
            "Could not read FlexAI's model catalog from https://tokens.flex.ai/v1/models: "
            "HTTP 401: Invalid API key (check the FLEXAI_API_KEY environment variable or the "
            "api_key argument); using the other catalog endpoint only"
        )
        assert KEY not in message
        assert {info.id for info in models} == {
            "gpt-oss-120b",
            "odd-types",
            "phi-4-multimodal-instruct",
        }

    @pytest.mark.parametrize(
        ("error", "reason"),
        [
            (httpx.ReadTimeout("read timed out"), "no answer within 2.5 s"),
            (
                httpx.ConnectError("[Errno 111] Connection refused"),
                "ConnectError: [Errno 111] Connection refused",
            ),
        ],
    )
    def test_transport_errors(self, error: Exception, reason: str) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise error

        catalog = FlexAICatalog(
            api_key=KEY,
            timeout=2.5,
            http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        )
        with pytest.raises(FlexAICatalogError) as info:
            catalog.list_models(refresh=True)
        assert str(info.value) == (
            f"Could not read FlexAI's model catalog from https://tokens.flex.ai/api/models: "
            f"{reason}; Could not read FlexAI's model catalog from "
            f"https://tokens.flex.ai/v1/models: {reason}"
        )
        assert KEY not in str(info.value)

    def test_not_json(self, server: Server) -> None:
        server.public = lambda: httpx.Response(200, text="<html>")
        server.keyed = lambda: httpx.Response(200, text="{")
        with pytest.raises(FlexAICatalogError, match="the answer is not JSON"):
            server.catalog().list_models()

    def test_oversized_answer_is_refused(
        self, server: Server, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(catalog_module, "MAX_CATALOG_BYTES", 64)
        with pytest.raises(FlexAICatalogError, match="the answer exceeds 64 bytes"):
            server.catalog().list_models()

    def test_key_is_not_in_repr(self, server: Server) -> None:
        catalog = server.catalog()
        assert (
            repr(catalog)
            == "FlexAICatalog(base_url='https://tokens.flex.ai/v1', api_key=set, ttl=300)"
        )
        assert KEY not in repr(catalog)

    def test_invalid_settings(self) -> None:
        with pytest.raises(ValueError, match="ttl must be >= 0 and timeout > 0"):
            FlexAICatalog(timeout=0)


class TestFindModel:
    def test_unknown_model_is_none(self, server: Server) -> None:
        assert server.catalog().find_model("nope") is None
        assert server.catalog().find_model("phi4mm") is not None

    def test_unreadable_catalog_is_none_with_a_warning(self, server: Server) -> None:
        server.public = lambda: httpx.Response(500, text="x")
        server.keyed = lambda: httpx.Response(500, text="y")
        with pytest.warns(CatalogWarning, match=r"HTTP 500: y; capabilities unknown$"):
            assert server.catalog().find_model("phi4mm") is None

    async def test_async(self, server: Server) -> None:
        catalog = server.catalog()
        assert (await catalog.afind_model("phi4mm")) is not None
        assert (await catalog.afind_model("nope")) is None
        server.public = lambda: httpx.Response(500, text="x")
        server.keyed = lambda: httpx.Response(500, text="y")
        assert (await catalog.afind_model("phi4mm")) is not None  # still cached
        catalog.clear_cache()
        with pytest.warns(CatalogWarning, match="capabilities unknown"):
            assert (await catalog.afind_model("phi4mm")) is None


class TestAsync:
    async def test_alist_and_aget(self, server: Server) -> None:
        catalog = server.catalog()
        vision = await catalog.alist_models("vision")
        assert [info.id for info in vision] == ["phi-4-multimodal-instruct", "Qwen3.5-9B"]
        assert (await catalog.aget_model("phi4mm")).context_window == 131072
        assert sorted(server.paths()) == ["/api/models", "/v1/models"]

    async def test_async_errors(self, server: Server) -> None:
        server.public = lambda: httpx.Response(500, text="x")
        server.keyed = lambda: httpx.Response(500, text="y")
        with pytest.raises(FlexAICatalogError, match=r"HTTP 500: x; .*HTTP 500: y$"):
            await server.catalog().alist_models()

    async def test_module_functions(self, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
        # The module-level helpers share one catalog per (base URL, key).
        shared = server.catalog(base_url="https://example.test/v1")
        monkeypatch.setitem(
            catalog_module._DEFAULTS,
            ("https://example.test/v1", catalog_module.hashlib.sha256(KEY.encode()).hexdigest()),
            shared,
        )
        assert default_catalog(base_url="https://example.test/v1", api_key=KEY) is shared
        found = await catalog_module.aget_model(
            "phi4mm", base_url="https://example.test/v1", api_key=KEY
        )
        assert found.id == "phi-4-multimodal-instruct"
        listed = catalog_module.list_models(
            "vision", base_url="https://example.test/v1", api_key=KEY
        )
        assert [info.id for info in listed] == ["phi-4-multimodal-instruct", "Qwen3.5-9B"]
        assert len(server.requests) == 2  # fetched once for both calls


class TestEstimateCost:
    @pytest.fixture
    def offline(self) -> FlexAICatalog:
        models = [
            *parse_v1_models(V1),
            ModelInfo(
                id="flex-vision",
                name="x",
                hugging_face_id="Qwen/Qwen3.6-27B-FP8",
                input_per_mtok=1.0,
            ),
        ]
        return FlexAICatalog.from_models(models)

    def test_text_and_image(self, offline: FlexAICatalog) -> None:
        message = HumanMessage(
            content=[
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": png_data_url(1000, 666)}},
            ]
        )
        estimate = estimate_cost([message], "phi4mm", catalog=offline, max_output_tokens=1000)
        prompt = TOKENS_PER_REPLY + TOKENS_PER_MESSAGE + 4 + 1841  # 1841: Phi-4 rule, 1000x666
        assert estimate.model == "phi-4-multimodal-instruct"
        assert estimate.prompt_tokens == prompt
        assert estimate.input_cost == pytest.approx(prompt * 0.05 / 1e6)
        assert estimate.max_output_cost == pytest.approx(1000 * 0.1 / 1e6)
        assert estimate.max_total_cost == pytest.approx(prompt * 0.05 / 1e6 + 1e-4)

    def test_no_prices(self, offline: FlexAICatalog) -> None:
        estimate = estimate_cost(
            [HumanMessage("hi")], "flex-vision", catalog=offline, max_output_tokens=10
        )
        assert estimate.input_cost == pytest.approx(estimate.prompt_tokens / 1e6)
        assert estimate.max_output_cost is None
        assert estimate.max_total_cost is None

    def test_opaque_id_uses_the_hugging_face_id_for_the_image_rule(
        self, offline: FlexAICatalog
    ) -> None:
        message = HumanMessage(
            content=[{"type": "image_url", "image_url": {"url": png_data_url(1000, 666)}}]
        )
        estimate = estimate_cost([message], "flex-vision", catalog=offline)
        assert estimate.prompt_tokens == TOKENS_PER_REPLY + TOKENS_PER_MESSAGE + 653  # Qwen3 rule

    def test_static_catalog_never_fetches(self, offline: FlexAICatalog) -> None:
        assert offline.list_models(refresh=True)[0].id == "phi-4-multimodal-instruct"
        offline.clear_cache()
        assert len(offline.list_models()) == 4

    def test_unknown_model(self, offline: FlexAICatalog) -> None:
        with pytest.raises(ModelNotFoundError, match="no model named 'nope'"):
            estimate_cost([HumanMessage("hi")], "nope", catalog=offline)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://tokens.flex.ai/v1", True),
        ("https://api.flex.ai/v1", True),
        ("https://API.Flex.AI/v1/", True),
        ("https://api.flex.ai", True),
        ("  https://api.flex.ai/v1  ", True),
        ("http://api.flex.ai/v1", False),
        ("https://api.flex.ai.example.com/v1", False),
        ("https://evil.example/api.flex.ai/v1", False),
        ("https://flex.ai/v1", False),
        ("http://127.0.0.1:8000/v1", False),
    ],
)
def test_is_flexai_url(url: str, *, expected: bool) -> None:
    assert is_flexai_url(url) is expected
