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

`--aggregators NAME[,NAME...]` (names of `ltmoo.moo.AGGREGATORS`, passed to MOOSF as given: 'hica+jd_upgrad' puts
HICA's weights first as the study's MOOSF runs do, 'jd_upgrad' runs torchjd's UPGrad alone; `jd_*` need
`pip install 'ltmoo[jd]'`) adds, for the first pair of `--pairs` in mode 'params', MOOSF with each aggregator, timed in
the same round-robin as everything else. These rows go in the JSON's top-level list `aggregators` (not in `results`,
so MOOSF Table 9 is unchanged), named `MOOSF[params](CE+BS)@NAME`, each with `aggregator`, `family: 'moosf'`,
`times_s`, `ratio_to_mgda` (its median step / that of the row `MOOSF[params](CE+BS)@mgda`, always run then) and
`ratio_to_paper` (/ MOOSF's own 'hica+pcgrad': the `results` row `MOOSF[params](CE+BS)`, or a row `...@hica+pcgrad`
when `--aggregator`/`--modes` leave that out); `mgda_ref` and `paper_ref` name the two reference rows. On a shared
CPU, `OMP_NUM_THREADS=1` keeps the step times steady (2 threads on 2 busy cores: 5x swings).

    OMP_NUM_THREADS=1 python tools/bench_moosf.py --device cpu --batch-size 64 --steps 8 --warmup 2 --pairs ce,bs \
        --modes params --no-mtl --aggregators hica+jd_upgrad,hica+jd_cagrad --out /tmp/bench_aggregators_moosf_cpu.json
