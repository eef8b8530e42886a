"""Grading a stored comparison pool, and choosing a pool's comparisons by their grades.

`grade_pool` writes one `comparison_grade` row per comparison (idempotent: rows already graded by the current
`GRADER_VERSION` are kept, rows from an older grader are replaced). `filter_by_grade` turns a rule such as
"fully_correct" or "precision>=0.5" into the pool's comparison ids, in pool order, for a filtered ablation arm.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text as sql

from pcclip.errors import PcclipError
from pcclip.llm.grade import GRADER_VERSION, grade_comparison
from pcclip.progress import Progress
from pcclip.store.engine import Store

_BATCH = 500


def _records(dataset: Any, split: str) -> Sequence[dict[str, Any] | None]:
    """Attribute records of a split, from a `Dataset` or from a plain list of records indexed like the split."""
    if hasattr(dataset, "items") and callable(dataset.items):
        return [it.attributes for it in dataset.items(split)]
    return list(dataset)


def dataset_for_pool(store: Store, pool_id: int, progress: Progress | None = None) -> Any:
    """Open the dataset a pool was generated from (through `pcclip.data.registry.open_dataset`)."""
    import json

    with store.session() as s:
        row = s.connection().execute(
            sql("SELECT d.kind, d.config_json, d.name FROM pool p LEFT JOIN dataset d ON d.id = p.dataset_id "
                "WHERE p.id = :p"),
            {"p": pool_id},
        ).first()
    if row is None:
        raise PcclipError(f"no comparison pool with id {pool_id}; list pools with `pcclip comparisons`")
    if row[0] is None:
        raise PcclipError(f"pool {pool_id} records no dataset, so there are no attribute records to grade it against")
    from pcclip.data.registry import open_dataset

    options = {k: v for k, v in json.loads(row[1] or "{}").items() if k not in ("kind", "name")}
    kwargs = {"progress": progress} if progress else {}
    return open_dataset(row[0], **kwargs, **options)


def pool_ids(store: Store) -> list[int]:
    """Every pool whose dataset carries attribute records is a candidate; this lists all pools with comparisons."""
    with store.session() as s:
        rows = s.connection().execute(sql("SELECT DISTINCT pool_id FROM comparison ORDER BY pool_id")).all()
    return [int(r[0]) for r in rows]


def grade_pool(store: Store, pool_id: int, dataset: Any, progress: Progress | None = None) -> int:
    """Grade every comparison of pool `pool_id` against `dataset`'s attribute records; returns rows written.

    The text graded is the filtered text where the filter accepted the output, else the raw output (so rejected
    junk is graded too, and the summaries can say how much of it the filter removed). Already graded rows with the
    current grader version are skipped.
    """
    with store.session() as s:
        pool = s.connection().execute(sql("SELECT split FROM pool WHERE id = :p"), {"p": pool_id}).first()
        if pool is None:
            raise PcclipError(f"no comparison pool with id {pool_id}; list pools with `pcclip comparisons`")
        rows = (
            s.connection()
            .execute(
                sql(
                    "SELECT c.id, c.item_i, c.item_j, c.text, c.raw_text, c.accepted FROM comparison c "
                    "LEFT JOIN comparison_grade g ON g.comparison_id = c.id AND g.grader = :v "
                    "WHERE c.pool_id = :p AND g.comparison_id IS NULL ORDER BY c.idx"
                ),
                {"p": pool_id, "v": GRADER_VERSION},
            )
            .all()
        )
    records = _records(dataset, pool.split)
    total, written = len(rows), 0
    for start in range(0, total, _BATCH):
        batch = []
        for cid, item_i, item_j, text, raw, accepted in rows[start : start + _BATCH]:
            if not (0 <= item_i < len(records) and 0 <= item_j < len(records)):
                raise PcclipError(
                    f"pool {pool_id}: comparison {cid} names items {item_i}/{item_j}, but split {pool.split!r} has "
                    f"{len(records)} items; grade it against the dataset the pool was generated from"
                )
            rec_i, rec_j = records[item_i], records[item_j]
            if not rec_i or not rec_j:
                raise PcclipError(
                    f"pool {pool_id}: the dataset has no attribute records (only data such as the testbed can be "
                    "graded)"
                )
            g = grade_comparison(text if accepted and text else raw or "", rec_i, rec_j)
            batch.append({"comparison_id": cid, **g.row()})
        with store.session() as s:
            conn = s.connection()
            conn.execute(sql("DELETE FROM comparison_grade WHERE comparison_id IN (%s)" % ",".join(
                str(int(b["comparison_id"])) for b in batch)))
            conn.execute(
                sql(
                    "INSERT INTO comparison_grade (comparison_id, grader, n_claims, n_correct, n_reversed, n_wrong, "
                    "n_hallucinated, n_true_diffs, n_covered, fully_correct, detail_json) VALUES (:comparison_id, "
                    ":grader, :n_claims, :n_correct, :n_reversed, :n_wrong, :n_hallucinated, :n_true_diffs, "
                    ":n_covered, :fully_correct, :detail_json)"
                ),
                batch,
            )
        written += len(batch)
        if progress:
            progress(written, total, f"graded {written}/{total}")
    return written


# ---------------------------------------------------------------------------------------------------------------
# Filtering by grade

_NAMED: dict[str, str] = {
    "all": "1",
    "graded": "g.comparison_id IS NOT NULL",
    "fully_correct": "g.fully_correct = 1",
    "no_hallucination": "g.n_hallucinated = 0",
    "no_reversal": "g.n_reversed = 0",
    "no_error": "g.n_reversed = 0 AND g.n_wrong = 0 AND g.n_hallucinated = 0",
    "has_claims": "g.n_claims > 0",
    "covers_all": "g.n_true_diffs > 0 AND g.n_covered = g.n_true_diffs",
}
# numeric quantities a threshold rule may compare ("precision>=0.5", "hallucinated<1")
_QUANTITIES: dict[str, str] = {
    "precision": "CAST(g.n_correct AS REAL) / NULLIF(g.n_claims, 0)",
    "recall": "CAST(g.n_covered AS REAL) / NULLIF(g.n_true_diffs, 0)",
    "claims": "g.n_claims",
    "correct": "g.n_correct",
    "reversed": "g.n_reversed",
    "wrong": "g.n_wrong",
    "hallucinated": "g.n_hallucinated",
    "covered": "g.n_covered",
}
_THRESHOLD = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|==|=|>|<|!=)\s*(-?\d+(?:\.\d+)?)\s*$")

RULES_HELP = (
    "named: " + ", ".join(_NAMED) + "; thresholds: <quantity><op><number> with quantity in "
    + ", ".join(_QUANTITIES) + " and op in >= <= > < == !=; combine with ' and '"
)


def rule_sql(rule: str) -> str:
    """The SQL condition (on alias g = comparison_grade) for a grade rule; raises PcclipError on a bad rule."""
    parts = [p.strip() for p in re.split(r"\s+and\s+|\s*&\s*", rule.strip()) if p.strip()]
    if not parts:
        raise PcclipError(f"empty grade rule {rule!r}; use e.g. 'fully_correct' or 'precision>=0.5' ({RULES_HELP})")
    conds = []
    for p in parts:
        if p in _NAMED:
            conds.append(f"({_NAMED[p]})")
            continue
        m = _THRESHOLD.match(p)
        if not m or m.group(1) not in _QUANTITIES:
            raise PcclipError(f"unknown grade rule {p!r} ({RULES_HELP})")
        op = "=" if m.group(2) == "==" else m.group(2)
        conds.append(f"({_QUANTITIES[m.group(1)]} {op} {float(m.group(3))!r})")
    if all(c == "(1)" for c in conds):
        return "1"
    return " AND ".join(conds)


def filter_by_grade(store: Store, pool_id: int, rule: str, *, accepted_only: bool = True) -> list[int]:
    """Ids of pool `pool_id`'s comparisons that satisfy `rule`, in pool order (so prefixes stay nested).

    Only the paper's filter's accepted comparisons are considered unless `accepted_only` is False. Raises
    PcclipError when the rule is unknown or the pool has not been graded with the current grader.
    """
    cond = rule_sql(rule)
    with store.session() as s:
        conn = s.connection()
        n, graded = conn.execute(
            sql(
                "SELECT COUNT(*), COUNT(g.comparison_id) FROM comparison c LEFT JOIN comparison_grade g "
                "ON g.comparison_id = c.id AND g.grader = :v WHERE c.pool_id = :p"
            ),
            {"p": pool_id, "v": GRADER_VERSION},
        ).one()
        if n == 0:
            raise PcclipError(f"pool {pool_id} has no comparisons; generate it first (`pcclip generate`)")
        if graded < n and cond != "1":
            raise PcclipError(
                f"pool {pool_id}: {n - graded} of {n} comparisons are not graded by {GRADER_VERSION}; "
                f"run `pcclip grade --pool {pool_id}` first"
            )
        acc = "AND c.accepted = 1" if accepted_only else ""
        ids = conn.execute(
            sql(
                "SELECT c.id FROM comparison c LEFT JOIN comparison_grade g ON g.comparison_id = c.id "
                f"AND g.grader = :v WHERE c.pool_id = :p {acc} AND {cond} ORDER BY c.idx"
            ),
            {"p": pool_id, "v": GRADER_VERSION},
        ).all()
    return [int(r[0]) for r in ids]
