"""`worldflux convert`, `export` and `parity` as a user runs them, with the real first-party plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

EXE = Path(sys.executable).parent / "worldflux"
OFFICIAL_PT = Path(__file__).parent.parent / "worldflux-tdmpc2/tests/fixtures/official/ci_single/official.pt"
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("WORLDFLUX_TDMPC2_", "WORLDFLUX_DREAMERV3_"))}


def worldflux(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=120, env=ENV)


def test_convert_then_export_an_official_tdmpc2_checkpoint(tmp_path: Path) -> None:
    out = worldflux("convert", "official-tdmpc2", str(OFFICIAL_PT), "--out", str(tmp_path / "model"),
                    "-o", "episode_length=500")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["saved_model"] == str(tmp_path / "model")
    assert (tmp_path / "model" / "config.json").is_file()
    back = worldflux("export", "official-tdmpc2", str(tmp_path / "model"), "--out", str(tmp_path / "back.pt"))
    assert back.returncode == 0, back.stderr
    original = torch.load(OFFICIAL_PT, weights_only=True)["model"]
    exported = torch.load(tmp_path / "back.pt", weights_only=True)["model"]
    assert all(torch.equal(exported[k], v) for k, v in original.items() if isinstance(v, torch.Tensor))


def test_bad_conversions_are_one_line_errors(tmp_path: Path) -> None:
    unknown = worldflux("convert", "official-nosuch", str(OFFICIAL_PT), "--out", str(tmp_path / "m"))
    assert unknown.returncode == 1 and "Unknown official implementation 'official-nosuch'. Known: " \
        "official-dreamerv3, official-tdmpc2." in unknown.stderr
    no_length = worldflux("convert", "official-tdmpc2", str(OFFICIAL_PT), "--out", str(tmp_path / "m"))
    assert no_length.returncode == 1 and "episode_length" in no_length.stderr and "Traceback" not in no_length.stderr
    no_export = worldflux("export", "official-dreamerv3", str(tmp_path), "--out", str(tmp_path / "x"))
    assert no_export.returncode == 1 and "official-dreamerv3 has no exporter" in no_export.stderr


def test_parity_check_says_what_it_needs_to_run_the_official_code() -> None:
    out = worldflux("parity", "check", "tdmpc2:ci")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "WORLDFLUX_TDMPC2_PYTHON" in out.stderr and "WORLDFLUX_TDMPC2_CHECKOUT" in out.stderr
    training = worldflux("parity", "check", "tdmpc2:ci", "--set", "steps=5")
    assert training.returncode == 1 and "TrainingConfig fields have no part in it" in training.stderr
