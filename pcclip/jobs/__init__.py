"""The job system: plan a spec into keyed jobs, run them in detached worker processes, cancel, retry, resume.

Public API (used by the CLI and the TUI):
  launch(db_path, spec_path_or_name, jobs=K) -> experiment_id   plan + start a detached runner, return at once
  cancel_job(db_path, job_id) -> status
  retry_job(db_path, job_id) -> status
  cancel_experiment(db_path, experiment_id) -> {status: count}
  run_experiment(db, experiment_id, RunnerOptions(...), on_update=...)   the runner loop, in this process
"""

from pcclip.jobs.api import cancel_experiment, cancel_job, experiment_spec, find_experiment, launch, prepare, retry_job
from pcclip.jobs.runner import RunnerOptions, Snapshot, run_experiment

__all__ = [
    "RunnerOptions",
    "Snapshot",
    "cancel_experiment",
    "cancel_job",
    "experiment_spec",
    "find_experiment",
    "launch",
    "prepare",
    "retry_job",
    "run_experiment",
]
