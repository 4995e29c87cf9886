"""Remote images in message content fetched on request: ``remote_images="fetch"``.

Knows what the content step does with https image URLs once its caller handed it a
:class:`~langchain_flexai.images._fetch.RemoteFetcher` (the explicit permission; without one
nothing here runs and URLs pass to FlexAI untouched): the per-request fetch count, fetching
every URL of the request at once (concurrently, bounded by the fetch policy), and turning each
body into a prepared data-URL image, every error located at its message and part.

Knows nothing about sockets or addresses (``images/_fetch.py``, ``images/_address.py``) nor about
content shapes (``_shapes.py``); it never fetches unless given a fetcher.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_flexai.content._parts import RemoteImage
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._doors import prepare_fetched_image
from langchain_flexai.images._fetch import RemoteFetcher, redact_url
from langchain_flexai.images._policy import ImagePolicy
from langchain_flexai.images._prepared import PreparedImage

__all__ = ["RemoteSlot", "check_fetch_count", "fetch_remote_images"]

RemoteSlot = tuple[int, int, RemoteImage]
"""A remote image in the request: message index, part index, the part."""


def check_fetch_count(count: int, fetcher: RemoteFetcher | None, url: str) -> None:
    """Refuse the remote image that makes ``count`` go over the policy's per-request cap.

    Raises:
        ImageInputError: ``FETCH_REFUSED``, before any fetch of the request starts.
    """
    if fetcher is None or count <= fetcher.policy.max_fetches:
        return
    limit = fetcher.policy.max_fetches
    raise ImageInputError(
        f"more than {limit} remote images to fetch in one request (FetchPolicy.max_fetches="
        f"{limit}); nothing was fetched or sent. Send fewer, or raise the limit.",
        reason=ImageErrorReason.FETCH_REFUSED,
        source=redact_url(url),
    )


def fetch_remote_images(
    slots: Sequence[RemoteSlot], fetcher: RemoteFetcher, policy: ImagePolicy
) -> dict[tuple[int, int], PreparedImage]:
    """Fetch and prepare every remote image of a request; the first failure (in order) raises.

    Returns:
        The prepared image of each slot, by (message index, part index).

    Raises:
        ImageInputError: The first slot, in message order, whose fetch or preparation failed,
            located at its message and part.
    """
    bodies = fetcher([part.url for _, _, part in slots], policy.max_input_bytes)
    prepared: dict[tuple[int, int], PreparedImage] = {}
    for (message_index, part_index, part), body in zip(slots, bodies, strict=True):
        try:
            if isinstance(body, ImageInputError):
                raise body
            prepared[message_index, part_index] = prepare_fetched_image(body, part.url, policy)
        except ImageInputError as err:  # noqa: PERF203 - the error names its part
            located = err.at(message_index=message_index, part_index=part_index)
            raise located from None
    return prepared
