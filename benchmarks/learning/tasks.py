"""The suite's tasks: per family, a classic-control task, a DMC state task, a pixel task and a sparse-reward task."""

from __future__ import annotations

import attrs


@attrs.frozen
class Task:
    family: str
    name: str
    kind: str
    preset: str
    env: str
    steps: int
    threshold: float | None  # the final evaluation return a seed must reach (None: reported only)

    @property
    def key(self) -> str:
        return f"{self.family}-{self.name}"


TASKS = [
    Task("tdmpc2", "pendulum", "classic control", "tdmpc2:quick", "Pendulum-v1", 2000, -400.0),
    Task("tdmpc2", "cartpole-balance", "DMC state", "tdmpc2:quick", "dmc:cartpole-balance", 5000, None),
    Task("tdmpc2", "cartpole-balance-pixels", "DMC pixels", "tdmpc2:quick", "dmc:cartpole-balance:pixels", 5000, None),
    Task("tdmpc2", "cartpole-balance-sparse", "sparse reward", "tdmpc2:quick", "dmc:cartpole-balance_sparse",
         10000, None),
    Task("dreamerv3", "cartpole", "classic control", "dreamer:quick", "CartPole-v1", 10000, 475.0),
    Task("dreamerv3", "cartpole-balance", "DMC state", "dreamer:quick", "dmc:cartpole-balance", 15000, None),
    Task("dreamerv3", "cartpole-balance-pixels", "DMC pixels", "dreamer:quick", "dmc:cartpole-balance:pixels",
         5000, None),
    Task("dreamerv3", "cartpole-balance-sparse", "sparse reward", "dreamer:quick", "dmc:cartpole-balance_sparse",
         5000, None),
]
