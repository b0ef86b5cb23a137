"""One training step from pixels, per family: TD-MPC2 ``tdmpc2:quick`` on 3 stacked 64x64 RGB frames
(batch 256, horizon 3) and DreamerV3 ``dreamer:quick`` on 64x64 RGB (batch 16 x 64).

Prints the median of ``--repeats`` steps after two warm-up steps, on random uint8 images.

    python -m benchmarks.pixel_steps --threads 2
"""

from __future__ import annotations

import argparse

import torch
from worldflux import create_world_model
from worldflux_dreamer.agent import DreamerAgent
from worldflux_tdmpc2.agent import TDMPC2Agent

from benchmarks.timing import median_seconds, random_batch


def images(b: int, t: int, shape: tuple[int, ...]) -> torch.Tensor:
    return torch.randint(0, 256, (b, t, *shape), dtype=torch.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_world_model("tdmpc2:quick", obs_shape=(9, 64, 64), action_dim=1)
    b, t = model.config.batch_size, model.config.horizon + 1
    tdmpc2, data = TDMPC2Agent(model, 1), random_batch(images(b, t, (9, 64, 64)), torch.rand(b, t, 1) * 2 - 1)
    seconds = median_seconds(lambda: tdmpc2.update(data), args.repeats, warmup=2)
    print(f"tdmpc2:quick update, 9x64x64, batch {b} x {t}: {seconds:.3f} s")
    model = create_world_model("dreamer:quick", obs_shape=(3, 64, 64), action_dim=1)
    b, t = model.config.batch_size, model.config.batch_length
    dreamer, data = DreamerAgent(model, 1), random_batch(images(b, t, (3, 64, 64)), torch.rand(b, t, 1) * 2 - 1)
    seconds = median_seconds(lambda: dreamer.update(data), args.repeats, warmup=2)
    print(f"dreamer:quick train step, 3x64x64, batch {b} x {t}: {seconds:.3f} s ({args.threads} threads)")


if __name__ == "__main__":
    main()
