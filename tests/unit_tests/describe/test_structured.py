"""Structured extraction: schema files checked, answers validated, records and resume keys.

The model's answers are built here (what ``with_structured_output(include_raw=True)`` returns);
the whole path through the emulator is in tests/integration_tests/test_describe_structured.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import FakeListChatModel
from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_flexai.catalog._models import ModelInfo
from langchain_flexai.describe._key import RequestIdentity
from langchain_flexai.describe._records import DescribeRecord, TokenUsage
from langchain_flexai.describe._structured import (
    MAX_SCHEMA_FILE_BYTES,
    StructuredAnswers,
    load_schema_file,
    structured_method,
)
from langchain_flexai.describe._structured_check import check_schema, validate
from langchain_flexai.errors import DescribeSchemaError
from langchain_flexai.testing import schema_instance

RECEIPT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "vendor": {"type": "string", "minLength": 1},
        "date": {"type": "string", "format": "date"},
        "total": {"type": "number", "minimum": 0},
        "items": {"type": "array", "items": {"$ref": "#/$defs/item"}, "maxItems": 3},
        "currency": {"enum": ["EUR", "USD"]},
    },
    "required": ["vendor", "date", "total"],
    "additionalProperties": False,
    "$defs": {"item": {"type": "object", "properties": {"name": {"type": "string"}}}},
}


class Receipt(BaseModel):
    vendor: str
    date: str
    total: float = Field(ge=0)


class Tagged(TypedDict):
    caption: str
    tags: list[str]


# -- schema files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not JSON: "),
        ('["a"]', "the schema must be a JSON object, got list"),
        ('{"type": "array"}', 'the top level must be {"type": "object", "properties": {...}}'),
        ('{"type": "object", "properties": {}}', "the schema's properties are empty"),
        (
            '{"type": "object", "properties": {"a": {"type": "text"}}}',
            (
                "$.a: unknown type 'text' (one of array, boolean, integer, null, number, object, "
                "string)"
            ),
        ),
        (
            '{"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}',
            "$.a: $ref '#/$defs/missing' points to nothing",
        ),
        (
            '{"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}}',
            "$.a: only local references (#/$defs/...) are followed",
        ),
        (
            '{"type": "object", "properties": {"a": {"type": "string", "pattern": "("}}}',
            "$.a: pattern is not a regular expression",
        ),
        ('{"type": "object", "properties": {"a": 3}}', "$.a: a schema must be an object, got int"),
        (
            '{"type": "object", "properties": {"a": {}}, "required": "a"}',
            "$: required must be a list of property names",
        ),
    ],
)
def test_a_bad_schema_file_is_one_line_naming_it(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "receipt.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DescribeSchemaError) as caught:
        load_schema_file(path)
    assert str(caught.value).startswith(f"the schema {path}")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_schema_file_unreadable_or_too_large(tmp_path: Path) -> None:
    with pytest.raises(
        DescribeSchemaError, match=r"^cannot read the schema .*missing.json: No such file"
    ):
        load_schema_file(tmp_path / "missing.json")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_SCHEMA_FILE_BYTES + 1))
    with pytest.raises(DescribeSchemaError, match=f"is larger than {MAX_SCHEMA_FILE_BYTES} bytes"):
        load_schema_file(big)
    (tmp_path / "latin.json").write_bytes(b'{"a": "\xe9"}')
    with pytest.raises(DescribeSchemaError, match="is not JSON"):
        load_schema_file(tmp_path / "latin.json")


def test_a_good_schema_file(tmp_path: Path) -> None:
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(RECEIPT), encoding="utf-8")
    assert load_schema_file(path) == RECEIPT


# -- validation ----------------------------------------------------------------------------

GOOD = {"vendor": "Bakery", "date": "2026-11-30", "total": 4.5, "items": [{"name": "bread"}]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({**GOOD, "total": "4.50"}, "$.total: expected number, got string"),
        ({**GOOD, "total": True}, "$.total: expected number, got boolean"),
        ({**GOOD, "total": -1}, "$.total: -1 is not at least 0"),
        ({"vendor": "x", "date": "d"}, "$: the required property 'total' is missing"),
        ({**GOOD, "tip": 1}, "$: the property 'tip' is not in the schema"),
        ({**GOOD, "vendor": ""}, "$.vendor: shorter than 1 characters"),
        ({**GOOD, "currency": "GBP"}, "$.currency: 'GBP' is not one of ['EUR', 'USD']"),
        ({**GOOD, "items": [{"name": 3}]}, "$.items[0].name: expected string, got integer"),
        ({**GOOD, "items": [{}, {}, {}, {}]}, "$.items: 4 items, at most 3 allowed"),
        ([GOOD], "$: expected object, got array"),
    ],
)
def test_validation_names_the_place(value: object, message: str) -> None:
    with pytest.raises(DescribeSchemaError) as caught:
        validate(value, RECEIPT)
    assert str(caught.value) == message


def test_validation_accepts_conforming_values() -> None:
    validate(GOOD, RECEIPT)
    validate({**GOOD, "total": 4}, RECEIPT)  # an integer is a number
    validate({"n": 3.0}, {"type": "object", "properties": {"n": {"type": "integer"}}})
    any_of = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    validate(None, any_of)
    with pytest.raises(DescribeSchemaError, match="matches 0 of the anyOf branches"):
        validate(3, any_of)
    one_of = {"oneOf": [{"type": "number"}, {"type": "integer"}]}
    with pytest.raises(
        DescribeSchemaError, match="matches 2 of the oneOf branches, exactly one needed"
    ):
        validate(3, one_of)


def test_check_schema_returns_the_schema() -> None:
    assert check_schema(RECEIPT) is RECEIPT


# -- answers become records ----------------------------------------------------------------


def _answer(parsed: object, *, error: Exception | None = None, text: str = "{}") -> dict[str, Any]:
    raw = AIMessage(
        content=text,
        usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
    )
    return {"raw": raw, "parsed": parsed, "parsing_error": error}


def _make(usage: TokenUsage | None, **fields: Any) -> DescribeRecord:
    return DescribeRecord(source="receipt.png", sha256=None, usage=usage, **fields)


@pytest.fixture
def image() -> Any:
    return _make


@pytest.mark.parametrize("schema", [Receipt, RECEIPT])
def test_a_conforming_answer_is_data(schema: object, image: Any) -> None:
    answers = StructuredAnswers.of(schema, FakeListChatModel(responses=[""]), "json_schema")
    value = {"vendor": "Bakery", "date": "2026-11-30", "total": 4.5}
    record = answers.record(_answer(value), image)
    assert record.status == "described"
    assert record.data == value
    assert record.description == json.dumps(value)
    assert record.usage is not None
    assert record.usage.total_tokens == 15


def test_pydantic_coerces_and_dumps_as_json(image: Any) -> None:
    answers = StructuredAnswers.of(Receipt, FakeListChatModel(responses=[""]), "json_schema")
    record = answers.record(_answer({"vendor": "B", "date": "d", "total": "4.5"}), image)
    assert record.data == {"vendor": "B", "date": "d", "total": 4.5}


def test_typeddict_schema(image: Any) -> None:
    answers = StructuredAnswers.of(Tagged, FakeListChatModel(responses=[""]), "json_schema")
    assert answers.properties == ["caption", "tags"]
    assert answers.json_schema["title"] == "Tagged"
    record = answers.record(_answer({"caption": "a leaf", "tags": ["leaf"]}), image)
    assert record.data == {"caption": "a leaf", "tags": ["leaf"]}
    record = answers.record(_answer({"caption": "a leaf", "tags": "leaf"}), image)
    assert record.reason == "invalid_answer"
    assert record.error == (
        "the answer does not fit the schema: tags: Input should be a valid list (1 errors)"
    )


@pytest.mark.parametrize(
    ("schema", "value", "error"),
    [
        (
            Receipt,
            {"vendor": "B", "date": "d", "total": -2},
            (
                "the answer does not fit the schema: total: Input should be greater than or equal "
                "to 0 (1 errors)"
            ),
        ),
        (
            Receipt,
            {"vendor": "B"},
            "the answer does not fit the schema: date: Field required (2 errors)",
        ),
        (
            RECEIPT,
            {"vendor": "B", "date": "d", "total": "much"},
            "the answer does not fit the schema: $.total: expected number, got string",
        ),
    ],
)
def test_an_answer_failing_validation_is_a_failed_record(
    schema: object, value: object, error: str, image: Any
) -> None:
    answers = StructuredAnswers.of(schema, FakeListChatModel(responses=[""]), "json_schema")
    record = answers.record(_answer(value), image)
    assert (record.status, record.reason, record.error) == ("failed", "invalid_answer", error)
    assert record.data is None
    assert record.description is None  # nothing to cache
    assert record.usage is not None  # the request was paid for


def test_an_answer_that_is_not_json_is_a_failed_record(image: Any) -> None:
    answers = StructuredAnswers.of(RECEIPT, FakeListChatModel(responses=[""]), "json_schema")
    record = answers.record(_answer(None, error=ValueError("Invalid json output: hi")), image)
    assert record.reason == "invalid_answer"
    assert record.error == "the answer is not JSON for the schema (Invalid json output: hi)"
    record = answers.record(_answer(None, text=""), image)
    assert record.error == "the model answered with no text (finish_reason=None)"
    record = answers.record(_answer(None, text="no object here"), image)
    assert record.error == "the answer holds no object for the schema"


def test_the_schema_is_part_of_the_resume_key() -> None:
    model = FakeListChatModel(responses=[""])
    base = RequestIdentity.of(model, "m", "prompt")
    keys = {
        StructuredAnswers.of(schema, model, method).identity(base).key
        for schema, method in [
            (RECEIPT, "json_schema"),
            (RECEIPT, "function_calling"),
            ({**RECEIPT, "required": ["vendor"]}, "json_schema"),
            (Receipt, "json_schema"),
            (Tagged, "json_schema"),
        ]
    }
    assert len(keys) == 5
    assert base.key not in keys
    same = StructuredAnswers.of(dict(RECEIPT), model, "json_schema").identity(base).key
    assert same in keys


def test_a_bad_schema_object_is_refused() -> None:
    model = FakeListChatModel(responses=[""])
    with pytest.raises(TypeError, match="schema must be a JSON Schema dict, a pydantic model"):
        StructuredAnswers.of("receipt.json", model)
    with pytest.raises(DescribeSchemaError, match="the top level must be"):
        StructuredAnswers.of({"type": "string"}, model)


# -- the method, from the catalog ----------------------------------------------------------


class _Listing:
    """A catalog stand-in: one record, whatever the name."""

    def __init__(self, info: ModelInfo | None) -> None:
        self.info = info
        self.asked: list[str] = []

    def find_model(self, name: str) -> ModelInfo | None:
        self.asked.append(name)
        return self.info


class _Catalogued(FakeListChatModel):
    model_name: str = "m"
    model_catalog: Any = None


@pytest.mark.parametrize(
    ("capabilities", "params", "method"),
    [
        ({"vision", "tool_use", "structured_outputs"}, {"tools", "tool_choice"}, "json_schema"),
        ({"vision", "tool_use"}, {"tools", "tool_choice"}, "function_calling"),
        ({"vision", "tool_use"}, None, "function_calling"),
        ({"vision", "tool_use"}, {"tools"}, "json_mode"),
        ({"vision"}, set(), "json_mode"),
    ],
)
def test_method_from_the_catalog(
    capabilities: set[str], params: set[str] | None, method: str
) -> None:
    info = ModelInfo(
        id="m",
        name="m",
        capabilities=frozenset(capabilities),
        supported_parameters=None if params is None else frozenset(params),
    )
    listing = _Listing(info)
    model = _Catalogued(responses=[""], model_catalog=listing)
    assert structured_method(model) == method
    assert listing.asked == ["m"]


def test_method_for_an_unknown_model_is_json_schema() -> None:
    assert structured_method(_Catalogued(responses=[""])) == "json_schema"
    unknown = _Catalogued(responses=[""], model_catalog=_Listing(None))
    assert structured_method(unknown) == "json_schema"
    assert structured_method(FakeListChatModel(responses=[""])) == "json_schema"


# -- the emulator's answers fit the schemas this module checks -----------------------------


@pytest.mark.parametrize(
    "schema",
    [
        RECEIPT,
        Receipt.model_json_schema(),
        StructuredAnswers.of(Tagged, FakeListChatModel(responses=[""]), "json_schema").json_schema,
        {
            "type": "object",
            "properties": {
                "n": {"type": "integer", "minimum": 3, "maximum": 9},
                "x": {"type": "number", "exclusiveMinimum": 0.5},
                "s": {"type": "string", "minLength": 12, "maxLength": 20},
                "e": {"enum": ["b", "a"]},
                "c": {"const": 7},
                "o": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
                "a": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                "d": {"type": ["string", "null"], "format": "date-time"},
            },
            "required": ["n", "x", "s", "e", "c", "o", "a", "d"],
            "additionalProperties": False,
        },
    ],
)
def test_the_emulator_answers_every_schema_with_a_valid_object(schema: dict[str, Any]) -> None:
    # The emulator's rule (docs/emulator.md) and this validator must agree, or the offline
    # runs of the examples and docs would fail their own records.
    validate(schema_instance(schema), schema)
