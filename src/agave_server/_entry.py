"""``agave-server``'s entry point: say what to install when the server's extra is missing.

``pip install agave-oauth`` installs the SDK and ``agave`` only; the server's dependencies
come with ``pip install 'agave-oauth[server]'``. Without them, importing the command line
(SQLAlchemy, uvicorn, ...) would end in a traceback; this module checks first, using only the
standard library, and prints one line instead (exit 1).
"""

from __future__ import annotations

import sys
from importlib.util import find_spec

#: The import names of the ``server`` extra's distributions (pyproject.toml).
SERVER_MODULES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "authlib",
    "sqlalchemy",
    "alembic",
    "argon2",
    "psycopg",
    "redis",
    "jinja2",
    "joserfc",
    "ldap3",
    "prometheus_client",
)
INSTALL_HINT = "pip install 'agave-oauth[server]'"


def missing_modules() -> list[str]:
    """The server extra's modules that cannot be imported here (found without importing)."""
    return [name for name in SERVER_MODULES if find_spec(name) is None]


def main() -> None:
    missing = missing_modules()
    if missing:
        sys.stderr.write(
            f"agave-server: error: the server's dependencies are not installed "
            f"(missing: {', '.join(missing)}); install them with: {INSTALL_HINT}\n"
        )
        sys.exit(1)
    from agave_server.cli import main as run

    run()
