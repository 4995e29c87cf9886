"""The emulator's caps without a server: body parsing, the bounded request log, schema instances
and image URL schemes. Every oversized input is generated here."""

from __future__ import annotations

import json
import time
from types import MappingProxyType
from typing import Any

import pytest

from langchain_flexai.testing import DEFAULT_CATALOG, Limits, RecordedRequest, schema_instance
from langchain_flexai.testing._errors import EmulatedError
from langchain_flexai.testing._images import inspect_image_part
from langchain_flexai.testing._limits import RequestLog, parse_body
from langchain_flexai.testing._model import answer
from langchain_flexai.testing._request import lookup_model, read_request
from langchain_flexai.testing._schema import (
    MAX_SCHEMA_CHARS,
    MAX_SCHEMA_VALUES,
    SchemaTooLargeError,
)

CATALOG = {model.id: model for model in DEFAULT_CATALOG}


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


class TestParseBody:
    def test_defaults_are_the_documented_ones(self) -> None:
        limits = Limits()
        assert (limits.max_body_bytes, limits.max_json_depth, limits.max_json_values) == (
            32 * 1024 * 1024,
            100,
            1_000_000,
        )
        assert (limits.header_timeout, limits.body_timeout, limits.keep_alive_timeout) == (
            10.0,
            10.0,
            5,
        )
        assert (limits.max_logged_requests, limits.max_logged_bytes) == (10_000, 64 * 1024**2)

    @pytest.mark.parametrize("depth", [101, 5_000, 200_000])
    def test_nesting_past_the_cap_is_a_400(self, depth: int) -> None:
        # 200,000 levels overflow Python's parser (RecursionError); 101 parse but are refused.
        with pytest.raises(EmulatedError) as caught:
            parse_body(_nested(depth), Limits())
        assert (caught.value.status, caught.value.code) == (400, "invalid_json")
        assert caught.value.message == (
            "The request body is not accepted: JSON nested deeper than 100 levels."
        )

    def test_nesting_at_the_cap_parses(self) -> None:
        value, _ = parse_body(_nested(100), Limits())
        for _ in range(99):
            (value,) = value
        assert value == []
        objects = b'{"a":' * 100 + b"1" + b"}" * 100
        assert parse_body(objects, Limits())[0]["a"]["a"]["a"] is not None

    def test_too_many_values_is_refused_before_parsing(self) -> None:
        raw = b"[" + b"{}," * 1_000_000 + b"{}]"
        started = time.process_time()
        with pytest.raises(EmulatedError) as caught:
            parse_body(raw, Limits())
        assert time.process_time() - started < 0.5  # counted, not parsed into ~64 MB of dicts
        assert caught.value.status == 400
        assert caught.value.message == (
            "The request body is not accepted: it may hold up to 2000003 JSON values, "
            "more than the limit of 1000000."
        )

    @pytest.mark.parametrize("raw", [b"NaN", b'{"a": Infinity}', b"[-Infinity]", b"{", b"\xff"])
    def test_not_json_is_a_400(self, raw: bytes) -> None:
        with pytest.raises(EmulatedError) as caught:
            parse_body(raw, Limits())
        assert caught.value.envelope() == {
            "error": {
                "message": "The request body is not valid JSON.",
                "type": "invalid_request_error",
                "code": None,
                "param": None,
            }
        }

    @pytest.mark.parametrize(
        "field", ["max_body_bytes", "max_json_depth", "max_json_values", "max_logged_requests"]
    )
    def test_a_cap_cannot_be_switched_off_by_zero(self, field: str) -> None:
        with pytest.raises(ValueError, match=f"Limits.{field} must be at least 1"):
            Limits(**{field: 0})


def _record(number: int, body: Any) -> RecordedRequest:
    return RecordedRequest("POST", f"/r{number}", MappingProxyType({}), body, 1000)


class TestRequestLog:
    def test_count_is_bounded_newest_kept(self) -> None:
        log = RequestLog(Limits(max_logged_requests=5))
        for number in range(50):
            log.append(_record(number, {"n": number}), RequestLog.weight(1000, 3))
        assert [r.path for r in log.records()] == [f"/r{n}" for n in range(45, 50)]
        assert log.kept_weight == 5 * RequestLog.weight(1000, 3)

    def test_bodies_past_the_byte_budget_are_dropped_oldest_first(self) -> None:
        weight = RequestLog.weight(30_000, 10)
        log = RequestLog(Limits(max_logged_bytes=100_000))
        for number in range(40):
            log.append(_record(number, {"n": number}), weight)
            assert log.kept_weight <= 100_000
        records = log.records()
        assert len(records) == 40  # every request is still listed
        kept = [r for r in records if r.body is not None]
        assert [r.body for r in kept] == [{"n": n} for n in range(37, 40)]
        assert all(r.body_dropped for r in records[:37])
        assert not any(r.body_dropped for r in kept)
        assert records[0].size == 1000  # what arrived is still known

    def test_the_newest_body_is_kept_even_alone_over_budget(self) -> None:
        log = RequestLog(Limits(max_logged_bytes=10))
        log.append(_record(1, {"big": "x"}), 10_000)
        log.append(_record(2, {"big": "y"}), 10_000)
        assert [r.body for r in log.records()] == [None, {"big": "y"}]
        log.clear()
        assert (log.records(), log.kept_weight) == ([], 0)


