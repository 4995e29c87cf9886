"""The guarded fetch of a remote image: the bytes behind an http(s) URL, or a clear refusal.

Knows how one URL is fetched under a :class:`~langchain_flexai.images._fetch_policy.FetchPolicy`:
the URL parsed once by httpx's parser (``httpx.URL``), its host checked and resolved once
(:mod:`langchain_flexai.images._address`), the connection made by httpcore to exactly the
address that was checked, the body streamed under a byte cap and a deadline, each redirect
checked like the first URL. Knows nothing about pixels (the doors turn the bytes into a
:class:`~langchain_flexai.images.PreparedImage`) or message content.

Why httpcore under httpx's URL parser: httpcore's ``ConnectionPool`` takes a ``network_backend``
whose ``connect_tcp(host, port, ...)`` opens every connection, while TLS is started on the
stream with ``server_hostname`` = the URL's host (httpcore ``_sync/connection.py``), so a backend
that connects to the pinned address keeps SNI and certificate checks on the host name and the
``Host`` header is ours. No second DNS lookup can happen: the backend refuses any host but the
pinned one, and it is handed a numeric address. httpcore also never reads proxy variables, never
decompresses (``Accept-Encoding: identity`` is sent), and reads 64 KiB at a time, so a body
stops at most one read past the cap. httpcore's DEBUG trace logs response headers: a filter on
its loggers cuts the query strings from the URLs there (a redirect's presigned ``Location``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import ssl
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from langchain_flexai._urls import MAX_HTTPS_URL_CHARS, url_scheme
from langchain_flexai.errors import ImageErrorReason, ImageInputError, escape_text
from langchain_flexai.images._address import (
    AddressRefused,
    HostRule,
    IPAddress,
    resolve_checked,
    system_resolver,
)
from langchain_flexai.images._fetch_policy import DEFAULT_FETCH_POLICY, FetchPolicy

__all__ = ["RemoteFetcher", "fetch_image_bytes", "fetch_many", "redact_url", "remote_fetcher"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"https": 443, "http": 80}
# Content types that are surely no image: refused before the body is read.
_NOT_IMAGE_TYPES = ("text/", "application/json", "application/xml", "application/xhtml")
_MAX_SOURCE = 200


def redact_url(url: str) -> str:
    """``url`` fit for an error message: no user info, no query values, no fragment.

    Query strings often carry presigned tokens (``X-Amz-Signature``), so they are shown as
    ``?…`` whatever their names.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        # Unparsable (a bad port, an open '['): cut the query and fragment by hand, and the
        # user info too, which ends at the last '@' before the path.
        bare = url.split("?", 1)[0].split("#", 1)[0]
        scheme, sep, rest = bare.partition("://")
        if sep:
            authority, slash, path = rest.partition("/")
            bare = f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
        return bare[:_MAX_SOURCE]
    query = "?…" if parts.query else ""
    shown = f"{parts.scheme}://{host}{port}{parts.path}{query}"
    return shown if len(shown) <= _MAX_SOURCE else shown[: _MAX_SOURCE - 1] + "…"


# What ends a URL in httpcore's repr of headers: a quote or a space. Split on these (linear
# time whatever a server sent), each piece holding '://' loses what follows its '?'.
_LOG_DELIMITERS = re.compile(r"(['\"\s])")


def _cut_queries(message: str) -> str:
    pieces = _LOG_DELIMITERS.split(message)
    for index, piece in enumerate(pieces):
        scheme_end = piece.find("://")
        query = piece.find("?", scheme_end)
        if scheme_end > 0 and query > 0:
            pieces[index] = piece[:query] + "?…"
    return "".join(pieces)


