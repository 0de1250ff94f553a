"""Keep the library notebooks' outputs committed and checked.

  python tools/nb_outputs.py --write [NB ...]   execute each notebook in place and keep its outputs
  python tools/nb_outputs.py --check [NB ...]   re-execute in memory; fail, naming notebook and cell, when a
                                                committed text output differs from what the code prints now

Default notebooks: every library notebook `nbs/*.ipynb` (not `nbs/experiments/`, not notebooks whose front matter
says `skip_exec: true`, such as `results.ipynb`). Each runs as `nbdev_test` runs it: with execnb, from the `nbs`
folder, `IN_TEST=1`, the cells flagged with settings.ini's `tst_flags` (`notest slow cuda`) skipped (their outputs
are dropped), one fresh process per notebook, stopping at the first exception. So `--check` is also a test run: CI can
run it instead of `nbdev_test`.

Determinism: the shell seeds `random`, numpy and torch before the first cell; outputs are normalised the same way on
write and on check (the repository path -> `<repo>`, temporary paths -> `<tmp>`, object addresses -> `0x…`); stderr
streams (progress bars, warnings) are not kept. A cell whose output is legitimately variable (a timing, a wall clock)
carries the cell tag `variable` (or the directive `#| variable`): `--write` keeps no output for it and `--check`
ignores it. Images are written but only their presence is compared (their bytes depend on the font stack).

Machines: float32 results depend on the CPU's kernels. `import ltmoo` pins them to the AVX2 branch (nbs/22_numerics), and
`--write` records, per notebook, the numerics fingerprint its outputs were made with (nbs/outputs-numerics.json).
`--check` compares the text exactly where this machine's fingerprint is the recorded one; where it is not (the pins could
not make this CPU compute alike), it compares the text with every number masked, and says so, with the fingerprints.
"""
from __future__ import annotations
import argparse, difflib, json, os, re, subprocess, sys, time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
TEXT = ('text/plain', 'text/markdown', 'text/latex')
SEED = ("import random as _r, numpy as _np\n_r.seed(0); _np.random.seed(0)\n"
        "try:\n    import torch as _t; _t.manual_seed(0)\nexcept ImportError: pass\ndel _r, _np")
_re_tmp = re.compile(r'(/private)?/(tmp|var/folders)/[^\s\'",)\]]*')
_re_addr = re.compile(r'0x[0-9a-f]{6,16}')
RECORD = NBS/'outputs-numerics.json'   # notebook -> the numerics fingerprint its committed outputs were made with
_re_num = re.compile(r'(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?')
SLOW = ('11_train', '14_paper', '15_distributed', '01_data', '17_config', 'index', '18_kit', '19_runner')   # by measured time


def normalise(text:str) -> str:
    "Text output with the paths and addresses that change from machine to machine masked."
    text = text.replace(str(ROOT), '<repo>')
    text = _re_tmp.sub('<tmp>', text)
    return _re_addr.sub('0x…', text)


def mask_numbers(text:str) -> str:
    "The text with every number replaced by `#` (what is compared on a machine that computes differently)."
    return _re_num.sub('#', text)


def read_record() -> dict:
    return json.loads(RECORD.read_text()) if RECORD.exists() else {}


def _flags():
    from nbdev.config import get_config
    return set(get_config().get('tst_flags', '').split())


def library_notebooks() -> list[Path]:
    "The notebooks whose outputs are kept: nbs/*.ipynb without `skip_exec` front matter."
    from execnb.nbio import read_nb
    out = []
    for p in sorted(NBS.glob('*.ipynb')):
        nb = read_nb(p)
        first = nb.cells[0] if nb.cells else None
        if first is not None and first.cell_type == 'raw' and re.search(r'^skip_exec:\s*true', first.source, re.M):
            continue
        out.append(p)
    return out


def _variable(cell) -> bool:
    return 'variable' in (cell.get('metadata', {}).get('tags') or []) or bool(re.search(r'^#\|\s*variable\b', cell.source, re.M))


def _skipped(cell, flags) -> bool:
    "True for the cells `nbdev_test` does not run (and for markdown)."
    return cell.cell_type != 'code' or 'nbdev_export' + '(' in cell.source or _skip_reason(cell, flags) is not None


def _skip_reason(cell, flags) -> str|None:
    "The test flag (or `eval: false`) that keeps a code cell from running; None where nothing does."
    direc = getattr(cell, 'directives_', {}) or {}
    if direc.get('eval:', [''])[0].lower() == 'false': return 'eval: false'
    return next((f for f in sorted(flags) if f in direc), None)