"""
from __future__ import annotations
import argparse, json, platform, statistics, sys, time, datetime
from pathlib import Path
import torch
from torch.utils.flop_counter import FlopCounterMode
from ltmoo.runs import hardware
from ltmoo.core import UserError, user_errors
from ltmoo.moo import AGGREGATORS
import ltmoo.jd  # noqa: F401  (registers torchjd's aggregators, jd_* and hica+jd_*, by name)
from ltmoo.models import make_backbone, n_params
from ltmoo.methods import Single, MOOSF, MTL
from ltmoo.step import Stepper
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gbg import aggregator_names  # noqa: E402  (the same check of --aggregators)


def lt_counts(num_classes:int=100, n_max:int=500, imb:float=100.) -> list:
    "CIFAR-LT class counts by the LDAM-DRW rule."
    return [int(n_max * (1. / imb) ** (c / (num_classes - 1.))) for c in range(num_classes)]


MGDA, PAPER = 'mgda', 'hica+pcgrad'    # the references of `--aggregators` rows: MGDA, and MOOSF's own aggregator




def build(kind:str, strategies:tuple, args, counts:list, aggregator:str|None=None):
    "A single-strategy model ('single'), a fused MOOSF model ('moosf'), or the MTL sum ('mtl'), on the device."
    torch.manual_seed(args.seed)
    bb = make_backbone(args.model)
    C, E = len(counts), args.epochs
    if kind == 'single': m = Single(bb, C, counts, E, strategy=strategies[0], preset=args.preset)
    elif kind == 'mtl': m = MTL(bb, C, counts, E, strategies=strategies, preset=args.preset)
    else: m = MOOSF(bb, C, counts, E, strategies=strategies, preset=args.preset, aggregator=aggregator or args.aggregator,
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
    ap.add_argument('--aggregators', default=None, metavar='NAME[,NAME...]',
                    help="also MOOSF[params] of the first pair with each of these aggregators (e.g. hica+jd_upgrad), "
                         "against MOOSF with 'mgda' and with 'hica+pcgrad' (top-level list `aggregators`)")
    ap.add_argument('--preset', default='moosf')
    ap.add_argument('--model', default='resnet32')
    ap.add_argument('--num-classes', type=int, default=100)
    ap.add_argument('--imb', type=float, default=100.)
    ap.add_argument('--epochs', type=int, default=200, help='run length the strategies are built for')
    ap.add_argument('--epoch', type=int, default=0, help='epoch passed to train_step')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=None, help='write the results as JSON here')
    a = ap.parse_args(argv)
    with user_errors():                                           # a mistake: one line and exit 2
        aggs = aggregator_names(a.aggregators, heads=True)
        if aggs and not a.pairs: raise UserError("--aggregators needs a pair (--pairs ce,bs)")
    dev = torch.device(a.device)
    if dev.type == 'cuda': torch.backends.cudnn.benchmark = True
    counts = lt_counts(a.num_classes, 500, a.imb)
    pairs = [tuple(p.split(',')) for p in a.pairs]
    singles = list(dict.fromkeys(s for p in pairs for s in p))
    rows, models = [], []
    for s in singles: models.append((s.upper(), 'single', (s,), None))
    kinds = ([] if a.no_mtl else ['mtl']) + [f'moosf:{md}' for md in a.modes]
    for p in pairs:
        for k in kinds:
            tag = 'MTL' if k == 'mtl' else f"MOOSF[{k.split(':')[1]}]"
            models.append((f"{tag}({'+'.join(s.upper() for s in p)})", k, p, None))
    paper_ref = mgda_ref = None
    if aggs:             # MOOSF[params] of the first pair with each aggregator, MGDA's and the paper's as references
        stem = f"MOOSF[params]({'+'.join(s.upper() for s in pairs[0])})"
        own = stem if a.aggregator == PAPER and 'params' in a.modes else None   # the paper's row, in `results`
        paper_ref, mgda_ref = own or f"{stem}@{PAPER}", f"{stem}@{MGDA}"
        for n in dict.fromkeys([MGDA] + ([] if own else [PAPER]) + aggs):
            models.append((f"{stem}@{n}", 'moosf:params', pairs[0], n))
    built, made, agg_rows = [], [], []
    for name, kind, strategies, agg in models:
        m = build(kind, strategies, a, counts, agg)
        r = dict(model=name, kind=kind.split(':')[0], mode=kind.split(':')[1] if ':' in kind else None,
                 strategies=list(strategies))
        if agg is not None: r.update(aggregator=agg, family='moosf', aggregator_kw=dict(m.aggregator_kw))
        r.update(views=len(m.views), params=n_params(m), **count_macs(m, len(m.views), dev))
        (rows if agg is None else agg_rows).append(r); made.append(r); built.append(Timed(m, a, counts))
        print(f"built {name}: {r['params']/1e6:.4f}M params, {r['macs_train']/1e6:.2f}M MACs/img (train)", flush=True)
    # Interleaved timing: every round runs one step of every model, so drifts in machine load hit all models alike.
    for _ in range(a.warmup):
        for st in built: st(record=False)
    for i in range(a.steps):
        for st in built: st()
        print(f'round {i + 1}/{a.steps} done', flush=True)
    single = {}
    for r, st in zip(made, built):
        r.update(st.summary())
        if r['kind'] == 'single': single[r['strategies'][0]] = r
        if r.get('family'): r['times_s'] = list(st.ts)
    for r in made:
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
    if aggs:
        step = {r['model']: r['step_s'] for r in made}
        for r in agg_rows:
            r.update(ratio_to_mgda=r['step_s'] / step[mgda_ref], ratio_to_paper=r['step_s'] / step[paper_ref],
                     mgda_ref=mgda_ref, paper_ref=paper_ref)
        info.update(aggregators=aggs, mgda_ref=mgda_ref, paper_ref=paper_ref)
    print('\n| model | params (M) | MACs/img train (M) | MACs/img infer (M) | step (ms) | γ1 | γ2 | γ1/γ2 | vs first | vs max |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    f = lambda v, k='.3f': '–' if v is None else format(v, k)
    for r in rows:
        mi = None if r['macs_infer'] is None else r['macs_infer'] / 1e6
        print(f"| {r['model']} | {r['params']/1e6:.4f} | {r['macs_train']/1e6:.2f} | {f(mi, '.2f')} | {1e3*r['step_s']:.1f} | "
              f"{f(r.get('gamma1'))} | {f(r.get('gamma2'))} | {f(r.get('gamma1_over_gamma2'))} | {f(r.get('vs_first'), '.2f')} | "
              f"{f(r.get('vs_max'), '.2f')} |")
    if aggs:
        print('\n| MOOSF[params] aggregator | step (ms) | x MGDA | x hica+pcgrad |')
        print('|---|---|---|---|')
        for r in agg_rows:
            print(f"| {r['aggregator']} | {1e3*r['step_s']:.1f} | {r['ratio_to_mgda']:.2f} | {r['ratio_to_paper']:.2f} |")
    res = dict(info=info, results=rows, **(dict(aggregators=agg_rows) if aggs else {}))
    if a.out:
        with open(a.out, 'w') as fh: json.dump(res, fh, indent=2, default=str)
        print(f"\nwrote {a.out}")
    return res


if __name__ == '__main__': main()
