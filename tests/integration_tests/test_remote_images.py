"""Remote images fetched on request, against real TLS servers on loopback and the emulator.

The image server speaks HTTPS with a certificate for ``images.test`` from a throwaway CA
(trustme). The fetch policy's resolver says ``images.test`` is 127.0.0.1 and the allow list
names it, the only way a loopback host is ever fetched. So each test also shows that the
connection goes to the checked address while TLS verifies the host name.
"""

from __future__ import annotations

import base64
import io
import json
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openai
import pytest
import trustme
from langchain_core.messages import HumanMessage
from PIL import Image

from langchain_flexai import (
    FetchPolicy,
    FlexAIImageLoader,
    ImageErrorReason,
    ImageInputError,
    prepare_image,
)
from langchain_flexai.testing import FlexAIEmulator

CAP = 2 * 1024 * 1024
CHUNK = 64 * 1024


def _photo_12mp() -> bytes:
    im = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)
    return out.getvalue()


PHOTO = _photo_12mp()
DOWNSCALED = (2000, 1500)  # 4000x3000 halved by the JPEG's DCT scaling, within max_side=2048


@dataclass
class Server:
    port: int
    stop: threading.Event
    seen: list[dict[str, str]] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)

    def url(self, path: str, host: str = "images.test") -> str:
        return f"https://{host}:{self.port}{path}"


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: PLR0912 - one branch per route
            server.seen.append(
                {"path": self.path, **{k.lower(): v for k, v in self.headers.items()}}
            )
            path = self.path.split("?", 1)[0]
            if path == "/photo.jpg":
                self._send(200, PHOTO, {"Content-Type": "image/jpeg"})
            elif path == "/redirect":
                self._send(302, b"", {"Location": "/photo.jpg"})
            elif path == "/redirect-metadata":
                self._send(302, b"", {"Location": "https://169.254.169.254/latest/meta-data/"})
            elif path == "/redirect-other":
                self._send(302, b"", {"Location": server.url("/photo.jpg", "other.test")})
            elif path == "/page.html":
                self._send(200, b"<html>please log in</html>", {"Content-Type": "text/html"})
            elif path == "/huge":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(1 << 30))
                self.end_headers()
                self._stream_forever(path)
            elif path == "/endless":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Connection", "close")
                self.end_headers()
                self._stream_forever(path)
            elif path == "/slow":
                server.stop.wait(5)
                self._send(200, PHOTO, {"Content-Type": "image/jpeg"})
            elif path == "/trickle-headers":
                # Headers one byte at a time: every read is quick, only a total deadline helps.
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                while not server.stop.wait(0.1):
                    try:
                        self.wfile.write(b"X")
                        self.wfile.flush()
                    except OSError:  # noqa: PERF203 - the client hung up
                        return
            elif path == "/trickle":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(1 << 20))
                self.end_headers()
                while not server.stop.wait(0.1):
                    try:
                        self.wfile.write(b"\xff")
                        self.wfile.flush()
                    except OSError:  # noqa: PERF203 - the client hung up
                        return
            else:
                self._send(404, b"no", {"Content-Type": "text/plain"})

        def _stream_forever(self, path: str) -> None:
            block = b"\xff" * CHUNK
            server.sent[path] = 0
            while not server.stop.is_set():
                try:
                    self.wfile.write(block)
                except OSError:
                    return
                server.sent[path] += CHUNK

    return Handler


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server(ca: trustme.CA) -> Iterator[Server]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("images.test", "other.test").configure_cert(context)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    httpd.daemon_threads = True
    info = Server(port=httpd.server_address[1], stop=threading.Event())
    httpd.RequestHandlerClass = _handler(info)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield info
    info.stop.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


class Resolver:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        return ["127.0.0.1"]


@pytest.fixture
def resolver() -> Resolver:
    return Resolver()


@pytest.fixture
def policy(ca: trustme.CA, tmp_path: Path, resolver: Resolver) -> FetchPolicy:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return FetchPolicy(
        allow_hosts=("images.test", "wrong.test"),
        resolver=resolver,
        ca_file=str(ca_file),
        max_bytes=CAP,
        read_timeout=0.5,
        total_timeout=2.0,
    )


def _decoded(url: str) -> Image.Image:
    header, payload = url.split(",", 1)
    assert header == "data:image/jpeg;base64"
    return Image.open(io.BytesIO(base64.b64decode(payload)))


