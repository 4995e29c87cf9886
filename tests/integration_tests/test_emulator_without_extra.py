"""The base install (no ``testing`` extra) in a user's project: pytest still runs, and the
standalone server says in one line what to install.

Each test starts a subprocess whose ``sitecustomize`` blocks Starlette and uvicorn, the way a
project that installed plain ``langchain-flexai`` sees them. Subprocesses only: no socket opens
in these tests, but they spawn Python, hence the integration suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HINT = 'pip install "langchain-flexai[testing]"'

_BLOCKER = """
import importlib.abc
import sys


class _NoTestingExtra(importlib.abc.MetaPathFinder):
    # Stands in for a base install: Starlette and uvicorn cannot be imported.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"starlette", "uvicorn"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoTestingExtra())
"""


def _env_without_extra(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_BLOCKER, encoding="utf-8")
    path = [str(site), str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
    env.pop("PYTEST_ADDOPTS", None)
    return env


def _run_pytest(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_user.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=project,
        env=_env_without_extra(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.timeout(180)
def test_a_plain_test_runs_on_the_base_install(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        """
        import pytest

        def test_plain():
            # The blocker is in force, and the plugin loaded anyway.
            with pytest.raises(ImportError):
                import starlette  # noqa: F401

        def test_plugin_is_registered(request):
            plugin = request.config.pluginmanager.get_plugin("flexai_emulator")
            assert plugin.__name__ == "langchain_flexai.testing.pytest_plugin"
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.timeout(180)
def test_only_the_fixture_user_gets_the_error_naming_the_extra(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        """
        def test_plain():
            assert True

        def test_uses_the_emulator(flexai_emulator):
            raise AssertionError("never reached without the extra")
        """,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed, 1 error" in result.stdout
    assert f"ImportError: langchain_flexai.testing needs Starlette and uvicorn: {HINT}" in (
        result.stdout
    )
    assert "never reached" not in result.stdout


def test_importing_the_package_works_and_each_name_names_the_extra(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import langchain_flexai.testing as testing
        import langchain_flexai.testing.pytest_plugin
        for name in testing.__all__:
            try:
                getattr(testing, name)
            except ImportError as error:
                print(name, error)
            else:
                print(name, "imported")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=_env_without_extra(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == len(set(lines)) == 13
    for line in lines:
        name, message = line.split(" ", 1)
        assert message == f"langchain_flexai.testing needs Starlette and uvicorn: {HINT}", name


def test_the_standalone_server_says_what_to_install_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "langchain_flexai.testing", "--port", "0"],
        env=_env_without_extra(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "python -m langchain_flexai.testing: "
        f"langchain_flexai.testing needs Starlette and uvicorn: {HINT}\n"
    )
