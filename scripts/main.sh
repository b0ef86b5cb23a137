#!/usr/bin/env bash
# Set up, then run the main job: train TD-MPC2 (tdmpc2:quick, no other flags) on Pendulum-v1 for 2,000 env
# steps on the CPU (about 5 minutes on 2 cores). The run directory (metrics.jsonl, checkpoint/, model/, curve.png) is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/worldflux train tdmpc2:quick --env Pendulum-v1 --steps 2000 --out "${1:-runs/main-tdmpc2-pendulum}"
