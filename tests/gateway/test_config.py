"""``agave-server apis add/update --backend`` and ``gateway nginx-config``: what nginx accepts,
what the operator is told when a value cannot work, and the gateway served over TLS."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.gateway.conftest import Gateway, bearer, new_app, token_for
from tests.support.nginx import NginxProcess, require_nginx
from tests.support.server import AGAVE_SERVER, free_port


def _fails(gateway: Gateway, *args: str) -> str:
    res = gateway.admin(*args, check=False)
    assert res.returncode == 1, (args, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    return res.stderr


def test_bad_backends_contexts_and_addresses_are_refused(gateway: Gateway) -> None:
    t = ("--tenant", "sd2e")
    assert "http://HOST" in _fails(gateway, "apis", "add", "Bad1", *t, "--backend", "ftp://x")
    assert "scheme, host and port" in _fails(
        gateway, "apis", "add", "Bad2", *t, "--backend", "http://h:1/base"
    )
    assert "Invalid context" in _fails(gateway, "apis", "add", "Bad3", *t, "--context", "/a/../b")
    assert "/profiles/v2" in _fails(
        gateway, "apis", "update", "Profiles", *t, "--backend", "http://127.0.0.1:1"
    )
    assert "/token" in _fails(
        gateway, "apis", "add", "Tok", *t, "--context", "/token", "--backend", "http://h:1"
    )
    assert "already serves" in _fails(
        gateway, "apis", "add", "Jobs2", *t, "--context", "/jobs/v2", "--backend", "http://h:1"
    )
    assert "nothing to change" in _fails(gateway, "apis", "update", "Jobs", *t)
    assert "no API" in _fails(gateway, "apis", "update", "Nope", *t, "--backend", "")
    cfg = ("gateway", "nginx-config", *t)
    assert "HOST:PORT" in _fails(gateway, *cfg, "--listen", "8080")
    assert "HOST:PORT" in _fails(gateway, *cfg, "--listen", "h:1", "--upstream", "h:99999")
    assert "--auth-url" in _fails(gateway, *cfg, "--listen", "h:1", "--auth-url", "nope")
    assert "both" in _fails(gateway, *cfg, "--listen", "h:1", "--ssl-certificate", "/x.pem")
    assert "No tenant" in _fails(
        gateway, "gateway", "nginx-config", "--tenant", "zz", "--listen", "h:1"
    )


def test_the_generated_config_is_what_nginx_accepts(gateway: Gateway, tmp_path) -> None:
    binary = require_nginx()
    text = gateway.config()
    for wanted in (
        "pid nginx.pid;",
        "location ^~ /jobs/v2 {",
        "location ^~ /jobs/v3 {",
        "location ^~ /echo/v2 {",
        'proxy_set_header Authorization "";',
        "proxy_set_header X-JWT-Assertion-sd2e $agave_assertion;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_set_header Host $http_host;",
        "location = /token {",
    ):
        assert wanted in text, wanted
    assert "/metrics" not in text.replace("never /metrics", "")
    (tmp_path / "nginx.conf").write_text(text)
    res = subprocess.run(
        [binary, "-t", "-p", f"{tmp_path}/", "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 0, res.stderr


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.slow
def test_the_gateway_over_tls(gateway: Gateway, tmp_path) -> None:
    """The same config with --ssl-certificate: HTTPS in front, the same decisions."""
    cert, key = _self_signed(tmp_path)
    port = free_port()
    args = ["gateway", "nginx-config", "--tenant", "sd2e", "--listen", f"127.0.0.1:{port}"]
    for srv in gateway.servers:
        args += ["--upstream", f"127.0.0.1:{srv.port}"]
    args += ["--ssl-certificate", str(cert), "--ssl-certificate-key", str(key)]
    text = gateway.admin(*args).stdout
    app = new_app(gateway)
    token = token_for(gateway, app)["access_token"]
    context = ssl.create_default_context(cafile=str(cert))
    with NginxProcess(tmp_path / "tls", text, port), httpx.Client(verify=context) as http:
        base = f"https://127.0.0.1:{port}"
        assert http.get(base + "/tenants").status_code == 200
        r = http.get(base + "/echo/v2/tls", headers=bearer(token))
        assert r.status_code == 200
        sent = {k.lower(): v for k, v in r.json()["headers"]}
        assert sent["x-forwarded-proto"] == "https" and "authorization" not in sent
        assert http.get(base + "/echo/v2/tls").status_code == 401


def test_trusted_proxies_must_be_addresses_or_networks(gateway: Gateway) -> None:
    srv = gateway.admin_server
    env = {**srv.env, "AGAVE_SERVER_TRUSTED_PROXIES": "10.0.0.0/24,proxy.example"}
    res = subprocess.run(
        [AGAVE_SERVER, "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 1
    assert "AGAVE_SERVER_TRUSTED_PROXIES" in res.stderr and "'proxy.example'" in res.stderr
    assert "Traceback" not in res.stderr
