#!/usr/bin/env bash
# The GPU checks and speed benchmarks, one after another, each under its own time limit (seconds), so that one
# that hangs or fails leaves the others their turn. Run from the repository root on a machine with a CUDA GPU:
#
#   WORLDFLUX_TDMPC2_PYTHON=... WORLDFLUX_TDMPC2_CHECKOUT=... \
#   WORLDFLUX_DREAMERV3_PYTHON=... WORLDFLUX_DREAMERV3_CHECKOUT=... bash benchmarks/gpu.sh
#
# The peers need the official environments as docs/parity.md sets them up (on a GPU the official TD-MPC2 runs
# as written, with tensordict; the official DreamerV3 with a CUDA build of JAX).
set -u
PYTHON=${PYTHON:-python}
export PYTHONUNBUFFERED=1

step() {
    local limit=$1
    shift
    echo
    echo "\$ $*"
    timeout "$limit" "$@"
    local rc=$?
    [ "$rc" = 0 ] || echo "(stopped: exit $rc; limit ${limit} s)"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PYTHON" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
step 150 "$PYTHON" -m pytest -q -p no:cacheprovider tests/training/test_cuda.py
step 90 "$PYTHON" -m benchmarks.peers.tdmpc2 --device cuda --rounds 6 --reps 10
step 150 "$PYTHON" -m benchmarks.peers.tdmpc2 --device cuda --compile --rounds 6 --reps 10
step 150 "$PYTHON" -m benchmarks.peers.dreamerv3 --device cuda --precision bf16 --rounds 4 --reps 3
step 45 "$PYTHON" -m benchmarks.precision --device cuda --repeats 10
step 300 "$PYTHON" -m benchmarks.scaling --device cuda --repeats 5 --timeout 60
