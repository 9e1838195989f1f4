"""Everything ``agave`` prints on stdout: JSON for scripts, tables for people.

One place decides the form: ``--json`` gives exactly one JSON document
(sorted keys, the SDK records' wire keys); on a terminal, Rich tables; in a
pipe without ``--json``, plain aligned columns (no colours, no box drawing,
and no Rich import). ``-q`` prints nothing but errors.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click

from agavepy.cli.state import State

Columns = Sequence[tuple[str, str]]  # (header, key in the JSON record)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def on_terminal() -> bool:
    """stdout is a terminal (a person reads it), not a pipe or a file."""
    return sys.stdout.isatty()


def emit_json(data: Any) -> None:
    """The one JSON document of this run (UTF-8, non-ASCII as is: ``jq`` reads it)."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def _plain_rows(rows: Iterable[Sequence[str]]) -> None:
    rows = [list(r) for r in rows]
    if not rows:
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        click.echo("  ".join(cells).rstrip())


def _rich_table(headers: Sequence[str] | None, rows: Iterable[Sequence[str]], title: str | None):
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(
        box=box.SIMPLE_HEAD if headers else None,
        show_header=bool(headers),
        title=title,
        title_justify="left",
        pad_edge=False,
    )
    for i, header in enumerate(headers or ["", ""]):
        table.add_column(header, style="bold" if not headers and i == 0 else None)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # Text: user data is never markup
    Console().print(table)


def show_list(state: State, items: list[dict[str, Any]], columns: Columns, empty: str) -> None:
    """A list of records: a JSON array, or a table with one row per record."""
    if state.json:
        emit_json(items)
        return
    if state.quiet:
        return
    if not items:
        click.echo(empty, err=True)
        return
    headers = [header for header, _ in columns]
    rows = [[_text(item.get(key)) for _, key in columns] for item in items]
    if on_terminal():
        _rich_table(headers, rows, None)
    else:
        _plain_rows([headers, *rows])


def show_record(
    state: State, record: dict[str, Any], fields: Columns, title: str | None = None
) -> None:
    """One record: a JSON object, or ``label  value`` lines."""
    if state.json:
        emit_json(record)
        return
    if state.quiet:
        return
    rows = [[label, _text(record.get(key))] for label, key in fields]
    if on_terminal():
        _rich_table(None, rows, title)
    else:
        if title:
            click.echo(title)
        _plain_rows(rows)


def say(state: State, text: str) -> None:
    """A sentence for people (stdout); silent with --json or -q."""
    if not (state.json or state.quiet):
        click.echo(text)


def warn(state: State, text: str) -> None:
    """A notice for people on stderr (never pollutes stdout); silent with -q."""
    if not state.quiet:
        if sys.stderr.isatty():
            click.secho(text, err=True, fg="yellow", bold=True)
        else:
            click.echo(text, err=True)
