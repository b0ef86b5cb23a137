"""TD-MPC2 on gymnasium Pendulum-v1 (CPU): does it learn?

Prints, per seed, the mean evaluation return (MPPI without exploration noise)
at fixed env-step marks, and the wall time. Target: >= -250 by 3,000 env steps
in at least 2 of 3 seeds (random play is about -1,200).

Configuration: tdmpc2:ci widened to latent 64, MLP 128, encoder 128, 2 Qs,
4 MPPI iterations x 256 samples (32 elites, 16 policy trajectories), batch 256;
the rest at the official defaults (horizon 3, rho 0.5, lr 3e-4, ...), with the
official schedule: 1,000 random seed steps, then one update per env step
(and as many updates as seed steps when seeding ends).

    python benchmarks/tdmpc2_pendulum.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch

from worldflux import create_world_model
from worldflux.training import Replay
from worldflux_tdmpc2.planner import Planner

CONFIG = {"latent_dim": 64, "hidden_dim": 128, "enc_dim": 128, "num_q_networks": 2, "iterations": 4,
          "num_samples": 256, "num_elites": 32, "num_pi_trajs": 16, "batch_size": 256, "episode_length": 200}


def evaluate(model, episodes: int, seed: int) -> float:
    env = gym.make("Pendulum-v1")
    planner = Planner(model)
    scale = float(env.action_space.high[0])
    returns = []
    for ep in range(episodes):
        obs, _ = env.reset(seed=10_000 + seed * 100 + ep)
        done, total, first = False, 0.0, True
        while not done:
            action = planner.act(torch.as_tensor(obs)[None], torch.tensor([first]), explore=False)[0]
            obs, reward, terminated, truncated, _ = env.step(action.numpy() * scale)
            total, first, done = total + reward, False, terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def run(seed: int, steps: int, marks: list[int], eval_episodes: int) -> dict:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = gym.make("Pendulum-v1")
    scale = float(env.action_space.high[0])
    model = create_world_model("tdmpc2:ci", obs_shape=(3,), action_dim=1, **CONFIG)
    c = model.config
    opts = model.make_optimizer()
    planner = Planner(model)
    replay = Replay(2 * steps + 1, (3,), 1, within_episode=True)  # +1 entry per episode end
    obs, _ = env.reset(seed=seed)
    reward, first, updates, curve, start = 0.0, True, 0, {}, time.time()
    for step in range(1, steps + 1):
        if step <= c.seed_steps:
            action = torch.as_tensor(rng.uniform(-1, 1, 1), dtype=torch.float32)
        else:
            action = planner.act(torch.as_tensor(obs)[None], torch.tensor([first]), explore=True)[0]
        replay.add(obs[None], action.numpy()[None], np.array([reward]), np.array([first]), np.array([False]))
        obs, reward, terminated, truncated, _ = env.step(action.numpy() * scale)
        first = False
        if terminated or truncated:
            replay.add(obs[None], np.zeros((1, 1)), np.array([reward]), np.array([False]), np.array([terminated]))
            obs, _ = env.reset()
            reward, first = 0.0, True
        if step >= c.seed_steps:
            for _ in range(c.seed_steps if step == c.seed_steps else 1):
                model.update(replay.sample(rng, c.batch_size, c.horizon + 1), opts)
                updates += 1
        if step in marks:
            curve[step] = evaluate(model, eval_episodes, seed)
            print(f"seed {seed} step {step:5d}  eval return {curve[step]:8.1f}  updates {updates:5d}  "
                  f"{time.time() - start:5.0f}s", flush=True)
    return {"seed": seed, "curve": curve, "wall_s": time.time() - start, "updates": updates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--marks", type=int, nargs="+", default=[1000, 1500, 2000, 2500, 3000])
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = [run(s, args.steps, args.marks, args.eval_episodes) for s in args.seeds]
    print("\nseed  " + "  ".join(f"{m:>7d}" for m in args.marks) + "   wall_s  updates/s")
    for r in results:
        print(f"{r['seed']:4d}  " + "  ".join(f"{r['curve'].get(m, float('nan')):7.1f}" for m in args.marks)
              + f"   {r['wall_s']:6.0f}  {r['updates'] / r['wall_s']:9.1f}")
    hit = sum(r["curve"].get(args.marks[-1], -1e9) >= -250 for r in results)
    print(f"{hit} of {len(results)} seeds reached a mean evaluation return >= -250 by step {args.marks[-1]}")


if __name__ == "__main__":
    main()
