#!/usr/bin/env bash
# The GPU window kit (docs/gpu.md): run from the repository root on the GPU machine, with only what it has
# (python3 with torch, numpy, scikit-learn, PyYAML, tqdm; no venv, nbdev, DVC or papermill):
#   bash tools/gpu_window.sh [--budget 540] [--out DIR] [-k 6] [more `python -m ltmoo.kit window` options]
# Prepares data/cifar10-lt from external/shared, smokes every method the window may train (the queue's: campaign.yaml's,
# the aggregator study's included; then grids.paper's others), then trains paper-scale runs from the queue until the
# budget, and writes at most 8 files (manifest.json, kit.log, *.tar.gz) to --out.
set -u
cd "$(dirname "$0")/.." || exit 1
PY=${PYTHON:-$(command -v python3 || command -v python)}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
# packages ltmoo needs that the GPU image lacks, carried as wheels in external/shared/wheels (python -m ltmoo.kit
# prepare-carry, here): pydantic for ltmoo.config, and the jd extra (torchjd and the solvers its aggregators call) for
# the aggregator study's runs. Installed when pydantic, or the jd extra whose wheels came, is not found.
wheels=external/shared/wheels
core='import pydantic, annotated_types, typing_inspection'
jd='import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in
    ("torchjd", "qpsolvers", "quadprog", "cvxpy", "ecos", "clarabel", "qdldl")))'
if ! "$PY" -c "$core" 2>/dev/null || { ls "$wheels"/torchjd-*.whl >/dev/null 2>&1 && ! "$PY" -c "$jd"; }; then
  if ls "$wheels"/*.whl >/dev/null 2>&1; then
    site=${TMPDIR:-/tmp}/ltmoo-site
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
      "$wheels"/*.whl || { echo "gpu_window: installing the carried wheels failed" >&2; exit 1; }
    export PYTHONPATH="$PYTHONPATH:$site"
  else
    echo "gpu_window: pydantic missing and no wheels in $wheels (run python -m ltmoo.kit prepare-carry here)" >&2
    exit 1
  fi
fi
# without the jd extra the window still runs: the kit skips the study's runs, each with its reason in manifest.json
"$PY" -c "$jd" || echo "gpu_window: the jd extra (torchjd and its solvers) is not here: the aggregator study's runs" \
  "will be skipped (python -m ltmoo.kit prepare-carry carries its wheels when this venv has ltmoo[jd])" >&2
budget=540; out=${OUT:-gpu-window-out}; args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --budget) budget=$2; shift 2;;
    --out) out=$2; shift 2;;
    *) args+=("$1"); shift;;
  esac
done
mkdir -p "$out"
# a hard stop 30 s past the budget, in case the kit itself hangs: what is under --out is kept either way
timeout --signal=TERM --kill-after=10 $(( ${budget%.*} + 30 )) \
  "$PY" -m ltmoo.kit window --budget "$budget" --out "$out" ${args[@]+"${args[@]}"}
rc=$?
echo "gpu_window: exit $rc; files in $out:"; ls -l "$out"
exit $rc