def _skips(sk:dict) -> str:
    "'; 3 cells skipped (cuda 1, slow 2)' or ''."
    n = sum(sk.values())
    return f'; {n} cell{"s" * (n != 1)} skipped ({", ".join(f"{k} {v}" for k, v in sorted(sk.items()))})' if n else ''


def _clean_outputs(outputs) -> list:
    "Outputs as committed: no stderr, no execution counts, text normalised."
    res = []
    for o in outputs or []:
        o = dict(o)
        if o.get('output_type') == 'stream':
            if o.get('name') == 'stderr': continue
            o['text'] = normalise(''.join(o['text']) if isinstance(o['text'], list) else o['text'])
        elif o.get('output_type') in ('execute_result', 'display_data'):
            d = dict(o.get('data', {}))
            for k in TEXT:
                if k in d: d[k] = normalise(''.join(d[k]) if isinstance(d[k], list) else d[k])
            o['data'] = d; o['metadata'] = {}
            if o['output_type'] == 'execute_result': o['execution_count'] = None
        elif o.get('output_type') == 'error':
            o = dict(output_type='error', ename=o.get('ename', ''), evalue=normalise(str(o.get('evalue', ''))), traceback=[])
        res.append(o)
    # consecutive stdout chunks as one (execnb may split them)
    merged = []
    for o in res:
        if merged and o.get('output_type') == 'stream' and merged[-1].get('output_type') == 'stream':
            merged[-1]['text'] += o['text']
        else: merged.append(o)
    return merged


def _text(outputs) -> str:
    "What --check compares: streams and text data; images only by presence."
    parts = []
    for o in outputs:
        t = o.get('output_type')
        if t == 'stream': parts.append(o['text'])
        elif t in ('execute_result', 'display_data'):
            d = o.get('data', {})
            k = next((k for k in TEXT if k in d), None)
            if k and not any(i in d for i in ('image/png', 'image/svg+xml')): parts.append(d[k])
            elif any(i in d for i in ('image/png', 'image/svg+xml')): parts.append('<image>')
        elif t == 'error': parts.append(f"{o['ename']}: {o['evalue']}")
    return ''.join(p if p.endswith('\n') else p + '\n' for p in parts)


def execute(path:Path):
    "Run notebook `path` as nbdev_test does: (nb, error or None, seconds, fingerprint, {flag: cells skipped})."
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    from nbdev.process import extract_directives
    os.environ['IN_TEST'] = '1'
    from ltmoo.numerics import numerics_fingerprint
    fp = numerics_fingerprint()      # no random state used: the notebook runs as it would without it
    flags = _flags()
    t0 = time.time()
    nb = read_nb(path)
    for c in nb.cells: c.directives_ = extract_directives(c, remove=False) if c.cell_type == 'code' else {}
    sh = CaptureShell(path, mpl_format='png')       # not retina: half the bytes in git
    err, skipped = None, {}
    cwd = os.getcwd(); os.chdir(path.parent)
    try:
        sh.run(SEED)
        for c in nb.cells:
            if c.cell_type != 'code': continue
            if _skipped(c, flags):
                if why := _skip_reason(c, flags): skipped[why] = skipped.get(why, 0) + 1
                c.outputs = []; continue
            c.outputs = []
            sh.cell(c)
            if sh.exc:
                err = f'cell {c.idx_} (id {c.get("id", "?")}) raised {type(sh.exc).__name__}: {sh.exc}'
                break
    finally: os.chdir(cwd)
    return nb, err, time.time() - t0, fp, skipped


def _committed(path:Path):
    from execnb.nbio import read_nb
    return read_nb(path)


def _as_lines(o:dict) -> dict:
    "Text as nbformat's list of lines, as JupyterLab writes it (some readers mis-handle one multi-line string)."
    if 'text' in o and isinstance(o['text'], str): o['text'] = o['text'].splitlines(keepends=True)
    for k in TEXT:
        if isinstance(o.get('data', {}).get(k), str): o['data'][k] = o['data'][k].splitlines(keepends=True)
    return o


def _rel(path:Path) -> str:
    try: return str(path.relative_to(ROOT))
    except ValueError: return str(path)


