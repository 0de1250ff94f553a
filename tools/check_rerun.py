"""CI: runs trained again from scratch must reproduce the numbers committed for them.

  python tools/check_rerun.py [--tol POINTS] RUN_DIR [RUN_DIR ...]

Each run folder's committed run.json (at git HEAD) names the numerics fingerprint and the thread count the run was
trained with (nbs/22_numerics). Where this machine, at that thread count, has the same fingerprint, the re-trained
metrics.json and per_class.csv must be the committed ones byte for byte. Where the fingerprint differs (this CPU
computes float32 differently, even with the kernel pins), equal bytes cannot be expected: the run must then be complete,
with the committed keys, and its top-1 within --tol points of the committed one; the differences are printed either way.
Exit status 1 when a run fails its check, 2 for a folder that is not a committed run.
"""
from __future__ import annotations
import argparse, json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ('metrics.json', 'per_class.csv')


def committed(path:Path) -> bytes|None:
    "The bytes of `path` at HEAD, None where HEAD has no such file."
    rel = path.resolve().relative_to(ROOT).as_posix()
    r = subprocess.run(['git', 'show', f'HEAD:{rel}'], cwd=ROOT, capture_output=True)
    return r.stdout if r.returncode == 0 else None


def check_run(d:Path, tol:float) -> tuple[bool, str]:
    "(ok, one line) for run folder `d`."
    from ltmoo.numerics import numerics_fingerprint
    ri = committed(d/'run.json')
    if ri is None: return False, f'{d}: no committed run.json'
    ri = json.loads(ri)
    num = ri.get('numerics') or {}
    rec, threads = num.get('fingerprint'), num.get('threads') or ri.get('threads')
    now = numerics_fingerprint(threads)
    old = {f: committed(d/f) for f in FILES}                      # one `git show` per file
    same = {f: old[f] == ((d/f).read_bytes() if (d/f).exists() else None) for f in FILES}
    m0, m1 = json.loads(old['metrics.json'] or b'{}'), json.loads((d/'metrics.json').read_text())
    delta = {k: round(m1[k] - m0[k], 4) for k in sorted(m0) if isinstance(m0.get(k), (int, float))
             and isinstance(m1.get(k), (int, float)) and m1[k] != m0[k]}
    if rec in (None, now):
        if all(same.values()): return True, f'{d}: bit for bit the committed numbers (numerics {now})'
        return False, (f'{d}: same numerics ({now}) but {", ".join(f for f, s in same.items() if not s)} differ from '
                       f'the committed ones: {delta}')
    bad = []
    if m1.get('complete') != 1: bad.append('not complete')
    if set(m1) != set(m0): bad.append(f'keys differ: {sorted(set(m1) ^ set(m0))}')
    if not abs(m1.get('acc', float('nan')) - m0.get('acc', float('nan'))) <= tol:   # NaN (no top-1) fails too
        bad.append(f"top-1 {m1.get('acc')} vs committed {m0.get('acc')} (more than {tol} points apart)")
    head = (f'{d}: this machine computes float32 differently (numerics {now} at {threads} threads, {rec} where the run '
            f'was committed): not comparable bit for bit; differences {delta or "none"}')
    return not bad, head + ('; FAILED: ' + '; '.join(bad) if bad else f'; within {tol} points')


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('runs', nargs='+', help='run folders (results/runs/..., results/ddp/...)')
    ap.add_argument('--tol', type=float, default=10.0, help='top-1 points allowed apart on a machine that computes '
                    'differently (default 10: a 3-epoch smoke run)')
    a = ap.parse_args(argv)
    missing = [r for r in a.runs if not (Path(r)/'metrics.json').exists()]
    if missing: print(f'error: no metrics.json in {", ".join(missing)}', file=sys.stderr); return 2
    import ltmoo    # noqa: F401  (pins the CPU kernels, as for the training runs)
    ok = True
    for r in a.runs:
        good, line = check_run(Path(r), a.tol)
        ok &= good; print(line, flush=True)
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())
