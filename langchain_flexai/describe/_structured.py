"""Structured extraction: each image answered as an object that fits a schema.

Knows the three ways a schema is given (a JSON Schema dict or file, a pydantic model, a
TypedDict) and turns each into one JSON Schema (sent), one validator (pydantic's own for models
and TypedDicts, ``_structured_check`` for a hand-written schema), the top-level property names
(one column each in tables) and a SHA-256 (part of the resume key: answers made for another
schema are never reused). Knows which ``with_structured_output`` method a model gets, from the
catalog: ``json_schema`` for a model tagged ``structured_outputs``, ``function_calling`` (a forced
tool call) for one with tools but no structured outputs, ``json_mode`` otherwise, ``json_schema``
when the catalog does not know the model. Knows how an answer becomes a record: the validated
object in ``data`` (pydantic: ``model_dump(mode="json")``), its JSON text in ``description``; an
answer that is not JSON or fails the schema is a failed record (reason ``invalid_answer``) saying
where, not an exception. Knows nothing about scheduling or the cache file (``_run``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, TypeAdapter, ValidationError
from typing_extensions import is_typeddict

from langchain_flexai._loader._walk import printable_path
from langchain_flexai.catalog._client import FlexAICatalog
from langchain_flexai.describe._cache import DescribeCache
from langchain_flexai.describe._key import RequestIdentity
from langchain_flexai.describe._records import DescribeRecord, TokenUsage, no_text_message
from langchain_flexai.describe._structured_check import check_schema, validate
from langchain_flexai.errors import DescribeSchemaError as SchemaError

__all__ = ["StructuredAnswers", "load_schema_file", "structured_method"]

MAX_SCHEMA_FILE_BYTES = 1024 * 1024
"""A schema file larger than this is refused (a schema is a few hundred bytes)."""


def load_schema_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON Schema in ``path``, checked.

    Raises:
        SchemaError: the file cannot be read, is not JSON, or is not an object schema
            (the message names the file and what to change).
    """
    shown = printable_path(os.fspath(path))
    try:
        with Path(path).open("rb") as stream:
            raw = stream.read(MAX_SCHEMA_FILE_BYTES + 1)
    except OSError as error:
        raise SchemaError(f"cannot read the schema {shown}: {error.strerror or error}") from None
    if len(raw) > MAX_SCHEMA_FILE_BYTES:
        raise SchemaError(f"the schema {shown} is larger than {MAX_SCHEMA_FILE_BYTES} bytes")
    try:
        schema = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise SchemaError(f"the schema {shown} is not JSON: {error}") from None
    try:
        return check_schema(schema)
    except SchemaError as problem:
        raise SchemaError(f"the schema {shown}: {problem}") from None


def structured_method(model: BaseChatModel) -> str:
    """The ``with_structured_output`` method for ``model``, from the catalog (see above).

    For a ``ChatFlexAI``, its ``model_catalog`` when it has one, else the public catalog of its
    ``base_url`` (read once per process and shared; never ``/v1/models``, whose keyed requests
    count against the key's rate limit). A model the catalog does not list, an unreadable
    catalog, or another kind of chat model gets ``json_schema``: the OpenAI-compatible default,
    which a server refuses with a 400 naming ``response_format`` rather than answering in free
    text.
    """
    name = getattr(model, "model_name", None)
    catalog: Any = getattr(model, "model_catalog", None)
    base_url = getattr(model, "openai_api_base", None)
    if catalog is None and isinstance(base_url, str) and model._llm_type == "chat-flexai":  # noqa: SLF001
        catalog = _public_catalog(base_url)
    info = catalog.find_model(name) if catalog is not None and isinstance(name, str) else None
    if info is not None:
        capabilities = info.capabilities
        if "structured_outputs" in capabilities:
            return "json_schema"
        params = info.supported_parameters
        if "tool_use" in capabilities and (params is None or "tool_choice" in params):
            return "function_calling"
        return "json_mode"
    return "json_schema"


@functools.lru_cache(maxsize=8)
def _public_catalog(base_url: str) -> FlexAICatalog:
    # An empty key, not None (which reads FLEXAI_API_KEY): the public list only. One per base
    # URL for the process; the catalog keeps its answer for its TTL.
    return FlexAICatalog(base_url=base_url, api_key="")


def _json_schema_of(schema: object) -> tuple[dict[str, Any], TypeAdapter[Any] | None]:
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_json_schema(), TypeAdapter(schema)
    if is_typeddict(schema):
        adapter: TypeAdapter[Any] = TypeAdapter(cast("type[Any]", schema))
        return adapter.json_schema(), adapter
    if isinstance(schema, dict):
        return check_schema(schema), None
    raise TypeError(
        "schema must be a JSON Schema dict, a pydantic model or a TypedDict, got "
        f"{type(schema).__name__}"
    )


