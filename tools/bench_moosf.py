#!/usr/bin/env python
"""Complexity and speed of MOOSF's fused models against the single strategies (the paper's Table 9).

For ResNet-32 on 32×32 CIFAR-100-LT-sized problems (100 classes, IF 100 class counts) it measures, in one process:

* parameters of every single-strategy model (backbone + that strategy's head) and of every fused model (one shared
  backbone + one head set per strategy);
* MACs per image, counted with `torch.utils.flop_counter.FlopCounterMode` (MACs = FLOPs / 2; convolutions and
  matrix products only, BN/ReLU not counted): `macs_train` is the training forward on all the views the model needs
  (BCL: three), `macs_infer` the test-time forward on one view;
* the time of one training step (the library's `ltmoo.step.Stepper`: zero_grad, `train_step`, `optimizer.step()`;
  batch 128 of random images already on the device, no data loading or augmentation): the median of `--steps` steps
  after `--warmup` steps. Steps are interleaved (one step of every model per round) so that changes in machine load
  affect all models alike.

The paper's ratios (Appendix E.2): γ1 = parameters of the fused model / Σ parameters of its single models, and
γ2 = training time of the fused model / Σ training times of its single models (here: step times; the epoch counts
are equal, so the ratio is the same). We also report `vs_first` = fused step / step of the pair's first strategy
(MOOSF(CE+BS) vs CE) and `vs_max` = fused step / slowest single strategy of the pair.

Example: `python tools/bench_moosf.py --device cpu --steps 5 --out bench_cpu.json`
"""
from __future__ import annotations
import argparse, json, platform, statistics, time, datetime
import torch
from torch.utils.flop_counter import FlopCounterMode
from ltmoo.runs import hardware
from ltmoo.models import make_backbone, n_params
from ltmoo.methods import Single, MOOSF, MTL
from ltmoo.step import Stepper


def lt_counts(num_classes:int=100, n_max:int=500, imb:float=100.) -> list:
    "CIFAR-LT class counts by the LDAM-DRW rule."
    return [int(n_max * (1. / imb) ** (c / (num_classes - 1.))) for c in range(num_classes)]


def build(kind:str, strategies:tuple, args, counts:list):
    "A single-strategy model ('single'), a fused MOOSF model ('moosf'), or the MTL sum ('mtl'), on the device."
    torch.manual_seed(args.seed)
    bb = make_backbone(args.model)
    C, E = len(counts), args.epochs
    if kind == 'single': m = Single(bb, C, counts, E, strategy=strategies[0], preset=args.preset)
    elif kind == 'mtl': m = MTL(bb, C, counts, E, strategies=strategies, preset=args.preset)
    else: m = MOOSF(bb, C, counts, E, strategies=strategies, preset=args.preset, aggregator=args.aggregator,
                    mode=kind.split(':')[1], eoss_source='train')   # EOSS has no cost inside the training step
    return m.to(args.device)


def count_macs(m, n_views:int, device) -> dict:
    "MACs per image of the training forward (all views) and of the test-time forward (one view)."
    x = torch.randn(1, 3, 32, 32, device=device)
    m.eval()
    out = {}
    with torch.no_grad():
        with FlopCounterMode(display=False) as fc: m.forward_all([x] * n_views, 1)
        out['macs_train'] = fc.get_total_flops() / 2
        try:
            with FlopCounterMode(display=False) as fc: m.predict(x)
            out['macs_infer'] = fc.get_total_flops() / 2
        except Exception as e:                       # e.g. a strategy whose test-time forward is broken
            out['macs_infer'], out['macs_infer_error'] = None, f"{type(e).__name__}: {str(e)[:160]}"
    m.train()
    return out


