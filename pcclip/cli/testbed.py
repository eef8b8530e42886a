"""Placeholder: this command group is being written (the module's owner replaces this file)."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Add this module's commands to the root app."""
