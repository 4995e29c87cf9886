"""The shared URL and data-URL rules (``_urls.py``): every caller classifies and validates here."""

from __future__ import annotations

import pytest

from langchain_flexai._urls import (
    MAX_DATA_URL_HEADER,
    MAX_HTTPS_URL_CHARS,
    DataUrl,
    UrlKind,
    classify_url,
    data_url_header,
    parse_data_url,
    url_scheme,
    validate_https_url,
)
from langchain_flexai.errors import ImageErrorReason, ImageInputError

# -- classify_url / url_scheme -----------------------------------------------------------------

CLASSIFY_ROWS: list[tuple[str, UrlKind, str | None]] = [
    ("https://example.com/a.png", "https", "https"),
    ("HTTPS://EXAMPLE.COM/A.PNG", "https", "https"),
    # The scheme alone decides: broken https URLs are still "https" (and then refused).
    ("https:/../secret/private.png", "https", "https"),
    ("https://", "https", "https"),
    ("https:// evil", "https", "https"),
    ("data:image/png;base64,AAAA", "data", "data"),
    ("DATA:image/png;base64,AAAA", "data", "data"),
    ("data:", "data", "data"),
    ("http://example.com/a.png", "other_scheme", "http"),
    ("file:///etc/passwd", "other_scheme", "file"),
    ("s3://bucket/a.png", "other_scheme", "s3"),
    ("gs://bucket/a.png", "other_scheme", "gs"),
    ("javascript:alert(1)", "other_scheme", "javascript"),
    ("mailto:a@example.com", "other_scheme", "mailto"),
    ("chrome-extension://abc/x.png", "other_scheme", "chrome-extension"),
    ("C:\\photos\\cat.png", "path", None),  # a Windows drive, not a scheme
    ("c:/photos/cat.png", "path", None),
    ("/etc/passwd", "path", None),
    ("./cat.png", "path", None),
    ("~/cat.png", "path", None),
    ("cat.png", "path", None),
    ("Screenshot 10:30.png", "path", None),  # a space cannot be in a scheme
    ("", "path", None),
    ("/9j/4AAQSkZJRgABAQ", "path", None),  # base64 text (JPEG) is not a URL
    ("iVBORw0KGgoAAAANSUhEUg", "path", None),
    ("a" * 33 + ":x", "path", None),  # longer than any scheme: never scanned as one
    ("1abc://x", "path", None),  # a scheme starts with a letter
]


@pytest.mark.parametrize(("text", "kind", "scheme"), CLASSIFY_ROWS, ids=repr)
def test_classify_url(text: str, kind: UrlKind, scheme: str | None) -> None:
    assert classify_url(text) == kind
    assert url_scheme(text) == scheme


# -- validate_https_url --------------------------------------------------------------------------

ACCEPTED_URLS = [
    "https://example.com/a.png",
    "https://example.com:8443/a.png?size=large&x=%20#frag",
    "https://user:pw@example.com/a.png",
    "https://[2001:db8::1]/a.png",
    "https://127.0.0.1/a.png",
    "https://例え.jp/画像.png",  # non-ASCII letters are not whitespace
    "https://example.com/" + "a" * (MAX_HTTPS_URL_CHARS - len("https://example.com/")),
]


@pytest.mark.parametrize("url", ACCEPTED_URLS, ids=lambda url: repr(url[:40]))
def test_valid_https_urls_are_returned_unchanged(url: str) -> None:
    assert validate_https_url(url) is url


# Only the scheme and the host are case-insensitive (RFC 3986 6.2.2.1): user info, path, query
# and fragment keep their case, and a port or an IPv6 literal is not mistaken for part of a host.
NORMALISED_URLS: list[tuple[str, str]] = [
    ("HTTPS://EXAMPLE.COM/A.PNG", "https://example.com/A.PNG"),
    ("Https://Example.Com", "https://example.com"),
    ("HTTPS://example.com/a.png", "https://example.com/a.png"),
    (
        "https://CDN.Example.com:8443/Img/A.PNG?Sig=AbC#Frag",
        "https://cdn.example.com:8443/Img/A.PNG?Sig=AbC#Frag",
    ),
    ("HTTPS://User:PW@Example.COM/A.png", "https://User:PW@example.com/A.png"),
    ("HTTPS://user@a@HOST.com/x", "https://user@a@host.com/x"),
    ("HTTPS://[2001:DB8::1]:8443/A.png", "https://[2001:db8::1]:8443/A.png"),
    ("HTTPS://[2001:DB8::1]/A.png", "https://[2001:db8::1]/A.png"),
    ("https://EXAMPLE.com?Q=A", "https://example.com?Q=A"),
    ("https://EXAMPLE.com#A", "https://example.com#A"),
    ("HTTPS://İSTANBUL.example/A", "https://İstanbul.example/A"),  # ASCII letters only
]


@pytest.mark.parametrize(("url", "sent"), NORMALISED_URLS, ids=repr)
def test_scheme_and_host_are_lower_cased_and_nothing_else(url: str, sent: str) -> None:
    assert validate_https_url(url) == sent
    assert validate_https_url(sent) is sent  # already normal: returned as is


NO_HOST = "it names no host (expected 'https://host/path')"


def _blank(char: str, position: int) -> str:
    return (
        f"it contains whitespace or a control character ({char!r} at position {position}); "
        "percent-encode it (a space is %20) or remove it"
    )


