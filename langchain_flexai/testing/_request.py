"""Reading a ``POST /v1/chat/completions`` body the way FlexAI's gateway checks it.

Knows the request fields of docs/flexai_api.md (messages and their content parts, tools,
``tool_choice``, ``response_format``, ``stop``, ``max_tokens``, streaming options) and which
of them each catalog model refuses. Produces a ``ChatRequest`` or raises the 400 a server
sends. Knows nothing about HTTP and computes no reply (see ``_model``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_flexai.testing._catalog_data import CatalogModel
from langchain_flexai.testing._errors import EmulatedError, invalid_request, model_not_found
from langchain_flexai.testing._images import ImageReport, inspect_image_part

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_IMAGE_ROLES = frozenset({"user", "tool"})
_MESSAGE_OVERHEAD_TOKENS = 4
_MAX_STOP = 4


def text_tokens(text: str) -> int:
    """Tokens for a piece of text: one per started 4 bytes of UTF-8."""
    # ASCII text is its own UTF-8: count it without building a copy (bodies reach 32 MiB).
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    return math.ceil(size / 4)


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat completion request, reduced to what the emulator answers from."""

    model: CatalogModel
    requested_model: str
    """The ``model`` string as sent (echoed in the response)."""
    messages: int
    text_parts: int
    tool_results: int
    images: tuple[ImageReport, ...]
    images_ignored: bool
    """True when a text-only model that ignores images received some."""
    prompt_tokens: int
    tools: tuple[dict[str, Any], ...] = ()
    forced_tool: dict[str, Any] | None = None
    """The ``function`` object of the tool a forced ``tool_choice`` selects."""
    tool_choice: str = "auto"
    response_format: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: dict[str, Any] = field(default_factory=dict)
    stop: tuple[str, ...] = ()
    max_tokens: int | None = None
    stream: bool = False
    include_usage: bool = False
    prefix_tokens: tuple[int, ...] = ()
    """Prompt tokens of the first k messages, k = 1 .. all (for the prompt cache)."""


def lookup_model(body: Any, catalog: dict[str, CatalogModel]) -> tuple[str, CatalogModel]:
    """The requested model id and its catalog entry.

    Raises:
        EmulatedError: 400 for a missing body or model, ``model_not_found`` for unknown ids.
    """
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_request("'model' is required and must be a string.", param="model")
    entry = catalog.get(model)
    if entry is None:
        raise model_not_found(model)
    return model, entry


def read_request(body: dict[str, Any], requested: str, model: CatalogModel) -> ChatRequest:
    """Validate a chat completion body for ``model``.

    Raises:
        EmulatedError: the 400 FlexAI sends for the first problem found.
    """
    counts = _MessageCounts()
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise invalid_request("'messages' must be a non-empty array.", param="messages")
    marks: list[tuple[int, int]] = []  # (text tokens, images) after each message
    for index, message in enumerate(raw_messages):
        counts.read_message(message, index)
        marks.append((counts.tokens, len(counts.images)))
    images_ignored = False
    if counts.images and not model.vision:
        if model.images_on_text_model == "reject":
            raise invalid_request(
                f"Model '{requested}' is not a multimodal model; it cannot take image_url "
                "parts. Remove the images or use a model tagged 'vision'.",
                param="messages",
                code="model_not_multimodal",
            )
        images_ignored = True
    n = body.get("n")
    if n is not None and n != 1:
        # FlexAI answers one choice per request (docs/flexai_api.md, "More of the API").
        raise invalid_request(f"'n' must be 1 on FlexAI, got {n!r}.", param="n")
    stream = _optional_bool(body, "stream")
    stream_options = body.get("stream_options")
    if stream_options is not None and not isinstance(stream_options, dict):
        raise invalid_request("'stream_options' must be an object.", param="stream_options")
    include_usage = bool((stream_options or {}).get("include_usage", False))
    tools = _read_tools(body.get("tools"))
    tool_choice, forced = _read_tool_choice(body.get("tool_choice"), tools)
    if forced is not None and not model.honours_forced_tool_choice:
        raise EmulatedError(
            400,
            f"Model '{requested}' declined the forced tool call (tool_choice={tool_choice}); "
            "it answers in text only. Use tool_choice 'auto' or another model.",
            type_="invalid_request_error",
            code="tool_choice_not_honored",
            param="tool_choice",
        )
    response_format, schema = _read_response_format(body.get("response_format"), model)
    tool_tokens = text_tokens(json.dumps(list(tools))) if tools else 0
    return ChatRequest(
        model=model,
        requested_model=requested,
        messages=len(raw_messages),
        text_parts=counts.text_parts,
        tool_results=counts.tool_results,
        images=tuple(counts.images),
        images_ignored=images_ignored,
        prompt_tokens=counts.tokens
        + tool_tokens
        + (0 if images_ignored else sum(i.tokens for i in counts.images)),
        tools=tuple(t["function"] for t in tools),
        forced_tool=forced,
        tool_choice=tool_choice,
        response_format=response_format,
        json_schema=schema,
        stop=_read_stop(body.get("stop")),
        max_tokens=_read_max_tokens(body),
        stream=stream,
        include_usage=include_usage,
        prefix_tokens=_prefix_tokens(marks, () if images_ignored else counts.images),
    )


