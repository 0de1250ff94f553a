#!/usr/bin/env python
"""Per-step cost of the trainer's step for CE, BCL, GBG and MOOSF(CE+BS): host syncs, kernel-launching ops, images/s.

One step is what `ltmoo.train.fit` does per batch on the device path, on a run the trainer's own `build_runs` built:
the next batch of the epoch (`epoch_batches`: `extend_batch` + `GPUData.batch`, views on the device) + the run's
`Stepper` (zero_grad, `train_step`, optimizer step), with the run's own recipe (batch size, amp, views) from
`recipes.yaml` at `--profile`. Per method it reports

- host syncs per step: on CUDA, `torch.cuda.set_sync_debug_mode('warn')` warnings; on a CPU, a proxy that counts the
  calls that would sync on a GPU: `.item()`/`bool()`/`float()` (aten `_local_scalar_dense`), `nonzero`, boolean-mask
  indexing and `masked_select`, `unique`, `equal`, and `.tolist()`/`.numpy()`/`.cpu()` seen at the Python level;
- kernel-launching ops per step from `torch.profiler`: CUDA kernels on a GPU; on a CPU, leaf aten ops that do work
  (views, `empty` and other metadata-only ops excluded);
- images/s of the timed steps (median step time); with `--batched 1,4,16`, the same for N runs of `--runs-method`
  stacked in one network (`ltmoo.batched.StackedSteps`: one step trains all N), per run and in aggregate; with
  `--runs 1,4,16`, the aggregate images/s of N concurrent processes of `--runs-method` (started together after warm-up);
- with `--paper-ce`, the wall time of one paper-scale CE run (`python -m ltmoo.train --profile paper --method ce`).

    python tools/bench_step.py --device cpu --steps 3 --out results/bench/step_cpu.json
    python tools/bench_step.py --device cuda --batched 1,4,16 --runs 1,4 --paper-ce --out bench_cuda.json
"""
from __future__ import annotations
import argparse, json, os, sys, time, statistics, subprocess, tempfile, warnings, copy
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the repository, without an install (GPU machine)
import torch

METHODS = ('ce', 'bcl', 'gbg', 'moosf_ce_bs')
from ltmoo.perf import SyncCounter, kernel_ops   # the CPU proxies, tested in nbs/21_perf


def load_bench_data(cfg):
    "The prepared CIFAR-10-LT of `cfg` when there, else random images with its class counts (same shapes and costs)."
    from ltmoo.data import load_data, LTData, lt_counts
    try: return load_data(**cfg['data']), 'prepared'
    except Exception as e:
        counts = lt_counts(5000, 10, cfg['data'].get('imb_factor', 100)); n = sum(counts)
        g = torch.Generator().manual_seed(0)
        y = torch.cat([torch.full((c,), k) for k, c in enumerate(counts)])
        x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
        tx = torch.randint(0, 256, (1000, 3, 32, 32), dtype=torch.uint8, generator=g)
        return LTData(name='synthetic', imb_factor=100., train_x=x, train_y=y, test_x=tx, test_y=torch.arange(1000) % 10,
                      classes=[str(k) for k in range(10)], cls_num_list=counts, source='synthetic',
                      train_index=torch.arange(n)), f'synthetic ({type(e).__name__})'


def _config(method:str, profile:str, device:str, batch:int|None=None, seed:int=0) -> dict:
    over = {'train': {'device': device, 'progress': False, 'seed': seed}}
    if batch: over['train']['batch_size'] = batch
    from ltmoo.train import run_config
    return run_config(profile, method, over)


