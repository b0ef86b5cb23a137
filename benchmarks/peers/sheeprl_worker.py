"""sheeprl's DreamerV3 as a peer side of the DreamerV3 speed comparison, run by sheeprl's own interpreter.

A second PyTorch implementation to time against: sheeprl's ``dreamer_v3_5``, its DreamerV3 of the Nature paper,
the architecture and recipe of the native one (block GRU, one LaProp optimiser, replay context and replay value
loss), built the way sheeprl's entry point builds it (its hydra configs, ``build_agent``, its optimiser,
``Moments``) with the sizes of the native config, so that both count the same parameters. The op ``train`` is
one gradient step as sheeprl's training loop runs it: its ``train`` function, then the slow critic, on the
parity probe's fixed batch. Imports no worldflux: sheeprl's environment has none. (sheeprl's 2023
``dreamer_v3``, with a LayerNorm GRU, cannot take the native sizes: 1,256,517 parameters at size1m, not 637,381.)
"""

from __future__ import annotations

import argparse
import json
import time
import types
from collections.abc import Callable
from typing import Any

import alternate  # this script's folder is first on sys.path
import numpy as np

PROBE = "worldflux-dreamer/src/worldflux_dreamer/parity_probe.py"
ACTIVATIONS = {"silu": "torch.nn.SiLU"}  # the native `act` as sheeprl's `algo.dense_act`


def overrides(c: dict[str, Any], image: bool) -> list[str]:
    """The hydra overrides that give sheeprl's config the sizes and recipe of the native config ``c``."""
    wm, key = "algo.world_model", "rgb" if image else "state"
    o = {f"algo.{kind}_keys.{part}": [key] if (kind == "cnn") == image else []
         for kind in ("cnn", "mlp") for part in ("encoder", "decoder")}
    o |= {"algo.per_rank_batch_size": c["batch_size"], "algo.per_rank_sequence_length": c["batch_length"],
          "algo.horizon": c["imag_horizon"], "algo.gamma": 1 - 1 / c["horizon"], "algo.lmbda": c["return_lambda"],
          "algo.dense_units": c["units"], "algo.dense_act": ACTIVATIONS[c["act"]],
          f"{wm}.stochastic_size": c["stoch_discrete"], f"{wm}.discrete_size": c["stoch_classes"],
          f"{wm}.recurrent_model.recurrent_state_size": c["deter_dim"], f"{wm}.encoder.mlp_layers": c["enc_layers"],
          f"{wm}.observation_model.mlp_layers": c["dec_layers"], f"{wm}.reward_model.mlp_layers": c["reward_layers"],
          f"{wm}.discount_model.mlp_layers": c["cont_layers"], f"{wm}.reward_model.bins": c["bins"],
          f"{wm}.kl_free_nats": c["free_nats"], "algo.actor.mlp_layers": c["policy_layers"],
          "algo.critic.mlp_layers": c["value_layers"], "algo.critic.bins": c["bins"], "algo.critic.tau": c["slow_rate"],
          "algo.actor.ent_coef": c["actor_entropy"], "algo.actor.min_std": c["policy_min_std"],
          "algo.actor.max_std": c["policy_max_std"], "algo.actor.unimix": c["unimix"],
          "algo.actor.moments.decay": 1 - c["retnorm_rate"], "algo.actor.moments.max": c["retnorm_limit"],
          "algo.actor.moments.percentile.low": c["retnorm_low"] / 100,
          "algo.actor.moments.percentile.high": c["retnorm_high"] / 100}
    o |= {"algo.cnn_channels_multiplier": c["cnn_depth"], "algo.cnn_stages": c["cnn_mults"],
          "algo.cnn_kernel_size": c["cnn_kernel"], f"{wm}.recurrent_model.hidden_size": c["hidden"],
          f"{wm}.recurrent_model.blocks": c["gru_blocks"], f"{wm}.recurrent_model.dynamics_layers": c["dyn_layers"],
          f"{wm}.transition_model.layers": c["img_layers"], f"{wm}.representation_model.layers": c["obs_layers"],
          f"{wm}.observation_model.block_space": c["dec_blocks"], f"{wm}.unimix": c["unimix"],
          f"{wm}.encoder.symlog_inputs": c["symlog_inputs"], "algo.actor.outscale": c["policy_outscale"],
          "algo.critic.slow_regularizer": c["slow_reg"], "algo.replay_context": 1, "algo.optimizer.lr": c["lr"],
          "algo.optimizer.betas": [c["beta1"], c["beta2"]], "algo.optimizer.eps": c["eps"],
          "algo.optimizer.agc": c["agc"], "algo.optimizer.warmup": c["warmup"]}
    o |= {f"algo.loss_scales.{k}": c[f"loss_{v}"] for k, v in (
        ("observation", "rec"), ("reward", "rew"), ("continue", "con"), ("dynamic", "dyn"),
        ("representation", "rep"), ("policy", "policy"), ("value", "value"), ("replay_value", "repval"))}
    return ["exp=dreamer_v3_5", "env=dummy", "fabric.accelerator=cpu", "fabric.precision=32-true", "metric.log_level=0",
            "model_manager.disabled=True", "algo.compile.enabled=False", *(f"{k}={json.dumps(v)}" for k, v in o.items())]


