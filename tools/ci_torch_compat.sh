#!/usr/bin/env bash
# CI check that the library and the GPU window kit run under the GPU machine's PyTorch 2.11 / torchvision 0.26
# (the project pins 2.14.1 / 0.29.1): the kit's CPU smoke, a few steps and one evaluation of every method of
# grids.paper, in a second environment with those versions. Exits non-zero on any failure.
#
#   bash tools/ci_torch_compat.sh            # after tools/setup.sh (uses .venv's Python and packages)
#
# The second environment is `pip install --no-deps --target` of the two PyPI wheels (530 MB + 8 MB, the CUDA 13
# builds, which run on a CPU) in a cache folder outside the tree, put first on PYTHONPATH; every other package,
# and the CUDA 13 libraries the torch wheel links against (same sonames), come from .venv. First run: about 1.5 min
# to download and install, then the smoke; later runs reuse the folder.
# Settings: LTMOO_COMPAT_TORCH (2.11.0), LTMOO_COMPAT_TORCHVISION (0.26.0), LTMOO_COMPAT_DIR (the cache folder),
# LTMOO_COMPAT_JOBS (parallel smoke processes, 2), LTMOO_COMPAT_METHODS (default: every method of grids.paper, and
# batched:ce+kps, CE and KPS stacked in one network as the kit trains them).
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
TORCH=${LTMOO_COMPAT_TORCH:-2.11.0}; TV=${LTMOO_COMPAT_TORCHVISION:-0.26.0}
DIR=${LTMOO_COMPAT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ltmoo/torch-$TORCH-tv-$TV}
JOBS=${LTMOO_COMPAT_JOBS:-2}
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || { echo "ci_torch_compat: $PY not found: run tools/setup.sh first" >&2; exit 2; }
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ ! -f "$DIR/.complete" ]; then
  echo "ci_torch_compat: installing torch==$TORCH torchvision==$TV into $DIR"
  rm -rf "$DIR"; mkdir -p "$DIR"
  "$PY" -m pip install -q --disable-pip-version-check --no-deps --no-compile --target "$DIR/site" \
    "torch==$TORCH" "torchvision==$TV"
  # the CUDA 13 libraries torch's wheel links against ($ORIGIN/../../nvidia/...): .venv's, same sonames
  if [ -d "$SITE/nvidia" ]; then ln -s "$SITE/nvidia" "$DIR/site/nvidia"; fi
  touch "$DIR/.complete"
fi
export PYTHONPATH="$DIR/site:$PWD" OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
"$PY" - "$TORCH" "$TV" <<'EOF'
import sys, torch, torchvision
want_t, want_v = sys.argv[1], sys.argv[2]
got_t, got_v = torch.__version__.split('+')[0], torchvision.__version__.split('+')[0]
if (got_t, got_v) != (want_t, want_v): sys.exit(f"ci_torch_compat: got torch {got_t} / torchvision {got_v}, wanted {want_t} / {want_v}")
print(f"ci_torch_compat: torch {torch.__version__} ({torch.__file__}), torchvision {torchvision.__version__}")
EOF
T1=$(date +%s)
METHODS=${LTMOO_COMPAT_METHODS:-$("$PY" -c 'from ltmoo.config import load_params; print(" ".join(load_params("smoke")["grids"]["paper"]["methods"]))')}
[ -n "${LTMOO_COMPAT_METHODS:-}" ] || METHODS="$METHODS batched:ce+kps"   # two runs stacked (ltmoo.batched)
read -r -a ALL <<< "$METHODS"
SETS=(train.model=resnet8 data.train_subset=120 data.test_subset=50 train.epochs=1 train.batch_size=64 train.warmup_epochs=1
      'train.milestones=[]' 'train.lr_factors=[]')
OUTD=$(mktemp -d); pids=()
for ((j = 0; j < JOBS; j++)); do
  mine=(); for ((i = j; i < ${#ALL[@]}; i += JOBS)); do mine+=("${ALL[$i]}"); done
  [ ${#mine[@]} -gt 0 ] || continue
  "$PY" -m ltmoo.kit smoke --profile smoke --out "$OUTD/runs$j" --json "$OUTD/smoke$j.json" \
    --methods "${mine[@]}" --set "${SETS[@]}" > "$OUTD/log$j" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
cat "$OUTD"/log* | grep -E '^smoke ' || true
"$PY" - "$OUTD" "${#ALL[@]}" "$T0" "$T1" <<'EOF'
import sys, json, glob, time
d, n, t0, t1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = [r for f in sorted(glob.glob(f'{d}/smoke*.json')) for r in json.load(open(f))]
bad = [r for r in rows if not r['ok']]
print(f"ci_torch_compat: {len(rows) - len(bad)} of {n} methods ok under torch 2.11 "
      f"(set-up {t1 - t0} s, smoke {time.time() - t1:.0f} s)")
for r in bad: print(f"  FAILED {r['method']}: {r['error']}  [{r.get('where', '')}]")
sys.exit(1 if bad or len(rows) < n else 0)
EOF
