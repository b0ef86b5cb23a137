"""`worldflux plugins new`: the skeleton installs (a built wheel, not editable), passes the kit and trains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).parent / "worldflux"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The skeleton of family ``acme_lab``, written by the CLI and pip-installed into a target directory."""
    root = tmp_path_factory.mktemp("scaffold")
    source = root / "worldflux-acme-lab"
    out = subprocess.run([str(EXE), "plugins", "new", "acme_lab", "--dir", str(source)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Next: pip install -e" in out.stderr
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(root / "site"), str(source)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(root / "site")}
    return source, env


def test_the_skeleton_is_listed_as_an_experimental_family_making_no_claim(installed) -> None:
    _, env = installed
    out = subprocess.run([str(EXE), "models", "show", "acme_lab:small"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("acme_lab:small  (acme_lab, experimental, surface public)\n")
    assert "parity role: unclaimed" in out.stdout
    plugins = json.loads(subprocess.run([str(EXE), "plugins", "--json"], capture_output=True, text=True, env=env,
                                        check=True).stdout)
    assert [p["errors"] for p in plugins if p["distribution"] == "worldflux-acme-lab"] == [[]]


def test_the_skeleton_passes_its_own_conformance_tests_unchanged(installed) -> None:
    source, env = installed
    out = subprocess.run([sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"], cwd=source,
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "11 passed" in out.stdout


def test_the_skeleton_trains_with_worldflux_train(installed, tmp_path) -> None:
    _, env = installed
    out = subprocess.run([str(EXE), "train", "acme_lab:small", "--env", "Pendulum-v1", "--steps", "210",
                          "--out", str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout[out.stdout.index("{"):])
    assert summary["steps"] == 210 and summary["updates"] == 210  # 200 seed-step pretraining updates, then 1 per step
    assert {"checkpoint", "metrics.jsonl", "model", "run.json"} <= {p.name for p in (tmp_path / "run").iterdir()}


def test_a_bad_family_name_or_an_occupied_directory_is_refused(tmp_path) -> None:
    bad = subprocess.run([str(EXE), "plugins", "new", "Acme-Lab"], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1 and "'Acme-Lab' cannot name a family" in bad.stderr
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    taken = subprocess.run([str(EXE), "plugins", "new", "acme", "--dir", str(tmp_path / "taken")],
                           capture_output=True, text=True)
    assert taken.returncode == 1 and "already exists and is not empty" in taken.stderr
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
