"""Peak memory of PC-CLIP text-encoder finetuning (default train_params) with cached image embeddings.

Each configuration runs in a fresh subprocess that loads the model (random weights, pretrained=None), then runs
`steps` training steps through `pcclip.train.train_loop` on random "cached" image embeddings. It prints peak RSS
after loading (the baseline) and after training, and on CUDA the peak allocated memory.

    .venv/bin/python benchmarks/bench_finetune_memory.py --model ViT-B-32 --batch 512 --steps 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CHILD = r"""
import json, os, resource, sys, time
import numpy as np, torch, open_clip
from pcclip.train import FinetuneConfig, train_loop
name, batch, steps, device, rehearsal = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
model, _, _ = open_clip.create_model_and_transforms(name, pretrained=None, device=device)
tok = open_clip.get_tokenizer(name)
dim = model.text_projection.shape[1] if model.text_projection is not None else 512
after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
n = batch * steps
emb = np.random.default_rng(0).normal(size=(n, dim)).astype(np.float32)
words = ["red", "small", "larger", "blue", "left", "three", "round", "striped"]
comps = [(i, (i + 1) % n, f"the first image is {words[i % 8]} while the second is {words[(i * 3) % 8]} {i}")
         for i in range(n)]
caps = [f"a photo of thing {i}" for i in range(n)]
if device.startswith("cuda"):
    torch.cuda.reset_peak_memory_stats()
cfg = FinetuneConfig(lr=1e-6, epochs=1, batch_size=batch, rehearsal_weight=rehearsal)
t0 = time.perf_counter()
train_loop(model, tok, emb, comps, cfg, captions=caps if rehearsal > 0 else None, device=device)
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {"model": name, "batch": batch, "steps": steps, "rehearsal": rehearsal, "device": device,
       "rss_after_load_mib": round(after_load), "peak_rss_mib": round(peak),
       "seconds_per_step": round(dt / steps, 2)}
if device.startswith("cuda"):
    out["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)
print("RESULT " + json.dumps(out))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="ViT-B-32")
    ap.add_argument("--batch", type=int, nargs="+", default=[512])
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rehearsal", type=float, default=0.0, help="weight of the CLIP loss on captions (0 = off)")
    args = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for b in args.batch:
        t0 = time.perf_counter()
        res = subprocess.run(
            [sys.executable, "-c", CHILD, args.model, str(b), str(args.steps), args.device, str(args.rehearsal)],
            capture_output=True,
            text=True,
            env=env,
        )
        line = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
        if not line:
            print(f"batch {b}: failed (rc {res.returncode})\n{res.stderr[-2000:]}")
            continue
        out = json.loads(line[-1][7:])
        out["train_peak_minus_load_mib"] = out["peak_rss_mib"] - out["rss_after_load_mib"]
        out["wall_s"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(out))


if __name__ == "__main__":
    main()
