"""Which N comparisons a finetune trains on (`[ablation] subset`): seeded subsets, nested across N within a seed,
aligned across LLM arms, and the old pool-order prefix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pool_helpers import hand_pool

from pcclip.errors import PcclipError, SpecError
from pcclip.jobs.kinds import select_comparisons
from pcclip.jobs.plan import plan_spec
from pcclip.spec import load_spec, spec_from_text
from pcclip.store import open_store

N_PAIRS = 40


def _pools(db_file: Path) -> tuple[object, int, int]:
    """Two pools over the same 40 pairs: 'all' accepted every comparison, 'picky' rejected every third."""
    store = open_store(db_file)
    full = hand_pool(store, None, [(f"all {k}", True) for k in range(N_PAIRS)], name="all")
    picky = hand_pool(store, None, [(f"picky {k}", k % 3 != 0) for k in range(N_PAIRS)], name="picky")
    return store, full, picky


def _pairs(rows: list[tuple]) -> list[int]:
    """The pair indices (hand_pool puts pair k on items 2k, 2k+1)."""
    return [i // 2 for i, _j, _t in rows]


def test_seeds_see_different_comparisons_nested_across_n(db_file: Path) -> None:
    store, full, _ = _pools(db_file)
    s0 = _pairs(select_comparisons(store, full, 10, order_seed=0))
    s1 = _pairs(select_comparisons(store, full, 10, order_seed=1))
    assert len(set(s0)) == 10 and set(s0) != set(s1)
    assert _pairs(select_comparisons(store, full, 4, order_seed=0)) == s0[:4]  # nested within a seed
    assert s0 == _pairs(select_comparisons(store, full, 10, order_seed=0))  # deterministic
    # the whole pool: every seed trains on all of it
    assert sorted(_pairs(select_comparisons(store, full, N_PAIRS, order_seed=3))) == list(range(N_PAIRS))
    # no seed: the first N in pool order, as before
    assert _pairs(select_comparisons(store, full, 5)) == [0, 1, 2, 3, 4]
    with pytest.raises(PcclipError, match="40 accepted comparisons, 41 asked"):
        select_comparisons(store, full, N_PAIRS + 1, order_seed=0)
    store.close()


def test_llm_arms_of_one_seed_get_the_same_pairs_where_both_accepted(db_file: Path) -> None:
    store, full, picky = _pools(db_file)
    a = _pairs(select_comparisons(store, full, N_PAIRS, order_seed=2))
    b = _pairs(select_comparisons(store, picky, 12, order_seed=2))
    assert b == [k for k in a if k % 3 != 0][:12]  # the shared order, minus what the picky LLM rejected
    # a window: draw only from the first 20 candidates in pool order (what a capped arm has), still seeded
    w = _pairs(select_comparisons(store, full, 8, order_seed=2, window=20))
    assert w == [k for k in a if k < 20][:8]
    assert _pairs(select_comparisons(store, full, 4, order_seed=2, window=20)) == w[:4]
    with pytest.raises(PcclipError, match="window 5 is smaller than N = 8"):
        select_comparisons(store, full, 8, order_seed=2, window=5)
    store.close()


def test_plan_marks_seeded_finetunes_and_prefix_keeps_the_old_keys() -> None:
    seeded = plan_spec(load_spec("testbed")[0])
    ft = [j for j in seeded.jobs if j.kind.endswith("finetune")]
    assert ft and all(j.params["subset"] == "seeded" for j in ft)
    # every arm at one N draws from the same window: the smallest arm pool that holds N (max_n = 100 here)
    windows = {(j.params["arm"], j.params["n"]): j.params["window"] for j in ft}
    assert windows[("oracle", 30)] == windows[("smollm2-135m", 30)] == windows[("gemma3-270m", 30)] == 100
    assert windows[("oracle", 300)] == windows[("oracle", 3000)] == 3000
    text = load_spec("testbed")[1]
    assert 'subset = "seeded"' in text
    text = text.replace('subset = "seeded"', 'subset = "prefix"', 1)
    prefix = plan_spec(spec_from_text(text, "t.toml"))
    ft2 = [j for j in prefix.jobs if j.kind.endswith("finetune")]
    assert ft2 and all("subset" not in j.params for j in ft2)
    assert {j.key for j in ft}.isdisjoint({j.key for j in ft2})
    with pytest.raises(SpecError, match="subset"):
        spec_from_text(text.replace('subset = "prefix"', 'subset = "random"'), "t.toml")


def test_an_arm_with_max_n_generates_less_and_skips_larger_n() -> None:
    text = re.sub(r"(?m)^max_n = .*\n", "", load_spec("testbed")[1])  # no caps, then one on SmolLM2
    head, sep, tail = text.partition('model = "smollm2-135m"')
    capped = head + sep + "\nmax_n = 100" + tail
    plan = plan_spec(spec_from_text(capped, "t.toml"))
    pools = {j.params["llm"]["name"]: j for j in plan.jobs if j.kind.endswith("pool")}
    assert pools["smollm2-135m"].params["n_pairs"] == 100 and pools["smollm2-135m"].params["max_pairs"] == 400
    assert pools["oracle"].params["n_pairs"] == spec_from_text(capped, "t.toml").dataset.pool_size
    ns = {(j.params["arm"], j.params["n"]) for j in plan.jobs if j.kind.endswith("finetune")}
    assert {n for arm, n in ns if arm == "smollm2-135m"} == {n for arm, n in ns if arm == "oracle" and n <= 100}
    assert max(n for arm, n in ns if arm == "oracle") > 100
    with pytest.raises(SpecError, match="max_n = 5 is below every N > 0"):
        spec_from_text(head + sep + "\nmax_n = 5" + tail, "t.toml")