@dataclass(frozen=True)
class StructuredAnswers:
    """One schema, how answers are asked for and checked against it."""

    json_schema: dict[str, Any]
    """The JSON Schema sent (a ``title`` added when it had none: tool and format names need one)."""
    method: str
    """The ``with_structured_output`` method: json_schema, function_calling or json_mode."""
    adapter: TypeAdapter[Any] | None = dataclasses.field(repr=False, compare=False)
    """pydantic's validator (models and TypedDicts); None: ``_structured_check``."""

    @classmethod
    def of(
        cls, schema: object, model: BaseChatModel, method: str | None = None
    ) -> StructuredAnswers:
        """The structured answers of ``model`` for ``schema`` (method chosen when not given).

        Raises:
            SchemaError: a dict that is not an object schema with properties.
            TypeError: ``schema`` is neither a dict, a pydantic model nor a TypedDict.
        """
        json_schema, adapter = _json_schema_of(schema)
        if not isinstance(json_schema.get("title"), str):
            json_schema = {"title": "answer", **json_schema}
        return cls(json_schema, method or structured_method(model), adapter)

    @property
    def properties(self) -> list[str]:
        """The top-level property names, in schema order (one table column each)."""
        return list(self.json_schema.get("properties", {}))

    @property
    def property_schemas(self) -> dict[str, Any]:
        """The top-level ``properties`` mapping (name → schema): ``open_writer(properties=)``."""
        return dict(self.json_schema.get("properties", {}))

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the canonical schema JSON and the method (a resume-key part)."""
        text = json.dumps(
            {"schema": self.json_schema, "method": self.method},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def identity(self, base: RequestIdentity) -> RequestIdentity:
        """``base`` with this schema folded into its settings (so into its key)."""
        settings = json.loads(base.settings_json)
        settings["structured_output"] = self.sha256
        return dataclasses.replace(
            base, settings_json=json.dumps(settings, sort_keys=True, separators=(",", ":"))
        )

    def runnable(self, model: BaseChatModel) -> Runnable[Any, Any]:
        """``model`` asking for this schema; it answers ``{"raw", "parsed", "parsing_error"}``."""
        return model.with_structured_output(
            self.json_schema,
            method=self.method,
            include_raw=True,
        )

    def checked(self, value: object) -> dict[str, Any]:
        """``value`` validated, as a JSON-ready dict.

        Raises:
            SchemaError: it does not fit the schema (the message says where).
        """
        if self.adapter is not None:
            try:
                parsed = self.adapter.validate_python(value)
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(part) for part in first["loc"]) or "$"
                raise SchemaError(
                    f"{where}: {first['msg']} ({error.error_count()} errors)"
                ) from None
            dumped = self.adapter.dump_python(parsed, mode="json")
            return cast("dict[str, Any]", dumped)
        validate(value, self.json_schema)
        return cast("dict[str, Any]", value)

    def cached(self, text: str) -> dict[str, Any] | None:
        """The object a cache row holds (its JSON text), or None when it is not one."""
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    @staticmethod
    def remember(
        record: DescribeRecord,
        cache: DescribeCache | None,
        key: str | None,
        identity: RequestIdentity,
    ) -> DescribeRecord:
        """``record``, its object stored in ``cache`` (as JSON text) when it has one."""
        if cache is not None and key is not None and record.description is not None:
            usage = record.usage.as_dict() if record.usage else None
            cache.put(
                key,
                identity,
                record.description,
                usage,
                response_id=record.response_id,
                finish_reason=record.finish_reason,
            )
        return record

    def record(self, answer: object, make: Callable[..., DescribeRecord]) -> DescribeRecord:
        """The record of one structured answer: ``data`` set, or a failed record saying why.

        ``make(usage, **fields)`` builds the record (the run adds what was sent, to which model,
        at what cost).
        """
        got = answer if isinstance(answer, dict) else {}
        raw = got.get("raw")
        message = raw if isinstance(raw, BaseMessage) else None
        usage = TokenUsage.from_message(message) if message is not None else None
        metadata = message.response_metadata if message is not None else {}
        answered = {
            "response_id": _text_or_none(metadata.get("id")),
            "finish_reason": _text_or_none(metadata.get("finish_reason")),
        }
        parsed, problem = got.get("parsed"), got.get("parsing_error")
        if parsed is None or problem is not None:
            if problem is not None:
                why = f"the answer is not JSON for the schema ({problem})"
            elif (
                message is not None
                and not message.text
                and not getattr(message, "tool_calls", None)
            ):
                why = no_text_message(message)
            else:
                why = "the answer holds no object for the schema"
            return make(usage, error=why, reason="invalid_answer", **answered)
        try:
            data = self.checked(parsed)
        except SchemaError as error:
            why = f"the answer does not fit the schema: {error}"
            return make(usage, error=why, reason="invalid_answer", **answered)
        text = json.dumps(data, ensure_ascii=False)
        return make(usage, description=text, data=data, **answered)


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
