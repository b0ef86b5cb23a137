"""The installed `worldflux` command, run as a user runs it, with the real first-party plugins."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXE = Path(sys.executable).parent / "worldflux"  # the console script beside this interpreter


def worldflux(*args: str) -> subprocess.CompletedProcess[str]:
    assert EXE.exists(), f"the worldflux console script is not installed at {EXE}"
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=120)


def test_models_list_all_verbose_runs():
    out = worldflux("models", "list", "--surface", "all", "--verbose")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].split()[:2] == ["name", "family"]


def test_plugins_shows_the_first_party_distributions():
    out = worldflux("plugins", "--json")
    assert out.returncode == 0, out.stderr
    found = {p["distribution"]: p for p in json.loads(out.stdout)}
    assert {"worldflux-dreamer", "worldflux-tdmpc2", "worldflux-backends"} <= set(found)
    assert all(not p["errors"] for p in found.values())


def test_unknown_model_exits_1_with_a_message_on_stderr():
    out = worldflux("models", "show", "nosuchmodel:big")
    assert out.returncode == 1 and out.stdout == ""
    assert "Error: Unknown model 'nosuchmodel:big'" in out.stderr


def test_version():
    out = worldflux("--version")
    assert out.returncode == 0 and out.stdout.strip() == "worldflux, version 0.1.0"
