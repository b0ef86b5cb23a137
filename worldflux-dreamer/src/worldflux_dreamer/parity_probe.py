"""Parity probe: run the official DreamerV3 (danijar/dreamerv3) and record a fixture for the native model.

Run by the official code's own interpreter (it imports neither worldflux nor torch)::

    python parity_probe.py --checkout DIR --request FILE --out DIR

The request is ``{"preset", "family", "config": native DreamerV3Config fields,
"seed"}`` plus, optionally, ``"params": "file.npz"`` (official weights to use
instead of a fresh initialisation, e.g. from a checkpoint; a path relative to
the request file) and
``"batch": [B, T]``. The probe builds the official agent in float32 on the CPU
with that architecture and seed, runs one official training step
(``Agent.train``: replay context, world-model, actor and critic losses, one
LaProp update, slow critic) on a fixed batch, and evaluates the encoder,
one observe and one imagine step, the decoder and the heads.

``OUT/arrays.npz`` (read with ``allow_pickle=False``) holds ``param/NAME`` and
``update/NAME`` (every official parameter before the update and its change
by the update, in the official layout), ``input/*`` (window of T+1 steps whose first step is the
replay context, the context latent), ``draw/*`` (every sample the official
code drew: posterior and prior latents as one-hots, actor actions) and
``out/*`` (official outputs; image reconstructions of the first step only). ``OUT/fixture.json`` holds the request, the
scalar losses and provenance (commit, jax version, time).

``"mode": "codec"`` with a config whose ``obs_space`` names an image and
vectors (a dict observation) records only the encoder and decoder, which are
what such an observation changes: ``param/NAME``, ``input/obs/KEY``,
``input/deter`` and ``input/stoch`` (a latent), ``out/tokens`` (the encoder's
embedding of the observation) and ``out/recon/KEY`` (the decoder's prediction
of each part from the latent).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BATCH = (2, 4)  # (B, T): sequences and steps of the probe's batch, after the context step
OBS_KEY, ACT_KEY = {True: "image", False: "vector"}, "action"


def official_overrides(c: dict) -> dict:
    """Official config keys (dotted) for the native config ``c``; the rest keeps the official defaults."""
    heads = ("rewhead", "conhead", "policy", "value")
    out = {
        "agent.dyn.rssm.deter": c["deter_dim"], "agent.dyn.rssm.stoch": c["stoch_discrete"],
        "agent.dyn.rssm.classes": c["stoch_classes"], "agent.dyn.rssm.hidden": c["hidden"],
        "agent.dyn.rssm.blocks": c["gru_blocks"], "agent.dyn.rssm.dynlayers": c["dyn_layers"],
        "agent.dyn.rssm.imglayers": c["img_layers"], "agent.dyn.rssm.obslayers": c["obs_layers"],
        "agent.dyn.rssm.unimix": c["unimix"], "agent.dyn.rssm.free_nats": c["free_nats"],
        "agent.enc.simple.layers": c["enc_layers"], "agent.dec.simple.layers": c["dec_layers"],
        "agent.dec.simple.bspace": c["dec_blocks"], "agent.rewhead.layers": c["reward_layers"],
        "agent.conhead.layers": c["cont_layers"], "agent.policy.layers": c["policy_layers"],
        "agent.value.layers": c["value_layers"], "agent.rewhead.bins": c["bins"], "agent.value.bins": c["bins"],
        "agent.policy.minstd": c["policy_min_std"], "agent.policy.maxstd": c["policy_max_std"],
        "agent.policy.outscale": c["policy_outscale"], "agent.imag_length": c["imag_horizon"],
        "agent.horizon": c["horizon"], "agent.imag_loss.lam": c["return_lambda"],
        "agent.repl_loss.lam": c["return_lambda"], "agent.imag_loss.actent": c["actor_entropy"],
        "agent.imag_loss.slowreg": c["slow_reg"], "agent.repl_loss.slowreg": c["slow_reg"],
        "agent.slowvalue.rate": c["slow_rate"], "agent.retnorm.rate": c["retnorm_rate"],
        "agent.retnorm.limit": c["retnorm_limit"], "agent.retnorm.perclo": c["retnorm_low"],
        "agent.retnorm.perchi": c["retnorm_high"],
    }
    for key in ("lr", "agc", "eps", "beta1", "beta2", "warmup"):
        out[f"agent.opt.{key}"] = c[key]
    for key in ("rec", "rew", "con", "dyn", "rep", "policy", "value", "repval"):
        out[f"agent.loss_scales.{key}"] = c[f"loss_{key}"]
    for net in ("enc", "dec"):
        out.update({f"agent.{net}.simple.depth": c["cnn_depth"], f"agent.{net}.simple.mults": list(c["cnn_mults"]),
                    f"agent.{net}.simple.kernel": c["cnn_kernel"], f"agent.{net}.simple.symlog": c["symlog_inputs"],
                    f"agent.{net}.simple.units": c["units"], f"agent.{net}.simple.act": c["act"]})
    for head in heads:
        out.update({f"agent.{head}.units": c["units"], f"agent.{head}.act": c["act"]})
    out["agent.dyn.rssm.act"] = c["act"]
    return out


def build_agent(checkout: Path, request: dict, batch: tuple[int, int], keys: tuple[str, str],
                platform: str = "cpu", compute_dtype: str = "float32"):
    """The official agent for the request's config, float32 on the CPU unless told, with the request's seed.

    ``keys`` names the observation and the action (they appear in parameter names);
    ``platform`` and ``compute_dtype`` are the official ``jax.*`` settings (the speed
    benchmark runs it on ``cuda`` in ``bfloat16``, the official default there).
    """
    import elements
    import ruamel.yaml as yaml
    from dreamerv3.agent import Agent

    c = request["config"]
    defaults = yaml.YAML(typ="safe").load((checkout / "dreamerv3" / "configs.yaml").read_text())["defaults"]
    for key, value in official_overrides(c).items():  # set in place: dec.simple.symlog has no default entry
        *path, leaf = key.split(".")
        node = defaults
        for part in path:
            node = node[part]
        node[leaf] = value
    config = elements.Config(defaults)
    obs_key, act_key = keys
    parts = c.get("obs_space") or {obs_key: c["obs_shape"]}  # official layout: images (H, W, C) uint8
    obs_space = {k: elements.Space(np.uint8, (*v[1:], v[0])) if len(v) == 3 else elements.Space(np.float32, tuple(v))
                 for k, v in parts.items()}
    obs_space.update({"reward": elements.Space(np.float32), "is_first": elements.Space(bool),
                      "is_last": elements.Space(bool), "is_terminal": elements.Space(bool)})
    if c["discrete_actions"]:
        act_space = {act_key: elements.Space(np.int32, (), 0, c["action_dim"])}
    else:
        act_space = {act_key: elements.Space(np.float32, (c["action_dim"],), -1, 1)}
    jaxcfg = dict(config.jax, platform=platform, compute_dtype=compute_dtype, prealloc=False, precompile=False,
                  policy_devices=[0], train_devices=[0])
    b, t = batch
    agent = Agent(obs_space, act_space, elements.Config(
        **config.agent, logdir=str(Path(os.environ.get("TMPDIR", "/tmp")) / "worldflux-dreamerv3-probe"),
        seed=int(request.get("seed", 0)), jax=jaxcfg, batch_size=b, batch_length=t, replay_context=1,
        report_length=t, replica=0, replicas=1))
    return agent, obs_space


def random_obs(space, lead: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Observations of ``space``: images as 4x4 blocks of random pixels (a small fixture file), vectors normal x 2."""
    if space.dtype == np.uint8:
        h, w, ch = space.shape
        block = 4 if h % 4 == 0 and w % 4 == 0 else 1
        obs = rng.integers(0, 256, (*lead, h // block, w // block, ch), dtype=np.uint8)
        return obs.repeat(block, len(lead)).repeat(block, len(lead) + 1)
    return (rng.normal(size=(*lead, *space.shape)) * 2).astype(np.float32)


def make_inputs(c: dict, obs_space: dict, batch: tuple[int, int], seed: int) -> dict:
    """A fixed batch of T+1 steps (step 0 is the replay context) with resets, terminals and a context latent."""
    rng = np.random.default_rng(seed + 1)
    b, t = batch
    steps = t + 1
    key = next(k for k in obs_space if k not in ("reward", "is_first", "is_last", "is_terminal"))
    obs = random_obs(obs_space[key], (b, steps), rng)
    if c["discrete_actions"]:
        action = rng.integers(0, c["action_dim"], (b, steps)).astype(np.int32)
    else:
        action = rng.uniform(-1.3, 1.3, (b, steps, c["action_dim"])).astype(np.float32)  # some beyond the bounds
    is_first = np.zeros((b, steps), bool)
    is_terminal = np.zeros((b, steps), bool)
    is_first[0, min(3, t)] = True  # an episode starts inside the window
    is_terminal[0, min(3, t) - 1] = True
    if b > 1:
        is_first[1, 1] = True  # the window's first step starts an episode: the context is dropped
        is_terminal[1, -1] = True
    is_last = is_terminal.copy()
    is_last[:, :-1] |= is_first[:, 1:]
    deter = (rng.normal(size=(b, c["deter_dim"])) * 0.5).astype(np.float32)
    stoch = np.eye(c["stoch_classes"], dtype=np.float32)[rng.integers(0, c["stoch_classes"], (b, c["stoch_discrete"]))]
    return {"obs": obs, "action": action, "reward": rng.normal(size=(b, steps)).astype(np.float32),
            "is_first": is_first, "is_last": is_last, "is_terminal": is_terminal,
            "context_deter": deter, "context_stoch": stoch, "obs_key": key}


def io_keys(params: dict, default: tuple[str, str]) -> tuple[str, str]:
    """The observation and action names in official parameter names (vector decoder, actor head)."""
    obs = {k.split("/")[2] for k in params if k.startswith("dec/vec/")}
    act = {k.split("/")[2] for k in params if k.startswith("pol/head/")}
    return (obs.pop() if len(obs) == 1 else default[0]), (act.pop() if len(act) == 1 else default[1])


def record_probes(agent_cls, rssm_cls):
    """Make ``Agent.loss`` also return what the official code sampled and computed inside it, as metrics."""
    import dreamerv3.agent as agent_module

    stash: dict = {}
    original_imagine, original_sample, original_loss = rssm_cls.imagine, agent_module.sample, agent_cls.loss

    def imagine(self, carry, policy, length, training, single=False):
        out = original_imagine(self, carry, policy, length, training, single)
        if not single:
            stash["img_stoch"], stash["img_action"] = out[1]["stoch"], out[2]
            stash.pop("sample", None)
        return out

    def sample(xs):
        stash["sample"] = out = original_sample(xs)
        return out

    def loss(self, carry, obs, prevact, training):
        stash.clear()
        total, (carry, entries, outs, metrics) = original_loss(self, carry, obs, prevact, training)
        rep = outs["repfeat"]
        probe = {"post_stoch": rep["stoch"], "post_deter": rep["deter"], "post_logit": rep["logit"],
                 "tokens": outs["tokens"], "img_stoch": stash["img_stoch"],
                 "img_action": {k: v for k, v in stash["img_action"].items()},
                 "last_action": stash["sample"], "total": total}
        probe.update({f"loss_{k}": v for k, v in outs["losses"].items()})
        metrics = {**metrics, **{f"probe/{k}": v for k, v in flatten(probe).items()}}
        return total, (carry, entries, outs, metrics)

    agent_cls.loss, rssm_cls.imagine, agent_module.sample = loss, imagine, sample


def flatten(tree: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}/"))
        else:
            out[f"{prefix}{k}"] = v
    return out


def run(checkout: Path, request: dict, out: Path, base: Path = Path(".")) -> None:
    """Write the fixture of ``request`` into ``out``; a relative ``params`` path is taken from ``base``."""
    started = time.time()
    sys.path[:0] = [str(checkout)]
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import ninjax as nj
    from dreamerv3.agent import Agent
    from dreamerv3.rssm import RSSM

    c = request["config"]
    batch = tuple(request.get("batch", BATCH))
    seed = int(request.get("seed", 0))
    record_probes(Agent, RSSM)
    loaded = None
    keys = (OBS_KEY[len(c["obs_shape"]) == 3], ACT_KEY)
    if request.get("params"):  # official weights (no optimiser state: the update starts from a fresh one)
        with np.load(base / request["params"], allow_pickle=False) as npz:
            loaded = {k: npz[k] for k in npz.files if not k.startswith(("opt/", "slowval_count/"))}
        keys = io_keys(loaded, keys)
    agent, obs_space = build_agent(checkout, request, batch, keys)
    jax.config.update("jax_transfer_guard", "allow")
    model = agent.model
    if loaded is not None:
        own = {k for k in agent.params if not k.startswith(("opt/", "slowval_count/"))}
        if own != set(loaded):
            raise SystemExit(f"{request['params']} does not fit the agent of this config: missing "
                             f"{sorted(own - set(loaded))}, unexpected {sorted(set(loaded) - own)}")
        agent.load({"params": {k: loaded.get(k, np.asarray(v)) for k, v in agent.params.items()},
                    "counters": {"updates": 0, "batches": 0, "actions": 0}})
    params = {k: np.asarray(jax.device_get(v)) for k, v in agent.params.items()}
    weights = {k: v for k, v in params.items() if not k.startswith(("opt/", "slowval_count/"))}

    inp = make_inputs(c, obs_space, batch, seed)
    obs_key = inp.pop("obs_key")
    b, t = batch
    act_key = keys[1]
    data = {obs_key: inp["obs"], act_key: inp["action"], "reward": inp["reward"], "is_first": inp["is_first"],
            "is_last": inp["is_last"], "is_terminal": inp["is_terminal"],
            "consec": np.zeros((b, t + 1), np.int32), "stepid": np.zeros((b, t + 1, 20), np.uint8),
            "dyn/deter": np.repeat(inp["context_deter"][:, None], t + 1, 1),
            "dyn/stoch": np.repeat(inp["context_stoch"][:, None], t + 1, 1)}
    carry = agent.init_train(b)
    train_seed = np.array([seed, 1], np.uint32)
    # Op by op: compiled as a whole, XLA (CPU) rewrites the two-hot head's symmetric sum (reverse, add,
    # reduce) into one-sided sums over bins up to 5e8, so at initialisation the reward and value
    # predictions inside the step come out 0.16 instead of the exact 0 the official code computes op by op.
    with jax.disable_jit():
        agent.train(carry, {**data, "seed": jax.device_put(train_seed)})
    mets = {k: np.asarray(v) for k, v in agent._take_outs(agent.pending_mets).items()}
    updated = {k: np.asarray(jax.device_get(v)) for k, v in agent.params.items() if k in weights}

    arrays: dict[str, np.ndarray] = {}
    arrays.update({f"param/{k}": v for k, v in weights.items()})
    arrays.update({f"update/{k}": updated[k] - weights[k] for k in weights})  # new - old compresses well
    arrays.update({f"input/{k}": np.asarray(v) for k, v in inp.items()})
    probe = {k.split("probe/", 1)[1]: v for k, v in mets.items() if "probe/" in k}
    for name in ("post_stoch", "img_stoch"):
        arrays[f"draw/{name}"] = probe.pop(name)
    arrays["draw/img_action"] = np.concatenate([probe.pop(f"img_action/{act_key}"),
                                                probe.pop(f"last_action/{act_key}")[:, None]], 1)
    scalars = {"loss": float(probe.pop("total"))}
    arrays.update({f"out/{k}": v for k, v in probe.items()})
    scalars.update({k: float(v) for k, v in mets.items() if k.startswith("loss/") and v.shape == ()})

    # Components on the official posterior, with the parameters before the update.
    feat = {"deter": arrays["out/post_deter"], "stoch": arrays["draw/post_stoch"]}
    reset = inp["is_first"][:, 1:]

    def call(fn, *args, seed_value=0):
        return nj.pure(fn)(dict(params), *args, seed=np.array([seed, seed_value], np.uint32))[1]

    def heads(feat, reset):
        x = model.feat2tensor(feat)
        recon = model.dec({}, feat, reset, False)[2][obs_key].pred()
        pol = model.pol(x, 2)[act_key]
        policy = {"logits": pol.logits} if c["discrete_actions"] else {
            "mean": pol.output.mean, "std": pol.output.stddev}
        return {"recon": recon, "reward": model.rew(x, 2).pred(), "cont": model.con(x, 2).prob(1),
                "value": model.val(x, 2).pred(), "slow_value": model.slowval(x, 2).pred(),
                "prior_logit": model.dyn._prior(feat["deter"]), **{f"policy_{k}": v for k, v in policy.items()}}

    arrays.update({f"out/{k}": np.asarray(v) for k, v in call(heads, feat, reset, seed_value=2).items()})
    if obs_space[obs_key].dtype == np.uint8:
        arrays["out/recon"] = arrays["out/recon"][:, :1]  # images: the first step only, to keep fixtures small

    context = {"deter": inp["context_deter"], "stoch": inp["context_stoch"]}
    tokens = arrays["out/tokens"][:, 0]
    prev = {act_key: inp["action"][:, 0]}
    step = call(lambda *a: model.dyn.observe(*a, False, single=True)[2], context, tokens, prev, reset[:, 0],
                seed_value=3)
    arrays.update({"out/obs_step_deter": step["deter"], "out/obs_step_logit": step["logit"],
                   "draw/obs_step_stoch": step["stoch"]})
    act = {act_key: inp["action"][:, 1]}
    step = call(lambda *a: model.dyn.imagine(*a, 1, False, single=True)[1][0], context, act, seed_value=4)
    arrays.update({"out/img_step_deter": step["deter"], "out/img_step_logit": step["logit"],
                   "draw/img_step_stoch": step["stoch"]})

    out.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    np.savez_compressed(out / "arrays.npz", **arrays)
    fixture = {**provenance(request, checkout, started), "obs_key": obs_key, "act_key": act_key,
               "batch": list(batch), "train_seed": train_seed.tolist(), "scalars": scalars}
    (out / "fixture.json").write_text(json.dumps(fixture, indent=2) + "\n")


def run_codec(checkout: Path, request: dict, out: Path) -> None:
    """Write the encoder and decoder fixture (``"mode": "codec"``) of ``request`` into ``out``."""
    started = time.time()
    sys.path[:0] = [str(checkout)]
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import ninjax as nj

    c = request["config"]
    seed = int(request.get("seed", 0))
    agent, obs_space = build_agent(checkout, request, BATCH, (OBS_KEY[len(c["obs_shape"]) == 3], ACT_KEY))
    weights = {k: np.asarray(jax.device_get(v)) for k, v in agent.params.items()
               if not k.startswith(("opt/", "slowval_count/"))}
    rng = np.random.default_rng(seed + 1)
    lead = (2, 3)
    obs = {k: random_obs(obs_space[k], lead, rng) for k in c["obs_space"]}
    deter = (rng.normal(size=(*lead, c["deter_dim"])) * 0.5).astype(np.float32)
    stoch = np.eye(c["stoch_classes"], dtype=np.float32)[rng.integers(0, c["stoch_classes"],
                                                                      (*lead, c["stoch_discrete"]))]
    reset = np.zeros(lead, bool)
    model = agent.model
    jax.config.update("jax_transfer_guard", "allow")

    def codec(obs, feat, reset):
        tokens = model.enc({}, obs, reset, False)[2]
        recon = model.dec({}, feat, reset, False)[2]
        return {"tokens": tokens, **{f"recon/{k}": v.pred() for k, v in recon.items()}}

    outs = nj.pure(codec)(dict(agent.params), obs, {"deter": deter, "stoch": stoch}, reset,
                          seed=np.array([seed, 0], np.uint32))[1]
    arrays = {**{f"param/{k}": v for k, v in weights.items()}, **{f"input/obs/{k}": v for k, v in obs.items()},
              "input/deter": deter, "input/stoch": stoch, **{f"out/{k}": np.asarray(v) for k, v in outs.items()}}
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "arrays.npz", **arrays)
    fixture = provenance(request, checkout, started)
    (out / "fixture.json").write_text(json.dumps(fixture, indent=2) + "\n")


def provenance(request: dict, checkout: Path, started: float) -> dict:
    """What a fixture was made from and with: the request, the official code, versions, time taken."""
    import jax

    return {"request": request, "official": "danijar/dreamerv3", "commit": commit_of(checkout),
            "code_sha256": code_hash(checkout), "jax": jax.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "compute_dtype": "float32", "platform": "cpu",
            "seconds": round(time.time() - started, 1), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def commit_of(checkout: Path) -> str | None:
    """The checkout's git commit, or None where it is not a git checkout."""
    try:
        done = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def code_hash(checkout: Path) -> str:
    """sha256 over the official agent's sources, to tell checkouts apart where there is no git commit."""
    digest = hashlib.sha256()
    for path in sorted([*checkout.glob("dreamerv3/*.py"), *checkout.glob("dreamerv3/configs.yaml"),
                        *checkout.glob("embodied/jax/*.py")]):
        digest.update(path.relative_to(checkout).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", required=True, type=Path, help="a danijar/dreamerv3 checkout")
    parser.add_argument("--request", required=True, type=Path, help="request.json")
    parser.add_argument("--out", required=True, type=Path, help="directory for fixture.json and arrays.npz")
    args = parser.parse_args(argv)
    request = json.loads(args.request.read_text())
    if request.get("mode") == "codec":
        run_codec(args.checkout.resolve(), request, args.out)
    else:
        run(args.checkout.resolve(), request, args.out, args.request.resolve().parent)


if __name__ == "__main__":
    main()
