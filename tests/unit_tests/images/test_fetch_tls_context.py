"""A remote fetch's TLS context: built once per trust setting, not once per hop.

Every hop of a fetch opens a pool of its own (``images._fetch._one_hop``); each used to load a CA
bundle for it. No sockets: contexts are built, not used (tests/integration_tests/
test_remote_images.py fetches over TLS with a trustme CA).
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
import trustme

from langchain_flexai.images import FetchPolicy
from langchain_flexai.images._fetch import _ssl_context


@pytest.fixture(autouse=True)
def _default_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def _trusted(context: ssl.SSLContext) -> list[str]:
    return sorted(str(cert["subject"]) for cert in context.get_ca_certs())


def _write_ca(path: Path, name: str) -> trustme.CA:
    ca = trustme.CA(organization_name=name)
    ca.cert_pem.write_to_path(str(path))
    return ca


def test_the_default_context_is_built_once_and_verifies() -> None:
    context = _ssl_context(FetchPolicy())
    assert _ssl_context(FetchPolicy()) is context
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True


def test_a_ca_file_is_read_once_and_again_when_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "ca.pem"
    _write_ca(path, "First CA")
    first = _ssl_context(FetchPolicy(ca_file=str(path)))
    assert _ssl_context(FetchPolicy(ca_file=str(path))) is first  # another policy, same file
    assert _trusted(first) == _trusted(ssl.create_default_context(cafile=str(path)))
    assert "First CA" in _trusted(first)[0]
    assert first is not _ssl_context(FetchPolicy())

    _write_ca(path, "Second CA, a longer name")  # another size
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = _ssl_context(FetchPolicy(ca_file=str(path)))
    assert second is not first
    assert "Second CA" in _trusted(second)[0]
    assert len(second.get_ca_certs()) == 1


def test_the_environment_s_trust_setting_is_part_of_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = _ssl_context(FetchPolicy())
    path = tmp_path / "env-ca.pem"
    _write_ca(path, "Env CA")
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    assert _ssl_context(FetchPolicy()) is not default
    monkeypatch.delenv("SSL_CERT_FILE")
    assert _ssl_context(FetchPolicy()) is default


def test_a_missing_ca_file_still_raises_and_is_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "absent.pem"
    with pytest.raises(FileNotFoundError):
        _ssl_context(FetchPolicy(ca_file=str(path)))
    _write_ca(path, "Late CA")
    assert "Late CA" in _trusted(_ssl_context(FetchPolicy(ca_file=str(path))))[0]
