"""URL and data-URL syntax: the one place that decides what a string naming an image is.

Knows how to tell an https URL, a ``data:`` URL, some other scheme and a local path apart
(:func:`classify_url`), what makes an https URL acceptable (:func:`validate_https_url`) and how a
data URL's header is split (:func:`parse_data_url`). Every module that meets such a string
(message content, the trusted ``prepare_image`` door, the vision tool, the loader, the CLI) asks
here, so that they cannot disagree.

Knows nothing about pixels, base64 payloads, messages or files: it never decodes, opens or fetches
anything, and what to do with each kind of string is the caller's decision.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from langchain_flexai.errors import ImageErrorReason, ImageInputError

UrlKind = Literal["https", "data", "other_scheme", "path"]

MAX_HTTPS_URL_CHARS = 8192
"""Longest https URL accepted; longer ones are refused (servers commonly stop at 8 KiB)."""

MAX_DATA_URL_HEADER = 256
"""Longest ``data:<mime>;<params>`` header accepted before the ``,``."""

# RFC 3986 scheme syntax. The bound keeps a multi-megabyte base64 string from being scanned: no
# registered scheme comes near 32 characters.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,31}:")
# Whitespace (any Unicode space) and control characters (C0, DEL, C1) never belong in a URL sent
# as is: a line break there can smuggle a header into the request FlexAI makes to fetch it.
_BAD_URL_CHAR = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


class DataUrl(NamedTuple):
    """A data URL split at its header (nothing decoded).

    Attributes:
        mime: The declared media type, stripped and lower-cased; ``""`` when the header has none.
        params: The ``;``-separated parameters after it, stripped and lower-cased.
        payload: Everything after the first ``,``, untouched.
    """

    mime: str
    params: tuple[str, ...]
    payload: str

    @property
    def is_base64(self) -> bool:
        """True when one parameter is exactly ``base64`` (the only encoding images may use)."""
        return "base64" in self.params


def url_scheme(text: str) -> str | None:
    """The lower-cased scheme ``text`` starts with, or None when it names a local path.

    A one-letter "scheme" is a Windows drive letter (``C:``), so it counts as a path.
    """
    match = _SCHEME.match(text)
    if match is None or match.end() == 2:  # noqa: PLR2004 - one letter and the colon
        return None
    return match.group()[:-1].lower()


def classify_url(text: str) -> UrlKind:
    """What kind of image reference ``text`` is, by its scheme alone (nothing is validated).

    Returns:
        ``"https"`` or ``"data"`` for those schemes (in any case), ``"other_scheme"`` for any other
        RFC 3986 scheme (``http:``, ``file:``, ``s3:``, ``javascript:``...), ``"path"`` otherwise
        (including Windows drive letters and base64 text).
    """
    scheme = url_scheme(text)
    if scheme is None:
        return "path"
    if scheme in {"https", "data"}:
        return scheme  # type: ignore[return-value]
    return "other_scheme"


def _bad_url(problem: str, url: str) -> ImageInputError:
    return ImageInputError(
        f"invalid https URL: {problem}", reason=ImageErrorReason.UNSUPPORTED_URL, source=url
    )


def validate_https_url(url: str) -> str:
    """Check that ``url`` is an https URL FlexAI can be given, and return it as it is sent.

    The rules: the scheme is ``https`` (any case) followed by ``//`` and a non-empty host (with a
    valid port if one is given); no whitespace or control character anywhere; at most
    :data:`MAX_HTTPS_URL_CHARS` characters.

    Returns:
        ``url`` itself when its scheme and host are already lower-case; otherwise a copy with
        only those two lower-cased (see :func:`_normalise_case`): FlexAI's gateway and the
        emulator take ``https://`` only, and path, query and user info are case-sensitive.

    Raises:
        ImageInputError: ``UNSUPPORTED_URL``, saying which rule the URL breaks.
    """
    if len(url) > MAX_HTTPS_URL_CHARS:
        raise _bad_url(
            f"it is {len(url)} characters long, more than the {MAX_HTTPS_URL_CHARS} accepted",
            url,
        )
    bad = _BAD_URL_CHAR.search(url)
    if bad is not None:
        raise _bad_url(
            f"it contains whitespace or a control character ({bad.group()!r} at position "
            f"{bad.start()}); percent-encode it (a space is %20) or remove it",
            # Escaped: a raw line break in an error message would forge a line in a log.
            _BAD_URL_CHAR.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), url),
        )
    scheme = url_scheme(url)
    if scheme != "https":
        shown = f"'{scheme}:'" if scheme else "none"
        raise _bad_url(f"the scheme must be https, got {shown}", url)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - parsing the port is the check: it raises on a bad one
    except ValueError as exc:
        raise _bad_url(str(exc), url) from None
    if not host:
        raise _bad_url("it names no host (expected 'https://host/path')", url)
    return _normalise_case(url)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _normalise_case(url: str) -> str:
    """Lower-case the scheme and the host of a validated https URL; nothing else changes.

    RFC 3986 (6.2.2.1) makes only these two case-insensitive. ASCII letters only: lower-casing
    a non-ASCII host character can change its length ("İ") and so the name itself.
    """
    authority_end = len(url)
    for stop in "/?#":
        found = url.find(stop, 8)  # after "https://"
        if found >= 0:
            authority_end = min(authority_end, found)
    authority = url[8:authority_end]
    at = authority.rfind("@") + 1  # user info (case-sensitive) ends at the last '@'
    host_and_port = authority[at:]
    port_at = host_and_port.rfind(":")
    if port_at < host_and_port.rfind("]"):  # the ':' inside an IPv6 literal, not a port
        port_at = -1
    host = host_and_port if port_at < 0 else host_and_port[:port_at]
    lowered = host.translate(_ASCII_LOWER)
    if url.startswith("https://") and lowered == host:
        return url
    return "https://" + authority[:at] + lowered + host_and_port[len(host) :] + url[authority_end:]


def parse_data_url(url: str) -> DataUrl:
    """Split a ``data:`` URL into its media type, parameters and payload (nothing decoded).

    Raises:
        ImageInputError: ``INVALID_DATA_URL`` when ``url`` does not start with ``data:``, has no
            ``,``, or its header is longer than :data:`MAX_DATA_URL_HEADER` characters.
    """
    if url[:5].lower() != "data:":
        raise ImageInputError(
            "not a data URL: it must start with 'data:'",
            reason=ImageErrorReason.INVALID_DATA_URL,
        )
    comma = _header_end(url)
    media, *params = url[5:comma].split(";")
    return DataUrl(
        media.strip().lower(), tuple(p.strip().lower() for p in params), url[comma + 1 :]
    )


def data_url_header(url: str) -> str | None:
    """``data:<mime>;<params>`` of a well-formed data URL (for error labels), else None.

    Cheap on a large URL: the payload is not copied.
    """
    if url[:5].lower() != "data:":
        return None
    try:
        return url[: _header_end(url)]
    except ImageInputError:
        return None


def _header_end(url: str) -> int:
    """Index of the ``,`` ending a data URL's header (``url`` starts with ``data:``)."""
    comma = url.find(",", 0, MAX_DATA_URL_HEADER + 1)
    if comma >= 0:
        return comma
    # Base64 never holds a ',', so searching the rest is a fast scan, never a false find.
    too_long = url.find(",", MAX_DATA_URL_HEADER + 1) >= 0
    problem = (
        f"the header before ',' is longer than {MAX_DATA_URL_HEADER} characters"
        if too_long
        else "no ',' after the 'data:<mime>;base64' header"
    )
    raise ImageInputError(
        f"malformed data URL: {problem}", reason=ImageErrorReason.INVALID_DATA_URL
    )
