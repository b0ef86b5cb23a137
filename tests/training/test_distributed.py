"""Two data-parallel workers under torchrun with gloo: replicas stay identical while each collects its own data."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import torch

from worldflux.training.checkpoint import load_checkpoint
from worldflux.runs import read_metrics


def test_two_gloo_workers_train_one_model(tmp_path: Path) -> None:
    worldflux = shutil.which("worldflux", path=str(Path(sys.executable).parent))
    run_dir = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", worldflux,
               "train", "tdmpc2:ci", "--env", "Pendulum-v1", "--steps", "160", "--out", str(run_dir),
               "--set", "seed_steps=40", "--set", "eval_every=0", "--set", "log_every=40",
               "--set", "checkpoint_every=80", "--set", "batch_size=8", "--set", "num_samples=16",
               "--set", "num_elites=4", "--set", "num_pi_trajs=2", "--set", "iterations=1"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    rank0, rank1 = load_checkpoint(run_dir / "checkpoint"), load_checkpoint(run_dir / "checkpoint-rank1")
    assert rank0["counters"]["steps"] == rank1["counters"]["steps"] == 160  # 80 env steps per worker
    assert rank0["counters"]["updates"] == rank1["counters"]["updates"] > 0
    for name, value in rank0["model"].items():
        assert torch.equal(value, rank1["model"][name]), name  # averaged gradients keep replicas equal
    first0 = rank0["envs"]["episode_return"]
    assert first0 != rank1["envs"]["episode_return"]  # but each worker collected its own episodes
    assert [r["step"] for r in read_metrics(run_dir)] == [40, 80, 120, 160]
    assert (run_dir / "replay-rank1").is_dir()
