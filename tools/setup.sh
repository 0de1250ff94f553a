#!/usr/bin/env bash
# One-time (idempotent) set-up: a virtual environment in .venv with the pinned requirements and ltmoo
# installed in editable mode, plus a Jupyter kernel inside it for papermill and JupyterLab.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then for c in python3.11 python3; do command -v "$c" >/dev/null && { PY=$c; break; }; done; fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.ltmoo-installed
want=$(cat requirements.txt requirements.lock setup.py settings.ini | sha256sum | cut -c1-16)
# Installer: uv (from PyPI, into the venv) when it can be had, else pip. uv installs the 6 GB of wheels from its cache by
# links in seconds where pip unpacks them each time (measured here: 6 s vs 2.5-4.5 min for a fresh venv with the wheels
# already downloaded). LTMOO_INSTALLER=pip forces pip. Both install requirements.lock: every package at the version the
# tests ran with (`uv pip compile --universal requirements.txt -o requirements.lock`; requirements.txt: the direct pins).
pip_q() { .venv/bin/python -m pip install -q --disable-pip-version-check "$@"; }
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  inst=${LTMOO_INSTALLER:-uv}
  if [ "$inst" = uv ] && { .venv/bin/python -m uv --version >/dev/null 2>&1 || pip_q uv >/dev/null 2>&1; }; then
    uvi() { .venv/bin/python -m uv pip install -q --python .venv/bin/python "$@"; }
    uvi -r requirements.lock && uvi --no-deps -e . || { echo "setup: uv failed; installing with pip" >&2; inst=pip; }
  else inst=pip; fi
  if [ "$inst" = pip ]; then pip_q -r requirements.lock && pip_q --no-deps -e .; fi
  echo "$want" > "$stamp"
fi
# The venv's kernel, named and displayed `python3`: nbdev_clean writes kernelspec.display_name = name into every
# notebook, so a kernel displayed under another name makes JupyterLab rewrite (modify) each notebook it opens.
kj=.venv/share/jupyter/kernels/python3/kernel.json
grep -q '"display_name": "python3"' "$kj" 2>/dev/null ||
  .venv/bin/python -m ipykernel install --sys-prefix --name python3 --display-name python3 >/dev/null
bash tools/vendor_vega.sh   # vega for `dvc plots show` offline (npm registry; skipped without npm)
.venv/bin/python -c "import torch, torchvision, ltmoo; print('ltmoo', ltmoo.__version__, '| torch', torch.__version__, '| torchvision', torchvision.__version__, '| cuda', torch.cuda.is_available())"
