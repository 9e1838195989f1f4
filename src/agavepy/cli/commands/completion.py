"""``agave completion SHELL``: print the shell completion script (Click's own).

Same as ``_AGAVE_COMPLETE=bash_source agave``, easier to remember.
"""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL; load it from your shell's start-up file.

    \b
    Example:
      eval "$(agave completion bash)"                          # in ~/.bashrc
      eval "$(agave completion zsh)"                           # in ~/.zshrc
      agave completion fish > ~/.config/fish/completions/agave.fish
    """
    from click.shell_completion import get_completion_class

    from agavepy.cli.app import agave

    cls = get_completion_class(shell)
    if cls is None:  # Click ships all three; a guard, not a branch users can reach
        raise click.UsageError(f"no completion for {shell}")
    click.echo(cls(agave, {}, "agave", "_AGAVE_COMPLETE").source())
