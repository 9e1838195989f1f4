"""Developer tooling: the one way to start and stop a local ``agave-server`` (tests, the demo,
the benchmarks, ``scripts/``) and the README's demo.

Not part of the installed package (the wheel ships ``agavepy`` and ``agave_server`` only):
these modules run from a checkout, with the project installed in ``.venv``.
"""
