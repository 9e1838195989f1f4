"""``python -m agave_server``: the same as ``agave-server``."""

from agave_server._entry import main

main()
