"""`pcclip-tui [--db PATH]`: the Textual experiment manager."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="pcclip-tui",
        description="Browse and control a pcclip database: experiments, datasets, comparisons, jobs, results.",
    )
    parser.add_argument("--db", default=None, help="database file (default: $PCCLIP_DB, else ./pcclip.db)")
    args = parser.parse_args(argv)
    from pcclip_tui.app import run

    run(args.db)


if __name__ == "__main__":
    main()
