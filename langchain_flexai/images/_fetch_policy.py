"""The limits of a remote-image fetch: what may be fetched, from where, how long and how much.

Knows the :class:`FetchPolicy` fields, their defaults and their validation, the User-Agent a fetch
sends and the ``remote_images`` modes. A leaf (it imports only the version): the fetcher, the
doors, the loader, the describe run and the chat model all import it without a cycle. Knows
nothing about sockets, HTTP or images: :mod:`langchain_flexai.images._fetch` applies it, and
:mod:`langchain_flexai.images._address` decides which addresses pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from langchain_flexai._version import __version__

__all__ = [
    "DEFAULT_FETCH_POLICY",
    "REMOTE_IMAGE_MODES",
    "USER_AGENT",
    "FetchPolicy",
    "RemoteImages",
]

USER_AGENT = f"langchain-flexai/{__version__} (image fetch)"
"""What a fetch calls itself: servers that refuse unnamed clients see who asks."""

RemoteImages = Literal["pass", "fetch", "fetch_on_refusal"]
"""What happens to an https image URL in message content.

- ``"pass"`` (the default): sent to FlexAI as it is; FlexAI fetches it, this library never does.
- ``"fetch"``: fetched here under a :class:`FetchPolicy`, then prepared like any inline image
  (sniffed, turned upright, downscaled, re-encoded) and sent as a data URL.
- ``"fetch_on_refusal"``: sent as a URL; when FlexAI answers 400 about it, fetched as with
  ``"fetch"`` and the request sent once more.
"""

REMOTE_IMAGE_MODES: tuple[str, ...] = ("pass", "fetch", "fetch_on_refusal")


@dataclass(frozen=True)
class FetchPolicy:
    """How a remote image may be fetched (hashable; used only where fetching was asked for).

    Raises:
        TypeError: A field has the wrong type.
        ValueError: A field is out of range.
    """

    schemes: tuple[str, ...] = ("https",)
    """URL schemes that may be fetched; add ``"http"`` only for a trusted network."""
    connect_timeout: float = 5.0
    """Seconds to open the TCP connection and finish the TLS handshake."""
    read_timeout: float = 10.0
    """Seconds any one read may wait for the server."""
    total_timeout: float = 30.0
    """Seconds for the whole fetch, redirects included (checked between reads, so a fetch ends
    at most one ``read_timeout`` after it)."""
    max_bytes: int = 32 * 1024 * 1024
    """Most body bytes read (also bounded by ``ImagePolicy.max_input_bytes``); enforced while
    the body streams in, and up front from ``Content-Length``."""
    max_redirects: int = 3
    """Redirects followed; each new location is checked like the first URL."""
    allow_hosts: tuple[str, ...] = ()
    """When not empty, the only hosts fetched. Entries: ``example.com`` (that host),
    ``*.example.com`` (it and its subdomains), an IP address or a network (``10.0.0.0/8``). A
    host on a private, loopback or link-local address is fetched only when an entry names it
    exactly or contains its address (for tests and intranets); a wildcard never admits one."""
    deny_hosts: tuple[str, ...] = ()
    """Hosts never fetched, in the same syntax; checked before the allow list, by name and by
    resolved address (an IPv4 entry covers that address's NAT64 and 6to4 forms too)."""
    max_fetches: int = 8
    """Remote images fetched for one request; more is refused before any fetch."""
    max_concurrency: int = 4
    """Fetches of one request running at once."""
    user_agent: str = USER_AGENT
    """The ``User-Agent`` header sent."""
    ca_file: str | None = None
    """A PEM bundle of CAs to trust instead of the system's (a private CA). Certificates are
    always verified against the URL's host name."""
    resolver: Callable[[str, int], Sequence[str]] | None = field(
        default=None, compare=False, hash=False, repr=False
    )
    """``(host, port) -> addresses``: how names are resolved (default: the system resolver).
    Each host is resolved once per hop, and the connection goes to the address checked."""

    def __post_init__(self) -> None:
        """Validate every field."""
        for name in ("connect_timeout", "read_timeout", "total_timeout"):
            value = getattr(self, name)
            # isfinite: NaN compares False with everything, so a NaN deadline never ends a fetch.
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(
                    f"FetchPolicy.{name} must be a positive, finite number, got {value!r}"
                )
        for name, minimum in (
            ("max_bytes", 1),
            ("max_redirects", 0),
            ("max_fetches", 1),
            ("max_concurrency", 1),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"FetchPolicy.{name} must be an int, got {value!r}")
            if value < minimum:
                raise ValueError(f"FetchPolicy.{name} must be >= {minimum}, got {value}")
        for name in ("schemes", "allow_hosts", "deny_hosts"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(v, str) and v for v in value):
                raise TypeError(f"FetchPolicy.{name} must be a tuple of strings, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        unknown = set(self.schemes) - {"https", "http"}
        if unknown or not self.schemes:
            raise ValueError(
                f"FetchPolicy.schemes may hold 'https' and 'http' only, got {self.schemes!r}"
            )
        if not self.user_agent or any(c in self.user_agent for c in "\r\n\x00"):
            raise ValueError("FetchPolicy.user_agent must be one non-empty line")


DEFAULT_FETCH_POLICY = FetchPolicy()
"""The policy used when fetching is asked for and no policy is given."""
