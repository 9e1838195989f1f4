"""``agave --version``, help with examples, completion scripts, usage errors, lazy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agavepy import __version__

COMMANDS = [
    (),
    ("tenants",),
    ("tenants", "list"),
    ("tenants", "init"),
    ("clients",),
    ("clients", "create"),
    ("clients", "list"),
    ("clients", "show"),
    ("clients", "delete"),
    ("clients", "subscribe"),
    ("clients", "unsubscribe"),
    ("clients", "subscriptions"),
    ("tokens",),
    ("tokens", "create"),
    ("tokens", "refresh"),
    ("tokens", "revoke"),
    ("tokens", "show"),
    ("whoami",),
    ("sessions",),
    ("sessions", "list"),
    ("sessions", "switch"),
    ("completion",),
]


def test_version(agave):
    res = agave.ok("--version")
    assert __version__ in res.out


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "agave")
def test_every_command_has_help_with_an_example(agave, command):
    res = agave.ok(*command, "--help")
    assert "Usage: agave" in res.out
    assert "Example" in res.out or "Start here" in res.out
    assert res.err == ""


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(agave, shell):
    res = agave.ok("completion", shell)
    assert "_AGAVE_COMPLETE" in res.out
    assert f"{shell}_complete" in res.out  # the source script asks for <shell>_complete


def test_completion_completes_verbs_and_subcommands(agave):
    res = agave.ok(
        env={"_AGAVE_COMPLETE": "bash_complete", "COMP_WORDS": "agave cl", "COMP_CWORD": "1"}
    )
    assert "clients" in res.out
    res = agave.ok(
        env={"_AGAVE_COMPLETE": "bash_complete", "COMP_WORDS": "agave tokens re", "COMP_CWORD": "2"}
    )
    assert "refresh" in res.out and "revoke" in res.out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("nosuchverb",), "No such command"),
        (("clients", "show"), "Missing argument"),
        (("clients", "create", "-T", "platinum"), "platinum"),
        (("completion", "tcsh"), "tcsh"),
        (("tokens", "show", "--nope"), "--nope"),
    ],
)
def test_usage_errors_exit_2_with_one_line(agave, args, needle):
    res = agave(*args)
    assert res.code == 2, str(res)
    assert res.out == ""
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "--help" in lines[0], str(res)


def test_usage_error_with_json_prints_one_json_document(agave):
    res = agave("clients", "show", "--json")
    assert res.code == 2
    assert res.json()["error"]["exit_code"] == 2


def test_importing_the_cli_stays_light():
    """Only Click at import time: the SDK, httpx and Rich load when a command runs."""
    code = (
        "import sys, agavepy.cli, agavepy.cli.app, agavepy.cli.main\n"
        "from agavepy.cli.app import _COMMANDS\n"
        "import importlib\n"
        "for target in _COMMANDS.values():\n"
        "    importlib.import_module(target.split(':')[0])\n"
        "heavy = ('httpx', 'rich', 'agavepy.agave', 'agave_server')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_help_does_not_import_httpx_or_rich(agave):
    """``agave --help`` lists every verb without loading the heavy modules."""
    res = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import sys; from agavepy.cli import main; sys.argv=['agave','--help']; main()",
        ],
        capture_output=True,
        text=True,
        env=agave.env,
    )
    imported = {line.split("|")[-1].strip() for line in res.stderr.splitlines()}
    assert "httpx" not in imported and "rich" not in imported


def test_json_commands_do_not_load_rich_or_pygments(logged_in):
    """``--json`` output needs neither Rich nor (through httpx's own CLI) Pygments."""
    agave, user, _client = logged_in
    res = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import sys; from agavepy.cli import main; "
            "sys.argv=['agave','clients','list','--json','-u',sys.argv[1]]; sys.exit(main())",
            user.username,
        ],
        capture_output=True,
        text=True,
        env={**agave.env, "AGAVE_PASSWORD": user.password},
    )
    assert res.returncode == 0, res.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in res.stderr.splitlines()}
    assert "httpx" in imported
    assert not {"rich", "pygments"} & imported
