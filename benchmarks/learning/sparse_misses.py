"""Where a trained agent loses reward on ``dmc:cartpole-balance_sparse``: the cart off centre or the pole tilted.

The sparse task pays 1 per control step only while the cart is within ±0.25 of the centre and the pole within
about 5.7° of upright (cosine at least 0.995); episodes never end early. A policy can keep the pole up and still
score little by letting the cart drift, or keep the cart centred and let the pole wobble. Loads ``RUN/model``
and plays ``--episodes`` episodes from reset seeds 1000, 1001, ... greedily and with sampled actions, reading
both quantities from the simulator after every agent step, and prints where each episode's pay first stopped
and when its pole fell below horizontal:

    python -m benchmarks.learning.sparse_misses runs/tdmpc2-sparse --episodes 5
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from worldflux.saving import load_model
from worldflux.training.agent import make_agent
from worldflux.training.dmc import make_dmc_env

from benchmarks.learning.episodes import play

CART_RANGE = 0.25  # dm_control's cartpole _CART_RANGE
MIN_COSINE = 0.995  # its _ANGLE_COSINE_RANGE lower end


def misses(model: Any, episodes: int, explore: bool,
           first_seed: int = 1000) -> tuple[list[float], Counter, list[tuple[int | None, str, int | None]]]:
    """Returns of ``episodes`` episodes, how many agent steps ended ``paid``, ``cart`` off centre only, ``pole``
    tilted only, or ``both``, and per episode the first unpaid step (None if none) with its kind and the first
    step with the pole below horizontal (None if never)."""
    agent = make_agent(model, 1)
    env = make_dmc_env("cartpole-balance_sparse")
    physics = env._env.physics
    returns, where, firsts = [], Counter(), []
    for episode in range(episodes):
        total, kinds, cosines = 0.0, [], []
        for _, reward, _ in play(agent, env, first_seed + episode, explore, lambda action: action.numpy()):
            cosine = float(np.min(physics.pole_angle_cosine()))
            cart, pole = abs(float(physics.cart_position())) > CART_RANGE, cosine < MIN_COSINE
            kinds.append("both" if cart and pole else "cart" if cart else "pole" if pole else "paid")
            total += reward
            cosines.append(cosine)
        returns.append(total)
        where.update(kinds)
        miss = next(((step, kind) for step, kind in enumerate(kinds) if kind != "paid"), (None, ""))
        firsts.append((*miss, next((step for step, c in enumerate(cosines) if c < 0), None)))
    env.close()
    return returns, where, firsts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run directory of a dmc:cartpole-balance_sparse training run")
    parser.add_argument("--episodes", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = load_model(args.run / "model", torch.device("cpu"))
    for explore in (False, True):
        returns, where, firsts = misses(model, args.episodes, explore)
        steps = sum(where.values())
        share = {k: f"{100 * where[k] / steps:.1f}%" for k in ("paid", "cart", "pole", "both")}
        print(f"{'sampled' if explore else 'greedy '} actions: mean return {np.mean(returns):.1f} "
              f"({', '.join(f'{r:.0f}' for r in returns)}); of {steps} agent steps: paid {share['paid']}, "
              f"cart off centre only {share['cart']}, pole tilted only {share['pole']}, both {share['both']}")
        print("  per episode, first unpaid step (what was out) / first step with the pole below horizontal: "
              + ", ".join(f"{m} ({k or '-'}) / {f}" for m, k, f in firsts))


if __name__ == "__main__":
    main()
