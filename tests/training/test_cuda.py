"""The GPU paths: runs on a CUDA device (fp32, bf16, CUDA graphs), their files, and CUDA graphs against eager.

Skipped where torch sees no CUDA device (CI has none); run on a GPU machine with
``python -m pytest tests/training/test_cuda.py``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

from worldflux import create_world_model
from worldflux.runs import read_metrics
from worldflux.training import Trainer
from worldflux.types import Batch
from worldflux_tdmpc2.agent import TDMPC2Agent

from training_helpers import short_run, tiny_model

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("model,env,changes", [
    ("tdmpc2:ci", "Pendulum-v1", {}),
    ("tdmpc2:ci", "Pendulum-v1", {"precision": "bf16"}),
    ("tdmpc2:ci", "Pendulum-v1", {"compile": True}),  # CUDA graphs
    ("dreamer:ci", "CartPole-v1", {"precision": "bf16"}),
])
def test_a_gpu_run_trains_saves_a_cpu_loadable_model_and_resumes(tmp_path: Path, model: str, env: str,
                                                                   changes: dict[str, Any]) -> None:
    summary = Trainer(tiny_model(model, env), short_run(tmp_path, env, device="cuda", **changes)).fit()
    assert summary["steps"] == 240 and summary["updates"] > 0 and math.isfinite(summary["eval_return"])
    losses = [v for r in read_metrics(tmp_path) for k, v in r.items() if k.startswith("train/")]
    assert losses and all(math.isfinite(v) for v in losses)
    reloaded = create_world_model(tmp_path / "model")
    assert {p.device.type for p in reloaded.parameters()} == {"cpu"}
    assert Trainer.resume(tmp_path, steps=280).fit()["steps"] == 280


def test_tdmpc2_updates_with_cuda_graphs_match_eager() -> None:
    def agent(compiled: bool) -> TDMPC2Agent:
        torch.manual_seed(0)  # no dropout and two Qs: the update has no randomness left
        model = create_world_model("tdmpc2:ci", obs_shape=(5,), action_dim=2, num_q_networks=2, dropout=0.0,
                                   device="cuda")
        a = TDMPC2Agent(model, 1)
        if compiled:
            a.compile()
        return a

    g = torch.Generator().manual_seed(1)
    batches = [Batch(obs=torch.randn(16, 4, 5, generator=g), action=torch.rand(16, 4, 2, generator=g) * 2 - 1,
                     reward=torch.randn(16, 4, generator=g), is_first=torch.zeros(16, 4, dtype=torch.bool),
                     is_terminal=torch.zeros(16, 4, dtype=torch.bool)).to("cuda") for _ in range(3)]
    eager, graphed = agent(False), agent(True)
    assert graphed.cuda_graphs
    for batch in batches:
        expected, got = eager.update(batch), graphed.update(batch)
        for key in ("total_loss", "consistency", "reward", "value"):
            torch.testing.assert_close(got[key], expected[key], rtol=1e-3, atol=1e-4)
    for p, q in zip(graphed.model.parameters(), eager.model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-3, atol=1e-4)
    obs, first = torch.randn(1, 5, device="cuda"), torch.tensor([False], device="cuda")
    action = graphed.planner.act(obs, first, explore=False)
    assert action.shape == (1, 2) and action.abs().max() <= 1
