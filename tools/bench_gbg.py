#!/usr/bin/env python
"""Step time of GBG against single-strategy training: ResNet-32, one batch of random 32x32 images.

Every configuration gets `--warmup` untimed steps, then the timed steps run round-robin over the
configurations (one step of each in turn, so load from other processes falls on all of them alike). A step is
the library's `ltmoo.step.Stepper`: zero_grad + forward + backward (the method's `train_step`) +
`optimizer.step()` on the same batch, with
`torch.cuda.synchronize()` around it on a GPU. The median step time is reported and divided by CE's (and by
that of the single strategy GBG wraps).

    python tools/bench_gbg.py --device cpu --steps 5 --out results/bench/gbg_cpu.json
    python tools/bench_gbg.py --device cuda --steps 50 --out results/bench/gbg_cuda.json

`--aggregators NAME[,NAME...]` (names of `ltmoo.moo.AGGREGATORS`; torchjd's `jd_*` need `pip install 'ltmoo[jd]'`)
adds, for each name, the paper's GBG (BCL, mode 'params', the 4 fixed groups) with that aggregator in place of MGDA,
as configuration `gbg_bcl_params@NAME`, with the options GBG itself gives that aggregator
(`ltmoo.methods.gbg.gbg_aggregator_kw`: MGDA's 'loss+' objectives for torchjd's weightings). Its row has `aggregator`
(the name), `aggregator_kw` (as GBG set it), `family: 'gbg'`, `mgda_ref: 'gbg_bcl_params'` and `ratio_to_mgda` = its
median step / that of `gbg_bcl_params` (MGDA) of the same run, which is then always run. All of them are timed in the
same round-robin, so the ratios are side by side. HICA's `hica+*` names are refused (HICA weighs MOOSF's strategy
heads). On a shared CPU, `OMP_NUM_THREADS=1` keeps the step times steady (2 threads on 2 busy cores: 5x swings).

    OMP_NUM_THREADS=1 python tools/bench_gbg.py --device cpu --batch 32 --steps 8 --warmup 2 --only gbg_bcl_params \
        --aggregators jd_upgrad,jd_dualproj,jd_mgda --out /tmp/bench_aggregators_gbg_cpu.json
"""
from __future__ import annotations
import argparse, os, statistics, time, platform, datetime
import torch
from ltmoo.core import seed_everything, write_json, UserError, UnknownNameError, user_errors
from ltmoo.moo import AGGREGATORS
from ltmoo.jd import require_jd     # also registers torchjd's aggregators (jd_*) by name
from ltmoo.runs import hardware, git_commit
from ltmoo.models import make_backbone
from ltmoo.methods import Single, GBG
from ltmoo.step import Stepper

CIFAR10_LT_100 = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]   # CIFAR-10-LT, IF 100
GROUPS_4 = [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]                      # fixed groups: the pass is not timed
MGDA_REF = 'gbg_bcl_params'      # the paper's GBG (BCL, MGDA, mode 'params'): what `--aggregators` rows are divided by

def aggregator_names(spec:str|None, # `--aggregators`: 'a,b,...' (None: none)
                     heads:bool=False # whether HICA's 'hica+…' may come first (MOOSF's heads; GBG's groups have none)
                    ) -> list:
    "The names of `--aggregators`, checked: registered, runnable here (torchjd installed); shared with bench_moosf.py."
    if spec is None: return []
    names = list(dict.fromkeys(n.strip() for n in spec.split(',') if n.strip()))
    if not names: raise UserError("--aggregators: no aggregator named")
    for n in names:
        try: AGGREGATORS.get(n)
        except UnknownNameError as e: raise UserError(f"--aggregators: {e}") from None
        if n.startswith('hica') and not heads:
            raise UserError(f"--aggregators: '{n}' puts MOOSF's HICA (weights of strategy heads by their accuracy) "
                            f"before the aggregator; GBG's groups have no heads: name '{n.removeprefix('hica+')}'")
        require_jd(n, where='--aggregators: ')
    return names

def configs(which:str='all', aggregators=()) -> dict:
    "name → (method factory kwargs); 'base' names the single strategy each GBG variant wraps."
    out = {'ce': dict(kind='single', strategy='ce'), 'bcl': dict(kind='single', strategy='bcl')}
    for strat in ('ce', 'bcl'):
        for mode in ('params', 'batched', 'features'):
            out[f'gbg_{strat}_{mode}'] = dict(kind='gbg', strategy=strat, mode=mode)
    if which != 'all':
        keep = which.split(',')
        out = {k: v for k, v in out.items() if k in keep or k == 'ce'}
    if aggregators:                                          # the MGDA reference, then one GBG-BCL per aggregator
        out.setdefault(MGDA_REF, dict(kind='gbg', strategy='bcl', mode='params'))
        for n in aggregators:
            out[f'{MGDA_REF}@{n}'] = dict(kind='gbg', strategy='bcl', mode='params', aggregator=n, family='gbg')
    return out

def build(cfg:dict, device):
    bb = make_backbone('resnet32')
    kw = dict(num_classes=10, cls_num_list=CIFAR10_LT_100, epochs=200, strategy=cfg['strategy'])
    if cfg['kind'] == 'single': m = Single(bb, **kw)
    else: m = GBG(bb, **kw, n_groups=4, groups=GROUPS_4, mode=cfg['mode'], empty='skip',
                  aggregator=cfg.get('aggregator', 'mgda'))
    return m.to(device).train()