class _MaskQueriesInTrace(logging.Filter):
    """Cuts query strings from the URLs httpcore's DEBUG trace logs (response headers).

    httpcore logs every response's headers, so a redirect to a presigned URL would log its
    ``Location`` token. The record is kept, its message rewritten (httpcore pre-formats it).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "://" in record.msg:
            record.msg = _cut_queries(record.msg)
        return True


_TRACE_FILTER = _MaskQueriesInTrace()


def _install_trace_filter() -> None:
    # Logger filters do not apply to records propagated from children: each HTTP logger.
    for name in ("httpcore.http11", "httpcore.http2"):
        logger = logging.getLogger(name)
        if _TRACE_FILTER not in logger.filters:
            logger.addFilter(_TRACE_FILTER)


def _error(reason: ImageErrorReason, detail: str, url: str) -> ImageInputError:
    return ImageInputError(detail, reason=reason, source=redact_url(url))


def _refused(detail: str, url: str) -> ImageInputError:
    return _error(
        ImageErrorReason.FETCH_REFUSED,
        f"the image URL was not fetched: {detail}. Nothing was sent.",
        url,
    )


def _failed(detail: str, url: str) -> ImageInputError:
    return _error(
        ImageErrorReason.FETCH_FAILED,
        f"the image could not be fetched: {detail}. Nothing was sent; check the URL, or "
        "download the image in your own code and pass the bytes to image_block().",
        url,
    )


@dataclass(frozen=True)
class _Target:
    url: httpx.URL
    host: str
    port: int
    address: IPAddress


def _check_url(url: str, policy: FetchPolicy) -> httpx.URL:
    scheme = url_scheme(url)
    if scheme not in policy.schemes:
        allowed = " and ".join(f"{s}://" for s in policy.schemes)
        raise _refused(f"only {allowed} URLs are fetched (FetchPolicy.schemes)", url)
    if len(url) > MAX_HTTPS_URL_CHARS:
        raise _refused(f"it is longer than {MAX_HTTPS_URL_CHARS} characters", url)
    if any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in url):  # noqa: PLR2004
        raise _refused("it contains whitespace or a control character", url)
    if "\\" in url:
        # WHATWG parsers (browsers) read '\' as '/', RFC 3986 ones as data: the two disagree on
        # the host of "https://a.com\@b.com/", so such a URL is never fetched.
        raise _refused("it contains a backslash, which parsers disagree about", url)
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise _refused(f"it is not a valid URL ({exc})", url) from None
    if parsed.userinfo:
        raise _refused(
            "it carries user info ('name@' before the host), which makes a URL look like "
            "another host; credentials belong in your own code, not in an image URL",
            url,
        )
    if not parsed.raw_host:
        raise _refused("it names no host", url)
    if parsed.port is not None and not 0 < parsed.port < 65536:  # noqa: PLR2004
        # httpx accepts any number, and getaddrinfo takes it modulo 65536 (":65558" is 22):
        # the port connected to would not be the one in the URL.
        raise _refused(f"its port {parsed.port} is not between 1 and 65535", url)
    return parsed


def _rule(entry: str) -> HostRule:
    """A list entry, a host name put in the form the URL's host is compared in.

    IDNA A-labels, lower case, by the URL's own parser: ``BÜCHER.example`` matches
    ``https://bücher.example/``. IP addresses and networks stay as written.
    """
    if HostRule(entry).network() is not None:
        return HostRule(entry)
    prefix = "*." if entry.startswith("*.") else "." if entry.startswith(".") else ""
    name = entry[len(prefix) :]
    try:
        raw = httpx.URL(f"https://{name}/").raw_host
    except (httpx.InvalidURL, ValueError):
        return HostRule(entry)
    return HostRule(prefix + raw.decode("ascii")) if raw else HostRule(entry)


def _target(url: str, policy: FetchPolicy) -> _Target:
    parsed = _check_url(url, policy)
    # The host exactly as httpcore would connect to it: IDNA-encoded, IPv6 without brackets.
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    try:
        address = resolve_checked(
            host,
            port,
            allow=[_rule(e) for e in policy.allow_hosts],
            deny=[_rule(e) for e in policy.deny_hosts],
            resolver=policy.resolver or system_resolver,
        )
    except AddressRefused as exc:
        raise _refused(str(exc), url) from None
    except (OSError, UnicodeError) as exc:
        raise _failed(f"the host name does not resolve ({exc})", url) from None
    return _Target(parsed, host, port, address)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the fetch's deadline.

    httpcore's timeouts are per operation, so a server sending its headers one byte per second
    would never trip them; here each operation gets at most the time left.
    """

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _left(self, timeout: float | None) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            msg = "the fetch's total time is up"
            raise httpcore.ReadTimeout(msg)
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, self._left(timeout))
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Opens a TCP connection to the one checked address, for the one checked host only."""

    def __init__(self, target: _Target, inner: httpcore.NetworkBackend, deadline: float) -> None:
        self._target = target
        self._inner = inner
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if (host, port) != (self._target.host, self._target.port):
            msg = f"connection to {host}:{port} was not checked"
            raise httpcore.ConnectError(msg)
        left = self._deadline - time.monotonic()
        timeout = left if timeout is None else min(timeout, left)
        if timeout <= 0:
            msg = "the fetch's total time is up"
            raise httpcore.ConnectTimeout(msg)
        stream = self._inner.connect_tcp(
            str(self._target.address), port, timeout, local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(
        self,
        path: str,  # noqa: ARG002
        timeout: float | None = None,  # noqa: ARG002
        socket_options: Iterable[Any] | None = None,  # noqa: ARG002
    ) -> httpcore.NetworkStream:
        msg = "a fetch never opens a unix socket"
        raise httpcore.ConnectError(msg)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _ssl_context(policy: FetchPolicy) -> ssl.SSLContext:
    """The verifying context for ``policy``'s CA file, built once per trust setting.

    Building one loads a CA bundle (about 25 ms) and every hop of every fetch opens a pool of its
    own, so the context is kept. Its key is what it was built from: the CA file's path, size and
    modification time (a rewritten file is read again), and ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``,
    which OpenSSL's default paths read. Each connection wraps its own TLS object; the pools set
    the same ALPN list (HTTP/1.1) on it.
    """
    # No stamp for a file that cannot be read: loading it raises as it always did (not cached).
    stamp: tuple[int, int] | None = None
    if policy.ca_file is not None:
        with contextlib.suppress(OSError):
            status = Path(policy.ca_file).stat()
            stamp = (status.st_size, status.st_mtime_ns)
    return _context(
        policy.ca_file, stamp, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    )


@lru_cache(maxsize=8)
def _context(
    ca_file: str | None,
    stamp: tuple[int, int] | None,  # noqa: ARG001 - part of the key
    cert_file: str | None,  # noqa: ARG001 - part of the key
    cert_dir: str | None,  # noqa: ARG001 - part of the key
) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)


def _timeouts(policy: FetchPolicy, deadline: float) -> dict[str, float]:
    left = max(deadline - time.monotonic(), 0.001)
    read = min(policy.read_timeout, left)
    return {
        "connect": min(policy.connect_timeout, left),
        "read": read,
        "write": read,
        "pool": read,
    }


def _headers(target: _Target, policy: FetchPolicy) -> list[tuple[bytes, bytes]]:
    return [
        (b"Host", target.url.netloc),
        (b"User-Agent", policy.user_agent.encode("latin-1", "replace")),
        (b"Accept", b"image/*"),
        (b"Accept-Encoding", b"identity"),
    ]


@dataclass(frozen=True)
class _Hop:
    body: bytes | None = None
    location: str | None = None


def _read_body(
    response: httpcore.Response, url: str, max_bytes: int, deadline: float, policy: FetchPolicy
) -> bytes:
    headers = {k.lower(): v for k, v in response.headers}
    length = headers.get(b"content-length")
    if length is not None and length.strip().isdigit() and int(length) > max_bytes:
        raise _too_large(f"the server announces {int(length)} bytes, more", max_bytes, url)
    kind = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
    if kind.startswith(_NOT_IMAGE_TYPES):
        raise _error(
            ImageErrorReason.NOT_AN_IMAGE,
            f"the server answered with {kind}, not an image (a login or error page?). Nothing "
            "was sent.",
            url,
        )
    body = bytearray()
    for chunk in response.iter_stream():
        body += chunk
        if len(body) > max_bytes:
            raise _too_large("the body goes on, longer", max_bytes, url)
        if time.monotonic() > deadline:
            raise _timed_out(policy, url)
    return bytes(body)


def _timed_out(policy: FetchPolicy, url: str) -> ImageInputError:
    return _failed(
        f"the server did not answer in time (FetchPolicy: connect {policy.connect_timeout} s, "
        f"each read {policy.read_timeout} s, all of it {policy.total_timeout} s)",
        url,
    )


def _too_large(what: str, max_bytes: int, url: str) -> ImageInputError:
    return _error(
        ImageErrorReason.TOO_LARGE,
        f"{what} than the fetch limit of {max_bytes} bytes; nothing was sent (raise "
        "FetchPolicy.max_bytes if this really is an image)",
        url,
    )


def _one_hop(  # noqa: PLR0917 - one private call site, every argument a different budget
    target: _Target,
    url: str,
    policy: FetchPolicy,
    max_bytes: int,
    deadline: float,
    backend: httpcore.NetworkBackend,
) -> _Hop:
    core_url = httpcore.URL(
        scheme=target.url.raw_scheme,
        host=target.url.raw_host,
        port=target.port,
        target=target.url.raw_path,
    )
    with (
        httpcore.ConnectionPool(
            ssl_context=_ssl_context(policy),
            network_backend=_PinnedBackend(target, backend, deadline),
            max_connections=1,
            retries=0,
        ) as pool,
        pool.stream(
            "GET",
            core_url,
            headers=_headers(target, policy),
            extensions={"timeout": _timeouts(policy, deadline)},
        ) as response,
    ):
        if response.status in _REDIRECTS:
            location = {k.lower(): v for k, v in response.headers}.get(b"location")
            if not location:
                raise _failed(f"the server redirected ({response.status}) to nowhere", url)
            return _Hop(location=location.decode("latin-1"))
        if response.status != 200:  # noqa: PLR2004
            raise _failed(f"the server answered HTTP {response.status}", url)
        return _Hop(body=_read_body(response, url, max_bytes, deadline, policy))


def fetch_image_bytes(
    url: str,
    policy: FetchPolicy | None = None,
    *,
    max_bytes: int | None = None,
    backend: httpcore.NetworkBackend | None = None,
) -> bytes:
    """The body behind ``url``, fetched under ``policy``; nothing is decoded here.

    Args:
        url: The http(s) URL.
        policy: The fetch policy (default :class:`FetchPolicy`).
        max_bytes: A tighter byte cap than ``policy.max_bytes`` (the image policy's input cap).
        backend: The network backend under the pinning one (tests); default httpcore's.

    Raises:
        ImageInputError: ``FETCH_REFUSED`` (the policy or the address forbids it; no connection
            was opened), ``FETCH_FAILED`` (network, TLS, HTTP status, timeouts, redirects),
            ``TOO_LARGE`` (over the cap) or ``NOT_AN_IMAGE`` (a text answer), naming the URL
            without its query string.
    """
    policy = policy or DEFAULT_FETCH_POLICY
    _install_trace_filter()
    cap = policy.max_bytes if max_bytes is None else min(max_bytes, policy.max_bytes)
    deadline = time.monotonic() + policy.total_timeout
    backend = backend or httpcore.SyncBackend()
    current = url
    try:
        for _ in range(policy.max_redirects + 1):
            hop = _hop(current, policy, cap, deadline, backend)
            if isinstance(hop, bytes):
                return hop
            current = hop
    except ImageInputError as exc:
        if current == url:
            raise
        # Named by the URL the caller gave; where the redirects led is said in the detail.
        raise ImageInputError(
            f"{exc.detail} (redirected to {redact_url(current)})",
            reason=exc.reason,
            source=redact_url(url),
        ) from None
    raise _failed(f"more than {policy.max_redirects} redirects (FetchPolicy.max_redirects)", url)


def _hop(
    url: str, policy: FetchPolicy, cap: int, deadline: float, backend: httpcore.NetworkBackend
) -> bytes | str:
    """One request: the body, or the absolute URL a redirect points to."""
    target = _target(url, policy)
    try:
        hop = _one_hop(target, url, policy, cap, deadline, backend)
    except httpcore.TimeoutException:
        raise _timed_out(policy, url) from None
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        # The parser's message can quote what the server sent (an illegal status line of up
        # to 100 KiB): a short, one-line preview of it only.
        said = escape_text(str(exc))
        said = said if len(said) <= _MAX_SOURCE else said[: _MAX_SOURCE - 1] + "…"
        raise _failed(f"{type(exc).__name__}: {said}", url) from None
    if hop.body is not None:
        return hop.body
    try:
        return str(target.url.join(hop.location or ""))
    except (httpx.InvalidURL, ValueError):
        raise _failed("the server redirected to an invalid URL", url) from None


def fetch_many(
    urls: Sequence[str], policy: FetchPolicy | None = None, *, max_bytes: int | None = None
) -> list[bytes | ImageInputError]:
    """Fetch ``urls`` concurrently (at most ``policy.max_concurrency`` at once), each once.

    Returns:
        One result per URL, in order: its bytes, or the error that stopped its fetch.
    """
    policy = policy or DEFAULT_FETCH_POLICY
    unique = list(dict.fromkeys(urls))

    def one(url: str) -> bytes | ImageInputError:
        try:
            return fetch_image_bytes(url, policy, max_bytes=max_bytes)
        except ImageInputError as exc:
            return exc

    if len(unique) <= 1:
        results = [one(u) for u in unique]
    else:
        workers = min(policy.max_concurrency, len(unique))
        with ThreadPoolExecutor(workers, thread_name_prefix="flexai-fetch") as pool:
            results = list(pool.map(one, unique))
    by_url = dict(zip(unique, results, strict=True))
    return [by_url[u] for u in urls]


@dataclass(frozen=True)
class RemoteFetcher:
    """The explicit permission to fetch remote images, handed to the content step.

    Content never fetches by itself: only a caller that built one of these (``ChatFlexAI`` with
    ``remote_images="fetch"``) makes it fetch, under ``policy``.
    """

    policy: FetchPolicy = DEFAULT_FETCH_POLICY

    def __call__(self, urls: Sequence[str], max_bytes: int) -> list[bytes | ImageInputError]:
        """Fetch ``urls`` (see :func:`fetch_many`)."""
        return fetch_many(urls, self.policy, max_bytes=max_bytes)


def remote_fetcher(mode: str, policy: FetchPolicy | None) -> RemoteFetcher | None:
    """The fetcher for preparing a request: None unless ``mode`` is ``"fetch"``.

    Raises:
        ValueError: An unknown mode.
    """
    if mode in ("pass", "fetch_on_refusal"):  # the fallback fetches only after a refusal
        return None
    if mode == "fetch":
        return RemoteFetcher(policy or DEFAULT_FETCH_POLICY)
    msg = f"remote_images must be 'pass', 'fetch' or 'fetch_on_refusal', got {mode!r}"
    raise ValueError(msg)
