"""The error responses the emulator sends, in FlexAI's envelope.

Knows the status codes, ``type`` and ``code`` values of docs/flexai_api.md "Errors" and builds
``{"error": {"message", "type", "code", "param"}}``. Where FlexAI's docs give no ``type`` or
``code`` (the rows marked "—"), the values here are the emulator's own and documented as such
in docs/emulator.md. Knows nothing about HTTP frameworks.
"""

from __future__ import annotations

from typing import Any


class EmulatedError(Exception):
    """An error the emulator answers with instead of a completion."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str,
        code: str | None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Create an error response.

        Args:
            status: HTTP status code.
            message: Human-readable message, safe to show (never contains the API key).
            type_: The envelope's ``type``.
            code: The envelope's ``code`` (a string, or None).
            param: The request field at fault, when there is one.
            headers: Extra response headers (``Retry-After`` on a 429).
        """
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.headers = dict(headers or {})

    def envelope(self) -> dict[str, Any]:
        """The JSON body FlexAI sends for this error."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "code": self.code,
                "param": self.param,
            }
        }


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None
) -> EmulatedError:
    """A 400 ``invalid_request_error``."""
    return EmulatedError(400, message, type_="invalid_request_error", code=code, param=param)


def invalid_api_key() -> EmulatedError:
    """The 401 for a missing, malformed or wrong key (the key is never echoed)."""
    return EmulatedError(
        401,
        "Invalid API key. Pass a valid FlexAI key as 'Authorization: Bearer <key>'.",
        type_="authentication_error",
        code="invalid_api_key",
    )


def model_not_found(model: str) -> EmulatedError:
    """The 400 for an unknown model id (FlexAI answers 400, not 404)."""
    return invalid_request(
        f"The model '{model}' does not exist. GET /v1/models lists the available models.",
        param="model",
        code="model_not_found",
    )


def insufficient_quota() -> EmulatedError:
    """The 402 once the credit is spent; ``code`` is the string ``"402"``."""
    return EmulatedError(
        402,
        "Insufficient credit: your FlexAI balance is exhausted. Top up to continue.",
        type_="insufficient_quota",
        code="402",
    )


def rate_limited(limit: int, retry_after: str) -> EmulatedError:
    """The 429 for a key over its requests-per-minute limit."""
    return EmulatedError(
        429,
        f"Rate limit exceeded: {limit} requests per minute. Retry after {retry_after} seconds.",
        type_="rate_limit_error",
        code="rate_limit_exceeded",
        headers={"retry-after": retry_after},
    )


def under_maintenance(model: str) -> EmulatedError:
    """The 503 for a model marked under maintenance; the message names it."""
    return EmulatedError(
        503,
        f"The model '{model}' is under maintenance. Try again later or use another model.",
        type_="service_unavailable_error",
        code="model_under_maintenance",
    )


_DEFAULT_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "server_error",
    503: "service_unavailable_error",
    504: "timeout_error",
}
_FIRST_SERVER_ERROR = 500
_DEFAULT_CODES = {401: "invalid_api_key", 402: "402", 429: "rate_limit_exceeded"}


def injected(status: int, message: str | None, retry_after: str | None) -> EmulatedError:
    """An error injected by fault configuration, shaped like the real one for that status."""
    headers = {"retry-after": retry_after} if retry_after is not None else None
    return EmulatedError(
        status,
        message or f"Injected fault: the emulator was told to fail this request with {status}.",
        type_=_DEFAULT_TYPES.get(
            status, "server_error" if status >= _FIRST_SERVER_ERROR else "api_error"
        ),
        code=_DEFAULT_CODES.get(status),
        headers=headers,
    )