def _steady(tr):
    "Set run `tr` at the bench's epoch (past warm-up, before any DRW switch) and lr 0.01: the epoch, its batches cycled."
    from ltmoo.train import epoch_batches
    from ltmoo.step import epoch_generators
    epoch = min(int(tr.tc.get('warmup_epochs', 5)), tr.epochs - 1)
    for g in tr.opt.param_groups: g['lr'] = 0.01
    tr.method.start_epoch(epoch, tr.ctx); tr.method.train()
    g_dev, g_cpu = epoch_generators(tr.seed, epoch, tr.dev)   # the device's and the host plans' streams, as fit's
    def cycle():
        while True: yield from epoch_batches(tr, epoch, g_dev, g_cpu)
    return epoch, cycle()


def setup(method:str, profile:str, device:str, batch:int|None=None):
    "One run of recipes.yaml built as the trainer builds it (`build_runs`), and its step: the next batch, `Stepper`."
    from ltmoo.train import build_runs
    from ltmoo.step import deferred_checks
    from ltmoo.checks import DeferredFinite, deferred_finite
    from ltmoo.distributed import DistEnv
    cfg = _config(method, profile, device, batch)
    data, src = load_bench_data(cfg)
    tr, = build_runs([cfg], data)
    epoch, batches = _steady(tr)
    # as fit does on CUDA (train.finite_check), also on the CPU, whose counts stand in for a GPU's
    deferred = deferred_checks(tr.tc, torch.device('cuda'), tr.method, DistEnv())
    def step():
        b = next(batches)                                  # as fit: GAC and augmentation plans on the host
        with deferred_finite(DeferredFinite() if deferred else None):                  # fit: read per epoch
            r = tr.stepper(b.views, b.y, epoch, y_host=b.y_host)
        return r.n if r is not None else len(b.y)
    tc = tr.tc
    return step, dict(batch_size=tr.bs, amp=tc.get('amp', 'none'), channels_last=bool(tc.get('channels_last', False)),
                      data=src, model=tc.get('model', 'resnet32'), finite_check='epoch' if deferred else 'step')


def step_costs(step, cuda:bool, sync, k:int, profiler:bool=True) -> dict:
    "Host syncs (CUDA: the sync debug mode; CPU: `ltmoo.perf`'s proxy) and kernel-launching ops per call of `step`."
    info = {}
    if cuda:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always')
            torch.cuda.set_sync_debug_mode('warn')
            try:
                for _ in range(k): step()
                sync()
            finally: torch.cuda.set_sync_debug_mode(0)
        info['syncs_per_step'] = round(sum('synchroniz' in str(x.message) for x in w) / k, 1)
        info['sync_count'] = 'cuda sync debug mode'
    else:
        with SyncCounter() as c:
            for _ in range(k): step()
        info['syncs_per_step'] = round(c.n / k, 1)
        info['syncs_by_op'] = {a: round(b / k, 1) for a, b in sorted(c.by.items(), key=lambda kv: -kv[1])}
        info['sync_count'] = 'CPU proxy (calls that sync on a GPU)'
    if profiler:
        acts = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if cuda else [])
        with torch.profiler.profile(activities=acts) as prof:
            for _ in range(k): step()
            sync()
        info['kernel_ops_per_step'] = round(kernel_ops(prof, cuda) / k, 1)
        info['kernel_ops'] = 'CUDA kernels' if cuda else 'leaf aten ops doing work (CPU)'
    return info


def bench_method(method, profile, device, steps, warmup, profiler=True, batch=None) -> dict:
    dev = torch.device(device); cuda = dev.type == 'cuda'
    sync = (lambda: torch.cuda.synchronize(dev)) if cuda else (lambda: None)
    t0 = time.time(); step, info = setup(method, profile, device, batch); info['setup_s'] = round(time.time() - t0, 2)
    for _ in range(warmup): step()
    sync(); ts, n = [], 0
    for _ in range(steps):
        t = time.perf_counter(); n += step(); sync(); ts.append(time.perf_counter() - t)
    med = statistics.median(ts)
    info.update(step_ms=round(1e3 * med, 2), images_per_s=round(info['batch_size'] / med, 1))
    info.update(step_costs(step, cuda, sync, max(1, min(3, steps)), profiler))
    return info


