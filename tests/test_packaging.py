"""Every distribution builds a wheel, and worldflux[all] installs from local files alone."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = ["worldflux-core", "worldflux-dreamer", "worldflux-tdmpc2", "worldflux-backends"]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    for source in [ROOT, *(ROOT / m for m in MEMBERS)]:
        subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(source)],
                       check=True, capture_output=True)
    return out


def test_each_distribution_has_a_wheel_with_its_package(wheels):
    names = {p.name.split("-")[0]: p for p in wheels.glob("*.whl")}
    assert set(names) == {"worldflux", "worldflux_core", "worldflux_dreamer", "worldflux_tdmpc2",
                          "worldflux_backends"}
    meta = zipfile.ZipFile(names["worldflux"]).namelist()
    assert not [n for n in meta if n.endswith(".py")], "the meta distribution ships no code"
    core = zipfile.ZipFile(names["worldflux_core"]).namelist()
    assert "worldflux/__init__.py" in core and "worldflux/cli/__init__.py" in core
    assert "worldflux/templates/plugin/src/__package__/model.py.tmpl" in core  # for `worldflux plugins new`
    metadata = zipfile.ZipFile(names["worldflux"]).read("worldflux-0.1.0.dist-info/METADATA").decode()
    assert "Requires-Dist: worldflux-dreamer==0.1.0; extra == 'dreamer'" in metadata
    entry_points = zipfile.ZipFile(names["worldflux_tdmpc2"]).read(
        "worldflux_tdmpc2-0.1.0.dist-info/entry_points.txt").decode()
    assert "[worldflux]\nworldflux-tdmpc2 = worldflux_tdmpc2.plugin" in entry_points


def test_all_installs_from_local_wheels_into_a_fresh_venv(wheels, tmp_path):
    wheelhouse = Path(os.environ.get("WORLDFLUX_WHEELHOUSE", ROOT / ".cache" / "wheelhouse"))
    if not wheelhouse.is_dir():
        pytest.skip(f"no dependency wheelhouse at {wheelhouse}: scripts/test.sh makes one with pip download")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
                    "--find-links", str(wheels), "--find-links", str(wheelhouse), "worldflux[all]"],
                   check=True, capture_output=True)
    out = subprocess.run([str(venv / "bin" / "worldflux"), "models", "list", "--surface", "all"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    plugins = subprocess.run([str(venv / "bin" / "worldflux"), "plugins", "--json"],
                             capture_output=True, text=True, check=True)
    assert {"worldflux-dreamer", "worldflux-tdmpc2", "worldflux-backends"} <= {
        p["distribution"] for p in __import__("json").loads(plugins.stdout)}
