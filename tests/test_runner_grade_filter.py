"""The grade-filter arm (issue 8): finetune only on comparisons whose attribute grade passes a rule.

It shares its pool with the unfiltered arm (only what is kept differs), and its N arms stay nested."""

from __future__ import annotations

from pathlib import Path

import pytest
from pool_helpers import hand_pool

from pcclip.data.testbed import build_testbed, register_dataset, testbed_config
from pcclip.errors import PcclipError, SpecError
from pcclip.jobs.kinds import select_comparisons
from pcclip.jobs.plan import plan_spec
from pcclip.llm.grade_pool import grade_pool
from pcclip.spec import load_spec, spec_from_text
from pcclip.store import open_store

EXTRA_ARM = '''
[[llm]]
name = "oracle-correct"
backend = "template"
grade_filter = "fully_correct"
'''


def _spec_with_filtered_arm(rule: str = "fully_correct"):
    text = load_spec("testbed")[1]
    head, sep, tail = text.partition("[ablation]")
    return spec_from_text(head + EXTRA_ARM.replace("fully_correct", rule) + sep + tail, "t.toml")


def test_filtered_arm_shares_the_pool_and_gets_its_own_finetunes() -> None:
    base = plan_spec(load_spec("testbed")[0])
    plan = plan_spec(_spec_with_filtered_arm())
    pools = [j for j in plan.jobs if j.kind.endswith("pool")]
    assert len(pools) == len([j for j in base.jobs if j.kind.endswith("pool")])  # no extra generation
    ft = {(j.params["arm"], j.params["n"], j.params["seed"]): j.key for j in plan.jobs if j.kind.endswith("finetune")}
    assert ft[("oracle-correct", 100, 0)] != ft[("oracle", 100, 0)]
    base_ft = {(j.params["arm"], j.params["n"], j.params["seed"]): j.key
               for j in base.jobs if j.kind.endswith("finetune")}
    assert base_ft[("oracle", 100, 0)] == ft[("oracle", 100, 0)]  # unfiltered arms keep their keys
    assert len({j.key for j in plan.jobs}) == len(plan.jobs)


def test_bad_grade_rule_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="grade_filter"):
        _spec_with_filtered_arm("precision>=banana")


def test_select_comparisons_keeps_only_passing_rows_in_pool_order(db_file: Path) -> None:
    ds = build_testbed(testbed_config(n_train=2, n_pool=20, n_test=2, image_size=32))
    recs = [it.attributes for it in ds.items("pool")]
    store = open_store(db_file)
    did = register_dataset(store, ds)
    texts = []
    for k in range(6):
        a, b = recs[2 * k], recs[2 * k + 1]
        good = a["color"] != b["color"] and k % 2 == 0
        # even k: a true colour claim; odd k: a made-up dog
        texts.append(f"The first image is {a['color']}, while the second is {b['color']}." if good
                     else "The first image shows a dog, while the second image shows a cat.")
    pool_id = hand_pool(store, did, [(t, True) for t in texts])
    grade_pool(store, pool_id, ds)
    good_idx = [k for k, t in enumerate(texts) if "dog" not in t]
    assert len(good_idx) >= 2
    kept = select_comparisons(store, pool_id, len(good_idx), "fully_correct")
    assert [(i, j) for i, j, _t in kept] == [(2 * k, 2 * k + 1) for k in good_idx]
    assert select_comparisons(store, pool_id, 1, "fully_correct") == kept[:1]  # nested
    seeded = select_comparisons(store, pool_id, 2, "fully_correct", order_seed=1)  # a seed's draw: still only
    assert set(seeded) <= set(kept)  # passing rows, and nested across N
    assert select_comparisons(store, pool_id, 1, "fully_correct", order_seed=1) == seeded[:1]
    assert len(select_comparisons(store, pool_id, 6)) == 6  # unfiltered: every accepted row
    with pytest.raises(PcclipError, match="pass grade filter"):
        select_comparisons(store, pool_id, 6, "fully_correct")
    store.close()