def _schema_body(schema: dict[str, Any], *, tool: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "phi-4-multimodal-instruct",
        "messages": [{"role": "user", "content": "hi"}],
    }
    if tool:
        body["tools"] = [{"type": "function", "function": {"name": "f", "parameters": schema}}]
        body["tool_choice"] = "required"
    else:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "s", "schema": schema},
        }
    return body


_HUGE_SCHEMAS = [
    {"type": "array", "minItems": 2_000_000},
    {"type": "array", "minItems": 100_000_000, "items": {"type": "object"}},
    {"type": "string", "minLength": 10**12},
    # 1,000 x 1,000 x 1,000 values: each array alone is within the cap.
    {"type": "array", "minItems": 1000, "items": {"type": "array", "minItems": 1000,
     "items": {"type": "array", "minItems": 1000}}},
    # A 1 MB constant repeated 1,000 times.
    {"type": "array", "minItems": 1000, "items": {"const": "c" * 1_000_000}},
    # Long strings, each below the character cap, that add up past it.
    {"type": "object", "properties": {f"p{i}": {"type": "string", "minLength": 400_000}
     for i in range(3)}},
    # allOf branches and $ref copies cost work even when the instance is small.
    {"$defs": {"D": {f"k{i}": i for i in range(20_000)}},
     "type": "array", "minItems": 90_000, "items": {"$ref": "#/$defs/D"}},
]  # fmt: skip


class TestSchemaCaps:
    @pytest.mark.parametrize("schema", _HUGE_SCHEMAS)
    def test_demands_past_the_caps_raise_quickly(self, schema: dict[str, Any]) -> None:
        started = time.process_time()
        with pytest.raises(SchemaTooLargeError, match="the most the emulator"):
            schema_instance(schema)
        assert time.process_time() - started < 1.0  # generous: the cap is hit early

    @pytest.mark.parametrize("tool", [True, False])
    @pytest.mark.parametrize("schema", _HUGE_SCHEMAS[:3])
    def test_a_request_gets_the_400_naming_the_field(
        self, schema: dict[str, Any], *, tool: bool
    ) -> None:
        body = _schema_body(schema, tool=tool)
        requested, model = lookup_model(body, CATALOG)
        with pytest.raises(EmulatedError) as caught:
            answer(read_request(body, requested, model))
        param = "tools" if tool else "response_format"
        assert (caught.value.status, caught.value.code, caught.value.param) == (
            400,
            "schema_too_large",
            param,
        )
        assert caught.value.message.startswith(
            f"The {param} schema asks for more than the emulator generates: "
        )
        assert caught.value.message.endswith(
            "Lower minItems / minLength in the schema (limits: docs/emulator.md)."
        )

    def test_just_under_the_caps_is_generated_exactly(self) -> None:
        items = schema_instance({"type": "array", "minItems": MAX_SCHEMA_VALUES - 1})
        assert items == ["value"] * (MAX_SCHEMA_VALUES - 1)
        text = schema_instance({"type": "string", "minLength": MAX_SCHEMA_CHARS})
        assert text == "value" + "x" * (MAX_SCHEMA_CHARS - 5)
        with pytest.raises(SchemaTooLargeError):
            schema_instance({"type": "array", "minItems": MAX_SCHEMA_VALUES})

    def test_max_length_bounds_the_padding_without_building_it(self) -> None:
        assert schema_instance({"type": "string", "minLength": 10**12, "maxLength": 7}) == (
            "valuexx"
        )

    @pytest.mark.parametrize("count", ["3", -4, 2.5, True, None, [1]])
    def test_odd_min_items_count_as_none(self, count: Any) -> None:
        assert schema_instance({"type": "array", "minItems": count}) == []

    def test_small_answers_are_unchanged(self) -> None:
        schema = {"type": "array", "minItems": 3.0, "items": {"type": "integer", "minimum": 2}}
        assert json.dumps(schema_instance(schema)) == "[2, 2, 2]"


@pytest.mark.parametrize("url", ["HTTPS://example.com/a.png", "Https://EXAMPLE.com/b.jpg"])
def test_https_scheme_is_case_insensitive(url: str) -> None:
    report = inspect_image_part({"type": "image_url", "image_url": {"url": url}}, "m")
    assert (report.source, report.url, report.tokens) == ("https", url, 256)


def test_uppercase_https_without_host_is_still_refused() -> None:
    with pytest.raises(EmulatedError, match="the https URL has no host"):
        inspect_image_part({"type": "image_url", "image_url": {"url": "HTTPS:///x"}}, "m")
