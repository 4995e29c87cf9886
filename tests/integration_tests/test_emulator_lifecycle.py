"""Starting, stopping and finding the emulator: context manager, fixture, standalone server."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import httpx
import pytest

from langchain_flexai.chat_models import ChatFlexAI
from langchain_flexai.testing import DEFAULT_API_KEY, FlexAIEmulator


def test_context_manager_and_urls() -> None:
    emu = FlexAIEmulator()
    assert repr(emu) == "FlexAIEmulator(stopped)"
    with emu:
        assert emu.running
        assert emu.base_url == f"http://127.0.0.1:{emu.port}/v1"
        assert repr(emu) == f"FlexAIEmulator({emu.base_url})"
        assert httpx.get(f"{emu.url}/api/status").status_code == 200
        with pytest.raises(RuntimeError, match="already running"):
            emu.start()
    assert not emu.running
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.port
    emu.stop()  # idempotent


def test_two_emulators_get_two_ports() -> None:
    with FlexAIEmulator() as first, FlexAIEmulator() as second:
        assert first.port != second.port


def test_a_taken_port_is_an_error() -> None:
    with FlexAIEmulator() as first:
        with pytest.raises(OSError, match="in use"):
            FlexAIEmulator(port=first.port).start()
        assert first.running


def test_chat_model_points_at_the_emulator(flexai_emulator: FlexAIEmulator) -> None:
    model = flexai_emulator.chat_model(temperature=0)
    assert isinstance(model, ChatFlexAI)
    assert model.openai_api_base == flexai_emulator.base_url
    assert model.model_name == "phi-4-multimodal-instruct"
    assert model.temperature == 0
    assert flexai_emulator.api_key == DEFAULT_API_KEY


def test_fixture_comes_from_the_entry_point_plugin(request: pytest.FixtureRequest) -> None:
    plugin = request.config.pluginmanager.get_plugin("flexai_emulator")
    assert plugin is not None
    assert plugin.__name__ == "langchain_flexai.testing.pytest_plugin"


def test_fixture_gives_a_fresh_emulator_per_test(flexai_emulator: FlexAIEmulator) -> None:
    assert flexai_emulator.running
    assert flexai_emulator.requests == []


@pytest.mark.timeout(60)
def test_standalone_server() -> None:
    with FlexAIEmulator() as probe:  # borrow a free port, then release it
        port = probe.port
    process = subprocess.Popen(
        [sys.executable, "-m", "langchain_flexai.testing", "--port", str(port), "--rpm", "7"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "# FlexAI emulator ready\n"
        assert process.stdout.readline() == f"export FLEXAI_API_BASE=http://127.0.0.1:{port}/v1\n"
        response = httpx.get(f"http://127.0.0.1:{port}/api/status")
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit-requests"] == "7"
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0


@pytest.mark.timeout(60)
def test_standalone_server_lines_can_be_evaled_by_a_shell() -> None:
    # A key with a quote, a space, a semicolon and a $ would break unquoted export lines.
    key = "it's a key; echo INJECTED $HOME"
    process = subprocess.Popen(
        [sys.executable, "-m", "langchain_flexai.testing", "--port", "0", "--api-key", key],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = "".join(process.stdout.readline() for _ in range(3))
        shown = subprocess.run(
            ["bash", "-c", 'eval "$1" && printf "%s\\n" "$FLEXAI_API_BASE" "$FLEXAI_API_KEY"',
             "_", lines],
            capture_output=True, text=True, check=True, timeout=30,
        )  # fmt: skip
        base, sent_key = shown.stdout.splitlines()
        assert shown.stderr == ""
        assert sent_key == key
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", base)
        assert lines == (
            "# FlexAI emulator ready\n"
            f"export FLEXAI_API_BASE={base}\n"
            f"export FLEXAI_API_KEY={shlex.quote(key)}\n"
        )
        status = httpx.get(f"{base}/models", headers={"authorization": f"Bearer {key}"})
        assert status.status_code == 200
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