def _message(url: str) -> HumanMessage:
    return HumanMessage(
        content=[
            {"type": "text", "text": "what is it?"},
            {"type": "image_url", "image_url": {"url": url}},
        ]
    )


def test_a_12_mp_jpeg_behind_a_url_reaches_the_wire_as_a_downscaled_data_url(
    flexai_emulator: FlexAIEmulator, server: Server, policy: FetchPolicy, resolver: Resolver
) -> None:
    url = server.url("/photo.jpg?X-Amz-Signature=s3cr3t")
    model = flexai_emulator.chat_model(remote_images="fetch", fetch_policy=policy)
    reply = model.invoke([_message(url)])
    sent = flexai_emulator.requests[-1].image_urls
    assert len(sent) == 1
    assert _decoded(sent[0]).size == DOWNSCALED
    assert reply.response_metadata["images_fetched"] == 1
    assert reply.response_metadata["images_resized"] == 1
    assert resolver.asked == ["images.test"]
    request = server.seen[-1]
    assert request["path"] == "/photo.jpg?X-Amz-Signature=s3cr3t"
    assert request["host"] == f"images.test:{server.port}"
    assert request["user-agent"].startswith("langchain-flexai/")


def test_by_default_the_url_is_passed_through_and_nothing_is_fetched(
    flexai_emulator: FlexAIEmulator, server: Server
) -> None:
    url = server.url("/photo.jpg")
    before = len(server.seen)
    flexai_emulator.chat_model().invoke([_message(url)])
    assert flexai_emulator.requests[-1].image_urls == [url]
    assert len(server.seen) == before


def test_async_fetches_the_same_way(
    flexai_emulator: FlexAIEmulator, server: Server, policy: FetchPolicy
) -> None:
    import asyncio  # noqa: PLC0415

    model = flexai_emulator.chat_model(remote_images="fetch", fetch_policy=policy)
    asyncio.run(model.ainvoke([_message(server.url("/redirect"))]))
    assert _decoded(flexai_emulator.requests[-1].image_urls[0]).size == DOWNSCALED


def test_prepare_image_fetches_through_a_redirect(server: Server, policy: FetchPolicy) -> None:
    image = prepare_image(server.url("/redirect"), fetch_policy=policy)
    assert (image.width, image.height) == DOWNSCALED
    assert image.transformations[0] == "fetched"
    assert image.source == server.url("/redirect")


@pytest.mark.parametrize(
    ("path", "reason", "words"),
    [
        ("/redirect-metadata", ImageErrorReason.FETCH_REFUSED, "169.254.169.254"),
        ("/redirect-other", ImageErrorReason.FETCH_REFUSED, "other.test is not on the allow list"),
        ("/page.html", ImageErrorReason.NOT_AN_IMAGE, "text/html"),
        ("/missing.jpg", ImageErrorReason.FETCH_FAILED, "HTTP 404"),
        ("/huge", ImageErrorReason.TOO_LARGE, "announces 1073741824 bytes"),
        ("/endless", ImageErrorReason.TOO_LARGE, f"limit of {CAP} bytes"),
        ("/slow", ImageErrorReason.FETCH_FAILED, "did not answer in time"),
        ("/trickle", ImageErrorReason.FETCH_FAILED, "all of it 2.0 s"),
        ("/trickle-headers", ImageErrorReason.FETCH_FAILED, "all of it 2.0 s"),
    ],
)
def test_unsafe_or_broken_answers_are_refused(
    server: Server, policy: FetchPolicy, path: str, reason: ImageErrorReason, words: str
) -> None:
    with pytest.raises(ImageInputError) as caught:
        prepare_image(server.url(path + "?token=abc"), fetch_policy=policy)
    assert caught.value.reason is reason
    assert words in caught.value.detail
    assert caught.value.source == server.url(path + "?…")
    assert "abc" not in str(caught.value)


def test_an_endless_body_stops_near_the_cap(server: Server, policy: FetchPolicy) -> None:
    started = time.monotonic()
    with pytest.raises(ImageInputError):
        prepare_image(server.url("/endless"), fetch_policy=policy)
    assert time.monotonic() - started < 30
    # What the server managed to write includes the kernel's socket buffers, not only what was
    # read; the read bound itself (cap + one chunk) is asserted in the unit tests.
    assert server.sent["/endless"] < CAP + 32 * 1024 * 1024


