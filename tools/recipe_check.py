#!/usr/bin/env python
"""Is ltmoo's trainer the cause of a paper-scale gap? ltmoo's CE against an independent plain loop, same pixels.

    python tools/recipe_check.py                       # 20 epochs x seeds 0 1, both arms; about 1 h on 2 cores
    python tools/recipe_check.py --epochs 10 --seeds 0 # a quick look (about 10 min)

The paper-scale CE run on CIFAR-10-LT IF 100 ends 5 points under GBG Table 1's 70.36. Two things could explain it:
the trainer (ltmoo's code) or what it was trained on (the JPEG-derived pixels, one seed). This tool separates the
first from the second: it trains the same recipe twice on the same prepared arrays (`data/cifar10-lt`),

- `ltmoo`: `ltmoo.train.fit`, the paper profile's CE run with only its schedule shortened (`--epochs`);
- `plain`: a plain PyTorch loop written in `tools/bench_cpu.py` without ltmoo (its own ResNet-32, per-sample crop and
  flip, SGD, the LDAM-DRW learning-rate rule, evaluation in batches of 100),

for each seed, with the schedule shrunk in proportion: 5 warm-up epochs, the drops (x0.01, x0.0001) at 80 % and 90 % of
the epochs as 160 / 180 are of 200. If the two arms agree within their seed spread, ltmoo's trainer does not explain the
gap. This is a shortened schedule: its numbers are evidence about the code, never paper numbers. Results go to `--out`
(JSON) and the GBG report's section "Paper-scale runs" shows them.
"""
from __future__ import annotations
import argparse, json, os, sys, time, subprocess, tempfile, platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cpu import plain_data, plain_resnet32, plain_train_epoch, plain_predict, busy_share, _cpu  # noqa: E402


def schedule(epochs:int) -> tuple[int, int]:
    "The drops of the 200-epoch recipe (160, 180) scaled to `epochs`."
    return round(0.8 * epochs), round(0.9 * epochs)


def ldam_lr(epoch:int, epochs:int, base:float=0.1, warmup:int=5) -> float:
    "The LDAM-DRW rule for 0-based `epoch`: linear warm-up, then x0.01 and x0.0001 after the two drops."
    m1, m2 = schedule(epochs); e = epoch + 1
    if e <= warmup: return base * e / warmup
    return base * (1e-4 if e > m2 else 1e-2 if e > m1 else 1.)


def per_class(pred, y, k:int=10) -> list:
    "Top-1 (%) of each class."
    return [100. * float((pred[y == c] == c).float().mean()) for c in range(k)]


def plain_run(epochs:int, seed:int) -> dict:
    "Train the plain loop for `epochs` and evaluate the final model on the full test set."
    import torch
    torch.manual_seed(seed)
    x, y, te_x, te_y = plain_data()
    cl = torch.channels_last
    net = plain_resnet32().to(memory_format=cl)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        for g in opt.param_groups: g['lr'] = ldam_lr(epoch, epochs)
        _, loss = plain_train_epoch(net, opt, x, y, cl)
        print(f"plain seed {seed}: epoch {epoch + 1}/{epochs} loss {loss.item():.3f}", file=sys.stderr, flush=True)
    pred = plain_predict(net, te_x, cl)
    return dict(acc=100. * float((pred == te_y).float().mean()), per_class=per_class(pred, te_y),
                train_s=time.perf_counter() - t0)


def ltmoo_run(epochs:int, seed:int) -> dict:
    "Train ltmoo's paper-profile CE run with its schedule shortened to `epochs`; final-epoch test accuracy."
    sys.path.insert(0, str(ROOT))
    import csv
    from ltmoo.train import run_config, fit
    from ltmoo.config import parse_overrides
    m1, m2 = schedule(epochs)
    over = parse_overrides([f'train.epochs={epochs}', f'train.milestones=[{m1},{m2}]', f'train.seed={seed}',
                            f'train.eval_every={epochs}', 'train.progress=false', 'train.channels_last=true',
                            f"train.threads={os.environ.get('OMP_NUM_THREADS', 2)}"])
    cfg = run_config('paper', 'ce', over)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        fit(cfg, Path(d)/'run', resume=False, progress=False)
        m = json.loads((Path(d)/'run'/'metrics.json').read_text())
        rows = list(csv.DictReader(open(Path(d)/'run'/'per_class.csv')))
    return dict(acc=float(m['acc']), per_class=[float(r['acc']) for r in rows], classes=[r['name'] for r in rows],
                n_train=[int(r['n_train']) for r in rows], train_s=time.perf_counter() - t0)


