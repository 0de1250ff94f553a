#!/usr/bin/env bash
# One-time (idempotent) set-up: a virtual environment in .venv with the pinned requirements and ltmoo
# installed in editable mode, plus a Jupyter kernel inside it for papermill and JupyterLab.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then for c in python3.11 python3; do command -v "$c" >/dev/null && { PY=$c; break; }; done; fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.ltmoo-installed
want=$(cat requirements.txt setup.py settings.ini | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
  echo "$want" > "$stamp"
fi
# The venv's kernel, named and displayed `python3`: nbdev_clean writes kernelspec.display_name = name into every
# notebook, so a kernel displayed under another name makes JupyterLab rewrite (modify) each notebook it opens.
kj=.venv/share/jupyter/kernels/python3/kernel.json
grep -q '"display_name": "python3"' "$kj" 2>/dev/null ||
  .venv/bin/python -m ipykernel install --sys-prefix --name python3 --display-name python3 >/dev/null
.venv/bin/python -c "import torch, torchvision, ltmoo; print('ltmoo', ltmoo.__version__, '| torch', torch.__version__, '| torchvision', torchvision.__version__, '| cuda', torch.cuda.is_available())"
