#!/usr/bin/env python
"""Training throughput (images/second) of ltmoo's step on ImageNet-sized synthetic data, on 1..N GPUs.

The batch lives on the device (random uint8 images of `--size` pixels, random labels over `--classes` classes,
normalised there), so the number measures the model, the method's multi-objective step and the DDP gradient
sync, not JPEG decoding: it is the ceiling the data loader has to keep up with. Each configuration is built by
name from recipes.yaml's `methods` (the ImageNet-LT recipe's settings merged in by `run_config`), wrapped in the
trainer's `Stepper` (the same code `fit` runs: DDP with the share hook, bf16 autocast, channels-last), warmed up,
then timed over `--steps` steps with the device synchronised. `--batch` is the GLOBAL batch, as in training.

    python tools/bench_throughput.py --out results/bench/throughput_1gpu.json                 # one GPU
    torchrun --standalone --nproc_per_node 8 tools/bench_throughput.py --out results/bench/throughput_8gpu.json
    python tools/bench_throughput.py --device cpu --size 64 --batch 8 --steps 2 --warmup 1    # a CPU smoke check

GBG's groups are fixed (a random partition into 4): its one-time grouping pass is not part of the step.
"""
from __future__ import annotations
import argparse, json, statistics, time, datetime, platform, sys
from pathlib import Path
import torch
from ltmoo.core import seed_everything, write_json, resolve
from ltmoo.runs import hardware, git_commit
from ltmoo.distributed import init_distributed, destroy_distributed, DistEnv, all_reduce_sum
from ltmoo.step import Stepper
from ltmoo.augment import normalize, IMAGENET_MEAN, IMAGENET_STD
from ltmoo.models import make_backbone
from ltmoo.methods import build_method
from ltmoo.train import run_config


def build(run:str, classes:int, model:str, device, amp:str, channels_last:bool, env):
    "The method of recipes.yaml run `run` with ImageNet-LT's recipe, a Stepper around it, and its SGD."
    cfg = run_config('paper', run, {'data': {'dataset': 'imagenet_lt'}})
    m = dict(cfg['method'])
    if m.get('name') == 'gbg':
        g = torch.randperm(classes, generator=torch.Generator().manual_seed(0))
        m.update(groups=[sorted(g[i::4].tolist()) for i in range(4)], empty='skip')
    counts = [max(5, int(1280 * (5 / 1280) ** (c / (classes - 1)))) for c in range(classes)]   # ImageNet-LT-like 1280 → 5
    seed_everything(0)
    method = build_method(m, make_backbone(model), classes, counts, int(cfg['train']['epochs'])).to(device).train()
    opt = torch.optim.SGD(method.parameters(), lr=0.01, momentum=0.9, weight_decay=float(cfg['train']['weight_decay']))
    return method, opt, Stepper(method, opt, env, amp=amp, channels_last=channels_last)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--runs', default='ce,bcl,gbg,gbg_fast,moosf_ce_bs', help='recipes.yaml method keys')
    ap.add_argument('--model', default='resnet50'); ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--classes', type=int, default=1000); ap.add_argument('--batch', type=int, default=256, help='global batch')
    ap.add_argument('--steps', type=int, default=20); ap.add_argument('--warmup', type=int, default=5)
    ap.add_argument('--amp', default='bf16'); ap.add_argument('--no-channels-last', action='store_true')
    ap.add_argument('--device', default='auto'); ap.add_argument('--out', default='results/bench/throughput.json')
    a = ap.parse_args(argv)
    env = init_distributed(device=a.device)
    dev = env.device(a.device)
    amp = a.amp if (dev.type == 'cuda' or a.amp != 'fp16') else 'bf16'
    W = env.world_size
    if a.batch % W: raise SystemExit(f"--batch {a.batch} does not split over {W} ranks")
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == 'cuda' else (lambda: None)
    g = torch.Generator(device='cpu').manual_seed(env.rank)
    n = a.batch // W                                             # this rank's shard of the global batch
    x = torch.randint(0, 256, (3 * n, 3, a.size, a.size), dtype=torch.uint8, generator=g).to(dev)
    y = torch.randint(0, a.classes, (n,), generator=g).to(dev)
    rows = []
    for run in a.runs.split(','):
        method, opt, st = build(run, a.classes, a.model, dev, amp, not a.no_channels_last, env)
        views = [normalize(x[i * n:(i + 1) * n].float() / 255, IMAGENET_MEAN, IMAGENET_STD) for i in range(len(method.views))]
        if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
        times = []
        for i in range(a.warmup + a.steps):
            sync(); t0 = time.perf_counter()
            st(views, y, epoch=0, sharded=True)
            sync(); dt = time.perf_counter() - t0
            if i >= a.warmup: times.append(dt)
        med = statistics.median(times)
        mem = torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == 'cuda' else None
        rows.append(dict(run=run, views=len(method.views), step_s=med, images_per_s=a.batch / med,
                         images_per_s_per_rank=a.batch / med / W, peak_mem_gib=mem))
        if env.is_main: print(f"{run:>12}: {med * 1000:8.1f} ms/step  {a.batch / med:9.1f} img/s  ({W} rank(s))", flush=True)
        del method, opt, st
        if dev.type == 'cuda': torch.cuda.empty_cache()
    if env.is_main:
        ce = next((r['step_s'] for r in rows if r['run'] == 'ce'), None)
        for r in rows: r['step_vs_ce'] = r['step_s'] / ce if ce else None
        out = dict(what='training throughput on device-resident synthetic data (no decoding)', model=a.model, size=a.size,
                   classes=a.classes, global_batch=a.batch, world_size=W, amp=amp, channels_last=not a.no_channels_last,
                   steps=a.steps, warmup=a.warmup, device=str(dev), hardware=hardware(), commit=git_commit(),
                   torch=torch.__version__, python=platform.python_version(),
                   date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'), rows=rows)
        write_json(out, resolve(a.out))
        print(resolve(a.out))
    destroy_distributed()
    return rows


if __name__ == '__main__': main()
