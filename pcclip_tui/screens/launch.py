"""The launch dialog: pick a bundled spec or type a path, choose parallel workers, start it detached."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList


class LaunchScreen(ModalScreen[tuple[str, int] | None]):
    """Returns (spec name or path, jobs) or None when dismissed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, specs: list[tuple[str, str]]) -> None:
        super().__init__()
        self.specs = [name for name, _desc in specs]
        self.labels = [f"[b]{name}[/b]  [dim]{desc}[/dim]" if desc else name for name, desc in specs]

    def compose(self) -> ComposeResult:
        with Vertical(id="launch-box"):
            yield Label("[b]Launch a spec[/b] (runs detached: closing the TUI never stops it)")
            yield Label("Bundled specs (Enter to pick):")
            yield OptionList(*(self.labels or ["(none bundled)"]), id="launch-specs")
            yield Label("or a spec file path:")
            yield Input(placeholder="path/to/spec.toml", id="launch-path")
            yield Label("parallel workers:")
            yield Input(value="1", id="launch-jobs", type="integer")
            yield Label("Enter: launch   Esc: cancel   Tab: next field", classes="hint")

    def _jobs(self) -> int:
        try:
            return max(1, int(self.query_one("#launch-jobs", Input).value or 1))
        except ValueError:
            return 1

    @on(OptionList.OptionSelected, "#launch-specs")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if self.specs:
            self.dismiss((self.specs[event.option_index], self._jobs()))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        path = self.query_one("#launch-path", Input).value.strip()
        if path:
            self.dismiss((path, self._jobs()))
        elif self.specs:
            opts = self.query_one("#launch-specs", OptionList)
            self.dismiss((self.specs[opts.highlighted or 0], self._jobs()))

    def action_cancel(self) -> None:
        self.dismiss(None)
