"""One side of the DreamerV3 speed comparison, run by that side's interpreter.

``--side official`` builds the official JAX agent (danijar/dreamerv3, from
``--checkout``) through the parity probe's ``build_agent`` (float32 on the CPU,
the config's architecture) and times its jitted ``Agent.train``: replay
context, world-model, actor and critic losses, one LaProp step, slow critic.
``--side native`` times ``DreamerAgent.update``, the same step. ``--device
cuda`` runs both on the GPU (each timed call waits for it), and ``--precision
bf16`` computes in bfloat16 (official ``compute_dtype``, native ``torch.autocast``). Both take the
probe's fixed batch of ``B x T`` steps after a context step. It speaks the
protocol of ``alternate.py`` with the op ``train``. Imports neither worldflux
nor torch at the top: the official environment has neither.
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
import numpy as np

PROBE = "worldflux-dreamer/src/worldflux_dreamer/parity_probe.py"
TRAINED = ("enc", "dyn", "dec", "rew", "con", "pol", "val")  # the official modules its optimiser updates


def official(config: dict[str, Any], checkout: Path, batch: tuple[int, int], device: str,
             precision: str) -> tuple[int, Callable[[], Any]]:
    import os
    import sys

    sys.path[:0] = [str(checkout)]
    os.environ.setdefault("JAX_PLATFORMS", device)
    import jax

    probe = alternate.by_path("dreamerv3_parity_probe", PROBE)
    request = {"config": config, "seed": 0}
    keys = (probe.OBS_KEY[len(config["obs_shape"]) == 3], probe.ACT_KEY)
    agent, obs_space = probe.build_agent(checkout, request, batch, keys, platform=device,
                                         compute_dtype={"fp32": "float32", "bf16": "bfloat16"}[precision])
    inp = probe.make_inputs(config, obs_space, batch, 0)
    b, t = batch
    data = {inp.pop("obs_key"): inp["obs"], keys[1]: inp["action"], "reward": inp["reward"],
            "is_first": inp["is_first"], "is_last": inp["is_last"], "is_terminal": inp["is_terminal"],
            "consec": np.zeros((b, t + 1), np.int32), "stepid": np.zeros((b, t + 1, 20), np.uint8),
            "dyn/deter": np.repeat(inp["context_deter"][:, None], t + 1, 1),
            "dyn/stoch": np.repeat(inp["context_stoch"][:, None], t + 1, 1),
            "seed": np.array([0, 1], np.uint32)}
    data = jax.device_put(data)  # once: the timed step is the update, not the batch's transfer
    carry = agent.init_train(b)
    parameters = sum(int(np.prod(v.shape)) for k, v in agent.params.items()  # what its optimiser trains
                     if k.split("/")[0] in TRAINED)

    def train() -> None:
        jax.block_until_ready(agent.train(carry, dict(data)))  # train pops the seed

    return parameters, train


def native(config: dict[str, Any], batch: tuple[int, int], device: str, precision: str,
           compiled: bool) -> tuple[int, Callable[[], Any]]:
    import torch
    from worldflux import create_world_model
    from worldflux.training.precision import autocast
    from worldflux.types import Batch
    from worldflux_dreamer.agent import DreamerAgent

    probe = alternate.by_path("dreamerv3_parity_probe", PROBE)
    torch.manual_seed(0)
    model = create_world_model(config["preset"], device=device,
                               **{k: v for k, v in config.items() if k != "preset"})
    agent = DreamerAgent(model, 1)
    if compiled:
        agent.compile()
    image = len(config["obs_shape"]) == 3
    shape = (*config["obs_shape"][1:], config["obs_shape"][0]) if image else tuple(config["obs_shape"])
    space = types.SimpleNamespace(dtype=np.uint8 if image else np.float32, shape=shape)  # official HWC layout
    inp = probe.make_inputs(config, {"obs": space}, batch, 0)
    obs = torch.from_numpy(inp["obs"][:, 1:])
    if image:
        obs = obs.permute(0, 1, 4, 2, 3)
    action = torch.from_numpy(inp["action"])
    if config["discrete_actions"]:
        action = torch.nn.functional.one_hot(action.long(), config["action_dim"]).float()
    data = Batch(obs=obs, action=action[:, 1:], reward=torch.from_numpy(inp["reward"][:, 1:]),
                 is_first=torch.from_numpy(inp["is_first"][:, 1:]),
                 is_terminal=torch.from_numpy(inp["is_terminal"][:, 1:]),
                 context={"deter": torch.from_numpy(inp["context_deter"]),
                          "stoch": torch.from_numpy(inp["context_stoch"]), "action": action[:, 0]}).to(device)

    def train() -> None:
        with autocast(device, precision):
            agent.update(data)

    return model.num_parameters(), alternate.synchronised(train, device)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=("native", "official"), required=True)
    parser.add_argument("--config", required=True, help="JSON: the native DreamerV3Config fields (and 'preset')")
    parser.add_argument("--checkout", type=Path, help="danijar/dreamerv3 checkout (official side)")
    parser.add_argument("--threads", type=int, required=True, help="torch threads (native side)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--compile", action="store_true", help="native side: DreamerAgent.compile()")
    args = parser.parse_args()
    proto = alternate.protocol_pipe()
    config = json.loads(args.config)
    batch = (config["batch_size"], config["batch_length"])
    start = time.perf_counter()
    if args.side == "official":
        parameters, train = official(config, args.checkout, batch, args.device, args.precision)
    else:
        import torch

        torch.set_num_threads(args.threads)
        parameters, train = native(config, batch, args.device, args.precision, args.compile)
    train(), train()  # warm-up: the official step compiles here
    alternate.worker_loop(proto, {"parameters": parameters, "warmup_s": time.perf_counter() - start},
                          {"train": train})


if __name__ == "__main__":
    main()
