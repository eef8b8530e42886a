"""Spec validation: the bundled specs are valid, and bad specs fail with file, field path and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
from runner_helpers import pcclip

from pcclip.errors import SpecError
from pcclip.jobs.plan import plan_spec
from pcclip.spec import SpecValidationError, bundled_specs, load_spec, spec_from_text

GOOD = """
name = "t"
[dataset]
pool_size = 100
[[llm]]
name = "oracle"
backend = "template"
[ablation]
n = [0, 10, 100]
seeds = [0, 1]
"""


@pytest.mark.parametrize("name", ["testbed", "testbed-large", "paper", "selftest"])
def test_bundled_specs_validate_and_plan(name: str) -> None:
    assert name in bundled_specs()
    spec, text = load_spec(name)
    assert text.strip()
    plan = plan_spec(spec)
    kinds = [j.kind.removeprefix("selftest.") for j in plan.jobs]
    pool = spec.dataset.pool_size
    n_ft = sum(len([n for n in spec.ablation.n if 0 < n <= min(pool, a.get("max_n") or pool)]) for a in spec.llm
               ) * len(spec.ablation.seeds)
    assert kinds.count("finetune") == n_ft
    assert kinds.count("pool") == len(spec.llm)
    # Every finetune evaluated on every evaluation dataset, plus the base model ONCE per evaluation dataset.
    assert kinds.count("eval") == (n_ft + 1) * len(spec.evaluation.datasets)
    assert len({j.key for j in plan.jobs}) == len(plan.jobs)


def test_testbed_default_meets_the_brief() -> None:
    spec, _ = load_spec(None)
    assert spec.name == "testbed"
    assert 0 in spec.ablation.n and max(spec.ablation.n) == spec.dataset.pool_size
    assert len(spec.ablation.seeds) >= 5
    backends = sorted(a["backend"] for a in spec.llm)
    assert backends == ["llama_cpp", "llama_cpp", "template"]
    assert {"diff/mean", "zeroshot/*"} <= set(spec.evaluation.plot_tasks)


def test_paper_spec_names_the_papers_setup() -> None:
    spec, _ = load_spec("paper")
    assert spec.base_model.name == "ViT-L-14" and "datacomp_xl" in (spec.base_model.pretrained or "")
    assert spec.dataset.kind == "coco"
    backends = {a["backend"] for a in spec.llm}
    assert backends == {"llama_cpp", "openai", "t5"}


def _err(text: str, tmp_path: Path) -> SpecValidationError:
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(SpecValidationError) as info:
        load_spec(p)
    return info.value


def test_missing_field_names_file_and_field(tmp_path: Path) -> None:
    e = _err(GOOD.replace("seeds = [0, 1]", ""), tmp_path)
    assert str(tmp_path / "bad.toml") in e.lines[0]
    assert "ablation.seeds: required field missing" in e.lines[0]


def test_wrong_type_says_what_was_expected(tmp_path: Path) -> None:
    e = _err(GOOD.replace("pool_size = 100", 'pool_size = "many"'), tmp_path)
    assert "dataset.pool_size" in e.lines[0] and "integer" in e.lines[0] and "'many'" in e.lines[0]


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    e = _err(GOOD.replace("[ablation]", "[ablation]\nnn = 3"), tmp_path)
    assert "ablation.nn: unknown field" in e.lines[0]


def test_llm_arm_errors_name_the_arm(tmp_path: Path) -> None:
    bad = GOOD + '\n[[llm]]\nname = "x"\nbackend = "llama_cpp"\n'
    e = _err(bad, tmp_path)
    assert "llm[1] (x)" in e.lines[0] and "needs `model`" in e.lines[0]
    e2 = _err(GOOD.replace('backend = "template"', 'backend = "gpt5"'), tmp_path)
    assert "llm[0] (oracle).backend" in e2.lines[0]


def test_cross_field_rules(tmp_path: Path) -> None:
    e = _err(GOOD.replace("n = [0, 10, 100]", "n = [0, 10, 500]"), tmp_path)
    assert "exceed dataset.pool_size = 100" in e.lines[0]
    e = _err(GOOD.replace("n = [0, 10, 100]", "n = [0, 10, 10]"), tmp_path)
    assert "ablation.n" in e.lines[0] and "distinct" in e.lines[0]
    e = _err(GOOD.replace('name = "oracle"', 'name = "base"'), tmp_path)
    assert "'base' is reserved" in e.lines[0]


def test_nested_config_errors_use_the_owners_validation(tmp_path: Path) -> None:
    e = _err(GOOD + "\n[finetune]\nlr = -1\n", tmp_path)
    assert e.lines[0].endswith("(got -1)") and "finetune.lr" in e.lines[0]
    e = _err(GOOD + '\n[finetune]\nprofile = "nope"\n', tmp_path)
    assert "finetune.profile" in e.lines[0] and "testbed" in e.lines[0]


def test_many_errors_are_all_reported(tmp_path: Path) -> None:
    e = _err(GOOD.replace("pool_size = 100", "pool_size = 0\nfoo = 1"), tmp_path)
    assert len(e.lines) == 2
    assert "and 1 more" in str(e) and "\n" not in str(e)


def test_toml_syntax_and_unknown_names() -> None:
    with pytest.raises(SpecError, match="not valid TOML"):
        spec_from_text("name = ", "x.toml")
    with pytest.raises(SpecError, match="unknown spec 'nope'; bundled specs: .*testbed"):
        load_spec("nope")
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec("/nonexistent/x.toml")


def test_cli_validate_prints_every_problem(tmp_path: Path, db_file: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(GOOD.replace("pool_size = 100", "pool_size = 0\nfoo = 1"))
    out = pcclip(db_file, "spec", "validate", str(p), check=False)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 2 and all(ln.startswith(str(p)) for ln in lines)
    assert "Traceback" not in out.stderr
    ok = pcclip(db_file, "spec", "validate", "selftest")
    assert "ok" in ok.stdout
    shown = pcclip(db_file, "spec", "show", "testbed")
    assert 'name = "testbed"' in shown.stdout and "plan:" in shown.stderr


def _keys(text: str) -> dict[str, str]:
    return {j.label: j.key for j in plan_spec(spec_from_text(text)).jobs}


def test_keys_ignore_what_does_not_change_results() -> None:
    base = GOOD + '\n[[llm]]\nname = "smol"\nbackend = "llama_cpp"\nmodel = "smollm2-135m"\n'
    k0 = _keys(base)
    # CPU threads of pretraining, an LLM's hardware settings, the executor: same jobs.
    same = base.replace('model = "smollm2-135m"', 'model = "smollm2-135m"\nn_parallel = 2') + (
        "\n[base_model.pretrain]\nthreads = 1\n[executor]\njobs = 3\n"
    )
    assert _keys(same) == k0
    # A changed learning rate re-keys the finetunes and their evaluations, nothing upstream.
    k2 = _keys(base + "\n[finetune]\nlr = 0.01\n")
    changed = {label for label in k0 if k0[label] != k2[label]}
    assert changed and all(label.startswith(("finetune", "eval oracle", "eval smol")) for label in changed)
    assert k0["eval base on testbed/test"] == k2["eval base on testbed/test"]
    # A renamed arm keeps its pool (same text) but its runs are new rows.
    k3 = _keys(base.replace('name = "smol"', 'name = "smol2"'))
    assert k3["pool smol2"] == k0["pool smol"]


def test_experiment_identity_is_the_planned_jobs(db_file: Path) -> None:
    """Comments, executor settings and non-key fields (pretraining threads) keep the experiment; a change to any
    job makes a new one."""
    from pcclip.jobs.plan import materialize
    from pcclip.store import open_store

    text = load_spec("testbed")[1]
    same = "# a comment\n" + text.replace("jobs = 2", "jobs = 1").replace(
        "[base_model.pretrain]   # PretrainConfig (defaults)", "[base_model.pretrain]\nthreads = 1")
    other = text.replace("seeds = [0, 1, 2, 3, 4]", "seeds = [0, 1, 2, 3, 5]")
    store = open_store(db_file)
    try:
        ids = [materialize(store, spec, t, plan_spec(spec)) for t in (text, same, other)
               for spec in [spec_from_text(t, "t.toml")]]
    finally:
        store.close()
    assert ids[0] == ids[1] != ids[2]