def _prefix_tokens(
    marks: list[tuple[int, int]], images: list[ImageReport] | tuple[()]
) -> tuple[int, ...]:
    image_sums = [0]
    for image in images:
        image_sums.append(image_sums[-1] + image.tokens)
    return tuple(text + image_sums[min(seen, len(images))] for text, seen in marks)


class _MessageCounts:
    """Walks the messages, validating parts and counting what arrived."""

    def __init__(self) -> None:
        self.text_parts = 0
        self.tool_results = 0
        self.images: list[ImageReport] = []
        self.tokens = 0

    def read_message(self, message: Any, index: int) -> None:
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise invalid_request(f"{where} must be an object.", param=where)
        role = message.get("role")
        if not isinstance(role, str) or role not in _ROLES:
            raise invalid_request(
                f"{where}.role must be one of {sorted(_ROLES)}, got {role!r}.", param=where
            )
        self.tokens += _MESSAGE_OVERHEAD_TOKENS
        if role == "tool":
            if not isinstance(message.get("tool_call_id"), str):
                raise invalid_request(f"{where}.tool_call_id is required.", param=where)
            self.tool_results += 1
        if role == "assistant":
            self._read_tool_calls(message.get("tool_calls"), where)
        content = message.get("content")
        if content is None and role == "assistant":
            return
        self._read_content(content, role, where)

    def _read_tool_calls(self, calls: Any, where: str) -> None:
        if calls is None:
            return
        if not isinstance(calls, list):
            raise invalid_request(f"{where}.tool_calls must be an array.", param=where)
        for number, call in enumerate(calls):
            function = call.get("function") if isinstance(call, dict) else None
            if (
                not isinstance(function, dict)
                or not isinstance(call.get("id"), str)
                or not isinstance(function.get("name"), str)
                or not isinstance(function.get("arguments"), str)
            ):
                raise invalid_request(
                    f"{where}.tool_calls[{number}] must have an id and a function with a "
                    "name and string arguments.",
                    param=f"{where}.tool_calls[{number}]",
                )
            self.tokens += text_tokens(function["name"]) + text_tokens(function["arguments"])

    def _read_content(self, content: Any, role: str, where: str) -> None:
        if isinstance(content, str):
            self.text_parts += 1
            self.tokens += text_tokens(content)
            return
        if not isinstance(content, list):
            raise invalid_request(
                f"{where}.content must be a string or an array of parts.", param=where
            )
        for number, part in enumerate(content):
            self._read_part(part, role, f"{where}.content[{number}]")

    def _read_part(self, part: Any, role: str, where: str) -> None:
        if not isinstance(part, dict):
            raise invalid_request(f"{where} must be an object.", param=where)
        kind = part.get("type")
        if kind == "text":
            extra = set(part) - {"type", "text"}
            if extra:
                raise invalid_request(
                    f"{where}: unexpected keys {sorted(extra)} in a text part.", param=where
                )
            if not isinstance(part.get("text"), str):
                raise invalid_request(f"{where}.text must be a string.", param=where)
            self.text_parts += 1
            self.tokens += text_tokens(part["text"])
            return
        if kind == "image_url":
            if role not in _IMAGE_ROLES:
                raise invalid_request(
                    f"{where}: image_url parts are accepted in user and tool messages, "
                    f"not in {role} messages.",
                    param=where,
                )
            self.images.append(inspect_image_part(part, where))
            return
        raise invalid_request(
            f"{where}: unknown content part type {kind!r}; FlexAI accepts 'text' and 'image_url'.",
            param=where,
        )


