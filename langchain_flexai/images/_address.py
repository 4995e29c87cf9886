"""Which network addresses a remote-image fetch may connect to, decided before any connection.

Knows IP address classes (loopback, private, link-local and the cloud metadata address
169.254.169.254, carrier-grade NAT, multicast, reserved, unspecified, IPv6 site-local and
documentation) and the IPv6 forms that
carry an IPv4 address inside (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, 6to4
``2002::/16``, NAT64 ``64:ff9b::/96``, Teredo), host names as the HTTP client sees them, and the
numeric host forms the C resolver accepts (``inet_aton``: ``0x7f000001``, ``2130706433``,
``127.1``, octal ``0177.0.0.1``), which it decodes the same way instead of letting DNS do it.

Knows nothing about HTTP, redirects or images: :mod:`langchain_flexai.images._fetch` asks
:func:`resolve_checked` for the one address to connect to, and connects to that address only.
Python's ``ipaddress.is_global`` is not trusted alone: on the Pythons this package supports it
calls ``::ffff:127.0.0.1``, ``2002:7f00:1::`` (6to4 of 127.0.0.1) and ``ff02::1`` global.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "AddressRefused",
    "HostRule",
    "IPAddress",
    "Resolver",
    "address_problem",
    "literal_address",
    "resolve_checked",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> addresses as text``: how a host name becomes addresses (one lookup)."""

# A DNS host name as the resolver should ever see one: LDH labels (underscores occur in real
# names). Anything else ("evil\\good.com", "a b", "%00") is refused, not handed to getaddrinfo.
# One label per match, the name split on dots first: a single pattern with an optional dot
# inside a repeated group backtracks exponentially on "aaaa…a!" (seconds at 26 characters).
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_MAX_HOSTNAME = 253
# One part of an inet_aton address: decimal, octal (leading 0) or hex (0x).
_NUMERIC_PART = re.compile(r"0[xX][0-9A-Fa-f]*|0[0-7]*|[1-9][0-9]*")
_MAX_DECIMAL_DIGITS = len(str(2**32 - 1))
_NUMERIC_LOOKING = re.compile(r"(0[xX][0-9A-Fa-f]*|[0-9]+)$")