def bench_batched(n:int, method:str, profile:str, device:str, steps:int, warmup:int, profiler:bool=True,
                  batch:int|None=None) -> dict:
    "`n` runs of `method` (seeds 0…n-1) stacked (`ltmoo.batched.StackedSteps`, the trainer's): syncs, kernel ops, images/s."
    from ltmoo.train import build_runs
    from ltmoo.batched import StackedSteps, why_not_batched
    from ltmoo.distributed import DistEnv
    dev = torch.device(device); cuda = dev.type == 'cuda'
    sync = (lambda: torch.cuda.synchronize(dev)) if cuda else (lambda: None)
    cfgs = [_config(method, profile, device, batch, seed=s) for s in range(n)]
    why = why_not_batched(cfgs[0])
    if why: return dict(error=f"not batchable: {why}")
    data, src = load_bench_data(cfgs[0])
    trs = build_runs(cfgs, data, StackedSteps)
    eng = StackedSteps(trs, DistEnv.current())
    epochs_batches = [_steady(tr) for tr in trs]
    for g in eng.opt.param_groups: g['lr'] = 0.01
    epoch, its = epochs_batches[0][0], [b for _, b in epochs_batches]
    keep = torch.ones(n, device=dev); eng.stacked.train()
    def step(): eng.step([next(it) for it in its], epoch, keep)
    for _ in range(warmup): step()
    sync(); ts = []
    for _ in range(steps):
        t = time.perf_counter(); step(); sync(); ts.append(time.perf_counter() - t)
    med = statistics.median(ts); bs = trs[0].bs
    info = dict(runs=n, batch_size=bs, amp=trs[0].tc.get('amp', 'none'), data=src, step_ms=round(1e3 * med, 2),
                images_per_s_per_run=round(bs / med, 1), images_per_s_total=round(n * bs / med, 1))
    info.update(step_costs(step, cuda, sync, max(1, min(3, steps)), profiler))
    return info


def child(a):
    "One of N concurrent processes: warm up, wait for the others, time `--seconds`, print images/s."
    step, info = setup(a.runs_method, a.profile, a.device, a.batch)
    dev = torch.device(a.device); sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == 'cuda' else (lambda: None)
    for _ in range(a.warmup): step()
    sync(); bar = Path(a.barrier); (bar/f'ready-{os.getpid()}').touch()
    t_wait = time.time()
    while len(list(bar.glob('ready-*'))) < a.n_runs and time.time() - t_wait < 300: time.sleep(0.05)
    t0 = time.perf_counter(); n = 0
    while time.perf_counter() - t0 < a.seconds: n += step()
    sync(); el = time.perf_counter() - t0
    print(json.dumps(dict(images=n, seconds=el, images_per_s=n / el)))


