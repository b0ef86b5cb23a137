"""Why a trained agent's CartPole-v1 episodes end: the cart off the track, the pole down, or the 500-step limit.

A CartPole run whose return falls after it has learned can fail either way; which one says what the agent has
not learned (docs/learning.md). Loads ``RUN/model`` and plays ``--episodes`` episodes from reset seeds 1000, 1001,
... greedily and with sampled actions, one environment at a time:

    python -m benchmarks.learning.cartpole_endings runs/dreamer-cartpole --episodes 10
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from worldflux.saving import load_model
from worldflux.training.agent import make_agent

from benchmarks.learning.episodes import play


def endings(model: Any, episodes: int, explore: bool, first_seed: int = 1000) -> tuple[list[float], Counter]:
    """Returns of ``episodes`` episodes and how many ended by ``cart``, ``pole`` or ``limit``."""
    agent = make_agent(model, 1)
    env = gym.make("CartPole-v1")
    returns, why = [], Counter()
    for episode in range(episodes):
        steps = list(play(agent, env, first_seed + episode, explore, lambda action: int(action.argmax())))
        obs, _, terminated = steps[-1]
        returns.append(sum(reward for _, reward, _ in steps))
        off_track = abs(obs[0]) > env.unwrapped.x_threshold  # the other way CartPole terminates: the pole down
        why["limit" if not terminated else "cart" if off_track else "pole"] += 1
    env.close()
    return returns, why


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run directory of a CartPole-v1 training run")
    parser.add_argument("--episodes", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = load_model(args.run / "model", torch.device("cpu"))
    for explore in (False, True):
        returns, why = endings(model, args.episodes, explore)
        print(f"{'sampled' if explore else 'greedy '} actions: mean return {np.mean(returns):.1f}; ended by the "
              f"cart leaving the track {why['cart']}, the pole falling {why['pole']}, the 500-step limit "
              f"{why['limit']}")


if __name__ == "__main__":
    main()
