"""A throw-away OpenLDAP ``slapd`` on a loopback port, for the LDAP identity tests.

Debian's slapd runs as the test's own (unprivileged) process with a ``slapd.conf`` in a temp
folder, an mdb database loaded with ``slapadd`` before start, and is stopped by its pid. It
can be stopped and started again on the same port with the same data (the "directory down"
tests). Tests skip with a reason when /usr/sbin/slapd is not installed (``require_slapd``).

The directory: ``dc=example,dc=org`` with people under ``ou=People``, a service account
``cn=reader,dc=example,dc=org`` (password ``READER_PASSWORD``) that may search, and the users
of ``USERS``. Anonymous clients may only bind (authenticate); users read their own entry.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.installs import stop_pid
from tests.support.server import free_port

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SCHEMA = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")
SUFFIX = "dc=example,dc=org"
PEOPLE = f"ou=People,{SUFFIX}"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PASSWORD = "reader-secret-42"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "admin-secret-42"


@dataclass(frozen=True)
class DirectoryUser:
    uid: str
    password: str
    mail: str
    given_name: str
    surname: str

    @property
    def dn(self) -> str:
        # RFC 4514 by hand (this helper must not trust the code it tests): the specials
        # that the test users' uids contain.
        value = "".join("\\" + c if c in ',+"\\<>;=' else c for c in self.uid)
        return f"uid={value},{PEOPLE}"


USERS = (
    DirectoryUser("alice", "alice-pw-Wonder1", "alice@example.org", "Alice", "Liddell"),
    DirectoryUser("bob", "bob-pw-Builder2", "bob@example.org", "Bob", "Builder"),
    DirectoryUser("carol", "carol-pw-Singer3", "carol@example.org", "Carol", "Singer"),
)


def require_slapd() -> None:
    """Skip the calling test (or module) when OpenLDAP's server is not installed."""
    for binary in (SLAPD, SLAPADD):
        if not os.access(binary, os.X_OK):
            pytest.skip(
                f"{binary} is not installed (Debian packages slapd and ldap-utils; "
                "scripts/install-test-packages.sh installs them)"
            )


def _ldif(users: tuple[DirectoryUser, ...]) -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: People",
        f"dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: reader\nuserPassword: {READER_PASSWORD}",
    ]
    for u in users:
        entries.append(
            f"dn: {u.dn}\nobjectClass: inetOrgPerson\nuid: {u.uid}\ncn: {u.given_name} "
            f"{u.surname}\ngivenName: {u.given_name}\nsn: {u.surname}\nmail: {u.mail}\n"
            f"userPassword: {u.password}"
        )
    return "\n\n".join(entries) + "\n"


def _config(folder: Path, tls: tuple[Path, Path] | None) -> str:
    schemas = "\n".join(
        f"include {SCHEMA / name}.schema" for name in ("core", "cosine", "inetorgperson", "nis")
    )
    tls_lines = ""
    if tls is not None:
        cert, key = tls
        tls_lines = f"TLSCertificateFile {cert}\nTLSCertificateKeyFile {key}\n"
    return f"""{schemas}
pidfile {folder / "slapd.pid"}
argsfile {folder / "slapd.args"}
modulepath {MODULES}
moduleload back_mdb
{tls_lines}
database mdb
maxsize 16777216
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {folder / "data"}
access to attrs=userPassword
    by self write
    by anonymous auth
    by * none
access to *
    by self read
    by dn.exact="{READER_DN}" read
    by * none
"""


class Slapd:
    """One slapd process: ``start()``, ``stop()``, ``start()`` again, ``close()``."""

    def __init__(
        self, folder: Path, users: tuple[DirectoryUser, ...] = USERS, tls: bool = False
    ) -> None:
        """With ``tls``, StartTLS on ``url`` and TLS on ``ldaps_url``, with a certificate
        from a throw-away CA (``ca_file``)."""
        require_slapd()
        self.folder = Path(folder)
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        self.users = users
        self.port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.ldaps_url: str | None = None
        self.ca_file: Path | None = None
        cert_and_key = None
        if tls:
            self.ca_file, cert, key = make_certificates(self.folder / "tls")
            cert_and_key = (cert, key)
            self.ldaps_url = f"ldaps://127.0.0.1:{free_port()}"
        self.conf = self.folder / "slapd.conf"
        self.conf.write_text(_config(self.folder, cert_and_key))
        self.log_path = self.folder / "slapd.log"
        self.proc: subprocess.Popen[bytes] | None = None
        ldif = self.folder / "users.ldif"
        ldif.write_text(_ldif(users))
        res = subprocess.run(
            [SLAPADD, "-f", str(self.conf), "-l", str(ldif)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if res.returncode != 0:
            raise AssertionError(f"slapadd failed ({res.returncode}):\n{res.stderr}")

    def user(self, uid: str) -> DirectoryUser:
        return next(u for u in self.users if u.uid == uid)

    def start(self, timeout: float = 20.0) -> Slapd:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        # -d 0: stay in the foreground (so the pid is ours to stop) without debug output.
        self.proc = subprocess.Popen(
            [SLAPD, "-f", str(self.conf), "-h", self._listeners(), "-d", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"slapd exited {self.proc.returncode}:\n{self.log()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return self
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"slapd did not listen on {self.port} in {timeout}s:\n{self.log()}")

    def _listeners(self) -> str:
        return " ".join(f"{url}/" for url in (self.url, self.ldaps_url) if url)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """SIGTERM by pid, wait for the port to close (slapd flushes the database first)."""
        stop_pid(self.proc, grace=15)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder / "data", ignore_errors=True)

    def __enter__(self) -> Slapd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_certificates(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for ``host`` signed by it: (ca, cert, key)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Agave test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths[2].chmod(0o600)
    return paths
