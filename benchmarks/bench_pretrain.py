"""Pretraining step cost of the testbed's base CLIP: our path (text cut to the batch's used context) against a
plain open_clip training step (full 48-token context), in the same run. Prints CPU seconds per step (the honest
figure on a shared machine: wall time there depends on the neighbours) and the ratio, plus the projected cost of the
default pretraining.

    .venv/bin/python benchmarks/bench_pretrain.py [--steps 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import numpy as np
    import open_clip
    import torch

    from pcclip.data.testbed import render
    from pcclip.data.testbed_world import caption, sample_records
    from pcclip.models import register_model_configs
    from pcclip.pretrain import PretrainConfig, images_to_tensor
    from pcclip.train import encode_text

    torch.set_num_threads(args.threads)
    register_model_configs()
    cfg = PretrainConfig()
    recs = sample_records(0, cfg.batch_size)
    imgs = np.stack([render(r, 64) for r in recs])
    rng = np.random.default_rng(0)

    def run(ours: bool) -> tuple[float, float]:
        torch.manual_seed(0)
        model = open_clip.create_model(cfg.arch, pretrained=None)
        tok = open_clip.get_tokenizer(cfg.arch)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
        loss_fn = open_clip.ClipLoss()
        mean, std = model.visual.preprocess_cfg["mean"], model.visual.preprocess_cfg["std"]
        x = images_to_tensor(imgs, mean, std)
        wall = cpu = 0.0
        for step in range(args.steps + 1):
            t0, c0 = time.perf_counter(), time.process_time()
            tokens = tok([caption(r, rng=rng) for r in recs])
            if ours:
                i, t = model.encode_image(x, normalize=True), encode_text(model, tokens, normalize=True)
            else:
                i, t = model.encode_image(x, normalize=True), model.encode_text(tokens, normalize=True)
            loss = loss_fn(i, t, model.logit_scale.exp())
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step:  # the first step warms up allocators
                wall += time.perf_counter() - t0
                cpu += time.process_time() - c0
        return wall / args.steps, cpu / args.steps

    base_wall, base_cpu = run(False)
    our_wall, our_cpu = run(True)
    print(f"batch {cfg.batch_size}, {args.threads} thread(s), {args.steps} steps each")
    print(f"plain open_clip step: {base_cpu:.3f} CPU s ({base_wall:.3f} s wall)")
    print(f"pcclip pretrain step: {our_cpu:.3f} CPU s ({our_wall:.3f} s wall)")
    print(f"speedup (CPU time): {base_cpu / our_cpu:.2f}x")
    print(f"default pretraining ({cfg.steps} steps): ~{cfg.steps * our_cpu / 60:.1f} CPU minutes")


if __name__ == "__main__":
    main()
