"""The README's first command: a local Agave tenant, and the seed's session typed into it.

``python3 tasks.py demo`` runs ``python -m devtools.demo`` from the checkout, which:

1. starts ``agave-server`` on a free loopback port with a throwaway SQLite
   database and data folder (tenant ``sd2e``, one throwaway user);
2. starts a real interactive ``python`` on a pseudo-terminal and types the
   seed's session (``shared/seed/oauth-clients.txt``) into it line by line,
   answering ``API username:`` / ``API password:`` as a person would, so the
   screen below is what that person sees;
3. in the same session gets a token, refreshes it and calls
   ``/profiles/v2/me``;
4. stops the server by its process id and removes the temporary folder.

It exits non-zero with a one-line reason when any step fails. The seed
deletes ``some-client-name`` and subscribes ``client``, two clients it never
creates; the demo creates them for the same user through the SDK's typed
API just before the seed's delete (saying so), so the seed's lines run
unchanged.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from devtools.server import AGAVE_SERVER, ServerError, ServerProcess, production_argon2

#: The seed's session (its two ``agave.`` lines say ``ag.``, the object they mean).
SEED_SESSION = [
    "from agavepy.agave import Agave",
    'ag = Agave(tenant_id="sd2e")',
    "ag.init()",
    'ag.clients_create("my_super_cool_client", "my client\'s desciption")',
    "ag.api_key, ag.api_secret",
    "ag.clients_list()",
    'ag.clients_delete("some-client-name")',
    'ag.clients_subscribe("PublicKeys", "v2", "admin", client_name="client")',
    "ag.clients_subscribtions()",
]
#: Clients the seed uses without creating them, made just before this line runs.
SEED_PRECONDITIONS = {
    'ag.clients_delete("some-client-name")': [
        ("some-client-name", "made by the demo so the seed can delete it"),
        ("client", "made by the demo so the seed can subscribe it"),
    ],
}
#: Beyond the seed: the token lifecycle and a protected call.
TOKEN_SESSION = [
    "ag.get_access_token()",
    "ag.expires_at",
    "old = ag.token",
    "ag.tokens.refresh(force=True)",
    "ag.token != old",
    "ag.profile()",
]
PROMPT = ">>> "
USERNAME_PROMPT = "API username: "
PASSWORD_PROMPT = "API password: "
STEP_TIMEOUT = 60


class DemoError(Exception):
    """A step failed; the message says which and why."""


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


class LocalTenant:
    """A throwaway ``agave-server`` with tenant ``sd2e`` and one user (see devtools.server)."""

    def __init__(self, workdir: Path) -> None:
        if not Path(AGAVE_SERVER).exists():
            raise DemoError("agave-server is not installed: run `python3 tasks.py setup` first")
        self.workdir = workdir
        self.username = "demo-" + secrets.token_hex(3)
        self.password = secrets.token_urlsafe(16)
        # Its own SQLite file even when AGAVE_TEST_DATABASE_URL is set; real password hashing.
        self.server = ServerProcess(
            workdir, env=production_argon2(), db_url=f"sqlite:///{workdir / 'agave.db'}"
        )
        self.base_url = self.server.base_url
        self.tenants_url = self.server.tenants_url

    def provision(self) -> None:
        """The demo user (the constructor migrated the database and added tenant sd2e)."""
        self.server.add_user(
            self.username,
            self.password,
            email=f"{self.username}@example.org",
            first_name="Demo",
            last_name="User",
        )

    def start(self, timeout: float = 30.0) -> None:
        self.server.start(timeout)

    def stop(self) -> None:
        """SIGTERM to the server's own process group (its pid), then SIGKILL if it lingers."""
        self.server.stop()


class Screen:
    """What the pseudo-terminal shows: echoed to our stdout and kept for checking.

    A trailing ``>>> `` is held back until more output comes, so that the
    demo can put a heading between two parts of the session without a
    dangling prompt above it.
    """

    def __init__(self) -> None:
        self.text = ""
        self._held = False

    def write(self, data: str) -> None:
        self.text += data
        if self._held:
            sys.stdout.write(PROMPT)
            self._held = False
        if data.endswith(PROMPT):
            data, self._held = data[: -len(PROMPT)], True
        sys.stdout.write(data)

    def flush(self) -> None:
        sys.stdout.flush()

    def heading(self, text: str) -> None:
        """A heading in place of the held prompt, then the prompt again."""
        self._held = False
        say(text)
        sys.stdout.write(PROMPT)
        sys.stdout.flush()


