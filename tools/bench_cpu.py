#!/usr/bin/env python
"""The CPU path, measured: a paper-profile CE epoch of ltmoo against a plain PyTorch loop of the same recipe.

    python tools/bench_cpu.py                    # headline (full epochs) + levers; about 25 min on 2 cores
    python tools/bench_cpu.py --no-levers        # the headline only (about 15 min)
    python tools/bench_cpu.py --epoch-steps 10   # a quick look: 10 training steps + 2,000 test images per epoch

Every contender runs in its own process (so the CPU-kernel pins of `import ltmoo` apply to it alone), contenders are
interleaved (A B C D, A B C D, ...) for `--repeats` rounds, and each reports the time of one epoch measured inside the
process, after start-up: training (97 steps of 128 images: CIFAR-10-LT IF 100, 12,406 images) plus the full 10,000-image
test evaluation, which both papers' code runs after every epoch. The machine's throughput is in CE paper-epochs per
hour: 3600 / (median epoch seconds) x (runs that share the machine at once).

Headline contenders:
- `plain`: a plain eager PyTorch loop written here (no ltmoo): the LDAM-DRW ResNet-32, batch 128, SGD (momentum 0.9,
  weight decay 2e-4), per-sample RandomCrop(32, padding 4) + horizontal flip on uint8 tensors, normalisation, CE; test
  evaluation in batches of 100 (the LDAM-DRW code's), torch's defaults (all cores, this CPU's own kernels);
- `ltmoo-before`: `ltmoo.train.fit` (paper profile, CE) as it ran before issue #23: CPU kernels pinned to AVX2 (the
  portable default of `import ltmoo`), NCHW tensors, evaluation in batches of 1,000;
- `ltmoo-fast`: the campaign's settings (campaign.yaml): this CPU's own kernels (`LTMOO_CPU_NUMERICS=native`),
  channels-last, evaluation in batches of 256, one run with all cores;
- `ltmoo-fast-2x1`: two of those at once, one thread each.

Levers (with `--levers`, each alone against the fast path, training steps and evaluation timed separately): CPU
kernels (native / AVX2 pin), memory format, in-place ReLU, evaluation batch size, `torch.compile` (Inductor), bf16
autocast, and one run of two threads against two runs of one thread. Results go to `--out` (JSON) and a table.
"""
from __future__ import annotations
import argparse, json, os, sys, time, statistics, subprocess, tempfile, platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PINS = ('ATEN_CPU_CAPABILITY', 'ONEDNN_MAX_CPU_ISA', 'MKL_CBWR')


# ---------------------------------------------------------------------------------------------------------------------
# The plain loop (no ltmoo in this process)

def plain_data(imb_factor:int=100):
    "The prepared CIFAR-10-LT arrays, read without ltmoo: (train x uint8 [N,3,32,32], y, test x, test y)."
    import numpy as np, torch
    folder = ROOT/'data'/'cifar10-lt'
    tr_x, tr_y = np.load(folder/'train_images.npy'), np.load(folder/'train_labels.npy')
    counts = [int(5000 * (1 / imb_factor) ** (c / 9)) for c in range(10)]           # IF k from the IF-10 superset
    rows = np.concatenate([np.flatnonzero(tr_y == c)[:n] for c, n in enumerate(counts)])
    x = torch.from_numpy(np.ascontiguousarray(tr_x[rows].transpose(0, 3, 1, 2))); y = torch.from_numpy(tr_y[rows]).long()
    te_x = torch.from_numpy(np.ascontiguousarray(np.load(folder/'test_images.npy').transpose(0, 3, 1, 2)))
    return x, y, te_x, torch.from_numpy(np.load(folder/'test_labels.npy')).long()