def test_tls_is_verified_against_the_host_name_not_the_address(
    server: Server, policy: FetchPolicy
) -> None:
    with pytest.raises(ImageInputError) as caught:
        prepare_image(server.url("/photo.jpg", host="wrong.test"), fetch_policy=policy)
    assert caught.value.reason is ImageErrorReason.FETCH_FAILED
    assert "certificate" in caught.value.detail.lower()


def test_loopback_is_refused_without_an_allow_entry(server: Server, policy: FetchPolicy) -> None:
    from dataclasses import replace  # noqa: PLC0415

    before = len(server.seen)
    with pytest.raises(ImageInputError) as caught:
        prepare_image(server.url("/photo.jpg"), fetch_policy=replace(policy, allow_hosts=()))
    assert caught.value.reason is ImageErrorReason.FETCH_REFUSED
    with pytest.raises(ImageInputError):
        prepare_image(f"https://127.0.0.1:{server.port}/photo.jpg", fetch=True)
    assert len(server.seen) == before


def test_fetch_on_refusal_fetches_and_retries_once_after_a_400_about_the_url(
    flexai_emulator: FlexAIEmulator, server: Server, policy: FetchPolicy
) -> None:
    url = server.url("/photo.jpg")
    model = flexai_emulator.chat_model(
        remote_images="fetch_on_refusal", fetch_policy=policy, max_retries=0
    )
    flexai_emulator.clear_requests()
    flexai_emulator.faults.fail_next(1, 400, message="Could not download the image from the URL")
    reply = model.invoke([_message(url)])
    first, second = flexai_emulator.requests
    assert first.image_urls == [url]
    assert _decoded(second.image_urls[0]).size == DOWNSCALED
    assert reply.response_metadata["images_fetched"] == 1


@pytest.mark.parametrize("mode", ["pass", "fetch_on_refusal"])
def test_other_400s_are_not_retried(
    flexai_emulator: FlexAIEmulator, server: Server, policy: FetchPolicy, mode: str
) -> None:
    model = flexai_emulator.chat_model(remote_images=mode, fetch_policy=policy, max_retries=0)
    flexai_emulator.clear_requests()
    message = "Could not download the image" if mode == "pass" else "max_tokens is too large"
    flexai_emulator.faults.fail_next(1, 400, message=message)
    before = len(server.seen)
    with pytest.raises(openai.BadRequestError):
        model.invoke([_message(server.url("/photo.jpg"))])
    assert len(flexai_emulator.requests) == 1
    assert len(server.seen) == before


def test_fetch_on_refusal_streams_too(
    flexai_emulator: FlexAIEmulator, server: Server, policy: FetchPolicy
) -> None:
    model = flexai_emulator.chat_model(
        remote_images="fetch_on_refusal", fetch_policy=policy, max_retries=0
    )
    flexai_emulator.clear_requests()
    flexai_emulator.faults.fail_next(1, 400, message="image_url could not be fetched")
    text = "".join(
        str(chunk.content) for chunk in model.stream([_message(server.url("/photo.jpg"))])
    )
    assert text
    assert _decoded(flexai_emulator.requests[-1].image_urls[0]).size == DOWNSCALED


def test_the_loader_fetches_url_entries_in_their_place(
    server: Server, policy: FetchPolicy, tmp_path: Path
) -> None:
    local = tmp_path / "local.png"
    Image.new("RGB", (32, 16), (10, 200, 10)).save(local)
    urls = [server.url("/photo.jpg?sig=1"), server.url("/missing.jpg?sig=2")]
    loader = FlexAIImageLoader(
        [urls[0], str(local), urls[1]], remote_images="fetch", fetch_policy=policy, on_error="skip"
    )
    documents = loader.load()
    assert [d.metadata["source"] for d in documents] == [server.url("/photo.jpg?…"), str(local)]
    fetched = documents[0].metadata
    assert (fetched["width"], fetched["height"]) == DOWNSCALED
    assert fetched["file_size"] == len(PHOTO)
    assert fetched["transformations"][0] == "fetched"
    assert [(s.source, s.reason) for s in loader.skipped] == [
        (server.url("/missing.jpg?…"), "fetch_failed")
    ]


