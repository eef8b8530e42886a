"""Job control and data access the TUI delegates to the library (imported lazily: keep the start fast).

The TUI writes nothing itself: cancel, retry and launch go through `pcclip.jobs`, the same functions
`pcclip run` uses, so the detached workers they start outlive the TUI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pcclip.errors import PcclipError


def _jobs_api(name: str):
    try:
        import pcclip.jobs as jobs
    except ImportError as exc:  # the runner is an optional piece of a partial install
        raise PcclipError(f"job control is unavailable ({exc}); update pcclip") from exc
    fn = getattr(jobs, name, None)
    if fn is None:
        raise PcclipError(f"job control is unavailable: pcclip.jobs has no {name}(); update pcclip")
    return fn


def cancel_job(db: Path, job_id: int) -> Any:
    return _jobs_api("cancel_job")(db, job_id)


def retry_job(db: Path, job_id: int) -> Any:
    return _jobs_api("retry_job")(db, job_id)


def cancel_experiment(db: Path, experiment_id: int) -> Any:
    return _jobs_api("cancel_experiment")(db, experiment_id)


def launch(db: Path, spec: str, jobs: int = 1) -> int:
    """Start the detached runner for `spec` (a bundled name or a path); returns the experiment id."""
    return _jobs_api("launch")(db, spec, jobs=jobs)


def bundled_specs() -> list[tuple[str, str]]:
    """(name, description) of the specs shipped with pcclip; the runner accepts the names as well as paths."""
    from pcclip.spec import bundled_specs as names
    from pcclip.spec import specs_dir
    from pcclip_tui.widgets import spec_description

    out = []
    for name in names():
        try:
            desc = spec_description((specs_dir() / f"{name}.toml").read_text(encoding="utf-8"))
        except OSError:
            desc = ""
        out.append((name, desc))
    return out


def open_registered_dataset(row: dict[str, Any]):
    """Open a row of the `dataset` table with the library's adapter, from the config it was registered with.

    File datasets store their adapter options under "options"; the testbed stores its config fields at the top
    level, and is opened only where its images are already in the machine's cache.
    """
    from pcclip.data.registry import open_dataset

    config = json.loads(row.get("config_json") or "{}")
    if "options" in config:
        options = dict(config["options"])
    else:
        options = {k: v for k, v in config.items() if k not in ("kind", "name", "fingerprint")}
    if row["kind"] == "testbed":
        # Browsing must not start a render of thousands of images: open the testbed only where it is cached.
        from pcclip.data.testbed import testbed_config, testbed_root

        if not (testbed_root(testbed_config(**options)) / "config.json").exists():
            raise PcclipError(
                f"the images of {row.get('name', 'this testbed')} are not on this machine; "
                "`pcclip testbed build` (or `pcclip run`) renders them"
            )
    return open_dataset(row["kind"], **options)
