#!/usr/bin/env bash
# Every benchmark, one command (`make bench`): figures are printed as ratios against baselines
# measured in the same run, and written to benchmarks/results/*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p benchmarks/results
echo "== loader: 10,000 instances, catalog-heavy stack manifests (issue 4) =="
.venv/bin/python benchmarks/loader_bench.py --shape catalog-heavy --json benchmarks/results/loader.json
echo "== loader: the same repo, stack manifests setting every component's vars (issue 4) =="
.venv/bin/python benchmarks/loader_bench.py --shape inline --json benchmarks/results/loader_inline.json
echo "== deploy flow scheduling (issue 5) =="
.venv/bin/python benchmarks/deploy_dag.py --json benchmarks/results/deploy_dag.json 2>/dev/null