def _optional_bool(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid_request(f"'{key}' must be a boolean.", param=key)
    return value


def _read_tools(tools: Any) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise invalid_request("'tools' must be an array.", param="tools")
    for number, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if (
            not isinstance(tool, dict)
            or tool.get("type") != "function"
            or not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
        ):
            raise invalid_request(
                f"tools[{number}] must be {{'type': 'function', 'function': {{'name': ...}}}}.",
                param=f"tools[{number}]",
            )
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise invalid_request(
                f"tools[{number}].function.parameters must be a JSON schema object.",
                param=f"tools[{number}]",
            )
    return tools


def _read_tool_choice(
    choice: Any, tools: list[dict[str, Any]]
) -> tuple[str, dict[str, Any] | None]:
    if choice is None or choice in ("auto", "none"):
        return choice or "auto", None
    if choice == "required":
        if not tools:
            raise invalid_request(
                "tool_choice 'required' needs at least one tool.", param="tool_choice"
            )
        return "required", tools[0]["function"]
    if isinstance(choice, dict) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        for tool in tools:
            if tool["function"]["name"] == name:
                return f"function {name}", tool["function"]
        raise invalid_request(
            f"tool_choice names function {name!r}, which is not among 'tools'.",
            param="tool_choice",
        )
    raise invalid_request(
        "tool_choice must be 'none', 'auto', 'required' or "
        "{'type': 'function', 'function': {'name': ...}}.",
        param="tool_choice",
    )


def _read_response_format(
    value: Any, model: CatalogModel
) -> tuple[Literal["text", "json_object", "json_schema"], dict[str, Any]]:
    if value is None:
        return "text", {}
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return "text", {}
    if kind == "json_object":
        return "json_object", {}
    if kind == "json_schema":
        if not model.json_schema:
            raise invalid_request(
                f"Model '{model.id}' does not support response_format json_schema; use "
                "json_object or a model listing 'structured_outputs'.",
                param="response_format",
            )
        spec = value.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise invalid_request(
                "response_format.json_schema must be an object with a 'name'.",
                param="response_format",
            )
        schema = spec.get("schema", {})
        if not isinstance(schema, dict):
            raise invalid_request(
                "response_format.json_schema.schema must be an object.", param="response_format"
            )
        return "json_schema", schema
    raise invalid_request(
        "response_format.type must be 'text', 'json_object' or 'json_schema'.",
        param="response_format",
    )


def _read_stop(stop: Any) -> tuple[str, ...]:
    if stop is None:
        return ()
    values = [stop] if isinstance(stop, str) else stop
    if (
        not isinstance(values, list)
        or len(values) > _MAX_STOP
        or not all(isinstance(s, str) and s for s in values)
    ):
        raise invalid_request(
            "'stop' must be a non-empty string or an array of up to 4.", param="stop"
        )
    return tuple(values)


def _read_max_tokens(body: dict[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise invalid_request(f"'{key}' must be a positive integer.", param=key)
        return value
    return None