class Timed:
    "One model's training steps (the library's `Stepper`: zero_grad, `train_step`, SGD step) on a fixed random batch."
    def __init__(self, m, args, counts:list):
        dev = torch.device(args.device)
        g = torch.Generator(device='cpu').manual_seed(args.seed)
        self.epoch = args.epoch
        self.views = [torch.randn(args.batch_size, 3, 32, 32, generator=g).to(dev) for _ in m.views]
        p = torch.tensor(counts, dtype=torch.float)
        self.y = torch.multinomial(p / p.sum(), args.batch_size, replacement=True, generator=g).to(dev)
        self.step = Stepper(m, torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=2e-4))
        self.sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == 'cuda' else (lambda: None)
        self.ts, self.conflicts = [], []
    def __call__(self, record:bool=True):
        self.sync(); t0 = time.perf_counter()
        logs = self.step(self.views, self.y, self.epoch).logs
        self.sync(); dt = time.perf_counter() - t0
        if record:
            self.ts.append(dt)
            if 'conflicts' in logs: self.conflicts.append(int(logs['conflicts']))
    def summary(self) -> dict:
        ts = self.ts
        return dict(step_s=statistics.median(ts), step_s_min=min(ts), step_s_mean=statistics.fmean(ts), steps=len(ts),
                    conflicts=self.conflicts or None)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--steps', type=int, default=20, help='timed steps (median reported)')
    ap.add_argument('--warmup', type=int, default=3, help='untimed steps first')
    ap.add_argument('--batch-size', type=int, default=128)
    ap.add_argument('--pairs', nargs='*', default=['ce,bs', 'bs,kps', 'kps,bcl'], help='fused models, e.g. ce,bs')
    ap.add_argument('--modes', nargs='*', default=['params', 'batched'], help="moo_backward modes for MOOSF")
    ap.add_argument('--no-mtl', action='store_true', help='skip the MTL (sum) models')
    ap.add_argument('--aggregator', default='hica+pcgrad')
    ap.add_argument('--preset', default='moosf')
    ap.add_argument('--model', default='resnet32')
    ap.add_argument('--num-classes', type=int, default=100)
    ap.add_argument('--imb', type=float, default=100.)
    ap.add_argument('--epochs', type=int, default=200, help='run length the strategies are built for')
    ap.add_argument('--epoch', type=int, default=0, help='epoch passed to train_step')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=None, help='write the results as JSON here')
    a = ap.parse_args(argv)
    dev = torch.device(a.device)
    if dev.type == 'cuda': torch.backends.cudnn.benchmark = True
    counts = lt_counts(a.num_classes, 500, a.imb)
    pairs = [tuple(p.split(',')) for p in a.pairs]
    singles = list(dict.fromkeys(s for p in pairs for s in p))
    rows, models = [], []
    for s in singles: models.append((s.upper(), 'single', (s,)))
    kinds = ([] if a.no_mtl else ['mtl']) + [f'moosf:{md}' for md in a.modes]
    for p in pairs:
        for k in kinds:
            tag = 'MTL' if k == 'mtl' else f"MOOSF[{k.split(':')[1]}]"
            models.append((f"{tag}({'+'.join(s.upper() for s in p)})", k, p))
    built = []
    for name, kind, strategies in models:
        m = build(kind, strategies, a, counts)
        r = dict(model=name, kind=kind.split(':')[0], mode=kind.split(':')[1] if ':' in kind else None,
                 strategies=list(strategies), views=len(m.views), params=n_params(m), **count_macs(m, len(m.views), dev))
        rows.append(r); built.append(Timed(m, a, counts))
        print(f"built {name}: {r['params']/1e6:.4f}M params, {r['macs_train']/1e6:.2f}M MACs/img (train)", flush=True)
    # Interleaved timing: every round runs one step of every model, so drifts in machine load hit all models alike.
    for _ in range(a.warmup):
        for st in built: st(record=False)
    for i in range(a.steps):
        for st in built: st()
        print(f'round {i + 1}/{a.steps} done', flush=True)
    single = {}
    for r, st in zip(rows, built):
        r.update(st.summary())
        if r['kind'] == 'single': single[r['strategies'][0]] = r
    for r in rows:
        if r['kind'] == 'single': continue
        p = r['strategies']
        sp, ss = sum(single[s]['params'] for s in p), sum(single[s]['step_s'] for s in p)
        r.update(gamma1=r['params'] / sp, gamma2=r['step_s'] / ss, vs_first=r['step_s'] / single[p[0]]['step_s'],
                 vs_max=r['step_s'] / max(single[s]['step_s'] for s in p))
        r['gamma1_over_gamma2'] = r['gamma1'] / r['gamma2']
    info = dict(hardware=hardware() if dev.type != 'cuda' else f"{torch.cuda.get_device_name(dev)}",
                cpu=platform.processor() or platform.machine(), torch=torch.__version__, device=str(dev),
                torch_threads=torch.get_num_threads(), python=platform.python_version(),
                cuda=torch.version.cuda, date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
                args=vars(a), class_counts=f"CIFAR-LT {a.num_classes} classes, IF {a.imb:g}")
    print('\n| model | params (M) | MACs/img train (M) | MACs/img infer (M) | step (ms) | γ1 | γ2 | γ1/γ2 | vs first | vs max |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    f = lambda v, k='.3f': '–' if v is None else format(v, k)
    for r in rows:
        mi = None if r['macs_infer'] is None else r['macs_infer'] / 1e6
        print(f"| {r['model']} | {r['params']/1e6:.4f} | {r['macs_train']/1e6:.2f} | {f(mi, '.2f')} | {1e3*r['step_s']:.1f} | "
              f"{f(r.get('gamma1'))} | {f(r.get('gamma2'))} | {f(r.get('gamma1_over_gamma2'))} | {f(r.get('vs_first'), '.2f')} | "
              f"{f(r.get('vs_max'), '.2f')} |")
    res = dict(info=info, results=rows)
    if a.out:
        with open(a.out, 'w') as fh: json.dump(res, fh, indent=2, default=str)
        print(f"\nwrote {a.out}")
    return res


if __name__ == '__main__': main()
