"""DreamerV3 world-model losses on pixels: CartPole-v1 rendered to 64x64 RGB.

Collects with the learning agent and prints the reconstruction and reward
losses (means over blocks of updates), so one can see them fall.

    python benchmarks/dreamer_pixels.py --steps 3000
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from worldflux import create_world_model
from worldflux.training import Replay
from worldflux_dreamer.agent import DreamerAgent


def frame(env: gym.Env) -> np.ndarray:
    """The rendered frame, area-resized to 3x64x64 uint8."""
    image = torch.as_tensor(env.render()).permute(2, 0, 1)[None].float()
    return F.interpolate(image, size=(64, 64), mode="area")[0].round().clamp(0, 255).to(torch.uint8).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-ratio", type=float, default=64.0)
    parser.add_argument("--batch-length", type=int, default=32)
    parser.add_argument("--report-every", type=int, default=25, help="updates per printed line")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    model = create_world_model("dreamerv3:size1m", obs_shape=(3, 64, 64), action_dim=2, discrete_actions=True,
                               lr=3e-4, warmup=100, batch_length=args.batch_length)
    c = model.config
    agent = DreamerAgent(model, 1)
    replay = Replay(2 * args.steps + 1, (3, 64, 64), 2, obs_dtype=np.uint8)  # +1 entry per episode end

    env.reset(seed=args.seed)
    obs, reward, first, term = frame(env), 0.0, True, False
    state, prev = model.initial_state(1), torch.zeros(1, 2)
    budget, updates, block, start = 0.0, 0, [], time.time()
    print("updates  env_steps  loss/rec  loss/rew  loss/dyn  seconds")
    for step in range(1, args.steps + 1):
        with torch.no_grad():
            state = model.observe_step(state, prev, torch.as_tensor(obs)[None], torch.tensor([first]))
            action = model.policy(state).sample()
        replay.add(obs[None], action.numpy(), np.array([reward]), np.array([first]), np.array([term]))
        _, reward, terminated, truncated, _ = env.step(int(action.argmax()))
        obs, prev, first, term = frame(env), action, False, terminated
        if terminated or truncated:
            replay.add(obs[None], np.zeros((1, 2)), np.array([reward]), np.array([False]), np.array([terminated]))
            env.reset()
            obs, reward, first, term, prev = frame(env), 0.0, True, False, torch.zeros(1, 2)
        if replay.count < c.batch_length:
            continue
        budget += args.train_ratio / (c.batch_size * c.batch_length)
        while budget >= 1:
            batch = replay.sample(rng, c.batch_size, c.batch_length)
            metrics = agent.update(batch)
            budget -= 1
            updates += 1
            block.append([metrics[k] for k in ("loss/rec", "loss/rew", "loss/dyn")])
            if len(block) == args.report_every:
                rec, rew, dyn = torch.tensor(block).mean(0).tolist()
                print(f"{updates:7d}  {step:9d}  {rec:8.2f}  {rew:8.3f}  {dyn:8.3f}  {time.time() - start:7.0f}",
                      flush=True)
                block = []


if __name__ == "__main__":
    main()
