#!/usr/bin/env bash
# Simulator throughput side by side with the plain numpy reference of the same model, in one
# run (issue 14): `clv bench sim` on the cohort scenario with marketing off and on the default
# scenario (every mechanism on), then the numpy reference (marketing off), each on
# CUSTOMERS x PERIODS. Needs numpy for the reference (`pip install numpy`); CI never runs this.
#
# Usage: scripts/bench_sim_reference.sh [CUSTOMERS] [PERIODS] [NUMPY_SCRIPT]
#   CUSTOMERS     default 1000000
#   PERIODS       default 52
#   NUMPY_SCRIPT  default ../shared/bench/numpy_ref_sim.py
set -euo pipefail
customers=${1:-1000000}
periods=${2:-52}
reference=${3:-../shared/bench/numpy_ref_sim.py}
clv=${CLV:-target/release/clv}

for scenario in scenarios/cdnow-cohort.ron scenarios/default.ron; do
    echo "== clv bench sim $scenario ($customers customers x $periods periods)"
    "$clv" bench sim "$scenario" --customers "$customers" --periods "$periods" \
        --policy none --policy rfm-winback --policy churn-risk
done
echo "== numpy reference $reference (marketing off, one core)"
if python3 -c 'import numpy' 2>/dev/null; then
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 "$reference" "$customers" "$periods" 1
else
    echo "numpy is not installed: pip install numpy" >&2
    exit 1
fi
