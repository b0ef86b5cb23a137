#!/usr/bin/env bash
# Create .venv (if missing) and install every distribution editable, plus test tools.
# TORCH_SPEC picks the torch to install (default: the CPU build that lies on this machine kind's disk).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check "${TORCH_SPEC:-torch==2.13.0}"
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation --force-reinstall ./examples/worldflux-pets  # the example plugin as users install one: built, not editable
