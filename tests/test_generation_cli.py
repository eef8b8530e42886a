"""`pcclip generate` and `pcclip comparisons`, run as real subprocesses on a small testbed."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

TESTBED = ["-o", "n_pool=24", "-o", "n_train=8", "-o", "n_test=8"]


def pcclip(db: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pcclip", "--db", str(db), *args],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def test_generate_then_list_and_search(db_file: Path) -> None:
    r = pcclip(db_file, "generate", "--llm", "oracle", *TESTBED, "--n", "30", "--batch-size", "8",
               "--prompt", "one-sentence-v1")
    assert r.returncode == 0, r.stderr
    assert "pool 1: 30 comparisons, 30 accepted; rejected: none" in r.stdout
    assert "accepted" in r.stdout  # the progress line shows the acceptance rate

    # rerun with a larger n: same pool, extended
    r = pcclip(db_file, "generate", "--llm", "oracle", *TESTBED, "--n", "40", "--prompt", "one-sentence-v1")
    assert "pool 1: 40 comparisons" in r.stdout, r.stderr

    rows = json.loads(pcclip(db_file, "comparisons", "--json", "--limit", "0").stdout)
    assert [x["idx"] for x in rows] == list(range(40)) and all(x["accepted"] == 1 for x in rows)
    assert {"pool", "idx", "llm", "item_i", "item_j", "reason", "tokens", "seconds", "text"} <= set(rows[0])

    grep = json.loads(pcclip(db_file, "comparisons", "--json", "--grep", "STARS", "--limit", "0").stdout)
    assert 0 < len(grep) < 40
    hay = [(x["raw_text"] + x["caption_i"] + x["caption_j"]).lower() for x in grep]
    assert all("stars" in h for h in hay)
    assert sum("stars" in (x["raw_text"] + x["caption_i"] + x["caption_j"]).lower() for x in rows) == len(grep)

    out = pcclip(db_file, "comparisons", "--csv", "--limit", "5", "--accepted", "--llm", "oracle").stdout
    table = list(csv.DictReader(io.StringIO(out)))
    assert len(table) == 5 and table[0]["llm"] == "oracle"
    assert pcclip(db_file, "comparisons", "--csv", "--rejected").stdout.strip().count("\n") == 0  # header only
    pools = json.loads(pcclip(db_file, "comparisons", "--pools", "--json").stdout)
    assert len(pools) == 1 and pools[0]["rows"] == 40 and pools[0]["prompt"] == "one-sentence-v1"
    assert pools[0]["backend"] == "template"

    shown = pcclip(db_file, "comparisons", "--limit", "3")
    assert shown.returncode == 0 and "oracle" in shown.stdout and "first" in shown.stdout


def test_errors_are_one_line(db_file: Path) -> None:
    r = pcclip(db_file, "generate", "--llm", "gpt-4", *TESTBED, "--n", "2", env={"OPENAI_API_KEY": ""})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "set the environment variable OPENAI_API_KEY" in r.stderr
    r = pcclip(db_file, "generate", "--llm", "oracle", "--backend", "t5", "--n", "2")
    assert r.returncode == 1 and "either --llm NAME" in r.stderr
    r = pcclip(db_file, "generate", "--backend", "openai", "--n", "2")
    assert r.returncode == 1 and "backend openai needs `model`" in r.stderr
    r = pcclip(db_file, "generate", "--llm", "oracle", "-o", "n_pool", "--n", "2")
    assert r.returncode == 1 and "is not key=value" in r.stderr
    r = pcclip(db_file, "comparisons", "--accepted", "--rejected")
    assert r.returncode == 1 and "choose one of --accepted and --rejected" in r.stderr


SPEC = """
name = "mini"
[dataset]
kind = "testbed"
pool_size = 12
[dataset.options]
n_train = 8
n_pool = 24
n_test = 8
[[llm]]
name = "oracle"
backend = "template"
[[llm]]
name = "smollm2-135m"
backend = "llama_cpp"
model = "smollm2-135m"
[ablation]
n = [0, 12]
seeds = [0]
"""


def test_generate_the_pools_of_a_spec(db_file: Path, tmp_path: Path) -> None:
    spec = tmp_path / "mini.toml"
    spec.write_text(SPEC)
    r = pcclip(db_file, "generate", "--spec", str(spec), "--llm", "oracle")
    assert r.returncode == 0, r.stderr
    assert "oracle: pool 1: 12 comparisons, 12 accepted" in r.stdout
    r = pcclip(db_file, "generate", "--spec", str(spec), "--llm", "gpt")
    assert r.returncode == 1 and "no LLM arm named 'gpt'; it has: oracle, smollm2-135m" in r.stderr
