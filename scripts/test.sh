#!/usr/bin/env bash
# Set up, then run every test. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Wheels of the runtime dependencies, so the packaging test installs with --no-index.
WHEELHOUSE=${WORLDFLUX_WHEELHOUSE:-.cache/wheelhouse}
.venv/bin/python -m pip download -q --disable-pip-version-check -d "$WHEELHOUSE" \
    "${TORCH_SPEC:-torch==2.13.0}" pluggy importlib-metadata attrs click tabulate safetensors numpy gymnasium pyyaml filelock psutil 2>&1 \
    | grep -v "is ignored: it is neither" || true
export WORLDFLUX_WHEELHOUSE=$WHEELHOUSE
.venv/bin/python -m pytest "$@"
