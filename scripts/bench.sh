#!/usr/bin/env bash
# Every benchmark, one command (`make bench`): figures are printed as ratios against baselines
# measured in the same run, and written to benchmarks/results/*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p benchmarks/results
echo "== loader: 10,000 instances (issue 4) =="
.venv/bin/python benchmarks/loader_bench.py --json benchmarks/results/loader.json
echo "== deploy flow scheduling (issue 5) =="
.venv/bin/python benchmarks/deploy_dag.py --json benchmarks/results/deploy_dag.json 2>/dev/null
