"""A chat completion's JSON body, read as langchain-openai reads the SDK's typed ``ChatCompletion``.

For a chat completion langchain-openai lets the SDK build a typed ``ChatCompletion`` from the
response JSON (``construct_type``: pydantic objects for the response, each choice, message and
usage), then dumps it back to a dict (``model_dump``) to build its ``ChatResult``: 0.25–0.4 ms of
client CPU per request in a describe run, for a dict that differs from the JSON only where the
typed object fills in what the server left out. ``completion_view`` parses the body once (orjson
when installed, the ``fast`` extra) and makes those differences itself:

- every field langchain-openai reads that the server omitted or sent as null reads as None: the
  response's ``id``, ``model``, ``service_tier`` and ``system_fingerprint`` (a dict without one
  would give ``""``), each choice's ``logprobs``;
- the usage object carries every field of the SDK's ``CompletionUsage`` and of its details
  objects, None where absent, the server's own fields after them (as ``model_dump`` orders them);
- ``typed_message_fields`` then copies what langchain-openai takes from the typed first message,
  not from the dict: an extra ``parsed`` field, then ``refusal``.

Where the typed form could differ from the JSON, ``completion_view`` returns None and the caller
takes the SDK's typed path: a body that is not a JSON object with a list of ``choices`` (or that
orjson refuses: integers beyond 64 bits, a byte-order mark, NaN), a choice or message not an
object, a role other than ``assistant``, ``logprobs``, ``function_call`` or ``audio`` present,
content or refusal not a string, a tool call not of the function shape with string fields, a
usage value the SDK could coerce (anything but an integer or null where it expects an integer).
The usage fields are read from the SDK's models at import; if they hold a kind of field this
module does not know, every response with usage takes the typed path.

Knows the SDK's chat completion schema and what langchain-openai's ``_create_chat_result`` reads;
knows nothing about requests, FlexAI's fields (``chat_models`` adds them to either result) or
structured output (a ``parse`` response keeps the typed path).
"""

from __future__ import annotations

import json
import types
import typing
from typing import TYPE_CHECKING, Any

from openai import BaseModel
from openai.types import CompletionUsage

try:  # the `fast` extra
    import orjson
except ImportError:  # pragma: no cover - depends on the installed extras
    orjson = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from langchain_core.outputs import ChatResult

__all__ = ["CompletionView", "completion_view", "typed_message_fields"]

# (key, nested plan) per declared field; a nested plan for a model-typed field, None for an int.
_Plan = tuple[tuple[str, "_Plan | None"], ...]


class CompletionView(dict[str, Any]):
    """A chat completion body that stands for the SDK's typed ``ChatCompletion`` dumped."""


def _plan(model: type[BaseModel]) -> _Plan | None:
    """The fields of ``model``, when each is an int or an optional model of such fields."""
    plan: list[tuple[str, _Plan | None]] = []
    for name, field in model.model_fields.items():
        if field.get_default() is not None and not field.is_required():
            return None  # the SDK would fill in a default we do not know to fill
        annotation = field.annotation
        args = typing.get_args(annotation)
        optional = typing.get_origin(annotation) in {typing.Union, types.UnionType}
        inner = next((a for a in args if a is not type(None)), None) if optional else annotation
        if optional and len(args) != 2:  # noqa: PLR2004 - Optional[X] is Union[X, None]
            return None
        if inner is int:
            plan.append((field.alias or name, None))
        elif isinstance(inner, type) and issubclass(inner, BaseModel):
            nested = _plan(inner)
            if nested is None:
                return None
            plan.append((field.alias or name, nested))
        else:
            return None
    return tuple(plan)


_USAGE = _plan(CompletionUsage)


def _filled(value: dict[str, Any], plan: _Plan) -> dict[str, Any] | None:
    """``value`` as ``model_dump`` gives it back: declared fields first, None where absent."""
    out: dict[str, Any] = {}
    for key, nested in plan:
        item = value.get(key)
        if item is None:
            out[key] = None
        elif nested is None:
            if type(item) is not int:  # a float, string or bool the SDK may coerce
                return None
            out[key] = item
        elif type(item) is dict:
            inner = _filled(item, nested)
            if inner is None:
                return None
            out[key] = inner
        else:
            return None
    for key, item in value.items():  # the server's own fields, after the declared ones
        if key not in out:
            out[key] = item
    return out


def _plain_tool_call(call: object) -> bool:
    if type(call) is not dict or call.get("type") != "function":
        return False
    function = call.get("function")
    return (
        type(call.get("id")) is str
        and type(function) is dict
        and type(function.get("name")) is str
        and type(function.get("arguments")) is str
    )


def _plain_choice(choice: object) -> bool:
    """Whether the typed choice dumps to this JSON (``logprobs`` added as None, in place)."""
    if type(choice) is not dict or choice.get("logprobs") is not None:
        return False
    message = choice.get("message")
    if type(message) is not dict or message.get("role") != "assistant":
        return False
    if message.get("function_call") is not None or message.get("audio") is not None:
        return False
    content, refusal = message.get("content"), message.get("refusal")
    if (content is not None and type(content) is not str) or (
        refusal is not None and type(refusal) is not str
    ):
        return False
    tool_calls = message.get("tool_calls")
    if tool_calls is not None and (
        type(tool_calls) is not list or not all(map(_plain_tool_call, tool_calls))
    ):
        return False
    choice["logprobs"] = None  # the typed choice always has the key
    return True


def _loads(content: bytes) -> object:
    try:
        if orjson is not None:
            return orjson.loads(content)
        return json.loads(content)  # what the SDK's `response.json()` does
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
        return None  # the typed path raises or answers as the SDK does


def completion_view(content: bytes) -> CompletionView | None:
    """The body as langchain-openai's dump of the typed response, or None (take the typed path)."""
    body = _loads(content)
    if type(body) is not dict:
        return None
    choices = body.get("choices")
    if type(choices) is not list or not all(map(_plain_choice, choices)):
        return None
    usage = body.get("usage")
    if usage is not None:
        if _USAGE is None or type(usage) is not dict:
            return None
        usage = _filled(usage, _USAGE)
        if usage is None:
            return None
    view = CompletionView(body)
    view["usage"] = usage
    for key in ("id", "model", "service_tier", "system_fingerprint"):
        view[key] = body.get(key)
    return view


def typed_message_fields(result: ChatResult, view: CompletionView) -> None:
    """Add what langchain-openai copies from the typed first message: ``parsed``, ``refusal``."""
    if not view["choices"] or not result.generations:
        return
    message = view["choices"][0]["message"]
    kwargs = result.generations[0].message.additional_kwargs
    if "parsed" in message:  # an unknown field: the typed message answers `hasattr` for it
        kwargs["parsed"] = message["parsed"]
    kwargs["refusal"] = message.get("refusal")
