"""All database access of the server: routes and services never build queries themselves."""

from .database import Database, now
from .migrate import migrate

__all__ = ["Database", "migrate", "now"]
