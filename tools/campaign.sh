#!/usr/bin/env bash
# The paper-scale campaign on any machine: set-up (venv, the pinned code and the data are `ltmoo campaign start`'s),
# then `ltmoo campaign ARGS` (start | status | stop | queue | import). See nbs/24_campaign.ipynb.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh > /dev/null
. .venv/bin/activate
exec ltmoo campaign "${@:-status}"
