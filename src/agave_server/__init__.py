"""agave_server: a self-hostable Agave tenant (clients, subscriptions, tokens, profiles)."""

__version__ = "1.0.0.dev0"
