"""Credentials out of sight: masked URLs and headers, scrubbed requests on exceptions.

Knows which parts of a URL (the password in its userinfo, query parameters named like keys) and
which headers (``Authorization``, ``Proxy-Authorization``, cookies, anything named like a key,
token or secret) carry credentials, and replaces their values with ``***``. Used wherever a
setting is shown (repr, serialization), on the URLs httpx logs, and on every HTTP request an
exception of this package carries. Knows nothing about FlexAI's protocol or LangChain.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

# Header and query parameter names whose value is a credential. Exact names first, then words
# that name one inside a longer name (x-api-key, api_key, X-Auth-Token, client_secret, ...).
_SECRET_NAMES = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SECRET_WORDS = re.compile(
    r"key|token|secret|passw|auth|credential|signature|session|sig$", re.IGNORECASE
)


def is_secret_name(name: str) -> bool:
    """Whether a header or query parameter named ``name`` carries a credential."""
    return name.lower() in _SECRET_NAMES or bool(_SECRET_WORDS.search(name))


def mask_url(url: str) -> str:
    """``url`` with its password and credential-like query values replaced by ``***``.

    ``http://user:pass@proxy:3128`` becomes ``http://user:***@proxy:3128``; a user name alone
    (often a token itself) is masked too. Text that does not parse as a URL comes back unchanged.
    """
    try:
        parts = urlsplit(url)
        netloc, query = parts.netloc, parts.query
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user, has_password, _ = userinfo.partition(":")
            netloc = f"{user}:{MASK}@{host}" if has_password else f"{MASK}@{host}"
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(is_secret_name(k) for k, _ in pairs):
                masked = [(k, MASK if is_secret_name(k) else v) for k, v in pairs]
                query = urlencode(masked, safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return url


def url_has_credentials(url: str) -> bool:
    """Whether :func:`mask_url` would change ``url``."""
    return mask_url(url) != url


def mask_headers(headers: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy of ``headers`` with credential values replaced by ``***`` (None stays None)."""
    if headers is None:
        return None
    return {k: MASK if is_secret_name(str(k)) else v for k, v in headers.items()}


def scrub_request(request: Any) -> None:
    """Mask credential headers and URL parts on an httpx request, in place.

    The request attached to an exception is the one that was sent: once the SDK has given up on
    it, nothing reads its headers again, and masking in place reaches every exception in the
    chain that holds the same object.
    """
    headers = getattr(request, "headers", None)
    if headers is None:
        return
    try:
        for name in list(headers.keys()):
            if is_secret_name(name):
                headers[name] = MASK
        url = str(request.url)
        masked = mask_url(url)
        if masked != url:
            request.url = type(request.url)(masked)
    except (TypeError, ValueError, AttributeError):  # an object only shaped like a request
        return


def scrub_exception(error: BaseException) -> None:
    """Scrub the requests every exception in ``error``'s chain carries (request, response)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for holder in (current, getattr(current, "response", None)):
            try:
                request = getattr(holder, "request", None)  # httpx raises when it has none
            except RuntimeError:
                continue
            if request is not None:
                scrub_request(request)
        current = current.__cause__ or current.__context__


# -- settings shown by repr, dumps and model_dump ------------------------------------------------


def mask_setting(value: Any) -> Any:
    """A URL or a header/query mapping with its credentials masked; anything else unchanged."""
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, Mapping):
        return mask_headers(value)
    return value


# A chat model's settings that may hold credentials: a proxy or base URL with a password, key
# headers or query parameters. (The key itself is a SecretStr and serialized as a reference.)
CREDENTIAL_FIELDS = ("openai_proxy", "openai_api_base", "default_headers", "default_query")


def mask_repr_args(args: Iterable[tuple[str | None, Any]]) -> list[tuple[str | None, Any]]:
    """Pydantic ``__repr_args__`` pairs with the credential fields' values masked."""
    return [(k, mask_setting(v) if k in CREDENTIAL_FIELDS else v) for k, v in args]


def mask_serialized(serialized: Any) -> Any:
    """A LangChain ``to_json()`` result with the credential fields in its kwargs masked."""
    kwargs = serialized.get("kwargs") if isinstance(serialized, dict) else None
    if isinstance(kwargs, dict):
        for name in CREDENTIAL_FIELDS:
            if name in kwargs:
                kwargs[name] = mask_setting(kwargs[name])
    return serialized


# -- log records --------------------------------------------------------------------------------


class _MaskUrlsInLogs(logging.Filter):
    """Masks credentials in the URLs httpx logs (``HTTP Request: POST <url> ...``) at INFO.

    httpx writes the full URL, userinfo and query string included. The filter rewrites the
    record's arguments; it never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_masked_arg(arg) for arg in record.args)
        return True


def _masked_arg(arg: object) -> object:
    text = str(arg) if type(arg).__name__ == "URL" else arg
    if isinstance(text, str) and "://" in text[:16]:
        masked = mask_url(text)
        if masked != text:
            return masked
    return arg


_LOG_FILTER = _MaskUrlsInLogs()
# The loggers that write request URLs: httpx (a user's own client) and httpx2 (the openai SDK's).
_URL_LOGGERS = ("httpx", "httpx2")


def install_log_filter() -> None:
    """Attach the URL-masking filter to the HTTP clients' loggers (idempotent)."""
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if _LOG_FILTER not in logger.filters:
            logger.addFilter(_LOG_FILTER)