def plain_resnet32(k:int=10):
    "The LDAM-DRW ResNet-32 (option-A shortcuts, Kaiming-normal init), written here without ltmoo."
    import torch.nn as nn, torch.nn.functional as F

    class Block(nn.Module):
        def __init__(self, i, o, s):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o)
            self.c2, self.b2 = nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o)
            self.pad = (o - i) // 2 if (s != 1 or i != o) else None
        def forward(self, x):
            out = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
            sc = x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
            return F.relu(out + sc)
    class ResNet32(nn.Module):
        def __init__(self, k=10):
            super().__init__()
            self.c, self.b = nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16)
            layers, i = [], 16
            for o, s in ((16, 1), (32, 2), (64, 2)):
                for j in range(5): layers.append(Block(i, o, s if j == 0 else 1)); i = o
            self.layers, self.fc = nn.Sequential(*layers), nn.Linear(64, k)
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)): nn.init.kaiming_normal_(m.weight)
        def forward(self, x):
            return self.fc(F.adaptive_avg_pool2d(self.layers(F.relu(self.b(self.c(x)))), 1).flatten(1))
    return ResNet32(k)


def plain_augment(xb, pad:int=4):
    "RandomCrop(32, padding 4) + horizontal flip, per sample, on uint8 [B,3,32,32] (torch's global RNG)."
    import torch, torch.nn.functional as F
    xb = F.pad(xb, (pad, pad, pad, pad))
    oy, ox = torch.randint(0, 2 * pad + 1, (len(xb),)), torch.randint(0, 2 * pad + 1, (len(xb),))
    fl = torch.rand(len(xb)) < 0.5
    return torch.stack([(im[:, i:i + 32, j:j + 32].flip(2) if f else im[:, i:i + 32, j:j + 32])
                        for im, i, j, f in zip(xb, oy.tolist(), ox.tolist(), fl.tolist())])


def plain_normalise(xb, fmt):
    "uint8 images -> the recipe's normalised float batch in memory format `fmt`."
    import torch
    mean = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1); std = torch.tensor([0.2023, 0.1994, 0.2010]).view(1, 3, 1, 1)
    return ((xb.float() / 255 - mean) / std).contiguous(memory_format=fmt)


def plain_train_epoch(net, opt, x, y, fmt, steps:int|None=None):
    "One shuffled pass in batches of 128 (augmented, CE, SGD step); (steps taken, last loss)."
    import torch, torch.nn.functional as F
    net.train(); n, loss = 0, None
    for b in torch.randperm(len(y)).split(128):
        if steps is not None and n >= steps: break
        loss = F.cross_entropy(net(plain_normalise(plain_augment(x[b]), fmt)), y[b])   # RandomCrop(32, 4) + flip
        opt.zero_grad(); loss.backward(); opt.step(); n += 1
    return n, loss


def plain_predict(net, tx, fmt, batch:int=100):
    "Predicted classes of the uint8 images `tx`, in batches of `batch` (the LDAM-DRW code's 100)."
    import torch
    net.eval()
    with torch.no_grad():
        return torch.cat([net(plain_normalise(tx[i:i + batch], fmt)).argmax(1) for i in range(0, len(tx), batch)])


def plain_epoch(steps:int|None, test_n:int|None, eval_batch:int=100, channels_last:bool=False, seed:int=0) -> dict:
    "One epoch of the LDAM-DRW CE recipe in plain PyTorch: (train_s, eval_s, steps, test images)."
    import torch
    torch.manual_seed(seed)
    x, y, te_x, te_y = plain_data()
    net = plain_resnet32()
    if channels_last: net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    t0 = time.perf_counter(); n, _ = plain_train_epoch(net, opt, x, y, fmt, steps)
    t1 = time.perf_counter()
    tx, ty = (te_x, te_y) if test_n is None else (te_x[:test_n], te_y[:test_n])
    correct = int((plain_predict(net, tx, fmt, eval_batch) == ty).sum())
    t2 = time.perf_counter()
    return dict(train_s=t1 - t0, eval_s=t2 - t1, steps=n, test_images=len(tx), threads=torch.get_num_threads())


# ---------------------------------------------------------------------------------------------------------------------
# ltmoo's epoch: `fit` itself, one epoch of the paper profile's CE run

