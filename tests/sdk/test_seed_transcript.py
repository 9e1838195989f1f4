"""The seed's REPL session, typed into a real interactive Python on a pseudo-terminal.

The commands and the expected screen come from the seed file itself
(``tests/sdk/seed.py``). The screen must equal the seed's, except for the
key and secret values, the user and client names, and one documented
difference: ``clients_subscribe`` asks ``API password:`` (the clients API
needs the password, and the seed asks for it on every other call).
"""

from __future__ import annotations

import os
import re
import sys

import pexpect
import pytest

from agavepy.agave import Agave
from agavepy.tables import CLIENT_ROW
from tests.sdk.conftest import scan_for
from tests.sdk.seed import seed_steps

PROMPT, USERNAME, PASSWORD = ">>> ", "API username: ", "API password: "
SEED_USER = "your-username"
KEY_SECRET = re.compile(r"^\('[^']+', '[^']+'\)$")


class Repl:
    """Types lines into ``python -q`` and answers the SDK's prompts."""

    def __init__(self, env: dict[str, str], username: str, password: str) -> None:
        self.child = pexpect.spawn(
            sys.executable, ["-q"], env=env, encoding="utf-8", timeout=60, dimensions=(50, 200)
        )
        self.username, self.password = username, password
        self.child.expect_exact(PROMPT)

    def type(self, line: str) -> list[str]:
        """The screen lines this command produced (its echo first)."""
        self.child.sendline(line)
        screen = ""
        while True:
            which = self.child.expect_exact([USERNAME, PASSWORD, PROMPT])
            screen += self.child.before
            if which == 2:
                break
            screen += self.child.after
            self.child.sendline(self.username if which == 0 else self.password)
        lines = [ln.rstrip() for ln in screen.replace("\r", "").split("\n")]
        while lines and not lines[-1]:
            lines.pop()
        return lines

    def close(self) -> None:
        self.child.sendline("exit()")
        self.child.expect(pexpect.EOF)
        self.child.close()


def repl_env(server, cache_dir) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AGAVE_USERNAME", "AGAVE_PASSWORD", "PYTHONSTARTUP")
    }
    env.update(
        {
            "AGAVE_TENANTS_API_BASEURL": server.tenants_url,
            "AGAVE_CACHE_DIR": str(cache_dir),
            "TERM": "dumb",
        }
    )
    return env


def normalise(lines: list[str], username: str) -> list[str]:
    return [ln.replace(f"{USERNAME}{username}", f"{USERNAME}{SEED_USER}") for ln in lines]


def assert_client_rows_like_seed(ours: list[str], seed: list[str]) -> None:
    """Same header, same number of rows, descriptions starting in the same column."""
    assert ours[0] == seed[0]
    assert len(ours) == len(seed)
    for row in ours[1:] + seed[1:]:
        name, description = row[:31].rstrip(), row[31:]
        assert row == CLIENT_ROW.format(name, description).rstrip()


@pytest.mark.slow
def test_seed_session_screen_matches_the_seed(server, user, tmp_path):
    steps = seed_steps()
    repl = Repl(repl_env(server, tmp_path / "agave"), user.username, user.password)
    try:
        for step in steps:
            if step.our_command.startswith("ag.clients_delete("):
                # The seed deletes and subscribes clients it never created: another
                # program of the user's creates them first (and lists show only ours).
                with Agave(
                    api_server=server.base_url,
                    tenant_id="sd2e",
                    username=user.username,
                    password=user.password,
                    cache_dir=tmp_path / "other",
                    prompt=False,
                ) as other:
                    other.clients.create("some-client-name", "to delete")
                    other.clients.create("client", "to subscribe")
            screen = repl.type(step.our_command)
            assert screen[0] == step.our_command
            shown = normalise(screen[1:], user.username)
            expected = step.output
            if step.our_command == "ag.api_key, ag.api_secret":
                assert len(shown) == len(expected) == 1
                assert KEY_SECRET.match(shown[0]) and KEY_SECRET.match(expected[0])
            elif step.our_command == "ag.clients_list()":
                assert shown[:2] == expected[:2] == [f"{USERNAME}{SEED_USER}", PASSWORD.rstrip()]
                assert_client_rows_like_seed(shown[2:], expected[2:])
                assert shown[3].split()[0] == "my_super_cool_client"
            elif step.our_command.startswith("ag.clients_subscribe("):
                assert expected == []
                assert shown == [PASSWORD.rstrip()]  # the one documented difference
            else:
                assert shown == expected, step.our_command
        # What the seed's session left behind: the key shown, the client deleted/subscribed.
        check = repl.type("print(ag.client_name, ag.tenant_id, ag.username)")
        assert check[1] == f"my_super_cool_client sd2e {user.username}"
    finally:
        repl.close()
    assert (tmp_path / "agave" / "current").exists()
    assert scan_for(tmp_path, user.password) == []


@pytest.mark.slow
def test_init_without_tenant_prints_the_table_and_asks(server, tmp_path):
    repl = Repl(repl_env(server, tmp_path / "agave"), "unused", "unused")
    try:
        assert repl.type("from agavepy.agave import Agave; ag = Agave()") == [
            "from agavepy.agave import Agave; ag = Agave()"
        ]
        repl.child.sendline("ag.init()")
        repl.child.expect_exact("Please specify the ID for the tenant you wish to interact with: ")
        table = [ln.rstrip() for ln in repl.child.before.replace("\r", "").split("\n")]
        assert table[1] == "ID" + " " * 19 + "NAME" + " " * 37 + "URL"
        assert table[2] == ("sd2e" + " " * 17 + "SD2E Tenant" + " " * 30 + server.base_url + "/")
        repl.child.sendline("sd2e")
        repl.child.expect_exact(PROMPT)
        assert repl.type("ag.tenant_id, ag.api_server")[1] == repr(("sd2e", server.base_url))
    finally:
        repl.close()


@pytest.mark.slow
def test_enter_at_the_second_username_question_keeps_the_first(server, user, tmp_path):
    repl = Repl(repl_env(server, tmp_path / "agave"), user.username, user.password)
    try:
        repl.type('from agavepy.agave import Agave; ag = Agave(tenant_id="sd2e")')
        repl.type('ag.clients_create("kept", "")')
        repl.child.sendline("ag.clients_list()")
        repl.child.expect_exact(USERNAME)
        repl.child.sendline("")
        repl.child.expect_exact(PASSWORD)
        repl.child.sendline(user.password)
        repl.child.expect_exact(PROMPT)
        assert "kept" in repl.child.before
        assert repl.type("ag.username")[1] == repr(user.username)
    finally:
        repl.close()
