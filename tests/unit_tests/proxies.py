"""The httpcore proxy pools behind an httpx client, for tests that check where requests go."""

from __future__ import annotations

from typing import Any


def proxy_pools(client: Any) -> list[Any]:
    """The proxy pools of ``client``: its mounts' (sync), or those its per-loop transport makes.

    A proxied async client holds a per-loop transport (``_transport._pools``) whose pools are
    the proxy's; one is built here, outside any loop, to read its proxy settings.
    """
    pools = [t._pool for t in client._mounts.values() if t]
    factory = getattr(client._transport, "_pool_factory", None)
    if factory is not None:
        inner = getattr(factory(client._transport._socket_options), "_pool", None)
        if hasattr(inner, "_proxy_url"):
            pools.append(inner)
    return pools