def concurrent(a, n:int) -> dict:
    "Aggregate images/s of `n` concurrent processes of `--runs-method`."
    with tempfile.TemporaryDirectory() as bar:
        env = {**os.environ, 'OMP_NUM_THREADS': str(max(1, (os.cpu_count() or 1) // n))}
        cmd = [sys.executable, __file__, '--child', '--runs-method', a.runs_method, '--profile', a.profile,
               '--device', a.device, '--warmup', str(a.warmup), '--seconds', str(a.seconds), '--barrier', bar,
               '--n-runs', str(n)] + (['--batch', str(a.batch)] if a.batch else [])
        ps = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(n)]
        outs = [p.communicate() for p in ps]
    rows = [json.loads(o.strip().splitlines()[-1]) for o, e in outs if o.strip()]
    if len(rows) < n: return dict(error=f"{n - len(rows)} of {n} processes failed: " + (outs[0][1].strip().splitlines() or [''])[-1])
    agg = sum(r['images_per_s'] for r in rows)
    return dict(processes=n, images_per_s_total=round(agg, 1), images_per_s_per_run=round(agg / n, 1))


def paper_ce(profile='paper') -> dict:
    with tempfile.TemporaryDirectory() as d:
        t0 = time.time()
        r = subprocess.run([sys.executable, '-m', 'ltmoo.train', '--profile', profile, '--method', 'ce', '--out', d,
                            '--no-progress', '--no-resume'], capture_output=True, text=True)
        return dict(wall_s=round(time.time() - t0, 1), rc=r.returncode,
                    acc=(json.loads(r.stdout[r.stdout.index('{'):]).get('acc') if r.returncode == 0 and '{' in r.stdout else None))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='auto'); ap.add_argument('--profile', default='paper')
    ap.add_argument('--methods', default=','.join(METHODS)); ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3); ap.add_argument('--batch', type=int)
    ap.add_argument('--runs', default='', help='e.g. 1,4,16: aggregate images/s of N concurrent processes')
    ap.add_argument('--batched', default='', help='e.g. 1,4,16: N runs stacked in one network (ltmoo.batched)')
    ap.add_argument('--runs-method', default='ce'); ap.add_argument('--seconds', type=float, default=5)
    ap.add_argument('--paper-ce', action='store_true', help='also time one paper-scale CE run (GPU)')
    ap.add_argument('--no-profiler', action='store_true'); ap.add_argument('--budget', type=float)
    ap.add_argument('--out'); ap.add_argument('--threads', type=int)
    ap.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--barrier', help=argparse.SUPPRESS); ap.add_argument('--n-runs', type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.device == 'auto': a.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if a.threads: torch.set_num_threads(a.threads)
    if a.child: return child(a)
    t0 = time.time(); left = lambda: float('inf') if a.budget is None else a.budget - (time.time() - t0)
    from ltmoo.runs import hardware, git_commit
    out = dict(device=a.device, hardware=hardware(), torch=torch.__version__, commit=git_commit(), profile=a.profile,
               torch_threads=torch.get_num_threads(), steps=a.steps, methods={}, runs={}, batched={})
    # the stacked runs first: with a short --budget, the measurement that decides the kit's --batch-max
    for n in [int(x) for x in a.batched.split(',') if x]:
        if left() < 10: out['batched'][n] = dict(skipped='budget'); continue
        try: out['batched'][n] = bench_batched(n, a.runs_method, a.profile, a.device, a.steps, a.warmup,
                                               not a.no_profiler, a.batch)
        except Exception as e: out['batched'][n] = dict(error=f"{type(e).__name__}: {e}".splitlines()[0][:300])
        print(f"{a.runs_method} stacked x{n}: {json.dumps(out['batched'][n])}", flush=True)
    for m in [m for m in a.methods.split(',') if m]:
        if left() < 10: out['methods'][m] = dict(skipped='budget'); continue
        try: out['methods'][m] = bench_method(m, a.profile, a.device, a.steps, a.warmup, not a.no_profiler, a.batch)
        except Exception as e: out['methods'][m] = dict(error=f"{type(e).__name__}: {e}".splitlines()[0][:300])
        print(f"{m}: {json.dumps(out['methods'][m])}", flush=True)
    ce = out['methods'].get('ce', {}).get('images_per_s')
    for m, r in out['methods'].items():
        if ce and r.get('images_per_s'): r['cost_per_image_vs_ce'] = round(ce / r['images_per_s'], 2)
    for n in [int(x) for x in a.runs.split(',') if x]:
        if left() < a.seconds + 30: out['runs'][n] = dict(skipped='budget'); continue
        out['runs'][n] = concurrent(a, n); print(f"{a.runs_method} x{n}: {json.dumps(out['runs'][n])}", flush=True)
    if a.paper_ce:
        out['paper_ce'] = paper_ce() if a.device == 'cuda' else dict(skipped='CPU: a paper-scale run takes hours here')
    out['wall_s'] = round(time.time() - t0, 1)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(out, indent=1) + '\n')
    return out


if __name__ == '__main__': main()
