"""Where workers run: detached local processes (default), or Slurm jobs through submitit.

Local workers are started in their own session, so they outlive the process that started them (closing a TUI
or pressing Ctrl-C in `pcclip run` never kills a job). A submitit job runs the same worker entry point.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pcclip.paths import workdir


class Handle(Protocol):
    pid: int | None

    def alive(self) -> bool: ...


@dataclass
class LocalHandle:
    proc: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None


def worker_command(db: Path, job_id: int, experiment_id: int | None, heartbeat_s: float) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "pcclip.jobs.worker",
        "--db",
        str(db),
        "--job",
        str(job_id),
        "--heartbeat",
        str(heartbeat_s),
    ]
    if experiment_id is not None:
        cmd += ["--experiment", str(experiment_id)]
    return cmd


def spawn_detached(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `cmd` in a new session with its output appended to `log` and no terminal input."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as fh:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            close_fds=True,
        )


def cpu_share(concurrent_jobs: int) -> int:
    """CPU threads each of K concurrent local workers gets: the cores split evenly, at least one."""
    return max(1, (os.cpu_count() or 1) // max(1, concurrent_jobs))


class LocalExecutor:
    name = "local"

    def __init__(self, db: Path, heartbeat_s: float, concurrent_jobs: int = 1) -> None:
        self.db, self.heartbeat_s = db, heartbeat_s
        self.cpu_threads = cpu_share(concurrent_jobs)

    def submit(self, job_id: int, experiment_id: int | None, device: int | None) -> LocalHandle:
        env = dict(os.environ)
        if device is not None:
            env["CUDA_VISIBLE_DEVICES"] = str(device)
        # K workers on one machine must not each take every core: llama.cpp's threads busy-wait on each other,
        # and with more threads than cores a batch can take 50x longer. A user's own settings win.
        env.setdefault("PCCLIP_CPU_THREADS", str(self.cpu_threads))
        env.setdefault("OMP_NUM_THREADS", env["PCCLIP_CPU_THREADS"])
        log = workdir(self.db) / "logs" / "workers.log"
        return LocalHandle(spawn_detached(worker_command(self.db, job_id, experiment_id, self.heartbeat_s), log, env))


def _submitit_entry(db: str, job_id: int, experiment_id: int | None, heartbeat_s: float) -> int:
    """What a Slurm (or submitit-local) job runs: the worker, in a fresh interpreter (signals, fds, imports)."""
    cmd = worker_command(Path(db), job_id, experiment_id, heartbeat_s)
    return subprocess.run(cmd, check=False).returncode


@dataclass
class SubmititHandle:
    job: Any

    @property
    def pid(self) -> int | None:
        return None

    def alive(self) -> bool:
        return not self.job.done()


class SubmititExecutor:
    """Slurm through submitit; `cluster="local"` uses submitit's local executor (for tests and laptops)."""

    def __init__(self, db: Path, heartbeat_s: float, cluster: str = "slurm", slurm: dict[str, Any] | None = None):
        import submitit

        self.db, self.heartbeat_s = db, heartbeat_s
        self.name = "slurm" if cluster == "slurm" else "submitit-local"
        folder = workdir(db) / "submitit" / "%j"
        try:
            self.ex = submitit.AutoExecutor(folder=folder, cluster=cluster)
        except Exception as exc:  # e.g. no sbatch on this machine
            from pcclip.errors import PcclipError

            raise PcclipError(
                f"executor {self.name}: submitit cannot use {cluster} here ({exc}); run on a Slurm login node "
                "or choose --executor local"
            ) from None
        s = dict(slurm or {})
        params: dict[str, Any] = {"timeout_min": s.get("time_min", 240), "name": "pcclip"}
        if cluster == "slurm":
            params.update(
                slurm_partition=s.get("partition"),
                slurm_account=s.get("account"),
                gpus_per_node=s.get("gpus_per_node", 1),
                cpus_per_task=s.get("cpus_per_task", 8),
                mem_gb=s.get("mem_gb", 32),
                slurm_additional_parameters=s.get("additional") or {},
            )
            params = {k: v for k, v in params.items() if v is not None}
        self.ex.update_parameters(**params)

    def submit(self, job_id: int, experiment_id: int | None, device: int | None) -> SubmititHandle:
        # Slurm places GPUs itself (gpus_per_node); `device` applies to local machines only.
        return SubmititHandle(self.ex.submit(_submitit_entry, str(self.db), job_id, experiment_id, self.heartbeat_s))


def make_executor(
    kind: str, db: Path, heartbeat_s: float, slurm: dict[str, Any] | None = None, concurrent_jobs: int = 1
):
    if kind == "local":
        return LocalExecutor(db, heartbeat_s, concurrent_jobs)
    if kind == "slurm":
        return SubmititExecutor(db, heartbeat_s, "slurm", slurm)
    if kind == "submitit-local":
        return SubmititExecutor(db, heartbeat_s, "local", slurm)
    from pcclip.errors import SpecError

    raise SpecError(f"unknown executor {kind!r}; choose local, slurm or submitit-local")


def visible_gpus() -> list[int]:
    """GPU indices of this machine, without importing torch (nvidia-smi, or CUDA_VISIBLE_DEVICES)."""
    vis = os.environ.get("CUDA_VISIBLE_DEVICES")
    if vis is not None:
        return [int(x) for x in vis.split(",") if x.strip().isdigit()]
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [int(x) for x in out.stdout.split() if x.strip().isdigit()] if out.returncode == 0 else []
