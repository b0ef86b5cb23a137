"""DreamerV3 on gymnasium CartPole-v1 (vector observations): does it learn on 2 CPU cores?

Prints, per seed, the mean return of the last 10 training episodes at fixed
env-step marks, the wall time and the updates per second. Target: mean >= 150
within 5,000 env steps in at least 2 of 3 seeds (random play is about 20).

Configuration: the official size1m widths (deter 512, hidden 64, 32x4 latents,
units 64), batch 16 x 64, and everything else at the official defaults except
those set by the flags below (train ratio, learning rate, warm-up).

    python benchmarks/dreamer_cartpole.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch

from worldflux import create_world_model
from worldflux.training import Replay

SIZE1M = {"deter_dim": 512, "hidden": 64, "stoch_discrete": 32, "stoch_classes": 4, "units": 64, "cnn_depth": 4}


def run(seed: int, steps: int, marks: list[int], train_ratio: float, lr: float, warmup: int) -> dict:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = gym.make("CartPole-v1")
    model = create_world_model("dreamerv3:official_xl", obs_shape=(4,), action_dim=2, discrete_actions=True,
                               lr=lr, warmup=warmup, **SIZE1M)
    c = model.config
    opt = model.make_optimizer()
    replay = Replay(2 * steps + 1, (4,), 2)  # each episode end adds one extra entry
    obs, _ = env.reset(seed=seed)
    reward, is_first, is_terminal = 0.0, True, False
    state = model.initial_state(1)
    prev_action = torch.zeros(1, 2)
    returns, episode_return, updates, budget = [], 0.0, 0, 0.0
    curve, start = {}, time.time()
    for step in range(1, steps + 1):
        with torch.no_grad():
            state = model.observe_step(state, prev_action, torch.as_tensor(obs)[None],
                                       torch.tensor([is_first]))
            action = model.policy(state).sample()
        replay.add(obs[None], action.numpy(), np.array([reward]), np.array([is_first]), np.array([is_terminal]))
        obs, reward, terminated, truncated, _ = env.step(int(action.argmax()))
        episode_return += reward
        prev_action, is_first, is_terminal = action, False, terminated
        if terminated or truncated:
            replay.add(obs[None], np.zeros((1, 2)), np.array([reward]), np.array([False]), np.array([terminated]))
            returns.append(episode_return)
            obs, _ = env.reset()
            reward, is_first, is_terminal, episode_return = 0.0, True, False, 0.0
            prev_action = torch.zeros(1, 2)
        if replay.count >= c.batch_length:
            budget += train_ratio / (c.batch_size * c.batch_length)
            while budget >= 1:
                model.update(replay.sample(rng, c.batch_size, c.batch_length), opt)
                budget -= 1
                updates += 1
        if step in marks:
            curve[step] = float(np.mean(returns[-10:])) if returns else float("nan")
            print(f"seed {seed} step {step:6d}  mean return (last 10 episodes) {curve[step]:7.1f}  "
                  f"episodes {len(returns):4d}  updates {updates:5d}  {time.time() - start:6.0f}s", flush=True)
    wall = time.time() - start
    return {"seed": seed, "curve": curve, "wall_s": wall, "updates": updates, "updates_per_s": updates / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--marks", type=int, nargs="+", default=[500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000])
    parser.add_argument("--train-ratio", type=float, default=256.0)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 when running seeds side by side)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = [run(s, args.steps, args.marks, args.train_ratio, args.lr, args.warmup) for s in args.seeds]
    print("\nseed  " + "  ".join(f"{m:>6d}" for m in args.marks) + "   wall_s  updates/s")
    for r in results:
        print(f"{r['seed']:4d}  " + "  ".join(f"{r['curve'].get(m, float('nan')):6.1f}" for m in args.marks)
              + f"   {r['wall_s']:6.0f}  {r['updates_per_s']:9.2f}")
    hit = sum(r["curve"].get(args.marks[-1], 0) >= 150 for r in results)
    print(f"{hit} of {len(results)} seeds reached a mean return >= 150 by step {args.marks[-1]}")


if __name__ == "__main__":
    main()
