"""The server's use cases as plain functions: no web framework, no SQL (see ``storage``)."""
