"""Throughput of the llama_cpp backend's batched path against a plain `create_chat_completion` loop.

Both paths run in the same process on the same 64 prompts of the paper's form, with the same model object, threads
and sampling settings (greedy). Prints comparisons/s, generated tokens/s, the ratio, how many outputs are identical,
and the ceiling for batched decoding: llama.cpp's prompt-processing rate for the same model.

    .venv/bin/python benchmarks/bench_generate.py                 # SmolLM2, 64 pairs, n_parallel 16
    .venv/bin/python benchmarks/bench_generate.py --n-parallel 8 --repeats 3
    .venv/bin/python benchmarks/bench_generate.py --model /path/llama-2-13b-chat.Q4_K_M.gguf --n-gpu-layers -1
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from pcclip.llm.base import SamplingParams
from pcclip.llm.llama_cpp_backend import LlamaCppBackend
from pcclip.llm.local_models import default_gguf

CAPTIONS = [
    "a red circle",
    "a blue square",
    "a green triangle",
    "a yellow star",
    "a purple hexagon",
    "an orange heart",
    "a small red square",
    "a large blue circle",
    "two green circles",
    "three yellow triangles",
    "a pink diamond",
    "a white cross on black",
    "a brown oval",
    "a grey pentagon",
    "a small purple star",
    "a big orange square",
    "a red circle next to a blue square",
    "a green star above a red circle",
    "two small blue triangles",
    "a cyan ring",
    "a black arrow pointing left",
    "a yellow crescent moon",
    "a striped red square",
    "a dotted blue circle",
    "a tiny green heart",
    "four orange dots",
    "a magenta trapezoid",
    "a teal rectangle",
    "a gold star in the corner",
    "a navy blue octagon",
    "a lime green arrow",
    "a red and white target",
    "a pale yellow cloud shape",
    "a dark green leaf shape",
    "a blue square inside a red circle",
    "three purple squares in a row",
    "a large black triangle",
    "a small white circle",
    "an orange spiral",
    "a violet lightning bolt",
]
QUESTION = (
    'What is the visual difference between an image with a description of "{a}" and an image with a description '
    'of "{b}"? Answer in one sentence.'
)


def make_prompts(n: int, seed: int = 0) -> list[str]:
    pairs = [(i, j) for i in range(len(CAPTIONS)) for j in range(len(CAPTIONS)) if i != j]
    chosen = random.Random(seed).sample(pairs, n)
    return [QUESTION.format(a=CAPTIONS[i], b=CAPTIONS[j]) for i, j in chosen]


Timing = tuple[list[str], int, float, float]  # texts, generated tokens, wall seconds, CPU seconds of this process


def plain_loop(backend: LlamaCppBackend, prompts: list[str], params: SamplingParams) -> Timing:
    """The baseline, written out: one create_chat_completion call per prompt."""
    texts, tokens = [], 0
    t0, c0 = time.perf_counter(), time.process_time()
    for prompt in prompts:
        res = backend.llm.create_chat_completion(
            messages=[{"role": "user", "content": prompt}],
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            stop=list(params.stop),
        )
        texts.append(res["choices"][0]["message"]["content"])
        tokens += res["usage"]["completion_tokens"]
    return texts, tokens, time.perf_counter() - t0, time.process_time() - c0


def batched(backend: LlamaCppBackend, prompts: list[str], params: SamplingParams) -> Timing:
    t0, c0 = time.perf_counter(), time.process_time()
    gens = backend.generate(prompts, params)
    return [g.text for g in gens], sum(g.tokens for g in gens), time.perf_counter() - t0, time.process_time() - c0


def prompt_processing_rate(backend: LlamaCppBackend, n_tokens: int = 512, tries: int = 3) -> float:
    """llama.cpp's prompt-processing rate (tokens/s): one batch of n_tokens evaluated in a single sequence."""
    llm = backend.llm
    vocab = llm.n_vocab()
    tokens = [100 + (k * 7919) % (vocab - 200) for k in range(n_tokens)]
    best = 0.0
    for _ in range(tries):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(tokens)
        best = max(best, n_tokens / (time.perf_counter() - t0))
    llm.reset()
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="GGUF path (default: the packaged SmolLM2-135M-Instruct)")
    ap.add_argument("--n", type=int, default=64, help="number of comparisons")
    ap.add_argument("--n-parallel", type=int, default=16)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--n-gpu-layers", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--stop", action="append", default=None, help="stop string; escapes allowed; repeatable")
    ap.add_argument("--repeats", type=int, default=2, help="alternate plain/batched this many times; medians")
    args = ap.parse_args()

    path = args.model or str(default_gguf("smollm2-135m"))
    backend = LlamaCppBackend(path, n_threads=args.threads, n_parallel=args.n_parallel, n_gpu_layers=args.n_gpu_layers)
    # Escapes as typed on a command line (`--stop '\n'`) mean the characters.
    stop = tuple(x.encode().decode("unicode_escape") for x in args.stop) if args.stop is not None else ("\n",)
    params = SamplingParams(max_tokens=args.max_tokens, temperature=0.0, stop=stop)
    prompts = make_prompts(args.n)
    print(
        f"model {os.path.basename(path)}  threads {args.threads}  n_parallel {args.n_parallel}  "
        f"max_tokens {params.max_tokens}  stop {list(stop)}  load average {os.getloadavg()[0]:.2f}"
    )
    # Warm both paths (first-call allocations, the batched context) on prompts outside the measured set.
    warm = make_prompts(4, seed=1)
    backend.generate(warm, params)
    plain_loop(backend, warm[:2], params)

    plain_s, fast_s, plain_cpu, fast_cpu = [], [], [], []
    for _ in range(args.repeats):
        p_texts, p_tokens, t, c = plain_loop(backend, prompts, params)
        plain_s.append(t)
        plain_cpu.append(c)
        f_texts, f_tokens, t, c = batched(backend, prompts, params)
        fast_s.append(t)
        fast_cpu.append(c)
    tp, tf = statistics.median(plain_s), statistics.median(fast_s)
    cp, cf = statistics.median(plain_cpu), statistics.median(fast_cpu)
    same = sum(a == b for a, b in zip(p_texts, f_texts))
    pp = prompt_processing_rate(backend)
    n = len(prompts)
    print(
        f"plain create_chat_completion loop: {tp:6.2f} s  {n / tp:5.2f} comparisons/s  {p_tokens / tp:6.1f} "
        f"generated tokens/s  ({p_tokens} tokens; runs {', '.join(f'{x:.2f}' for x in plain_s)} s)"
    )
    print(
        f"batched generate (n_parallel {args.n_parallel}): {tf:6.2f} s  {n / tf:5.2f} comparisons/s  "
        f"{f_tokens / tf:6.1f} generated tokens/s  ({f_tokens} tokens; "
        f"runs {', '.join(f'{x:.2f}' for x in fast_s)} s)"
    )
    print(f"speed-up (plain / batched wall time): {tp / tf:.2f}x")
    # CPU seconds are less disturbed by other processes on a shared machine (exact only with --threads 1).
    print(f"CPU seconds: plain {cp:.2f}, batched {cf:.2f}: {cp / cf:.2f}x")
    print(f"identical outputs under greedy decoding: {same}/{n}")
    print(f"ceiling: llama.cpp prompt processing {pp:.0f} tokens/s (512-token batch, one sequence)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for i, (a, b) in enumerate(zip(p_texts, f_texts)):
        if a != b:
            print(f"  differs #{i}: plain {a[:70]!r}\n              batch {b[:70]!r}")
    print("sample outputs:")
    for t in f_texts[:3]:
        print(f"  {t!r}")
    backend.close()


if __name__ == "__main__":
    main()