def test_by_default_the_loader_treats_a_url_as_a_path(server: Server) -> None:
    before = len(server.seen)
    with pytest.raises(FileNotFoundError):
        FlexAIImageLoader(server.url("/photo.jpg")).load()
    assert len(server.seen) == before


def test_describe_resumes_fetched_images_by_content(
    flexai_emulator: FlexAIEmulator, server: Server, policy: FetchPolicy, tmp_path: Path
) -> None:
    cache = tmp_path / "describe.sqlite"
    model = flexai_emulator.chat_model(max_retries=0)

    def run(url: str) -> list[str]:
        loader = FlexAIImageLoader(
            url, remote_images="fetch", fetch_policy=policy, model=model, cache_path=cache
        )
        docs = loader.load()
        assert loader.describer is not None
        report = loader.describer.report
        return [docs[0].page_content, f"cached={report.cached}"]

    flexai_emulator.clear_requests()
    first = run(server.url("/photo.jpg?X-Amz-Signature=one"))
    # The same picture behind another URL (another presigned token, a redirect): not asked again.
    second = run(server.url("/redirect?X-Amz-Signature=two"))
    assert first[1] == "cached=0"
    assert second == [first[0], "cached=1"]
    assert len([r for r in flexai_emulator.requests if r.path.endswith("/chat/completions")]) == 1


def test_fetch_on_refusal_async_and_async_streams(
    flexai_emulator: FlexAIEmulator, server: Server, policy: FetchPolicy
) -> None:
    import asyncio  # noqa: PLC0415

    model = flexai_emulator.chat_model(
        remote_images="fetch_on_refusal", fetch_policy=policy, max_retries=0
    )
    message = _message(server.url("/photo.jpg"))

    async def run() -> str:
        flexai_emulator.faults.fail_next(1, 400, message="Unable to fetch image_url")
        reply = await model.ainvoke([message])
        flexai_emulator.faults.fail_next(1, 400, message="Unable to fetch image_url")
        chunks = [str(chunk.content) async for chunk in model.astream([message])]
        return str(reply.content) + "".join(chunks)

    flexai_emulator.clear_requests()
    assert asyncio.run(run())
    urls = [r.image_urls[0] for r in flexai_emulator.requests]
    assert [u.startswith("data:") for u in urls] == [False, True, False, True]


def test_the_cli_fetches_with_fetch_and_passes_urls_through_without(
    server: Server,
    policy: FetchPolicy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``flexai-vision describe URL --fetch``: the emulator receives a downscaled data URL."""
    from langchain_flexai.cli import _describe as _cli_describe  # noqa: PLC0415 - patched too
    from langchain_flexai.cli import _main as cli  # noqa: PLC0415 - the CLI's own entry point
    from langchain_flexai.images import _doors  # noqa: PLC0415 - patched for the test CA

    # The test server is on loopback behind a test CA: admitted only through this test's policy
    # (the CLI's default FetchPolicy refuses loopback, as test_loopback_is_refused... shows).
    monkeypatch.setattr(_doors, "FetchPolicy", lambda: policy)
    monkeypatch.setattr(_cli_describe, "FetchPolicy", lambda: policy)
    url = server.url("/photo.jpg?X-Amz-Signature=secret")
    with FlexAIEmulator() as emu:
        monkeypatch.setenv("FLEXAI_API_BASE", emu.base_url)
        monkeypatch.setenv("FLEXAI_API_KEY", emu.api_key)
        out = tmp_path / "captions.jsonl"
        assert cli.main(["describe", url, url, "--fetch", "--out", str(out)]) == 0
        sent = [r.body for r in emu.requests if r.path == "/v1/chat/completions"]
        assert cli.main(["describe", url, url, "--out", str(out)]) == 0
        passed = [r.body for r in emu.requests if r.path == "/v1/chat/completions"][len(sent) :]
    capsys.readouterr()
    fetched = [body["messages"][0]["content"][1]["image_url"]["url"] for body in sent]
    assert len(fetched) == 2
    assert all(_decoded(u).size == (2000, 1500) for u in fetched)
    # Without --fetch the URL goes to FlexAI as given (and FlexAI fetches it).
    assert [body["messages"][0]["content"][1]["image_url"]["url"] for body in passed] == [url, url]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    # The second run's records (the output is rewritten): the source exactly as given.
    assert [(r["status"], r["source"]) for r in records] == [("described", url)] * 2
