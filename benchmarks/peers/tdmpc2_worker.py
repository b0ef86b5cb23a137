"""One side of the TD-MPC2 speed comparison, run by that side's interpreter.

Imports only the standard library, numpy and torch at the top, so the official
environment (which has no worldflux) can run it: ``--side official`` loads the
official code from ``--checkout`` through the parity probe (made to run on CPU
as the backend does, in memory), ``--side native`` builds the same config with
worldflux. Both build the model from the same config fields (JSON on the
command line), seed 0, and fixed random inputs of the same shapes. On
``--device cuda`` the official code runs as written for its GPU (see the probe),
the native model is built there, and every timed call ends with a CUDA
synchronisation.

It speaks the protocol of ``alternate.py`` with the ops ``update`` and ``plan``.
"""

from __future__ import annotations

import argparse
import json
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import alternate  # this script's folder is first on sys.path
import torch


def _inputs(config: dict[str, Any], device: str) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    h, b, d, a = config["horizon"], config["batch_size"], config["obs_shape"][0], config["action_dim"]
    x = {"obs": torch.randn(h + 1, b, d, generator=g), "action": torch.rand(h, b, a, generator=g) * 2 - 1,
         "reward": torch.randn(h, b, 1, generator=g), "plan_obs": torch.randn(d, generator=g)}
    return {k: v.to(device) for k, v in x.items()}


def official(config: dict[str, Any], checkout: Path, compiled: bool,
             device: str) -> tuple[int, dict[str, Callable[[], Any]]]:
    probe = alternate.by_path("tdmpc2_parity_probe", "worldflux-tdmpc2/src/worldflux_tdmpc2/parity_probe.py")
    module = probe.load_official(checkout, cuda=device == "cuda")
    cfg = probe.official_cfg(config, seed=0)
    cfg.compile = compiled
    torch.manual_seed(0)
    with torch.device("cuda:0" if device == "cuda" else "cpu"):
        agent = module.TDMPC2(cfg)
    x = _inputs(config, device)
    sample = (x["obs"], x["action"], x["reward"], torch.zeros_like(x["reward"]), None)
    buffer = types.SimpleNamespace(sample=lambda: sample)
    ops = {"update": lambda: agent.update(buffer),
           "plan": lambda: agent.act(x["plan_obs"], t0=False, eval_mode=False)}
    # learnable parameters, as its total_params, less the data-less placeholders tensordict >= 0.9 registers
    return sum(p.numel() for p in agent.model.parameters() if p.requires_grad and not p.is_meta), ops


def native(config: dict[str, Any], compiled: bool, device: str,
           precision: str) -> tuple[int, dict[str, Callable[[], Any]]]:
    from worldflux import create_world_model
    from worldflux.types import Batch
    from worldflux_tdmpc2.agent import TDMPC2Agent

    torch.manual_seed(0)
    model = create_world_model(config["preset"], device=device,
                               **{k: v for k, v in config.items() if k != "preset"})
    agent = TDMPC2Agent(model, 1)
    if compiled:
        agent.compile()
    x = _inputs(config, device)
    b, t = x["obs"].shape[1], x["obs"].shape[0]
    none = torch.zeros(b, t, dtype=torch.bool, device=device)
    batch = Batch(obs=x["obs"].transpose(0, 1), action=torch.cat([x["action"], x["action"][:1]]).transpose(0, 1),
                  reward=torch.cat([x["reward"][:1], x["reward"]]).squeeze(-1).transpose(0, 1),
                  is_first=none, is_terminal=none)
    obs, first = x["plan_obs"][None], torch.tensor([False], device=device)
    ops = {"update": lambda: agent.update(batch), "plan": lambda: agent.act(obs, first, explore=True)}
    return model.num_parameters(), {name: _autocast(fn, device, precision) for name, fn in ops.items()}


def _autocast(fn: Callable[[], Any], device: str, precision: str) -> Callable[[], Any]:
    """``fn`` in the compute context of ``precision``, as a training run with that precision runs it."""
    from worldflux.training.precision import autocast

    def run() -> Any:
        with autocast(device, precision):
            return fn()
    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=("native", "official"), required=True)
    parser.add_argument("--config", required=True, help="JSON: the native TDMPC2Config fields (and 'preset')")
    parser.add_argument("--checkout", type=Path, help="nicklashansen/tdmpc2 checkout (official side)")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32", help="native side only")
    args = parser.parse_args()
    proto = alternate.protocol_pipe()
    torch.set_num_threads(args.threads)
    config = json.loads(args.config)
    start = time.perf_counter()
    if args.side == "official":
        parameters, ops = official(config, args.checkout, args.compile, args.device)
    else:
        parameters, ops = native(config, args.compile, args.device, args.precision)
    ops = {name: alternate.synchronised(fn, args.device) for name, fn in ops.items()}
    for fn in ops.values():  # warm-up (compilation, allocator) before any timed call
        fn(), fn()
    alternate.worker_loop(proto, {"parameters": parameters, "warmup_s": time.perf_counter() - start}, ops)

if __name__ == "__main__":
    main()
