"""Evaluations on constructed embeddings where the answer is known, and rows in a real store."""

from __future__ import annotations

import numpy as np
import pytest
from sqlmodel import select

from pcclip.data.base import DiffPair, DiffTask
from pcclip.evaluation import comparative, geometry, zeroshot
from pcclip.evaluation.common import ResultRow, normalize, write_results
from pcclip.evaluation.difference import difference_correct, evaluate_difference
from pcclip.store import open_store
from pcclip.store.tables import Result, Run


def _world(seed: int = 0) -> tuple[np.ndarray, list[DiffPair], np.ndarray]:
    rng = np.random.default_rng(seed)
    img = rng.normal(size=(20, 16)).astype(np.float32) * rng.uniform(0.5, 3, size=(20, 1)).astype(np.float32)
    pairs = [DiffPair(a=int(a), b=int(b), sentence=f"s{k}") for k, (a, b) in
             enumerate(rng.choice(20, size=(30, 2), replace=True)) if a != b]
    true_dirs = np.stack([normalize(normalize(img[p.a]) - normalize(img[p.b])) for p in pairs])
    return img, pairs, true_dirs


def test_difference_accuracy_is_one_when_text_points_along_the_difference() -> None:
    img, pairs, dirs = _world()
    noise = np.random.default_rng(1).normal(scale=0.01, size=dirs.shape)
    assert difference_correct(img, pairs, dirs + noise).mean() == 1.0


def test_difference_accuracy_is_zero_when_text_points_the_other_way() -> None:
    img, pairs, dirs = _world()
    assert difference_correct(img, pairs, -dirs).mean() == 0.0


def test_pairs_touching_unreadable_images_are_dropped() -> None:
    img, pairs, dirs = _world()
    img[pairs[0].a] = np.nan
    got = difference_correct(img, pairs, dirs)
    touching = sum(1 for p in pairs if pairs[0].a in (p.a, p.b))
    assert len(got) == len(pairs) - touching and got.all()


def test_evaluate_difference_rows_per_seed_and_mean(db_file) -> None:
    img, pairs, dirs = _world()
    sentence_dir = {p.sentence: d for p, d in zip(pairs, dirs)}
    good = DiffTask(name="good", split="test", pairs=pairs)
    bad = DiffTask(name="bad", split="test", pairs=[DiffPair(p.b, p.a, p.sentence) for p in pairs])
    rows = evaluate_difference({s: [good, bad] for s in range(5)}, lambda split: img,
                               lambda texts: np.stack([sentence_dir[t] for t in texts]))
    by = {(r.task, r.seed): r for r in rows}
    assert len(rows) == 15
    for s in range(5):
        assert by[("diff/good", s)].value == 1.0 and by[("diff/bad", s)].value == 0.0
        assert by[("diff/mean", s)].value == 0.5 and by[("diff/good", s)].chance == 0.5
        assert by[("diff/good", s)].n_examples == len(pairs)

    store = open_store(db_file)
    with store.session() as s:
        run = Run(arm="base")
        s.add(run)
        s.flush()
        run_id = run.id
    write_results(store, run_id, rows)
    write_results(store, run_id, rows)  # idempotent: replaced, not duplicated
    with store.session() as s:
        stored = s.exec(select(Result).where(Result.run_id == run_id)).all()
    assert len(stored) == 15
    assert {r.task for r in stored} == {"diff/good", "diff/bad", "diff/mean"}


def test_zeroshot_accuracy_and_comparative_prompting_on_constructed_classes() -> None:
    rng = np.random.default_rng(0)
    classes = np.eye(8)[:4]
    labels = np.repeat(np.arange(4), 5)
    img = classes[labels] + rng.normal(scale=0.02, size=(20, 8))
    img[labels == 1] += 0.6 * classes[0]  # class 1 images lean towards class 0
    acc, n = zeroshot.accuracy(img, labels, classes)
    assert acc == 1.0 and n == 20
    # class 1's text embedding drifted away from its images: they are now predicted as class 0
    drifted = classes.copy()
    drifted[1] = normalize(classes[1] - 0.8 * classes[0])
    assert zeroshot.accuracy(img, labels, drifted)[0] == 0.75
    assert comparative.confused_pairs(img, labels, drifted, n_pairs=3) == [(0, 1)]  # predicted 0, truly 1
    # a sentence d_01 whose embedding is e_0 - e_1 moves class 1 back onto its images
    pair_text = np.stack([classes[0] - classes[1]])
    assert zeroshot.accuracy(img, labels, comparative.adjust(drifted, [(0, 1)], pair_text, alpha=0.0))[0] == 1.0
    # alpha = 1 leaves the embeddings as they were
    assert np.allclose(comparative.adjust(drifted, [(0, 1)], pair_text, alpha=1.0), normalize(drifted))


def test_geometry_forward_below_reversed_when_text_is_the_difference() -> None:
    rng = np.random.default_rng(0)
    e = normalize(rng.normal(size=(5, 16)))
    pairs = geometry.sample_pairs(5, 100, seed=0)
    assert len(pairs) == 20
    fwd = np.stack([e[a] - e[b] for a, b in pairs])
    f, r = geometry.distances(e, pairs, fwd, -fwd)
    assert f == pytest.approx(0.0, abs=1e-6) and r == pytest.approx(2.0, abs=1e-6)
    assert len(geometry.sample_pairs(30, 50, seed=1)) == 50


def test_result_row_values_are_plain_floats() -> None:
    r = ResultRow("diff/x", 0, "accuracy", np.float32(0.5), 0.5, 3)
    assert float(r.value) == 0.5
