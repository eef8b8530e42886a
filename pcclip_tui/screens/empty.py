"""What a new user sees before there is anything to show: which command to run."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, Static

from pcclip_tui import queries


def has_content(counts: dict) -> bool:
    return bool(counts.get("experiments") or counts.get("datasets") or counts.get("jobs"))


def db_problem(db) -> str | None:
    """None when the database has something to show; else a sentence saying what to do."""
    from contextlib import closing

    try:
        with closing(queries.connect(db)) as conn:
            counts = queries.counts(conn)
    except queries.DbUnavailable as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - e.g. a database mid-migration: keep waiting, say why
        return f"{db}: cannot read it yet ({exc})."
    if not has_content(counts):
        return f"{db} has no experiments yet. Run `pcclip run` to start the testbed ablation."
    return None


class EmptyScreen(Screen):
    """Shown while the database is missing or empty; it polls and gets out of the way once data arrives."""

    BINDINGS = [
        Binding("L", "app.launch", "Launch spec"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static(self.render_message(), id="empty-message")
        yield Footer()

    def render_message(self) -> str:
        return (
            "[b]pcclip-tui[/b]: nothing to show yet\n\n"
            f"{self.message}\n\n"
            "In a shell:   [b]pcclip run[/b]          runs the bundled testbed spec\n"
            "              [b]pcclip run SPEC.toml[/b] runs your own spec\n"
            "Or press [b]L[/b] here to launch a spec in the background.\n\n"
            "This screen updates by itself when results arrive. [b]q[/b] quits."
        )

    def on_mount(self) -> None:
        self.set_interval(1.5, self.check)

    def check(self) -> None:
        problem = db_problem(self.app.db_path)  # type: ignore[attr-defined]
        if problem is None:
            self.dismiss()
        elif problem != self.message:
            self.message = problem
            self.query_one("#empty-message", Static).update(self.render_message())
