#!/usr/bin/env bash
# Set up, then run the main job: train TD-MPC2 on Pendulum-v1 for 2,000 env steps on the CPU (about 5-10
# minutes on 2 cores). The run directory (metrics.jsonl, checkpoint/, model/, curve.png) is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/worldflux train tdmpc2:ci --env Pendulum-v1 --steps 2000 --out "${1:-runs/main-tdmpc2-pendulum}" \
    --set latent_dim=64 --set hidden_dim=128 --set enc_dim=128 --set batch_size=256 \
    --set num_samples=256 --set num_elites=32 --set num_pi_trajs=16 --set iterations=4 \
    --set eval_every=500 --set eval_episodes=5 --set log_every=250 --set checkpoint_every=500
