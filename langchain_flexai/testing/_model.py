"""The emulator's honest, deterministic model: its answer is computed from the request.

Knows the reply rules of docs/emulator.md: a text reply reports what arrived (messages, text
parts, images with format, size and dominant colour); a forced tool choice calls that tool
with arguments generated from its JSON schema; ``response_format`` gets a schema-valid JSON
instance; reasoning models add ``reasoning_content``; ``stop`` and ``max_tokens`` cut the
text. It never reads the meaning of text and never fetches anything. Knows nothing about
HTTP, SSE or ids (the server adds those).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from langchain_flexai.testing._errors import EmulatedError, invalid_request
from langchain_flexai.testing._request import ChatRequest, text_tokens
from langchain_flexai.testing._schema import SchemaTooLargeError, schema_instance

_CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class ToolCall:
    """A call the model makes: the tool name and its JSON-encoded arguments."""

    name: str
    arguments: str


@dataclass(frozen=True)
class Answer:
    """The model's output for one request, before ids and wire framing."""

    content: str | None
    reasoning: str | None
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def report_text(request: ChatRequest) -> str:
    """The text reply: what the request carried, one line per image."""
    head = (
        f"Received {_plural(request.messages, 'message')} with "
        f"{_plural(request.text_parts, 'text part')} and "
        f"{_plural(len(request.images), 'image')}."
    )
    lines = [head]
    if request.tool_results:
        lines.append(f"It includes {_plural(request.tool_results, 'tool result')}.")
    if request.images_ignored:
        lines.append(
            f"Model {request.requested_model} is text-only and ignored the images "
            "(it answers 200 without reading them)."
        )
    else:
        lines.extend(
            f"Image {number}: {image.describe()}."
            for number, image in enumerate(request.images, start=1)
        )
    if request.tools and request.forced_tool is None:
        names = ", ".join(tool["name"] for tool in request.tools)
        lines.append(
            f"Tools offered: {names}; none called (tool_choice is {request.tool_choice}: "
            "the emulator calls a tool only when tool_choice forces one)."
        )
    return "\n".join(lines)


def _report_json(request: ChatRequest) -> str:
    report = {
        "messages": request.messages,
        "text_parts": request.text_parts,
        "tool_results": request.tool_results,
        "images": [] if request.images_ignored else [i.as_json() for i in request.images],
    }
    return json.dumps(report, ensure_ascii=False)


def _reasoning(request: ChatRequest) -> str:
    return (
        "The emulator does not reason. It counted "
        f"{_plural(request.messages, 'message')}, {_plural(request.text_parts, 'text part')} "
        f"and {_plural(len(request.images), 'image')}, and answers with that count."
    )


def _cut_text(text: str, request: ChatRequest) -> tuple[str, str]:
    finish = "stop"
    for stop in request.stop:
        at = text.find(stop)
        if at != -1:
            text = text[:at]
    if request.max_tokens is not None and text_tokens(text) > request.max_tokens:
        limit = request.max_tokens * _CHARS_PER_TOKEN
        encoded = text.encode("utf-8")[:limit]
        text = encoded.decode("utf-8", errors="ignore")
        finish = "length"
    return text, finish


def _thinking_spends_budget(reasoning: str, request: ChatRequest) -> bool:
    # A reasoning model thinks before it answers: a max_tokens its thinking uses up leaves an
    # empty answer cut for length, as real reasoning vision models reply.
    return request.max_tokens is not None and text_tokens(reasoning) >= request.max_tokens


def _instance(schema: Any, param: str) -> Any:
    try:
        return schema_instance(schema)
    except SchemaTooLargeError as error:
        raise schema_too_large(error, param) from None


def schema_too_large(error: SchemaTooLargeError, param: str) -> EmulatedError:
    """The 400 for a schema whose instance would exceed the emulator's caps."""
    return invalid_request(
        f"The {param} schema asks for more than the emulator generates: {error}. "
        "Lower minItems / minLength in the schema (limits: docs/emulator.md).",
        param=param,
        code="schema_too_large",
    )


def answer(request: ChatRequest) -> Answer:
    """Compute the model's answer to a validated request.

    Precedence: a forced tool choice → one tool call (``finish_reason`` ``tool_calls``);
    else ``json_schema`` → a schema instance; else ``json_object`` → the report as JSON;
    else the text report, cut by ``stop`` and ``max_tokens``.
    """
    reasoning = _reasoning(request) if request.model.reasoning_content else None
    content: str | None
    calls: tuple[ToolCall, ...] = ()
    finish = "stop"
    if request.forced_tool is not None:
        tool = request.forced_tool
        arguments = _instance(tool.get("parameters") or {"type": "object"}, "tools")
        calls = (ToolCall(tool["name"], json.dumps(arguments, ensure_ascii=False)),)
        content = None
        finish = "tool_calls"
    elif request.response_format == "json_schema":
        content = json.dumps(_instance(request.json_schema, "response_format"), ensure_ascii=False)
    elif request.response_format == "json_object":
        content = _report_json(request)
    else:
        content, finish = _cut_text(report_text(request), request)
        if reasoning is not None and _thinking_spends_budget(reasoning, request):
            content, finish = "", "length"
    generated = (
        text_tokens(content or "")
        + text_tokens(reasoning or "")
        + sum(text_tokens(c.name) + text_tokens(c.arguments) for c in calls)
    )
    return Answer(
        content=content,
        reasoning=reasoning,
        tool_calls=calls,
        finish_reason=finish,
        prompt_tokens=request.prompt_tokens,
        completion_tokens=max(1, generated),
    )
