"""Grades in a real SQLite store: grade_pool on real pools, the comparison_quality view's numbers, filtering a pool
by grade, the quality-vs-lift join, and the `pcclip grade` / `pcclip quality` commands."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from grader_helpers import rec
from pool_helpers import hand_pool

from pcclip.data.testbed import build_testbed, testbed_config
from pcclip.errors import PcclipError
from pcclip.llm.config import preset
from pcclip.llm.generate import generate_pool
from pcclip.llm.grade import GRADER_VERSION, grade_comparison
from pcclip.llm.grade_pool import dataset_for_pool, filter_by_grade, grade_pool
from pcclip.store import open_store
from pcclip.store.quality import quality_lift_correlation, quality_table, quality_vs_lift
from pcclip.store.tables import Experiment, ExperimentJob, Job, Result, Run


@pytest.fixture
def testbed():
    return build_testbed(testbed_config(n_train=2, n_pool=30, n_test=2, image_size=32))


def _records(ds) -> list[dict]:
    return [it.attributes for it in ds.items("pool")]


def test_grade_pool_on_an_oracle_pool_is_idempotent_and_versioned(db_file: Path, testbed) -> None:
    store = open_store(db_file)
    pool_id = generate_pool(store, testbed, "pool", preset("oracle"), n_pairs=20)
    assert grade_pool(store, pool_id, testbed) == 20
    assert grade_pool(store, pool_id, testbed) == 0  # already graded by this version
    with sqlite3.connect(db_file) as c:
        rows = c.execute("SELECT grader, n_claims, n_correct, fully_correct, n_covered, n_true_diffs "
                         "FROM comparison_grade").fetchall()
        assert len(rows) == 20 and {r[0] for r in rows} == {GRADER_VERSION}
        assert all(r[1] > 0 and r[1] == r[2] and r[3] == 1 and r[4] >= 1 for r in rows)  # the oracle is true
        # a grade from an older grader is replaced, never duplicated
        c.execute("UPDATE comparison_grade SET grader = 'old', n_claims = 0 WHERE rowid IN "
                  "(SELECT rowid FROM comparison_grade LIMIT 3)")
    assert grade_pool(store, pool_id, testbed) == 3
    with sqlite3.connect(db_file) as c:
        assert c.execute("SELECT COUNT(*), MIN(n_claims) FROM comparison_grade").fetchone()[0] == 20
        assert c.execute("SELECT COUNT(*) FROM comparison_grade WHERE grader = 'old'").fetchone()[0] == 0
    # the dataset is found again from the pool's dataset row (what `pcclip grade` does)
    again = dataset_for_pool(store, pool_id)
    assert _records(again) == _records(testbed)
    store.close()


def test_grade_pool_errors_name_the_problem(db_file: Path, testbed) -> None:
    store = open_store(db_file)
    with pytest.raises(PcclipError, match="no comparison pool with id 99"):
        grade_pool(store, 99, testbed)
    pool_id = hand_pool(store, _dataset_id(store, testbed), [("The first image is red.", True)] * 20)
    with pytest.raises(PcclipError, match="split 'pool' has 3 items"):
        grade_pool(store, pool_id, _records(testbed)[:3])
    with pytest.raises(PcclipError, match="no attribute records"):
        grade_pool(store, pool_id, [None] * 40)
    with pytest.raises(PcclipError, match="not graded"):
        filter_by_grade(store, pool_id, "fully_correct")
    store.close()


def _dataset_id(store, ds) -> int:
    from pcclip.data.testbed import register_dataset

    return register_dataset(store, ds)


TEXTS = [
    ("The first image is {c0} and the second image is {c1}.", True),  # 2 correct
    ("The first image is {c1} and shows a dog.", True),  # 1 reversed (or wrong if same colour), 1 hallucinated
    ("The first image is {c0}.", True),  # 1 correct
    ("junk", False),  # rejected
    ("The answer is the answer, the answer is.", True),  # no claims
]


def _known_pool(store, testbed) -> tuple[int, list[tuple[str, bool]], list[dict]]:
    recs = _records(testbed)
    assert recs[2]["color"] != recs[3]["color"]  # so that the second text's colour claim is reversed
    texts = []
    for k, (t, acc) in enumerate(TEXTS):
        texts.append((t.format(c0=recs[2 * k]["color"], c1=recs[2 * k + 1]["color"]), acc))
    return hand_pool(store, _dataset_id(store, testbed), texts), texts, recs


def test_comparison_quality_view_numbers_on_a_known_pool(db_file: Path, testbed) -> None:
    store = open_store(db_file)
    pool_id, texts, recs = _known_pool(store, testbed)
    assert grade_pool(store, pool_id, testbed) == 5
    # expected numbers, computed here from the grades of the accepted comparisons
    grades = [grade_comparison(t, recs[2 * k], recs[2 * k + 1]) for k, (t, acc) in enumerate(texts) if acc]
    claims = sum(g.n_claims for g in grades)
    words = [t.split() for t, acc in texts if acc]
    bigrams = [(a.strip(".,").lower(), b.strip(".,").lower()) for w in words for a, b in zip(w, w[1:])]
    unigrams = [x.strip(".,").lower() for w in words for x in w]
    with sqlite3.connect(db_file) as c:
        c.row_factory = sqlite3.Row
        row = c.execute("SELECT * FROM comparison_quality WHERE pool_id = ?", (pool_id,)).fetchone()
    assert row["llm"] == "hand" and row["n_comparisons"] == 5 and row["n_accepted"] == 4 and row["n_graded"] == 4
    assert row["acceptance_rate"] == pytest.approx(0.8)
    assert row["claims_per_comparison"] == pytest.approx(claims / 4)
    assert row["claim_precision"] == pytest.approx(sum(g.count("correct") for g in grades) / claims)
    assert row["direction_error_rate"] == pytest.approx(sum(g.count("reversed") for g in grades) / claims)
    assert row["hallucination_rate"] == pytest.approx(sum(g.count("hallucinated") for g in grades) / claims)
    assert row["diff_recall"] == pytest.approx(sum(len(g.covered) for g in grades) / sum(len(g.true_diffs)
                                                                                          for g in grades))
    assert row["fully_correct_rate"] == pytest.approx(sum(g.fully_correct for g in grades) / 4)
    assert row["hallucinating_share"] == pytest.approx(0.25) and row["no_claim_rate"] == pytest.approx(0.25)
    assert row["mean_words"] == pytest.approx(sum(len(w) for w in words) / 4)
    assert row["distinct1"] == pytest.approx(len(set(unigrams)) / len(unigrams))
    assert row["distinct2"] == pytest.approx(len(set(bigrams)) / len(bigrams))
    assert row["grader"] == GRADER_VERSION
    # a hallucination is counted: the dog
    assert sum(g.count("hallucinated") for g in grades) == 1
    store.close()


def test_filter_by_grade_keeps_pool_order_and_rejects_bad_rules(db_file: Path, testbed) -> None:
    store = open_store(db_file)
    pool_id, _texts, _recs = _known_pool(store, testbed)
    grade_pool(store, pool_id, testbed)
    with sqlite3.connect(db_file) as c:
        ids = [r[0] for r in c.execute("SELECT id FROM comparison WHERE pool_id = ? ORDER BY idx", (pool_id,))]
    assert filter_by_grade(store, pool_id, "all") == [ids[0], ids[1], ids[2], ids[4]]  # accepted only
    assert filter_by_grade(store, pool_id, "fully_correct") == [ids[0], ids[2]]
    assert filter_by_grade(store, pool_id, "no_hallucination") == [ids[0], ids[2], ids[4]]
    assert filter_by_grade(store, pool_id, "precision>=0.5") == [ids[0], ids[2]]
    assert filter_by_grade(store, pool_id, "has_claims and hallucinated<1") == [ids[0], ids[2]]
    assert filter_by_grade(store, pool_id, "fully_correct", accepted_only=False) == [ids[0], ids[2]]
    for bad in ("", "mostly_right", "precision>>0.5", "precision>=high"):
        with pytest.raises(PcclipError, match="grade rule"):
            filter_by_grade(store, pool_id, bad)
    store.close()


def _experiment(store, pools: dict[str, int], acc: dict[tuple[str, int], float]) -> None:
    with store.session() as s:
        exp = Experiment(name="abl", spec_text="", spec_hash="abl")
        job = Job(key="eval", kind="eval")
        s.add_all([exp, job])
        s.flush()
        s.add(ExperimentJob(experiment_id=exp.id, job_id=job.id))
        for (arm, n), value in acc.items():
            run = Run(arm=arm, n=n, pool_id=pools.get(arm), job_id=job.id)
            s.add(run)
            s.flush()
            s.add(Result(run_id=run.id, job_id=job.id, task="diff/mean", seed=0, metric="accuracy", value=value,
                         chance=0.5))


def _graded_experiment(db_file: Path, testbed) -> tuple:
    """A store with an oracle pool and a hand pool, both graded, and an experiment 'abl' trained on them."""
    store = open_store(db_file)
    good = generate_pool(store, testbed, "pool", preset("oracle"), n_pairs=10)
    bad, _texts, _recs = _known_pool(store, testbed)
    for p in (good, bad):
        grade_pool(store, p, testbed)
    _experiment(store, {"oracle": good, "hand": bad},
                {("base", 0): 0.55, ("oracle", 100): 0.70, ("oracle", 1000): 0.80, ("hand", 100): 0.56,
                 ("hand", 1000): 0.57})
    return store, good, bad


def test_quality_table_and_quality_vs_lift(db_file: Path, testbed) -> None:
    store, good, bad = _graded_experiment(db_file, testbed)
    cols, rows = quality_table(db_file)  # read-only path, as the CLI and TUI use it
    assert cols[:3] == ["arm", "pool_id", "llm"] and {r[0] for r in rows} == {"oracle", "hand"}
    by_arm = {r[0]: dict(zip(cols, r)) for r in rows}
    assert by_arm["oracle"]["claim_precision"] == 1.0 and by_arm["oracle"]["fully_correct_rate"] == 1.0
    assert by_arm["hand"]["claim_precision"] < 1.0
    assert by_arm["oracle"]["directed_share"] == 1.0 and by_arm["oracle"]["directed_precision"] == 1.0
    hand_claims = [c for g in _grades_of(db_file, bad) for c in g["claims"]]
    named = [c for c in hand_claims if c["image"] != "either"]
    assert by_arm["hand"]["directed_share"] == pytest.approx(len(named) / len(hand_claims))
    assert by_arm["hand"]["directed_precision"] == pytest.approx(
        sum(c["verdict"] == "correct" for c in named) / len(named))
    cols_e, rows_e = quality_table(store, "abl")
    assert [r[0] for r in rows_e] == ["hand", "oracle"]
    with pytest.raises(PcclipError, match="no experiment"):
        quality_table(store, "nope")

    cols, rows = quality_vs_lift(store, "abl")
    lift = {(r[0], r[2]): dict(zip(cols, r)) for r in rows}
    assert set(lift) == {("oracle", 100), ("oracle", 1000), ("hand", 100), ("hand", 1000)}
    assert lift[("oracle", 1000)]["lift"] == pytest.approx(0.25)
    assert lift[("hand", 100)]["lift"] == pytest.approx(0.01)
    assert lift[("oracle", 100)]["claim_precision"] == 1.0 and lift[("oracle", 100)]["directed_precision"] == 1.0
    assert quality_lift_correlation(store, "abl", quality="directed_precision")["n_points"] == 4
    corr = quality_lift_correlation(store, "abl")
    assert corr["n_points"] == 4 and corr["pearson_r"] > 0.8 and corr["spearman_rho"] > 0.8
    with pytest.raises(PcclipError, match="unknown quality column"):
        quality_lift_correlation(store, "abl", quality="colour")
    store.close()


def _grades_of(db: Path, pool_id: int) -> list[dict]:
    with sqlite3.connect(db) as c:
        return [json.loads(r[0]) for r in c.execute(
            "SELECT g.detail_json FROM comparison_grade g JOIN comparison c ON c.id = g.comparison_id "
            "WHERE c.pool_id = ? AND c.accepted = 1", (pool_id,))]


def _pcclip(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "pcclip", "--db", str(db), *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_grade_and_quality(db_file: Path, testbed) -> None:
    store = open_store(db_file)
    pool_id = generate_pool(store, testbed, "pool", preset("oracle"), n_pairs=8)
    store.close()
    r = _pcclip(db_file, "grade")
    assert r.returncode == 1 and "choose one of --pool ID and --all" in r.stderr and "Traceback" not in r.stderr
    r = _pcclip(db_file, "grade", "--pool", str(pool_id))
    assert r.returncode == 0, r.stderr
    assert "8 graded" in r.stdout and "prec.%" in r.stdout and "oracle" in r.stdout
    row = next(line.split() for line in r.stdout.splitlines() if line.strip().startswith("oracle"))
    assert row[:5] == ["oracle", str(pool_id), "100.0", "8", "100.0"]  # llm, pool, accepted %, n, precision %
    r = _pcclip(db_file, "quality", "--csv")
    assert r.returncode == 0, r.stderr
    table = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(table) == 1 and table[0]["llm"] == "oracle" and float(table[0]["claim_precision"]) == 1.0
    r = _pcclip(db_file, "quality", "--json")
    assert json.loads(r.stdout)[0]["n_graded"] == 8
    r = _pcclip(db_file, "grade", "--pool", "42")
    assert r.returncode == 1 and "no comparison pool with id 42" in r.stderr
    # --all grades what it can and skips pools without attribute records, naming why
    store = open_store(db_file)
    hand_pool(store, None, [("The first is red.", False)], name="captions-only")
    store.close()
    r = _pcclip(db_file, "grade", "--all")
    assert r.returncode == 0, r.stderr
    assert "skipped" in r.stdout and "records no dataset" in r.stdout and "0 graded" in r.stdout


def test_records_helper_matches_testbed_format(testbed) -> None:
    # the labelled set's records use the same keys and value types as the testbed's
    mine = rec("circle/red/large/2/left/solid")
    theirs = testbed.items("pool")[0].attributes
    assert {k: type(v) for k, v in mine.items()} == {k: type(theirs[k]) for k in mine}


def test_results_command_shows_quality_next_to_lift(db_file: Path, testbed) -> None:
    store, good, bad = _graded_experiment(db_file, testbed)
    store.close()
    from pcclip.spec import load_spec

    with sqlite3.connect(db_file) as c:  # `pcclip results` reads the experiment's own spec (its plot tasks)
        c.execute("UPDATE experiment SET spec_text = ? WHERE name = 'abl'", (load_spec("testbed")[1],))
    r = _pcclip(db_file, "results", "abl")
    assert r.returncode == 0, r.stderr
    assert "comparison quality" in r.stdout and "lift pts" in r.stdout
    line = next(ln for ln in r.stdout.splitlines() if "oracle" in ln and "1000" in ln and "25.0" in ln)
    assert "100.0" in line  # oracle: lift 25 points at N = 1000, claim precision 100%
    assert "Pearson r = " in r.stdout and "one point per LLM x N" in r.stdout
