"""The pcclip-tui application: five screens switched with 1-5, job control through pcclip.jobs.

Start-up stays light (no torch, no SQLAlchemy, no plotext): screens import their heavier pieces when
first shown, and every database read runs in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from pcclip.errors import PcclipError
from pcclip.paths import db_path as resolve_db_path


def _experiments() -> Screen:
    from pcclip_tui.screens.experiments import ExperimentsScreen

    return ExperimentsScreen()


def _datasets() -> Screen:
    from pcclip_tui.screens.datasets import DatasetsScreen

    return DatasetsScreen()


def _comparisons() -> Screen:
    from pcclip_tui.screens.comparisons import ComparisonsScreen

    return ComparisonsScreen()


def _jobs() -> Screen:
    from pcclip_tui.screens.jobs import JobsScreen

    return JobsScreen()


def _results() -> Screen:
    from pcclip_tui.screens.results import ResultsScreen

    return ResultsScreen()


SCREENS_BY_KEY = [
    ("1", "experiments", "Experiments"),
    ("2", "datasets", "Datasets"),
    ("3", "comparisons", "Comparisons"),
    ("4", "jobs", "Jobs"),
    ("5", "results", "Results"),
]


class PcclipApp(App):
    """Browse datasets, comparisons, experiments, jobs and results of one pcclip database."""

    TITLE = "pcclip"
    CSS_PATH = "app.tcss"
    MODES = {
        "experiments": _experiments,
        "datasets": _datasets,
        "comparisons": _comparisons,
        "jobs": _jobs,
        "results": _results,
    }
    DEFAULT_MODE = "experiments"
    BINDINGS = [
        *(Binding(k, f"go('{mode}')", title, show=False) for k, mode, title in SCREENS_BY_KEY),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, db: str | Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db_path: Path = resolve_db_path(db)
        self.dataset_cache: dict[int, Any] = {}  # opened datasets, shared by the Datasets and Comparisons screens
        self.first_frame_callbacks: list[Any] = []

    def on_mount(self) -> None:
        from pcclip_tui.screens.empty import db_problem

        self.sub_title = str(self.db_path)
        problem = db_problem(self.db_path)
        if problem is not None:
            self.show_empty_state(problem)
        for cb in self.first_frame_callbacks:
            self.call_after_refresh(cb)

    def show_empty_state(self, message: str) -> None:
        """Cover the screens with what-to-run until the database has something (it may also vanish mid-session)."""
        from pcclip_tui.screens.empty import EmptyScreen

        if not isinstance(self.screen, EmptyScreen):
            self.push_screen(EmptyScreen(message))

    def action_go(self, mode: str) -> None:
        if self.screen_stack and type(self.screen).__name__ == "EmptyScreen":
            return
        self.switch_mode(mode)

    # --- job control (through pcclip.jobs; the TUI never writes results) ---------------------------------------

    def control_action(self, name: str, target_id: int) -> None:
        self._control(name, target_id)

    @work(thread=True, group="control")
    def _control(self, name: str, target_id: int) -> None:
        from pcclip_tui import control

        what = {"cancel_job": "job", "retry_job": "job", "cancel_experiment": "experiment"}[name]
        try:
            getattr(control, name)(self.db_path, target_id)
        except PcclipError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error", timeout=6)
            return
        verb = name.split("_")[0]
        self.call_from_thread(self.notify, f"{verb} requested for {what} {target_id}", timeout=3)

    def action_launch(self) -> None:
        from pcclip_tui.control import bundled_specs
        from pcclip_tui.screens.launch import LaunchScreen

        def chosen(choice: tuple[str, int] | None) -> None:
            if choice is not None:
                self._launch(*choice)

        self.push_screen(LaunchScreen(bundled_specs()), chosen)

    @work(thread=True, group="control")
    def _launch(self, spec: str, jobs: int) -> None:
        from pcclip_tui import control

        try:
            exp_id = control.launch(self.db_path, spec, jobs=jobs)
        except PcclipError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error", timeout=6)
            return
        self.call_from_thread(self.notify, f"launched {spec} as experiment {exp_id} ({jobs} worker(s))", timeout=4)

    # --- command palette: every screen's actions, plus navigation ----------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for key, mode, title in SCREENS_BY_KEY:
            yield SystemCommand(f"Go to {title}", f"key {key}", partial(self.action_go, mode))
        yield SystemCommand("Launch a spec", "key L: start a detached run", self.action_launch)
        for binding in getattr(screen, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.description and binding.action not in ("launch",):
                yield SystemCommand(
                    f"{binding.description}", f"key {binding.key} on this screen",
                    partial(screen.run_action, binding.action),
                )


def run(db: str | Path | None = None) -> None:
    PcclipApp(db=db).run()
