"""End to end as a user runs it: ``worldflux train pets:ci`` on Pendulum-v1, then resume and eval."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("gymnasium")


def worldflux(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("worldflux")
    cmd = [str(exe)] if exe.exists() else [shutil.which("worldflux") or "worldflux"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([*cmd, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_train_resume_and_eval_write_a_run(tmp_path):
    run = tmp_path / "run"
    worldflux("train", "pets:ci", "--env", "Pendulum-v1", "--steps", "120", "--out", str(run),
              "--set", "eval_every=100", "--set", "eval_episodes=1", "--set", "log_every=60", cwd=tmp_path)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "wall_s" in r] == [60, 120]
    assert any("eval_return" in r for r in records)
    trained = [r for r in records if "train/nll" in r]
    assert trained and trained[-1]["updates"] > 0
    assert (run / "checkpoint" / "state.json").is_file()
    assert (run / "model" / "config.json").is_file() and list((run / "model").glob("weights-*.safetensors"))
    assert json.loads((run / "model" / "config.json").read_text())["family"] == "pets"

    worldflux("train", "--resume", str(run), "--steps", "180", cwd=tmp_path)
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) == 180

    out = worldflux("eval", str(run), "--episodes", "1", cwd=tmp_path)
    assert json.loads(out.stdout)["eval_length"] == 200
