"""Check the products of `dvc repro`: every declared output of every stage exists (read from dvc.lock),
`dvc status` is clean, every run's metrics.json is complete and of the resolved profile, and the CE run
lowered its loss and beat chance."""
import csv, json, subprocess, sys
from pathlib import Path
import yaml

root = Path(__file__).resolve().parents[1]
lock = yaml.safe_load((root/'dvc.lock').read_text())
missing, n = [], 0
for name, st in lock['stages'].items():
    for o in st.get('outs', []):
        n += 1
        if not (root/o['path']).exists(): missing.append(f"{name}: {o['path']}")
if missing: sys.exit("missing outputs:\n  " + "\n  ".join(missing))
prof = json.loads((root/'results/profile.json').read_text())['profile']
bad = []
for m in sorted((root/'results/runs').rglob('metrics.json')):
    d = json.loads(m.read_text())
    if d.get('profile') != prof: bad.append(f"{m}: profile {d.get('profile')} != {prof}")
    if not d.get('complete'): bad.append(f"{m}: run incomplete")
    acc = d.get('acc')
    if not isinstance(acc, (int, float)) or not 0 <= acc <= 100: bad.append(f"{m}: accuracy {acc} is not a percentage")
    if m.parent.parent.name == 'ce':   # the CE run must learn something even on the smoke profile
        h = list(csv.DictReader(open(m.parent/'history.csv')))
        if not float(h[-1]['train_loss']) < float(h[0]['train_loss']): bad.append(f"{m}: CE training loss did not fall")
        if not acc > 10: bad.append(f"{m}: CE accuracy {acc} is not above chance (10%)")
if bad: sys.exit("bad runs:\n  " + "\n  ".join(bad))
st = subprocess.run(['dvc', 'status', '--json'], cwd=root, capture_output=True, text=True)
changed = {k: v for k, v in json.loads(st.stdout or '{}').items() if k != 'profile'}  # `profile` is always_changed by design
if st.returncode or changed: sys.exit(f"dvc status is not clean after dvc repro: {changed or st.stderr}")
print(f"check_outputs: {n} outputs of {len(lock['stages'])} stages present; profile {prof}; dvc status clean")
