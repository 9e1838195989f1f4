"""The SDK on an https tenant with a private CA, given as ``verify=PATH`` (as requests and
agavepy 0.9.5 take it): calls work without httpx's deprecation of paths, and a bundle that
cannot be read is an error naming it, not a trace from deep inside the TLS stack."""

from __future__ import annotations

import shutil
import subprocess
import warnings
from collections.abc import Iterator

import pytest

from agavepy.agave import Agave
from agavepy.errors import AgaveError
from tests.support.tls import TlsServer


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    srv = TlsServer(tmp_path_factory.mktemp("tls"))
    with srv:
        srv.add_user("tlsuser", "pw-tlsuser-123")
        yield srv


def _agave(srv: TlsServer, tmp_path, verify) -> Agave:
    return Agave(
        api_server=srv.base_url,
        tenant_id="sd2e",
        username="tlsuser",
        password="pw-tlsuser-123",
        cache_dir=tmp_path,
        prompt=False,
        verify=verify,
    )


@pytest.mark.parametrize("given", ["file", "directory"])
def test_a_ca_bundle_path_is_trusted_without_warnings(tls_server, tmp_path, given) -> None:
    if given == "file":
        verify = str(tls_server.cert)
    else:  # a directory of certificates named by their subject hash (c_rehash's layout)
        folder = tmp_path / "certs"
        folder.mkdir()
        subject_hash = subprocess.run(
            ["openssl", "x509", "-hash", "-noout", "-in", str(tls_server.cert)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        shutil.copy(tls_server.cert, folder / f"{subject_hash}.0")
        verify = str(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        ag = _agave(tls_server, tmp_path / "cache", verify)
        ag.clients_create(f"tls-{given}", "over https")
        assert ag.api_key and ag.api_secret
        ag.get_access_token()
        assert ag.profile().username == "tlsuser"
        ag.clients_delete(f"tls-{given}")
        ag.close()


def test_an_unreadable_ca_bundle_is_a_clear_error(tls_server, tmp_path) -> None:
    missing = tmp_path / "no-such-bundle.pem"
    ag = _agave(tls_server, tmp_path / "cache", str(missing))
    with pytest.raises(AgaveError) as caught:
        ag.clients_list()
    assert str(missing) in str(caught.value)
    assert "CA bundle" in str(caught.value) and "Traceback" not in str(caught.value)
    ag.close()
