"""The headless CLI (`pcclip`). Command groups live in their own modules; heavy imports stay
inside the commands so that `pcclip --help` starts without torch."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from pcclip import __version__
from pcclip.cli import datasets, db, generate, grade, run, testbed, train_eval
from pcclip.errors import PcclipError

app = typer.Typer(
    name="pcclip",
    help="Reproduce PC-CLIP and run its ablations (number of LLM comparisons, which LLM writes them).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pcclip {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db_opt: Optional[str] = typer.Option(
        None, "--db", envvar="PCCLIP_DB", help="SQLite database file (default ./pcclip.db).", show_envvar=True
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    ctx.obj = {"db": db_opt}


for module in (run, testbed, generate, grade, train_eval, datasets, db):
    module.register(app)


def main() -> None:
    """Entry point: expected failures print one line and exit 1; no traceback."""
    try:
        app()
    except PcclipError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        sys.exit(1)
