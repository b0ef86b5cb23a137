#!/usr/bin/env bash
# Set up, then run the main job: list the whole model catalog of the installed plugins.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/worldflux models list --surface all --verbose