_V4_ALWAYS_REFUSED = (
    ipaddress.IPv4Network("0.0.0.0/8"),  # "this network", incl. 0.0.0.0: reaches localhost
    ipaddress.IPv4Network("192.0.0.0/24"),  # IETF protocol assignments (is_global lets .9 pass)
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_TEREDO = ipaddress.IPv6Network("2001::/32")
# IPv6 ranges Python 3.11's is_global calls global: site-local fec0::/10 (deprecated by RFC 3879
# but still routed inside some networks) and documentation 3fff::/20 (RFC 9637).
_V6_ALWAYS_REFUSED = (
    (ipaddress.IPv6Network("fec0::/10"), "a site-local address"),
    (ipaddress.IPv6Network("3fff::/20"), "a documentation address"),
)


class AddressRefused(Exception):  # noqa: N818 - a verdict, turned into an ImageInputError
    """A host or address the policy does not let a fetch connect to; ``str()`` says why."""


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` denotes when it is numeric, decoded the way ``inet_aton`` does.

    ``127.1``, ``0x7f000001``, ``2130706433`` and ``0177.0.0.1`` all denote 127.0.0.1 to the C
    resolver (and so to a plain socket connect); deciding on the decoded address means the check
    and the connection can never disagree. IPv6 literals arrive without brackets (as httpx gives
    the host). A host whose last label looks numeric but decodes to no address raises, since
    resolvers differ on such names.

    Raises:
        AddressRefused: A numeric-looking host that is no valid address.
    """
    if ":" in host:
        if "%" in host:
            raise AddressRefused(f"{host!r} is a scoped (link-local) IPv6 address")
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise AddressRefused(f"{host!r} is not a valid IPv6 address") from None
    labels = host.rstrip(".").split(".") if host != "." else [""]
    if not _NUMERIC_LOOKING.fullmatch(labels[-1]):
        return None
    parts = labels
    if len(parts) > 4 or not all(_NUMERIC_PART.fullmatch(p) for p in parts):  # noqa: PLR2004
        raise AddressRefused(f"{host!r} looks like a numeric address but is not a valid one")
    if any(p[0] != "0" and len(p) > _MAX_DECIMAL_DIGITS for p in parts):
        # Over 32 bits; and int() itself refuses decimal text past 4300 digits (ValueError).
        raise AddressRefused(f"{host!r} looks like a numeric address but is out of range")
    values = [_part_value(p) for p in parts]
    # inet_aton: a.b.c.d, a.b.c (c is 16 bits), a.b (b is 24 bits), a (32 bits).
    *leading, last = values
    limit = 1 << (8 * (4 - len(leading)))
    if any(v > 255 for v in leading) or last >= limit:  # noqa: PLR2004
        raise AddressRefused(f"{host!r} looks like a numeric address but is out of range")
    number = last
    for index, value in enumerate(leading):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def _part_value(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part[0] == "0":
        return int(part, 8)
    return int(part)


def address_problem(address: IPAddress) -> str | None:
    """Why a fetch must not connect to ``address`` (None: a public unicast address).

    IPv6 forms that embed an IPv4 address are judged by the IPv4 address they lead to; the
    IPv4-mapped and IPv4-compatible forms are refused outright (a public server is reached by
    its plain IPv4 address, and a mapped literal in a URL is a classic filter bypass).
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"{address} is an IPv4-mapped IPv6 address (of {address.ipv4_mapped})"
        if address in _V4_COMPATIBLE and int(address) > 1:
            return f"{address} is an IPv4-compatible or unspecified IPv6 address"
        if address.is_multicast:
            return f"{address} is a multicast address"
        embedded = _embedded_v4(address)
        if embedded is not None:
            inner = address_problem(embedded)
            return None if inner is None else f"{address} leads to {embedded}: {inner}"
        if address in _NAT64_LOCAL or address in _TEREDO:
            return f"{address} is a translation address whose target cannot be checked"
    return _plain_problem(address)


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _plain_problem(address: IPAddress) -> str | None:
    checks = (
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address (cloud metadata services live here)"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private-network address"),
        (address.is_reserved, "a reserved address"),
    )
    for hit, what in checks:
        if hit:
            return f"{address} is {what}"
    if isinstance(address, ipaddress.IPv6Address):
        for net, what in _V6_ALWAYS_REFUSED:
            if address in net:
                return f"{address} is {what}"
    if isinstance(address, ipaddress.IPv4Address) and any(
        address in net for net in _V4_ALWAYS_REFUSED
    ):
        return f"{address} is a special-purpose address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


@dataclass(frozen=True)
class HostRule:
    """One allow- or deny-list entry: a host name, ``*.domain`` / ``.domain``, an IP or a network.

    Only an exact host name or an IP/network entry *names* a host; a wildcard matches many, so
    it never admits a private address (see :func:`resolve_checked`).
    """

    text: str

    def matches_host(self, host: str) -> bool:
        """Whether the entry covers ``host`` by name (wildcards included)."""
        entry, host = self.text.lower().rstrip("."), host.lower().rstrip(".")
        if entry.startswith(("*.", ".")):
            domain = entry.lstrip("*").lstrip(".")
            return host == domain or host.endswith("." + domain)
        return host == entry

    def names_host(self, host: str) -> bool:
        """Whether the entry names ``host`` exactly (a wildcard does not)."""
        return not self.text.startswith(("*.", ".")) and self.matches_host(host)

    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        """The entry as an IP network, or None for a host name."""
        try:
            return ipaddress.ip_network(self.text.strip("[]"), strict=False)
        except ValueError:
            return None

    def matches_address(self, address: IPAddress) -> bool:
        """Whether the entry is an IP or network containing ``address``."""
        net = self.network()
        return net is not None and address.version == net.version and address in net


def system_resolver(host: str, port: int) -> list[str]:
    """The system resolver (``getaddrinfo``), TCP addresses only, in the order it returns them."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def resolve_checked(
    host: str,
    port: int,
    *,
    allow: Sequence[HostRule],
    deny: Sequence[HostRule],
    resolver: Resolver,
) -> IPAddress:
    """The one address a fetch of ``host`` connects to: resolved once, every answer checked.

    Order: the deny list (by name), the allow list (by name, when it is not empty), the host's
    syntax, the addresses (a numeric host is decoded, never looked up; a name is resolved once),
    the deny list and the allow list's networks again (by address), then each address's class.
    A non-public address passes only when an allow-list entry names this host exactly or is an
    IP/network containing the address. When any answer is refused the host is refused (a name
    resolving to a public and a private address is the rebinding pattern).

    Raises:
        AddressRefused: Why the host may not be fetched.
        OSError: The resolver failed (no such host, no network).
    """
    if any(rule.matches_host(host) for rule in deny):
        raise AddressRefused(f"the host {host} is on the deny list")
    named = [rule for rule in allow if rule.network() is None]
    by_name = any(rule.matches_host(host) for rule in named)
    networks = [rule for rule in allow if rule.network() is not None]
    if allow and not by_name and not networks:
        raise AddressRefused(f"the host {host} is not on the allow list")
    addresses = _addresses(host, port, resolver)
    for address in addresses:
        # A denied IPv4 network is denied through its NAT64 and 6to4 forms too: on a network
        # with a translator, those reach the same host.
        inner = _embedded_v4(address) if isinstance(address, ipaddress.IPv6Address) else None
        if any(rule.matches_address(a) for rule in deny for a in (address, inner) if a):
            raise AddressRefused(f"{host} resolves to {address}, which is on the deny list")
        if allow and not by_name and not any(rule.matches_address(address) for rule in networks):
            raise AddressRefused(f"the host {host} ({address}) is not on the allow list")
        problem = address_problem(address)
        if problem is None:
            continue
        if address.is_multicast or address.is_unspecified:
            raise AddressRefused(problem)  # no allow entry makes these a web server
        admitted = any(rule.names_host(host) or rule.matches_address(address) for rule in allow)
        if not admitted:
            raise AddressRefused(
                f"{problem}; a private host is fetched only when the allow list names it "
                "(FetchPolicy(allow_hosts=...))"
            )
    return addresses[0]


def _valid_hostname(host: str) -> bool:
    """Whether ``host`` is at most 253 characters of LDH labels (one trailing dot allowed)."""
    name = host.removesuffix(".")
    if not 0 < len(name) <= _MAX_HOSTNAME:
        return False
    return all(_LABEL.fullmatch(label) for label in name.split("."))


def _addresses(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    if not _valid_hostname(host):
        raise AddressRefused(f"{host!r} is not a valid host name")
    answers = resolver(host, port)
    addresses: list[IPAddress] = []
    for answer in answers:
        try:
            addresses.append(ipaddress.ip_address(answer.split("%", 1)[0]))
        except ValueError:  # noqa: PERF203 - a resolver answers a handful of addresses
            raise AddressRefused(f"the resolver answered {answer!r} for {host}") from None
    if not addresses:
        raise AddressRefused(f"{host} resolves to no address")
    return addresses
