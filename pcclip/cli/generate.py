"""`pcclip generate` (write or extend a comparison pool) and `pcclip comparisons` (list and search them)."""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from pcclip.cli.context import db_from
from pcclip.cli.output import Format, print_rows
from pcclip.errors import PcclipError


def _options(pairs: list[str]) -> dict[str, Any]:
    """`key=value` dataset options; values are read as JSON when they parse (numbers, lists), else as text."""
    out: dict[str, Any] = {}
    for p in pairs:
        if "=" not in p:
            raise PcclipError(f"dataset option {p!r} is not key=value (e.g. -o root=/data/coco -o n_pool=200)")
        k, v = p.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except ValueError:
            out[k.strip()] = v
    return out


def _llm_config(
    llm: Optional[str], name: Optional[str], backend: Optional[str], fields: dict[str, Any]
) -> Any:
    from pcclip.llm.config import LlmConfig, preset

    given = {k: v for k, v in fields.items() if v is not None}
    if llm and backend:
        raise PcclipError("give either --llm NAME (a ready-made arm) or --backend/--model, not both")
    if llm:
        if name:
            given["name"] = name
        return preset(llm, **given)
    if not backend:
        raise PcclipError("say which LLM writes the comparisons: --llm smollm2-135m (or oracle, gemma3-270m, gpt-4, "
                          "flan-t5-xl, llama2-13b-chat), or --backend and --model")
    arm = name or (given.get("model") or backend).replace("/", "-")[-64:]
    return LlmConfig.parse({"name": arm, "backend": backend, **given}, where="--backend/--model")