def timed_step(step:Stepper, views, y, sync) -> float:
    "Seconds of one step of the library's `Stepper` (zero_grad + train_step + optimizer step) at epoch 10."
    sync(); t0 = time.perf_counter()
    step(views[:len(step.method.views)], y, 10)
    sync(); return time.perf_counter() - t0

def time_all(cfgs:dict, views, y, steps:int, warmup:int, device) -> dict:
    "Step times of every configuration, interleaved round-robin so that load from other processes hits all alike."
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == 'cuda' else (lambda: None)
    runs = {}
    for name, cfg in cfgs.items():
        seed_everything(0)
        m = build(cfg, device)
        if cfg.get('family'): cfg['aggregator_kw'] = dict(m.aggregator_kw)   # as GBG set it (gbg_aggregator_kw)
        st = Stepper(m, torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4))
        for _ in range(warmup): timed_step(st, views, y, sync)
        runs[name] = (st, [])
    for i in range(steps):
        for name, (st, ts) in runs.items(): ts.append(timed_step(st, views, y, sync))
        print(f"round {i+1}/{steps}: " + ', '.join(f"{k} {1e3*v[1][-1]:.0f} ms" for k, v in runs.items()), flush=True)
    return {k: v[1] for k, v in runs.items()}

def _load():
    try: return list(os.getloadavg())
    except OSError: return None

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', choices=['cpu', 'cuda'])
    ap.add_argument('--steps', type=int, default=20, help='timed steps per configuration')
    ap.add_argument('--warmup', type=int, default=3, help='untimed steps first')
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--only', default='all', help="comma-separated configuration names (CE is always run)")
    ap.add_argument('--aggregators', default=None, metavar='NAME[,NAME...]',
                    help=f"also GBG-BCL-params with each of these aggregators (e.g. jd_upgrad,jd_cagrad), each "
                         f"divided by {MGDA_REF} (MGDA), which is then run too")
    ap.add_argument('--out', default=None, help='JSON file for the results')
    a = ap.parse_args(argv)
    with user_errors(): aggs = aggregator_names(a.aggregators)     # a mistake: one line and exit 2
    dev = torch.device(a.device)
    if dev.type == 'cuda' and not torch.cuda.is_available(): raise SystemExit('--device cuda but no GPU is visible')
    seed_everything(0)
    g = torch.Generator().manual_seed(0)
    views = [torch.randn(a.batch, 3, 32, 32, generator=g).to(dev) for _ in range(3)]
    y = torch.arange(a.batch).remainder(10)[torch.randperm(a.batch, generator=g)].to(dev)   # every group present
    cfgs = configs(a.only, aggs)
    times = time_all(cfgs, views, y, a.steps, a.warmup, dev)
    res = {name: dict(median_s=statistics.median(ts), mean_s=statistics.fmean(ts), min_s=min(ts), steps=len(ts),
                      times_s=ts, **cfgs[name]) for name, ts in times.items()}
    ce = res['ce']['median_s']
    for name, r in res.items():
        r['ratio_to_ce'] = r['median_s'] / ce
        base = r['strategy'] if r['kind'] == 'gbg' else name
        r['ratio_to_base'] = r['median_s'] / res[base]['median_s'] if base in res else None
        if r.get('family') == 'gbg':
            r.update(ratio_to_mgda=r['median_s'] / res[MGDA_REF]['median_s'], mgda_ref=MGDA_REF)
    info = dict(device=str(dev), hardware=hardware(), torch=torch.__version__, python=platform.python_version(),
                threads=torch.get_num_threads(), load_avg=_load(), batch=a.batch, steps=a.steps, warmup=a.warmup, n_groups=4,
                model='resnet32', cls_num_list=CIFAR10_LT_100, groups=GROUPS_4, commit=git_commit(),
                date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
                note='GBG: BCL/CE split into 4 fixed groups, all present; MGDA normalization loss+; '
                     "mode 'features' is the MGDA-UB approximation")
    if aggs:
        info.update(aggregators=aggs, mgda_ref=MGDA_REF)
        info['note'] += (f"; {MGDA_REF}@NAME: the same GBG with aggregator NAME in place of MGDA (options: GBG's own, "
                         f"aggregator_kw), ratio_to_mgda = its median step / {MGDA_REF}'s")
    w = max(20, *map(len, res))
    print(f"\n{'config':{w}s} {'median ms':>10s} {'x CE':>7s} {'x base':>7s}")
    for name, r in res.items():
        rb = f"{r['ratio_to_base']:7.2f}" if r['ratio_to_base'] is not None else '      -'
        print(f"{name:{w}s} {1e3*r['median_s']:10.1f} {r['ratio_to_ce']:7.2f} {rb}")
    if aggs:
        print(f"\n{'aggregator in GBG-BCL-params':30s} {'median ms':>10s} {'x MGDA':>7s}")
        for name, r in res.items():
            if r.get('family') == 'gbg': print(f"{r['aggregator']:30s} {1e3*r['median_s']:10.1f} {r['ratio_to_mgda']:7.2f}")
    if a.out: write_json(dict(info=info, results=res), a.out); print('wrote', a.out)
    return res

if __name__ == '__main__': main()