def ltmoo_epoch(steps:int|None, test_n:int|None, sets:list, inplace:bool=True, compile_mode:str='none',
                bf16:bool=False) -> dict:
    "One epoch of `fit` (paper profile, CE), timed by the trainer itself; `steps`/`test_n` cut it short (levers)."
    sys.path.insert(0, str(ROOT))
    import torch, torch.nn.functional as F
    import ltmoo.models as M
    if not inplace:                                        # the ResNet-32 block as it was before issue #23
        def fwd(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))
        M.BasicBlock.forward = fwd
    from ltmoo.train import run_config, fit
    from ltmoo.config import parse_overrides
    from ltmoo.numerics import numerics_fingerprint, STATE
    over = parse_overrides(['train.progress=false', *sets])
    if compile_mode != 'none': over.setdefault('train', {})['compile'] = compile_mode
    if bf16: over.setdefault('train', {})['amp'] = 'bf16'
    if test_n is not None: over.setdefault('data', {})['test_subset'] = test_n
    cfg = run_config('paper', 'ce', over)
    import ltmoo.step as S
    if steps is not None:                                   # a short epoch: the first `steps` batches
        orig = S.device_batches
        def short(*a, **k):
            for i, b in enumerate(orig(*a, **k)):
                if i >= steps: return
                yield b
        import ltmoo.train as T; T.device_batches = short
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        fit(cfg, Path(d)/'run', resume=False, stop_after=1, progress=False)
        import csv
        row = list(csv.DictReader(open(Path(d)/'run'/'history.csv')))[-1]
        run = json.loads((Path(d)/'run'/'run.json').read_text())
    return dict(epoch_s=float(row['epoch_time_s']), threads=torch.get_num_threads(), numerics=numerics_fingerprint(),
                pins=STATE.get('pins'), process_s=time.perf_counter() - t)


def child(args):
    "The body of one contender's process: run it, print one JSON line."
    spec = json.loads(args.child)
    if spec['kind'] == 'plain':
        r = plain_epoch(spec.get('steps'), spec.get('test_n'), spec.get('eval_batch', 100), spec.get('cl', False))
        r['epoch_s'] = r['train_s'] + r['eval_s']
    else:
        r = ltmoo_epoch(spec.get('steps'), spec.get('test_n'), spec.get('sets', []), spec.get('inplace', True),
                        spec.get('compile', 'none'), spec.get('bf16', False))
    print('RESULT ' + json.dumps(r), flush=True)


# ---------------------------------------------------------------------------------------------------------------------
# The driver: contenders as processes, interleaved, with repeats

