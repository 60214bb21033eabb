#!/usr/bin/env bash
# The main job on the embedded defaults: the example repo (examples/acme) deployed through the real
# deploy flow with real terraform against the offline test bed, on a local Prefect server.
#   scripts/demo.sh        bring everything up, deploy every instance, re-plan (no changes)
#   scripts/demo.sh down   stop the Prefect server and the test bed
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
port="${STACKFLOW_DEMO_PORT:-4200}"
demo="$root/.demo"

if [ "${1:-}" = "down" ]; then
  bash scripts/prefect_server.sh down "$demo/prefect" "$port"
  .venv/bin/python -m testbed down --dir .sandbox
  exit 0
fi

echo "== test bed (terraform 1.0.3, aws provider 3.39.0, moto) =="
.venv/bin/python -m testbed up --dir .sandbox
# shellcheck disable=SC1091
source .sandbox/env

echo "== local Prefect server =="
bash scripts/prefect_server.sh up "$demo/prefect" "$port"
export PREFECT_API_URL="http://127.0.0.1:${port}/api"
export STACKFLOW_HOME="$demo/stackflow"

echo "== stackflow deploy --repo examples/acme --all =="
start=$(date +%s)
# prod instances wait at approval gates; the demo approves them itself (see the Prefect UI)
.venv/bin/stackflow deploy --repo examples/acme --all &
deploy_pid=$!
.venv/bin/python scripts/demo_approver.py "$deploy_pid" &
wait "$deploy_pid"
echo "(deploy took $(( $(date +%s) - start )) s)"

echo "== second run: stackflow plan --repo examples/acme --all (expect no changes) =="
.venv/bin/stackflow plan --repo examples/acme --all

echo "== terraform state objects in the test bed's S3 bucket =="
.venv/bin/python -m testbed status --dir .sandbox --state-keys

echo
echo "Prefect UI: http://127.0.0.1:${port}/runs  (flow runs, task runs per instance, the summary artifact)"
echo "Stop everything with: make demo-down"
