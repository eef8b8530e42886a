"""`pcclip db`: where the database is, read-only SQL on it, and explicit migration."""

from __future__ import annotations

import typer

from pcclip.cli.context import db_from
from pcclip.cli.output import Format, print_rows

app = typer.Typer(help="The SQLite store: path, read-only SQL, migrations.", no_args_is_help=True)


@app.command("path")
def path_cmd(ctx: typer.Context) -> None:
    """Print the database path (from --db, $PCCLIP_DB or ./pcclip.db)."""
    typer.echo(str(db_from(ctx)))


@app.command("sql")
def sql_cmd(
    ctx: typer.Context,
    query: str = typer.Argument(..., help='One SQL statement, e.g. "select * from ablation_summary".'),
    csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    json: bool = typer.Option(False, "--json", help="Print JSON (a list of objects)."),
) -> None:
    """Run one read-only SQL statement and print the rows."""
    from pcclip.store.readonly import query as run_query

    if csv and json:
        raise typer.BadParameter("choose one of --csv and --json")
    cols, rows = run_query(db_from(ctx), query)
    fmt = Format.csv if csv else Format.json if json else Format.table
    print_rows(cols, rows, fmt)


@app.command("migrate")
def migrate_cmd(ctx: typer.Context) -> None:
    """Create the database, or bring an older one to the current schema (a backup is kept)."""
    from pcclip.store import SCHEMA_VERSION, open_store

    store = open_store(db_from(ctx))
    store.close()
    typer.echo(f"{store.path}: schema v{SCHEMA_VERSION}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="db")