REFUSED_URLS: list[tuple[str, str]] = [
    ("https://", NO_HOST),
    ("https:", NO_HOST),
    ("https:/../secret/private.png", NO_HOST),
    ("https:example.com/a.png", NO_HOST),
    ("https:///a.png", NO_HOST),
    ("https://:443/a.png", NO_HOST),
    ("https://user@/a.png", NO_HOST),
    ("https:// evil", _blank(" ", 8)),
    ("https://example.com/a.png\nX-Injected: 1", _blank("\n", 25)),
    ("https://example.com/a.png\r\n", _blank("\r", 25)),
    (" https://example.com/a.png", _blank(" ", 0)),
    ("https://example.com/a\tb.png", _blank("\t", 21)),
    ("https://example.com/a\x00.png", _blank("\x00", 21)),
    ("https://example.com/a\x7f.png", _blank("\x7f", 21)),
    ("https://example.com/a\x85.png", _blank("\x85", 21)),
    ("https://example.com/a\u00a0.png", _blank("\u00a0", 21)),
    ("https://example.com/a\u2028.png", _blank("\u2028", 21)),
    ("https://[::1/a.png", "Invalid IPv6 URL"),
    ("https://example.com:99999/a.png", "Port out of range 0-65535"),
    ("https://example.com:abc/a.png", "Port could not be cast to integer value as 'abc'"),
    ("http://example.com/a.png", "the scheme must be https, got 'http:'"),
    ("data:image/png;base64,AAAA", "the scheme must be https, got 'data:'"),
    ("example.com/a.png", "the scheme must be https, got none"),
    (
        "https://example.com/" + "a" * (MAX_HTTPS_URL_CHARS + 1 - len("https://example.com/")),
        f"it is {MAX_HTTPS_URL_CHARS + 1} characters long, more than the 8192 accepted",
    ),
]


@pytest.mark.parametrize(("url", "problem"), REFUSED_URLS, ids=lambda v: repr(v[:40]))
def test_broken_https_urls_are_refused_saying_why(url: str, problem: str) -> None:
    with pytest.raises(ImageInputError) as info:
        validate_https_url(url)
    assert info.value.reason is ImageErrorReason.UNSUPPORTED_URL
    assert info.value.detail == f"invalid https URL: {problem}"


def test_a_refused_url_never_puts_a_raw_line_break_in_the_error() -> None:
    with pytest.raises(ImageInputError) as info:
        validate_https_url("https://example.com/a.png\r\nX-Injected: 1")
    assert info.value.source == "https://example.com/a.png\\r\\nX-Injected: 1"
    assert "\n" not in str(info.value)
    assert "\r" not in str(info.value)


# -- parse_data_url ------------------------------------------------------------------------------

PARSE_ROWS: list[tuple[str, DataUrl, bool]] = [
    ("data:image/png;base64,AAAA", DataUrl("image/png", ("base64",), "AAAA"), True),
    ("DATA:Image/PNG ; Base64 ,AAAA", DataUrl("image/png", ("base64",), "AAAA"), True),
    ("data:;base64,AAAA", DataUrl("", ("base64",), "AAAA"), True),
    ("data:,hello", DataUrl("", (), "hello"), False),
    ("data:image/png,AAAA", DataUrl("image/png", (), "AAAA"), False),
    (
        "data:image/png;charset=utf-8;base64,AAAA",
        DataUrl("image/png", ("charset=utf-8", "base64"), "AAAA"),
        True,
    ),
    # Exactly the parameter "base64", not a substring of one.
    ("data:image/png;base64x,AAAA", DataUrl("image/png", ("base64x",), "AAAA"), False),
    ("data:image/png;x-base64,AAAA", DataUrl("image/png", ("x-base64",), "AAAA"), False),
    # Only the first ',' ends the header; the payload is untouched.
    ("data:text/plain,a,b", DataUrl("text/plain", (), "a,b"), False),
    ("data:image/png;base64,", DataUrl("image/png", ("base64",), ""), True),
]


@pytest.mark.parametrize(("url", "parsed", "is_base64"), PARSE_ROWS, ids=repr)
def test_parse_data_url(url: str, parsed: DataUrl, is_base64: bool) -> None:
    assert parse_data_url(url) == parsed
    assert parse_data_url(url).is_base64 is is_base64
    assert data_url_header(url) == url[: url.index(",")]


def _header_of(length: int) -> str:
    """A data URL header of exactly ``length`` characters."""
    start = "data:image/png;base64;x="
    return start + "a" * (length - len(start))


PARSE_ERRORS: list[tuple[str, str]] = [
    ("data:image/png;base64", "malformed data URL: no ',' after the 'data:<mime>;base64' header"),
    ("data:", "malformed data URL: no ',' after the 'data:<mime>;base64' header"),
    (
        _header_of(MAX_DATA_URL_HEADER + 1) + ",AAAA",
        "malformed data URL: the header before ',' is longer than 256 characters",
    ),
    ("https://example.com/a.png", "not a data URL: it must start with 'data:'"),
    ("", "not a data URL: it must start with 'data:'"),
]


@pytest.mark.parametrize(("url", "detail"), PARSE_ERRORS, ids=lambda v: repr(v[:40]))
def test_malformed_data_urls_are_refused_saying_why(url: str, detail: str) -> None:
    with pytest.raises(ImageInputError) as info:
        parse_data_url(url)
    assert (info.value.reason, info.value.detail) == (ImageErrorReason.INVALID_DATA_URL, detail)
    assert data_url_header(url) is None


def test_the_header_bound_is_inclusive() -> None:
    header = _header_of(MAX_DATA_URL_HEADER)
    assert parse_data_url(header + ",AAAA").payload == "AAAA"
    assert data_url_header(header + ",AAAA") == header


def test_a_large_data_url_splits_at_its_header() -> None:
    url = "data:image/png;base64," + "A" * 1_000_000
    assert data_url_header(url) == "data:image/png;base64"
    assert parse_data_url(url).payload == url[22:]