def write(path:Path) -> tuple[str, str|None]:
    nb, err, dt, fp, sk = execute(path)
    if err: return f'FAIL  {_rel(path)}: not written: {err}', None
    from execnb.nbio import write_nb
    for c in nb.cells:
        if c.cell_type != 'code': continue
        c.outputs = [] if _variable(c) else [_as_lines(o) for o in _clean_outputs(c.get('outputs'))]
        c.execution_count = None
        c.pop('directives_', None)
    write_nb(nb, path)
    subprocess.run([str(Path(sys.executable).parent/'nbdev_clean'), '--fname', str(path)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return f'PASS  {_rel(path)}: written ({dt:.0f} s, numerics {fp}{_skips(sk)})', fp


def check(path:Path) -> tuple[bool, str, dict]:
    old = _committed(path)
    nb, err, dt, fp, sk = execute(path)
    rel = _rel(path)
    if err: return False, f'FAIL  {rel}: {err}', sk
    rec = read_record().get(path.name)
    exact = rec in (None, fp)
    bad, masked = [], 0
    for i, (a, b) in enumerate(zip(old.cells, nb.cells)):
        if a.cell_type != 'code' or _variable(a): continue
        ta, tb = _text(_clean_outputs(a.get('outputs'))), _text(_clean_outputs(b.get('outputs')))
        if not exact and ta != tb:
            masked += 1; ta, tb = mask_numbers(ta), mask_numbers(tb)
        if ta != tb:
            diff = list(difflib.unified_diff(ta.splitlines(), tb.splitlines(), 'committed', 'now', lineterm='', n=1))
            bad.append(f'{rel}: cell {i} (id {a.get("id", "?")}): committed output differs\n    '
                       + '\n    '.join(diff[2:12]) + ('\n    …' if len(diff) > 12 else ''))
    if bad: return False, 'FAIL  ' + '\n'.join(bad), sk
    if exact: return True, f'PASS  {rel}: outputs match ({dt:.0f} s{_skips(sk)})', sk
    return True, (f'PASS  {rel}: outputs match with their numbers masked ({dt:.0f} s{_skips(sk)}; {masked} cells differ '
                  f'in numbers only): this machine computes float32 differently (numerics {fp} here, {rec} where they '
                  'were written)'), sk


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument('--write', action='store_true', help='execute in place and keep the outputs')
    g.add_argument('--check', action='store_true', help='re-execute in memory and compare with the committed outputs')
    ap.add_argument('notebooks', nargs='*', help='notebooks (default: every library notebook)')
    ap.add_argument('-j', '--jobs', type=int, default=min(2, os.cpu_count() or 1), help='notebooks run at once')
    a = ap.parse_args(argv)
    nbs = [Path(p).resolve() for p in a.notebooks] or library_notebooks()
    missing = [str(p) for p in nbs if not p.exists()]
    if missing: print(f'error: no such notebook: {", ".join(missing)}', file=sys.stderr); return 2
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    import ltmoo    # pins the CPU kernels in os.environ (nbs/22_numerics) before the fork server imports torch
    t0 = time.time()
    fn = write if a.write else check
    ok = True
    # the slowest notebooks first, so that one of them does not run alone at the end (measured: 212 s -> about 170 s on 2 cores)
    nbs = sorted(nbs, key=lambda p: (p.stem not in SLOW, SLOW.index(p.stem) if p.stem in SLOW else 0, p.name))
    # one fresh process per notebook, forked from a server that has already imported the heavy packages (torch alone
    # takes 5 s to import; a notebook still starts from import-time state, as under nbdev_test)
    import multiprocessing as mp
    ctx = mp.get_context('forkserver')
    ctx.set_forkserver_preload(['torch', 'torchvision', 'numpy', 'pandas', 'matplotlib.pyplot', 'sklearn.cluster',
                                'execnb.shell', 'nbdev.process', 'fastcore.test', 'IPython'])
    passed, skipped = 0, {}
    with ProcessPoolExecutor(max_workers=a.jobs, max_tasks_per_child=1, mp_context=ctx) as ex:
        futs = {ex.submit(fn, p): p for p in nbs}
        for fut in as_completed(futs):      # report each notebook as it finishes
            r = fut.result()
            if a.check:
                ok &= r[0]; passed += r[0]
                for k, v in r[2].items(): skipped[k] = skipped.get(k, 0) + v
                r = r[1]
            else:
                r, fp = r; ok &= fp is not None
                if fp is not None:
                    rec = read_record(); rec[futs[fut].name] = fp
                    RECORD.write_text(json.dumps(dict(sorted(rec.items())), indent=1) + '\n')
            print(r, flush=True)
    if a.check:
        rest = [p.name for p in NBS.glob('*.ipynb') if p.resolve() not in set(nbs)] if not a.notebooks else []
        print(f'{len(nbs)} notebooks checked in {time.time() - t0:.0f} s: {passed} passed, {len(nbs) - passed} failed'
              + _skips(skipped) + (f'; not executed (skip_exec, made by DVC): {", ".join(sorted(rest))}' if rest else '')
              + ('' if ok else ' — FAILED'))
    else:
        print(f'{len(nbs)} notebooks executed in {time.time() - t0:.0f} s' + ('' if ok else ' — FAILED'))
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())