def generate_cmd(
    ctx: typer.Context,
    spec: Optional[str] = typer.Option(
        None, "--spec", help="Generate the pools of an ablation spec (bundled name or TOML path); --llm picks one arm."
    ),
    dataset: str = typer.Option("testbed", "--dataset", help="Dataset kind (see `pcclip datasets list`)."),
    option: list[str] = typer.Option([], "--option", "-o", help="Dataset option key=value (repeatable)."),
    split: str = typer.Option("pool", "--split", help="The captioned split the pairs come from."),
    llm: Optional[str] = typer.Option(None, "--llm", help="A ready-made arm: smollm2-135m, gemma3-270m, oracle, ..."),
    name: Optional[str] = typer.Option(None, "--name", help="Arm name to record (default: the --llm or model)."),
    backend: Optional[str] = typer.Option(None, "--backend", help="llama_cpp | openai | t5 | template"),
    model: Optional[str] = typer.Option(None, "--model", help="GGUF path/alias, API model, T5 folder or repo."),
    model_file: Optional[str] = typer.Option(None, "--model-file", help="GGUF file inside the hub repo --model."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint."),
    api_key_env: Optional[str] = typer.Option(None, "--api-key-env", help="Variable holding the API key."),
    chat_format: Optional[str] = typer.Option(None, "--chat-format", help="llama.cpp chat format override."),
    n_gpu_layers: Optional[int] = typer.Option(None, "--n-gpu-layers", help="llama.cpp layers on the GPU (-1 all)."),
    prompt: Optional[str] = typer.Option(None, "--prompt", help="Prompt id (default paper-v1)."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens"),
    temperature: Optional[float] = typer.Option(None, "--temperature"),
    n: int = typer.Option(100, "--n", help="Pairs to cover (the pool is extended, never regenerated)."),
    min_accepted: Optional[int] = typer.Option(None, "--min-accepted", help="Extend until this many are accepted."),
    seed: int = typer.Option(0, "--seed", help="Pair-sampling seed."),
    batch_size: int = typer.Option(32, "--batch-size", help="Comparisons per batch (one commit each)."),
) -> None:
    """Generate (or resume, or extend) a pool of LLM-written comparisons of image pairs."""
    from pcclip.llm.config import LlmConfig

    if spec:
        # The same pools (same keys) that `pcclip run` makes for the spec: generate them ahead, or on their own.
        from pcclip.spec import load_spec

        if backend or model:
            raise PcclipError("with --spec, the arms come from the spec; use --llm NAME to pick one of them")
        sp, _text = load_spec(spec)
        arms = [LlmConfig.model_validate(a) for a in sp.llm]
        if llm:
            arms = [a for a in arms if a.name == llm]
            if not arms:
                names = ", ".join(a["name"] for a in sp.llm)
                raise PcclipError(f"the spec has no LLM arm named {llm!r}; it has: {names}")
        d = sp.dataset
        jobs = [(a, d.kind, d.options, d.split, d.pool_size, d.pool_seed, d.pool_size, d.max_pairs or 4 * d.pool_size)
                for a in arms]
    else:
        cfg = _llm_config(
            llm, name, backend,
            {"model": model, "model_file": model_file, "base_url": base_url, "api_key_env": api_key_env,
             "chat_format": chat_format, "n_gpu_layers": n_gpu_layers, "prompt_id": prompt,
             "max_tokens": max_tokens, "temperature": temperature},
        )
        jobs = [(cfg, dataset, _options(option), split, n, seed, min_accepted, None)]
    for job in jobs:
        _generate_one(ctx, *job, batch_size=batch_size)


def _generate_one(
    ctx: typer.Context, cfg: Any, kind: str, options: dict[str, Any], split: str, n: int, seed: int,
    min_accepted: int | None, max_pairs_cap: int | None, *, batch_size: int,
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pcclip.data.registry import open_dataset
    from pcclip.llm.generate import generate_pool
    from pcclip.llm.pool import pool_counts
    from pcclip.store import open_store

    store = open_store(db_from(ctx))
    try:
        with Progress(
            TextColumn("[bold]{task.fields[stage]}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.description}"), TimeElapsedColumn(), transient=False,
        ) as bar:
            task = bar.add_task("", total=None, stage="dataset")

            def report(done: float, total: float | None = None, message: str = "") -> None:
                bar.update(task, completed=done, total=total, description=message)

            ds = open_dataset(kind, progress=report, **options)
            bar.update(task, stage=cfg.name, completed=0, total=n, description="")
            pool_id = generate_pool(
                store, ds, split, cfg, n, seed=seed, progress=report, batch_size=batch_size,
                min_accepted=min_accepted, max_pairs_cap=max_pairs_cap,
            )
        c = pool_counts(store, pool_id)
    finally:
        store.close()
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(c["reasons"].items(), key=lambda kv: -kv[1])) or "none"
    typer.echo(f"{cfg.name}: pool {pool_id}: {c['rows']} comparisons, {c['accepted']} accepted; rejected: {reasons}")


def comparisons_cmd(
    ctx: typer.Context,
    pool: Optional[int] = typer.Option(None, "--pool", help="Only this pool id."),
    llm: Optional[str] = typer.Option(None, "--llm", help="Only pools written by this arm name."),
    accepted: bool = typer.Option(False, "--accepted", help="Only accepted comparisons."),
    rejected: bool = typer.Option(False, "--rejected", help="Only rejected ones."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Only this rejection reason (e.g. too-short)."),
    grep: Optional[str] = typer.Option(None, "--grep", help="Text to find (case-insensitive) in output or captions."),
    pools: bool = typer.Option(False, "--pools", help="List pools (counts and provenance) instead of comparisons."),
    limit: int = typer.Option(50, "--limit", help="At most this many rows (0 = all)."),
    csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List and search generated comparisons (or, with --pools, the pools)."""
    from pcclip.store import open_store

    if csv and as_json:
        raise PcclipError("choose one of --csv and --json")
    if accepted and rejected:
        raise PcclipError("choose one of --accepted and --rejected")
    fmt = Format.csv if csv else Format.json if as_json else Format.table
    store = open_store(db_from(ctx), readonly=True)
    try:
        conn = store.engine.raw_connection()
        try:
            cols, rows = (_pool_rows if pools else _comparison_rows)(
                conn, pool=pool, llm=llm, accepted=accepted, rejected=rejected, reason=reason, grep=grep, limit=limit
            )
        finally:
            conn.close()
    finally:
        store.close()
    if fmt is Format.table and not pools:  # a terminal: fewer, wider columns
        cols = ["pool", "idx", "llm", "pair", "verdict", "text"]
        rows = [(r[0], r[1], r[2], f"{r[3]}>{r[4]}", "ok" if r[5] else r[6], _short(r[13] if r[5] else r[12]))
                for r in rows]
    if fmt is Format.table and pools:
        cols = [c for c in cols if c not in ("sha256", "n_target")]
        rows = [r[:8] + r[9:11] for r in rows]
    print_rows(cols, rows, fmt, title="comparison pools" if pools else "comparisons")


def _short(text: str, width: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _where(pool, llm, accepted, rejected, reason, grep) -> tuple[str, list[Any]]:
    conds, args = [], []
    if pool is not None:
        conds.append("p.id = ?")
        args.append(pool)
    if llm:
        conds.append("l.name = ?")
        args.append(llm)
    if accepted:
        conds.append("c.accepted = 1")
    if rejected:
        conds.append("c.accepted = 0")
    if reason:
        conds.append("c.reject_reason = ?")
        args.append(reason)
    if grep:
        conds.append("(c.raw_text LIKE ? OR c.caption_i LIKE ? OR c.caption_j LIKE ?)")
        args += [f"%{grep}%"] * 3
    return (" WHERE " + " AND ".join(conds)) if conds else "", args


def _comparison_rows(conn, *, pool, llm, accepted, rejected, reason, grep, limit):
    where, args = _where(pool, llm, accepted, rejected, reason, grep)
    sql = (
        "SELECT p.id, c.idx, l.name, c.item_i, c.item_j, c.accepted, COALESCE(c.reject_reason, ''), c.tokens, "
        "round(c.seconds, 3), c.prompt_id, c.caption_i, c.caption_j, c.raw_text, c.text "
        "FROM comparison c JOIN pool p ON p.id = c.pool_id JOIN llm l ON l.id = p.llm_id"
        f"{where} ORDER BY p.id, c.idx" + (" LIMIT ?" if limit else "")
    )
    rows = conn.execute(sql, args + ([limit] if limit else [])).fetchall()
    cols = ["pool", "idx", "llm", "item_i", "item_j", "accepted", "reason", "tokens", "seconds", "prompt_id",
            "caption_i", "caption_j", "raw_text", "text"]
    return cols, [tuple(r) for r in rows]


def _pool_rows(conn, *, pool, llm, accepted, rejected, reason, grep, limit):
    where, args = _where(pool, llm, accepted, rejected, reason, grep)
    sql = (
        "SELECT p.id, l.name, l.backend, l.model_id, d.name, p.split, p.prompt_id, p.seed, p.n_target, "
        "count(c.id), COALESCE(sum(c.accepted), 0), substr(COALESCE(l.file_sha256, ''), 1, 12) "
        "FROM pool p JOIN llm l ON l.id = p.llm_id LEFT JOIN dataset d ON d.id = p.dataset_id "
        f"LEFT JOIN comparison c ON c.pool_id = p.id{where} GROUP BY p.id ORDER BY p.id"
        + (" LIMIT ?" if limit else "")
    )
    rows = conn.execute(sql, args + ([limit] if limit else [])).fetchall()
    cols = ["pool", "llm", "backend", "model", "dataset", "split", "prompt", "seed", "n_target", "rows", "accepted",
            "sha256"]
    return cols, [tuple(r) for r in rows]


def register(root: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    root.command("generate")(generate_cmd)
    root.command("comparisons")(comparisons_cmd)
