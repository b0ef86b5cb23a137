#!/usr/bin/env bash
# Create .venv (if missing) and install every distribution editable, plus test tools.
# TORCH_SPEC picks the torch to install (default: the CPU build that lies on this machine kind's disk).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
# Headless OpenGL for dmc:domain-task:pixels (MuJoCo renders through EGL, else OSMesa): Debian's libraries,
# installed only where missing and only where apt is the package manager.
GL_PACKAGES="libegl1 libgl1 libgl1-mesa-dri libosmesa6"
if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
    missing=""
    for p in $GL_PACKAGES; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        echo "setup: installing${missing} (Debian) so MuJoCo can render dmc pixels without a display"
        SUDO=""
        [ "$(id -u)" -eq 0 ] || SUDO=sudo
        { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends $missing; } >/dev/null 2>&1 \
            || echo "setup: could not install them; run: sudo apt-get install${missing} (only dmc pixels need them)"
    fi
fi
pip_install() {
    # A pip configuration whose extra index lists no page for a package makes pip warn about it, once per
    # package and location: nothing in this project to act on, so those lines are dropped (pip's status is kept).
    .venv/bin/python -m pip install -q --disable-pip-version-check "$@" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip_install "${TORCH_SPEC:-torch==2.13.0}"
pip_install -r requirements-dev.txt
pip_install --no-deps --no-build-isolation --force-reinstall ./examples/worldflux-pets  # the example plugin as users install one: built, not editable