def build(c: dict[str, Any]) -> tuple[int, Callable[[], None]]:
    """The trained parameter count (world model, actor, critic) and the timed step, on the fixed batch."""
    import gymnasium as gym
    import hydra
    import torch
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf
    from sheeprl.algos.dreamer_v3.utils import Moments
    from sheeprl.utils.utils import dotdict
    from torch.distributions import Distribution

    from sheeprl.algos.dreamer_v3_5 import dreamer_v3_5 as module
    image = len(c["obs_shape"]) == 3
    with initialize_config_module("sheeprl.configs", version_base="1.3"):
        cfg = compose("config", overrides=overrides(c, image))
    cfg = dotdict(OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True))
    torch.set_float32_matmul_precision(cfg.float32_matmul_precision)  # as sheeprl's `run_algorithm`
    Distribution.set_default_validate_args(cfg.distribution.validate_args)
    fabric = hydra.utils.instantiate(cfg.fabric, _convert_="all")
    fabric.seed_everything(cfg.seed)
    key = "rgb" if image else "state"
    space = gym.spaces.Dict({key: gym.spaces.Box(0, 255, tuple(c["obs_shape"]), np.uint8) if image
                             else gym.spaces.Box(-np.inf, np.inf, tuple(c["obs_shape"]), np.float32)})
    continuous = not c["discrete_actions"]
    actions_dim = (c["action_dim"],)
    wm, actor, critic, target, _ = module.build_agent(fabric, actions_dim, continuous, cfg, space)
    trained = [*wm.parameters(), *actor.parameters(), *critic.parameters()]
    m = cfg.algo.actor.moments
    moments = Moments(m.decay, m.max, m.percentile.low, m.percentile.high)

    # the probe's fixed batch (step 0 is the replay context), time first as sheeprl's buffer samples it
    shape = (*c["obs_shape"][1:], c["obs_shape"][0]) if image else tuple(c["obs_shape"])  # the probe's HWC images
    obs_space = {"obs": types.SimpleNamespace(dtype=np.uint8 if image else np.float32, shape=shape)}
    inp = alternate.by_path("dreamerv3_parity_probe", PROBE).make_inputs(
        c, obs_space, (c["batch_size"], c["batch_length"]), 0)

    def tf(x: np.ndarray) -> torch.Tensor:  # batch first (the probe's) to time first (sheeprl's)
        return torch.from_numpy(np.ascontiguousarray(np.swapaxes(x, 0, 1)))

    obs = inp["obs"].transpose(0, 1, 4, 2, 3) if image else inp["obs"]
    action = inp["action"] if continuous else np.eye(c["action_dim"], dtype=np.float32)[inp["action"]]
    steps = obs.shape[1]
    data = {key: tf(obs), "actions": tf(action), "rewards": tf(inp["reward"][..., None]),
            "is_first": tf(inp["is_first"][..., None].astype(np.float32)),
            "terminated": tf(inp["is_terminal"][..., None].astype(np.float32)),
            "truncated": tf((inp["is_last"] & ~inp["is_terminal"])[..., None].astype(np.float32))}

    # one optimiser, and the context latent where sheeprl's replay buffer keeps it
    optimizer = fabric.setup_optimizers(hydra.utils.instantiate(cfg.algo.optimizer, params=trained,
                                                                _convert_="all"))
    data["deter"] = tf(np.repeat(inp["context_deter"][:, None], steps, 1).astype(np.float16))
    data["stoch"] = tf(np.repeat(inp["context_stoch"].argmax(-1)[:, None], steps, 1).astype(np.uint8))

    def train() -> None:  # the body of the training loop of `dreamer_v3_5.main`, without the sampling
        module.train(fabric, cfg, wm, actor, critic, target, optimizer, moments, data, None, actions_dim)
        module.update_target_critic(critic, target, cfg.algo.critic.tau)

    return sum(p.numel() for p in trained), train


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True, help="JSON: the native DreamerV3Config fields (and 'preset')")
    parser.add_argument("--threads", type=int, required=True, help="torch threads")
    args = parser.parse_args()
    proto = alternate.protocol_pipe()
    import torch

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    parameters, train = build(json.loads(args.config))
    train(), train()  # warm-up
    alternate.worker_loop(proto, {"parameters": parameters, "warmup_s": time.perf_counter() - start},
                          {"train": train})


if __name__ == "__main__":
    main()