def launch(spec:dict, env_over:dict, threads:int|None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in PINS and k != 'LTMOO_CPU_NUMERICS'}
    env.update(env_over)
    if threads: env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return subprocess.Popen([sys.executable, __file__, '--child', json.dumps(spec)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def collect(p) -> dict:
    out, err = p.communicate()
    line = next((l for l in out.splitlines() if l.startswith('RESULT ')), None)
    if p.returncode or line is None: return dict(error=(err.strip().splitlines() or ['?'])[-1][:300])
    return json.loads(line[7:])


def run_contender(c:dict, steps, test_n) -> dict:
    "One round of contender `c`: `c['concurrent']` processes at once; per-process results and the round's wall time."
    spec = {**c['spec'], 'steps': steps, 'test_n': test_n}
    t = time.perf_counter()
    ps = [launch(spec, c.get('env', {}), c.get('threads')) for _ in range(c.get('concurrent', 1))]
    rs = [collect(p) for p in ps]
    return dict(results=rs, wall_s=time.perf_counter() - t)


FAST = ['train.channels_last=true', 'train.eval_batch_size=256']
NATIVE = {'LTMOO_CPU_NUMERICS': 'native'}
HEADLINE = [
    dict(name='plain', spec=dict(kind='plain'), note='plain PyTorch loop (this file), torch defaults'),
    dict(name='ltmoo-before', spec=dict(kind='ltmoo', sets=['train.eval_batch_size=1000'], inplace=False),
         note='fit as before #23: AVX2 pin, NCHW, eval batch 1000, ReLU not in place'),
    dict(name='ltmoo-fast', spec=dict(kind='ltmoo', sets=FAST), env=NATIVE,
         note='the campaign: native kernels, channels-last, eval batch 256, in-place ReLU'),
    dict(name='ltmoo-fast-2x1', spec=dict(kind='ltmoo', sets=FAST), env=NATIVE, threads=1, concurrent=2,
         note='two of ltmoo-fast at once, one thread each'),
]
LEVERS = [
    dict(name='fast', spec=dict(kind='ltmoo', sets=FAST), env=NATIVE, note='the fast path (reference)'),
    dict(name='AVX2 pin', spec=dict(kind='ltmoo', sets=FAST), note='portable kernels (import ltmoo default)'),
    dict(name='NCHW', spec=dict(kind='ltmoo', sets=['train.eval_batch_size=256']), env=NATIVE, note='no channels-last'),
    dict(name='ReLU not in place', spec=dict(kind='ltmoo', sets=FAST, inplace=False), env=NATIVE, note=''),
    dict(name='eval batch 100', spec=dict(kind='ltmoo', sets=['train.channels_last=true', 'train.eval_batch_size=100']),
         env=NATIVE, note=''),
    dict(name='eval batch 1000', spec=dict(kind='ltmoo', sets=['train.channels_last=true', 'train.eval_batch_size=1000']),
         env=NATIVE, note=''),
    dict(name='torch.compile', spec=dict(kind='ltmoo', sets=FAST, compile='default'), env=NATIVE,
         note='Inductor on the forward + loss (compile time included in the first steps)'),
    dict(name='bf16 autocast', spec=dict(kind='ltmoo', sets=FAST, bf16=True), env=NATIVE,
         note='changes the numbers: measured, not used'),
    dict(name='2 runs x 1 thread', spec=dict(kind='ltmoo', sets=FAST), env=NATIVE, threads=1, concurrent=2, note=''),
]


def summarize(name, rounds, key='epoch_s') -> dict:
    per = [r[key] for rd in rounds for r in rd['results'] if key in r and r[key] is not None]
    errs = [r['error'] for rd in rounds for r in rd['results'] if 'error' in r]
    k = len(rounds[0]['results']) if rounds else 1
    med = statistics.median(per) if per else None
    return dict(name=name, n=len(per), concurrent=k, median_s=med, min_s=min(per) if per else None,
                max_s=max(per) if per else None, epochs_per_hour=(3600 / med * k) if med else None, errors=errs[:2])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--epoch-steps', type=int, default=None, help='headline epochs cut to this many steps (quick look)')
    ap.add_argument('--no-levers', action='store_true')
    ap.add_argument('--lever-steps', type=int, default=20, help='training steps per lever measurement')
    ap.add_argument('--lever-test', type=int, default=2000, help='test images per lever measurement')
    ap.add_argument('--out', default=str(ROOT/'results'/'cpu'/'bench_cpu.json'))   # not results/bench: a DVC output
    ap.add_argument('--child', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child: return child(a)
    load = busy_share()
    if load > 0.2:
        print(f"warning: the machine is busy ({100 * load:.0f}% of its CPU time in use before the bench); stop other work "
              "(`ltmoo campaign stop --at-epoch-end`) for numbers worth comparing", file=sys.stderr)
    steps, test_n = a.epoch_steps, (None if a.epoch_steps is None else 2000)
    res = dict(machine=dict(cpu=_cpu(), cores=os.cpu_count(), python=platform.python_version(), busy_at_start=load),
               repeats=a.repeats, epoch=('full (97 steps + 10,000 test images)' if steps is None
                                         else f'{steps} steps + {test_n} test images'))
    rounds = {c['name']: [] for c in HEADLINE}
    for r in range(a.repeats):
        for c in HEADLINE:
            rounds[c['name']].append(run_contender(c, steps, test_n))
            print(f"round {r + 1}/{a.repeats} {c['name']}: " + ', '.join(
                f"{x['epoch_s']:.1f} s" if 'epoch_s' in x else x.get('error', '?') for x in rounds[c['name']][-1]['results']),
                flush=True)
    res['headline'] = [dict(summarize(c['name'], rounds[c['name']]), note=c['note'], rounds=rounds[c['name']])
                       for c in HEADLINE]
    h = {x['name']: x for x in res['headline']}
    if h['plain']['median_s'] and h['ltmoo-fast']['median_s']:
        res['ratio_fast_vs_plain'] = h['plain']['median_s'] / h['ltmoo-fast']['median_s']
        res['ratio_fast_vs_before'] = h['ltmoo-before']['median_s'] / h['ltmoo-fast']['median_s']
        res['machine_epochs_per_hour'] = max(x['epochs_per_hour'] or 0 for x in res['headline'] if x['name'] != 'plain')
    if not a.no_levers:
        lr = {c['name']: [] for c in LEVERS}
        for r in range(a.repeats):
            for c in LEVERS:
                lr[c['name']].append(run_contender(c, a.lever_steps, a.lever_test))
                print(f"lever round {r + 1}/{a.repeats} {c['name']}: " + ', '.join(
                    f"{x['epoch_s']:.1f} s" if 'epoch_s' in x else x.get('error', '?') for x in lr[c['name']][-1]['results']),
                    flush=True)
        res['levers'] = dict(steps=a.lever_steps, test_images=a.lever_test,
                             rows=[dict(summarize(c['name'], lr[c['name']]), note=c['note']) for c in LEVERS])
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print(table(res))


def table(res:dict) -> str:
    "The result as text: the headline table, the ratio and throughput, the levers."
    out = [f"CPU: {res['machine']['cpu']} ({res['machine']['cores']} cores); epoch: {res['epoch']}; "
           f"{res['repeats']} interleaved rounds; medians", '',
           f"{'contender':<16}{'runs at once':>13}{'s/epoch':>9}{'min':>7}{'max':>7}{'epochs/hour':>13}  what"]
    for x in res['headline']:
        m = lambda v: f"{v:.1f}" if v else '–'
        out.append(f"{x['name']:<16}{x['concurrent']:>13}{m(x['median_s']):>9}{m(x['min_s']):>7}{m(x['max_s']):>7}"
                   f"{m(x['epochs_per_hour']):>13}  {x['note']}" + (f"  ERROR {x['errors'][0]}" if x['errors'] else ''))
    if 'ratio_fast_vs_plain' in res:
        out += ['', f"ltmoo-fast vs plain loop: {res['ratio_fast_vs_plain']:.2f}x faster per epoch; vs ltmoo before: "
                    f"{res['ratio_fast_vs_before']:.2f}x; this machine: {res['machine_epochs_per_hour']:.0f} CE paper-epochs "
                    "per hour (best arrangement)"]
    if 'levers' in res:
        lv = res['levers']; ref = lv['rows'][0]['median_s']
        out += ['', f"levers ({lv['steps']} training steps + {lv['test_images']} test images each; relative to `fast`; "
                    ">1 = slower):", f"{'lever':<20}{'runs':>5}{'s':>8}{'vs fast':>9}  note"]
        for x in lv['rows']:
            rel = (x['median_s'] / x['concurrent']) / ref if x['median_s'] and ref else None
            out.append(f"{x['name']:<20}{x['concurrent']:>5}{(x['median_s'] or 0):>8.2f}"
                       f"{(f'{rel:.2f}' if rel else '–'):>9}  {x['note']}" + (f"  ERROR {x['errors'][0]}" if x['errors'] else ''))
    return '\n'.join(out)


def busy_share(seconds:float=2.) -> float:
    "The share of the machine's CPU time in use over the next `seconds` (from /proc/stat; 0 where there is none)."
    def read():
        try: v = [int(x) for x in open('/proc/stat').readline().split()[1:]]
        except OSError: return None
        return sum(v), v[3] + (v[4] if len(v) > 4 else 0)
    a = read(); time.sleep(seconds); b = read()
    if a is None or b is None or b[0] == a[0]: return 0.
    return 1 - (b[1] - a[1]) / (b[0] - a[0])


def _cpu() -> str:
    try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or platform.machine()


if __name__ == '__main__': main()
