"""``FlexAIEmulator``: the emulator as an object a test or script holds.

Knows how to run the Starlette app under uvicorn in a background thread on a pre-bound
loopback socket (so the port is known before the thread starts), how to stop it cleanly
(thread joined, socket closed) and how to point a ``ChatFlexAI`` at it. The protocol itself
lives in ``_server``; the reply rules in ``_model``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import uvicorn
from typing_extensions import Self

from langchain_flexai.testing._catalog_data import (
    DEFAULT_API_KEY,
    DEFAULT_CATALOG,
    DEFAULT_MODEL,
    CatalogModel,
)
from langchain_flexai.testing._faults import Faults
from langchain_flexai.testing._limits import Limits, RecordedRequest
from langchain_flexai.testing._protocol import header_timeout_protocol
from langchain_flexai.testing._server import (
    ServerState,
    build_app,
    install_log_filter,
)

if TYPE_CHECKING:
    from langchain_flexai.chat_models import ChatFlexAI

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
__all__ = ["DEFAULT_API_KEY", "FlexAIEmulator"]


class FlexAIEmulator:
    """A local FlexAI server on 127.0.0.1, for tests and offline development.

    Use it as a context manager (or call ``start()`` / ``stop()``)::

        with FlexAIEmulator() as emu:
            reply = emu.chat_model().invoke("Hello")

    Every knob of ``Faults`` can be given here and changed later through ``emu.faults``.
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        catalog: Iterable[CatalogModel] = DEFAULT_CATALOG,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        cut_stream_after: int | None = None,
        cut_stream_mode: Literal["abort", "close"] = "abort",
        rpm_limit: int = 1000,
        rate_window: float = 60.0,
        credit_budget: float | None = None,
        maintenance: Iterable[str] = (),
        limits: Limits | None = None,
    ) -> None:
        """Configure an emulator (it starts with ``start()`` or ``with``).

        Args:
            api_key: The one key the emulator accepts (sent as ``Authorization: Bearer``).
            catalog: The models it serves; ``DEFAULT_CATALOG`` unless given.
            host: Interface to bind; keep the loopback default in tests.
            port: Port to bind; 0 picks a free one.
            latency: Seconds added before every response.
            cut_stream_after: Cut streamed responses after this many SSE events.
            cut_stream_mode: ``"abort"`` (drop the connection) or ``"close"`` (end early).
            rpm_limit: Accepted requests per window before 429.
            rate_window: Rate-limit window in seconds (FlexAI's is 60).
            credit_budget: USD available before chat completions answer 402; None: unlimited.
            maintenance: Model ids that answer 503.
            limits: What one request may cost (body size, JSON nesting, timeouts) and how
                much of the request log is kept; ``Limits()`` unless given.
        """
        models = {model.id: model for model in catalog}
        if not models:
            raise ValueError("catalog must hold at least one model")
        self.api_key = api_key
        self.catalog: tuple[CatalogModel, ...] = tuple(models.values())
        self.faults = Faults(
            latency=latency,
            cut_stream_after=cut_stream_after,
            cut_stream_mode=cut_stream_mode,
            rpm_limit=rpm_limit,
            rate_window=rate_window,
            credit_budget=credit_budget,
            maintenance=frozenset(maintenance),
        )
        self.limits = limits if limits is not None else Limits()
        self._state = ServerState(
            api_key=api_key, catalog=models, faults=self.faults, limits=self.limits
        )
        self._host = host
        self._port = port
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = self.base_url if self.running else "stopped"
        return f"FlexAIEmulator({where})"

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> FlexAIEmulator:
        """Bind the socket and start serving in a daemon thread; returns self.

        Raises:
            RuntimeError: if already running or the server fails to start.
        """
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        install_log_filter()
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on accepted sockets whose
        # listener says TCP, and without it each reply on a kept-alive connection waits ~40 ms
        # for the client's delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._port))
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        config = uvicorn.Config(
            build_app(self._state),
            log_level="warning",
            log_config=None,
            access_log=False,
            lifespan="off",
            ws="none",
            # No proxy sits in front of a loopback emulator: X-Forwarded-* is not rewritten
            # into the scope (nothing reads the client address), one layer less per request.
            proxy_headers=False,
            http=header_timeout_protocol(self.limits.header_timeout),
            timeout_keep_alive=self.limits.keep_alive_timeout,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="flexai-emulator", daemon=True
        )
        self._socket, self._server, self._thread = sock, server, thread
        thread.start()
        # server.started flips once the listener is up; poll the thread's liveness as well so
        # a failed start surfaces instead of hanging.
        ready = threading.Event()
        while not server.started and thread.is_alive():
            ready.wait(0.005)
        if not server.started:
            self._cleanup()
            raise RuntimeError("the FlexAI emulator failed to start")
        return self

    def stop(self) -> None:
        """Stop serving: close connections, join the thread, close the socket (idempotent)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(_STOP_TIMEOUT)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._socket = self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests use ----------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (valid while running)."""
        if self._socket is None:
            raise RuntimeError("the emulator is not running")
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no path)."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ending in ``/v1``."""
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received (a copy), oldest first, secrets redacted.

        The log is bounded by ``limits``: the most recent ``max_logged_requests`` requests,
        with the oldest bodies dropped (``body=None``, ``body_dropped=True``) once the bodies
        kept weigh more than ``max_logged_bytes``.
        """
        return self._state.log.records()

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self._state.log.clear()

    def clear_prompt_cache(self) -> None:
        """Forget the prompts seen: no request reports cached tokens until one repeats."""
        self._state.prompt_cache.clear()

    def chat_model(self, **kwargs: Any) -> ChatFlexAI:
        """A ``ChatFlexAI`` pointed at this emulator.

        Keyword arguments go to ``ChatFlexAI``; ``model`` defaults to
        ``phi-4-multimodal-instruct`` and ``api_key`` / ``base_url`` to this emulator's.
        """
        from langchain_flexai.chat_models import ChatFlexAI  # noqa: PLC0415 - lazy: optional

        params: dict[str, Any] = {
            "model": DEFAULT_MODEL,
            "api_key": self.api_key,
            "base_url": self.base_url,
        }
        params.update(kwargs)
        return ChatFlexAI(**params)
