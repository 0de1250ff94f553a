"""Check the products of `dvc repro`: every declared output of every stage exists (read from dvc.lock),
`dvc status` is clean, and every run's metrics.json is complete, of the resolved profile, and above chance."""
import json, subprocess, sys
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
    chance = 100. / max(1, len(d.get('acc_per_class', [])) or 10)
    if not d.get('acc', 0) > chance: bad.append(f"{m}: accuracy {d.get('acc')} not above chance")
if bad: sys.exit("bad runs:\n  " + "\n  ".join(bad))
st = subprocess.run(['dvc', 'status', '--json'], cwd=root, capture_output=True, text=True)
changed = {k: v for k, v in json.loads(st.stdout or '{}').items() if k != 'profile'}  # `profile` is always_changed by design
if st.returncode or changed: sys.exit(f"dvc status is not clean after dvc repro: {changed or st.stderr}")
print(f"check_outputs: {n} outputs of {len(lock['stages'])} stages present; profile {prof}; dvc status clean")
