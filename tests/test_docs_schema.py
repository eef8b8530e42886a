"""docs/schema.md stays true: every table and view is documented and every example query runs."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from sqlmodel import SQLModel

from pcclip.store import open_store
from pcclip.store.tables import Experiment, ExperimentJob, Job, Result, Run
from pcclip.store.views import VIEWS

DOC = Path(__file__).resolve().parents[1] / "docs" / "schema.md"


def _documented() -> set[str]:
    return set(re.findall(r"^### `(\w+)`", DOC.read_text(), flags=re.M))


def _example_queries() -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.S)
    statements = []
    for block in blocks:
        body = "\n".join(ln for ln in block.splitlines() if not ln.strip().startswith("--"))
        statements += [s.strip() for s in body.split(";") if s.strip()]
    return statements


def test_every_table_and_view_is_documented() -> None:
    names = set(SQLModel.metadata.tables) | set(VIEWS)
    assert names <= _documented(), f"undocumented: {sorted(names - _documented())}"


def test_example_queries_run(db_file: Path) -> None:
    store = open_store(db_file)
    with store.session() as s:
        exp = Experiment(name="doc", spec_text="", spec_hash="doc")
        job = Job(key="j", kind="eval")
        s.add_all([exp, job])
        s.flush()
        s.add(ExperimentJob(experiment_id=exp.id, job_id=job.id))
        for arm, n, v in (("base", 0, 0.55), ("oracle", 100, 0.7)):
            run = Run(arm=arm, n=n)
            s.add(run)
            s.flush()
            for task, chance in (("diff/mean", 0.5), ("zeroshot/testbed", 1 / 24)):
                s.add(Result(run_id=run.id, job_id=job.id, task=task, seed=0, metric="accuracy",
                             value=v, chance=chance))
    store.close()
    queries = _example_queries()
    assert len(queries) >= 5
    with sqlite3.connect(db_file) as conn:
        for q in queries:
            conn.execute(q).fetchall()
        rows = conn.execute(queries[0]).fetchall()
    assert [r[0] for r in rows] == ["base", "oracle"]