class Repl:
    """A real interactive Python on a pseudo-terminal, typed into like a person would."""

    def __init__(self, env: dict[str, str], username: str, password: str) -> None:
        import pexpect

        self.pexpect = pexpect
        self.username = username
        self.password = password
        self.screen = Screen()
        self.child = pexpect.spawn(
            sys.executable,
            ["-q"],
            env=env,
            encoding="utf-8",
            codec_errors="replace",
            timeout=STEP_TIMEOUT,
            dimensions=(50, 200),
        )
        self._wait_for_prompt("starting Python")
        self.child.logfile_read = self.screen
        self.screen.text = ""

    def _wait_for_prompt(self, doing: str) -> None:
        try:
            self.child.expect_exact(PROMPT)
        except self.pexpect.TIMEOUT as exc:
            raise DemoError(f"no Python prompt after {doing} in {STEP_TIMEOUT}s") from exc
        except self.pexpect.EOF as exc:
            raise DemoError(f"Python exited during {doing}") from exc

    def type(self, line: str) -> str:
        """Type one line, answer its prompts, return what it printed."""
        start = len(self.screen.text)
        self.child.sendline(line)
        while True:
            try:
                which = self.child.expect_exact([USERNAME_PROMPT, PASSWORD_PROMPT, PROMPT])
            except (self.pexpect.TIMEOUT, self.pexpect.EOF) as exc:
                raise DemoError(f"{line!r} did not finish: {type(exc).__name__}") from exc
            if which == 0:
                self.child.sendline(self.username)
            elif which == 1:
                self.child.sendline(self.password)
            else:
                break
        printed = self.screen.text[start:]
        if "Traceback (most recent call last)" in printed:
            last = [ln for ln in printed.splitlines() if ln.strip()][-2:-1] or ["?"]
            raise DemoError(f"{line!r} raised: {last[0].strip()}")
        return printed

    def close(self) -> None:
        self.child.logfile_read = None
        with contextlib.suppress(Exception):
            self.child.sendline("exit()")
            self.child.expect(self.pexpect.EOF, timeout=10)
        self.child.close(force=True)


def make_seed_clients(tenant: LocalTenant, names: list[tuple[str, str]], cache: Path) -> None:
    """Create the clients the seed assumes exist, as another program of the user's would."""
    from agavepy.agave import Agave

    with Agave(
        api_server=tenant.base_url,
        tenant_id="sd2e",
        username=tenant.username,
        password=tenant.password,
        cache_dir=cache,
        prompt=False,
    ) as other:
        for name, description in names:
            other.clients.create(name, description)


def repl_env(tenant: LocalTenant, cache_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONSTARTUP", "AGAVE_USERNAME", "AGAVE_PASSWORD")
    }
    env.update(
        {
            "AGAVE_TENANTS_API_BASEURL": tenant.tenants_url,
            "AGAVE_CACHE_DIR": str(cache_dir),
            "PYTHONDONTWRITEBYTECODE": "1",
            "TERM": "dumb",
        }
    )
    return env


def run(workdir: Path) -> None:
    say(f"Starting a local Agave tenant (agave-server, SQLite in {workdir})")
    try:
        tenant = LocalTenant(workdir)
        tenant.provision()
    except ServerError as exc:
        raise DemoError(exc.summary) from None
    try:
        try:
            tenant.start()
        except ServerError as exc:
            raise DemoError(str(exc)) from None
        print(f"tenant sd2e at {tenant.base_url}/ (tenants list: {tenant.tenants_url})")
        print(
            f"user {tenant.username!r} with a throwaway password; "
            f"sessions saved under {workdir / 'agave-cache'}"
        )
        repl = Repl(repl_env(tenant, workdir / "agave-cache"), tenant.username, tenant.password)
        try:
            repl.screen.heading(
                "The seed's session (shared/seed/oauth-clients.txt), typed into Python"
            )
            for line in SEED_SESSION:
                if line in SEED_PRECONDITIONS:
                    names = SEED_PRECONDITIONS[line]
                    make_seed_clients(tenant, names, workdir / "other-program")
                    repl.screen.heading(
                        "Meanwhile another program created clients "
                        + ", ".join(repr(n) for n, _ in names)
                        + " for the same user"
                    )
                repl.type(line)
            repl.screen.heading("Beyond the seed: a token, a refresh, and the profile it unlocks")
            for line in TOKEN_SESSION:
                printed = repl.type(line)
                if line == "ag.token != old" and "True" not in printed:
                    raise DemoError("the refreshed access token equals the old one")
                if line == "ag.profile()" and tenant.username not in printed:
                    raise DemoError("the profile is not the demo user's")
        finally:
            repl.close()
        print()
    finally:
        tenant.stop()


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="agave-demo-"))
    try:
        run(workdir)
    except DemoError as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # an SDK error outside the REPL, or a broken install
        print(f"\ndemo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo interrupted", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    say("Done: the server is stopped and its temporary folder removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