def child(spec:dict):
    "One arm and seed in this process; prints one RESULT line."
    r = (plain_run if spec['arm'] == 'plain' else ltmoo_run)(spec['epochs'], spec['seed'])
    import torch
    print('RESULT ' + json.dumps(dict(spec, **r, threads=torch.get_num_threads())), flush=True)


def launch(spec:dict, threads:int) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), LTMOO_CPU_NUMERICS='native')
    return subprocess.Popen([sys.executable, __file__, '--child', json.dumps(spec)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)


def summary(rows:list) -> dict:
    "Mean and spread of each arm, and ltmoo minus plain (mean over seeds)."
    import statistics as st
    out = {}
    for arm in ('ltmoo', 'plain'):
        a = [r['acc'] for r in rows if r['arm'] == arm and 'acc' in r]
        if a: out[arm] = dict(mean=st.mean(a), min=min(a), max=max(a), n=len(a))
    if 'ltmoo' in out and 'plain' in out: out['ltmoo_minus_plain'] = out['ltmoo']['mean'] - out['plain']['mean']
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--epochs', type=int, default=20, help='epochs of each run (the drops scale with it); at least 10')
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    ap.add_argument('--jobs', type=int, default=2, help='runs at once (each gets cores / jobs threads)')
    ap.add_argument('--out', default=str(ROOT/'results'/'evidence'/'recipe_check.json'))  # results/bench is DVC's
    ap.add_argument('--child', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child: return child(json.loads(a.child))
    if a.epochs < 10: ap.error('--epochs must be at least 10 (5 warm-up epochs, then two distinct drops)')
    if not (ROOT/'data'/'cifar10-lt'/'train_images.npy').exists():
        sys.exit('error: data/cifar10-lt is not prepared; run `ltmoo prepare-data` first')
    specs = [dict(arm=arm, seed=s, epochs=a.epochs) for s in a.seeds for arm in ('ltmoo', 'plain')]
    threads = max(1, (os.cpu_count() or 2) // a.jobs)
    busy, t0, rows, running = busy_share(), time.perf_counter(), [], []
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    m1, m2 = schedule(a.epochs)
    total = len(specs)

    def save():                                   # after every finished run: a stopped check keeps what it measured
        named = next((r for r in rows if 'classes' in r), {})
        res = dict(what='ltmoo CE vs a plain PyTorch loop, same pixels, shortened schedule (evidence, not a paper '
                        'number)', complete=len(rows) == total, classes=named.get('classes'),
                   n_train=named.get('n_train'),
                   epochs=a.epochs, warmup=5, milestones=[m1, m2], seeds=a.seeds, runs=rows, summary=summary(rows),
                   machine=dict(cpu=_cpu(), cores=os.cpu_count(), python=platform.python_version(), busy_at_start=busy),
                   data='data/cifar10-lt (prepared by `ltmoo prepare-data`; its manifest.json names the pixel source)',
                   commit=commit, hours=(time.perf_counter() - t0) / 3600)
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
        return res

    while specs or running:
        while specs and len(running) < a.jobs:
            sp = specs.pop(0); running.append((sp, launch(sp, threads)))
            print(f"started {sp['arm']} seed {sp['seed']} ({a.epochs} epochs, {threads} thread(s))", flush=True)
        sp, p = running.pop(0); out, _ = p.communicate()
        line = next((l for l in out.splitlines() if l.startswith('RESULT ')), None)
        rows.append(json.loads(line[7:]) if line else dict(sp, error=f'exit {p.returncode}'))
        got = f"{rows[-1]['acc']:.2f} %" if line else rows[-1]['error']
        print(f"done {sp['arm']} seed {sp['seed']}: {got}", flush=True)
        res = save()
    print(json.dumps(res['summary'], indent=1))


if __name__ == '__main__':
    main()
