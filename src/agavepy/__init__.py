"""agavepy: manage OAuth clients and tokens on an Agave tenant.

Kept import-light: ``import agavepy`` must not pull in the CLI or the server.
"""

__version__ = "1.0.0.dev0"
