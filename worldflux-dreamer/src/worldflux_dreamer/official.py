"""Official DreamerV3 checkpoints (danijar/dreamerv3, ``elements.Checkpoint``) into WorldFlux models.

An official run writes ``LOGDIR/config.yaml`` and ``LOGDIR/ckpt/<stamp>/agent.pkl``,
a pickle of ``{"params": {"enc/cnn0/kernel": array, ...}, "counters": {...}}``.
:func:`convert` reads it with :mod:`worldflux.safe_pickle` (no code runs),
derives the native config from the run's ``config.yaml`` (parsed with
``yaml.safe_load``) and the parameter shapes, maps every official tensor to
the native state dict (:func:`name_map`) and saves the model.

Layouts: official dense kernels are ``[in, out]`` (native ``[out, in]``), conv
kernels HWIO (native OIHW), block-linear kernels ``[blocks, in/blocks,
out/blocks]`` in both. The optimiser state (``opt/...``) is not converted.

A run on dict observations (an image and vectors, e.g. DMC pixels with
proprioception) converts to a model with ``obs_space``: the vectors' names and
widths come from the decoder's heads (``dec/vec/NAME``), the image is called
``image`` as the official environments call it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from worldflux.errors import WorldFluxError
from worldflux.log import get_logger
from worldflux.safe_pickle import load as safe_load

if TYPE_CHECKING:
    import torch

    from worldflux_dreamer.config import DreamerV3Config
    from worldflux_dreamer.model import DreamerV3

OFFICIAL = "danijar/dreamerv3"
log = get_logger(__name__)
IGNORED = re.compile(r"^(opt/|slowval_count/)")  # optimiser state and counters, no network weights

# Layouts: how an official array becomes the native tensor.
SAME, DENSE, CONV = "same", "dense", "conv"
TO_NATIVE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    SAME: lambda x: x, DENSE: lambda x: x.T, CONV: lambda x: x.transpose(3, 2, 0, 1)}
TO_OFFICIAL: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    SAME: lambda x: x, DENSE: lambda x: x.T, CONV: lambda x: x.transpose(2, 3, 1, 0)}


class CheckpointMismatchError(WorldFluxError):
    """Official tensors without a native counterpart, native tensors without an official one, or wrong shapes."""


# --- the name table ----------------------------------------------------------------


def name_map(c: DreamerV3Config, obs_key: str = "image", act_key: str = "action") -> dict[str, tuple[str, str]]:
    """``{native state-dict name: (official param name, layout)}`` for the model of config ``c``.

    ``obs_key`` and ``act_key`` are the official observation and action names,
    which appear in the names of the vector decoder's and the actor's outputs.
    """
    from worldflux_dreamer.codec import is_image

    table: dict[str, tuple[str, str]] = {}

    def dense(native: str, official: str, layout: str = DENSE) -> None:
        table[f"{native}.weight"] = (f"{official}/kernel", layout)
        table[f"{native}.bias"] = (f"{official}/bias", SAME)

    def norm(native: str, official: str) -> None:
        table[f"{native}.0.scale"] = (f"{official}/scale", SAME)  # NormAct = Sequential(RMSNorm, act)

    def mlp(native: str, official: str, layers: int, linear: str = "linear{}", normed: str = "norm{}") -> None:
        for i in range(layers):  # worldflux_dreamer.layers.mlp: [Linear, NormAct] per layer
            dense(f"{native}.{2 * i}", f"{official}/{linear.format(i)}")
            norm(f"{native}.{2 * i + 1}", f"{official}/{normed.format(i)}")

    # encoder (a dict observation: the CNN for its image, the official vector MLP for its vectors)
    if is_image(c.obs_shape):
        for i in range(len(c.cnn_mults)):  # [Conv2d, MaxPool2d, NormAct] per stage
            dense(f"encoder.net.{3 * i}", f"enc/cnn{i}", CONV)
            norm(f"encoder.net.{3 * i + 2}", f"enc/cnn{i}norm")
    else:
        mlp("encoder.net", "enc", c.enc_layers, "mlp{}", "mlp{}norm")
    if c.vector_keys:
        mlp("encoder.vectors", "enc", c.enc_layers, "mlp{}", "mlp{}norm")
    # RSSM
    for j in range(3):
        dense(f"rssm.dynin.{j}.0", f"dyn/dynin{j}")
        norm(f"rssm.dynin.{j}.1", f"dyn/dynin{j}norm")
    for i in range(c.dyn_layers):
        dense(f"rssm.dynhid.{2 * i}", f"dyn/dynhid{i}", SAME)
        norm(f"rssm.dynhid.{2 * i + 1}", f"dyn/dynhid{i}norm")
    dense("rssm.gru", "dyn/dyngru", SAME)
    mlp("rssm.prior_net.0", "dyn", c.img_layers, "prior{}", "prior{}norm")
    dense("rssm.prior_net.1", "dyn/priorlogit")
    mlp("rssm.post_net.0", "dyn", c.obs_layers, "obs{}", "obs{}norm")
    dense("rssm.post_net.1", "dyn/obslogit")
    # decoder
    if is_image(c.obs_shape):
        dense("decoder.sp0", "dec/sp0", SAME)
        dense("decoder.sp1.0", "dec/sp1")
        norm("decoder.sp1.1", "dec/sp1norm")
        dense("decoder.sp1.2", "dec/sp2")
        norm("decoder.spnorm", "dec/spnorm")
        stages = len(c.cnn_mults) - 1  # official conv{i} run from i = stages-1 down to 0, then imgout
        for j, i in enumerate(reversed(range(stages))):  # [Upsample, Conv2d, NormAct] per stage
            dense(f"decoder.net.{3 * j + 1}", f"dec/conv{i}", CONV)
            norm(f"decoder.net.{3 * j + 2}", f"dec/conv{i}norm")
        dense(f"decoder.net.{3 * stages + 1}", "dec/imgout", CONV)
    else:
        mlp("decoder.net.0", "dec/mlp", c.dec_layers)
        dense("decoder.net.1", f"dec/vec/{obs_key}/pred")
    if c.vector_keys:  # one MLP for all vectors, a linear head per vector
        mlp("decoder.vectors", "dec/mlp", c.dec_layers)
        for j, key in enumerate(c.vector_keys):
            dense(f"decoder.heads.{j}", f"dec/vec/{key}/pred")
    # heads
    for native, official, layers, out in (("reward_head", "rew", c.reward_layers, "logits"),
                                          ("cont_head", "con", c.cont_layers, "logit"),
                                          ("critic", "val", c.value_layers, "logits"),
                                          ("slow_critic", "slowval", c.value_layers, "logits")):
        mlp(f"{native}.net.0", f"{official}/mlp", layers)
        dense(f"{native}.net.1", f"{official}/head/{out}")
    mlp("actor.net", "pol/mlp", c.policy_layers)
    if c.discrete_actions:
        dense("actor.mean", f"pol/head/{act_key}/logits")
    else:
        dense("actor.mean", f"pol/head/{act_key}/mean")
        dense("actor.std", f"pol/head/{act_key}/stddev")
    table["retnorm.lo"] = ("retnorm/lo/value", SAME)
    table["retnorm.hi"] = ("retnorm/hi/value", SAME)
    return table


DERIVED = ("retnorm.quantiles",)  # native buffers set from the config, with no official tensor


def io_keys(params: Mapping[str, Any]) -> tuple[str, str]:
    """The official names of a single observation (its vector decoder; else ``image``) and of the action.

    A dict observation's vector names come from the config (``obs_space``), not from here.
    """
    obs = sorted({k.split("/")[2] for k in params if k.startswith("dec/vec/")})
    act = sorted({k.split("/")[2] for k in params if k.startswith("pol/head/")})
    if len(act) > 1:
        raise CheckpointMismatchError(f"The checkpoint acts with {act}; the native DreamerV3 takes one action. "
                                      f"Convert a run with one action space.")
    return (obs[0] if len(obs) == 1 else "image"), (act[0] if act else "action")


def to_state_dict(params: Mapping[str, Any], model: DreamerV3) -> dict[str, torch.Tensor]:
    """The native state dict of ``model``'s architecture holding the official ``params``.

    Raises :class:`CheckpointMismatchError` naming every official tensor left
    unmatched, every native tensor left missing and every shape that differs.
    """
    import torch

    obs_key, act_key = io_keys(params)
    table = name_map(model.config, obs_key, act_key)
    target = model.state_dict()
    state: dict[str, torch.Tensor] = {}
    missing, misshaped = [], []
    for native, ref in target.items():
        if native in DERIVED:
            state[native] = ref.clone()
            continue
        if native not in table or table[native][0] not in params:
            missing.append(f"{native} (official {table[native][0]})" if native in table else native)
            continue
        official, layout = table[native]
        value = TO_NATIVE[layout](np.asarray(params[official]))
        if tuple(value.shape) != tuple(ref.shape):
            misshaped.append(f"{official} {tuple(np.shape(params[official]))} -> {native} needs {tuple(ref.shape)}")
            continue
        state[native] = torch.from_numpy(np.ascontiguousarray(value)).to(ref.dtype)
    used = {table[k][0] for k in target if k in table}
    unmatched = sorted(k for k in params if k not in used and not IGNORED.match(k))
    problems = [f"{len(items)} {what}: {', '.join(items)}" for what, items in (
        ("official tensors match no native tensor", unmatched), ("native tensors are missing", missing),
        ("tensors have the wrong shape", misshaped)) if items]
    if problems:
        raise CheckpointMismatchError(
            "The official checkpoint does not fit the native DreamerV3 built from its config. "
            + "; ".join(problems) + ". Check that the checkpoint is a DreamerV3 agent of danijar/dreamerv3 "
            "(rssm dynamics, simple encoder/decoder) and pass obs_shape/action_dim/discrete if they were inferred "
            "wrongly.")
    return state


def to_official(model: DreamerV3, obs_key: str = "image", act_key: str = "action") -> dict[str, np.ndarray]:
    """The official parameter dict of a native model (the inverse of :func:`to_state_dict`, without optimiser state)."""
    state = model.state_dict()
    table = name_map(model.config, obs_key, act_key)
    return {official: np.ascontiguousarray(TO_OFFICIAL[layout](state[native].detach().cpu().numpy()))
            for native, (official, layout) in table.items()}


# --- finding and reading checkpoints -----------------------------------------------


def find_agent_pickle(source: Path) -> Path:
    """The ``agent.pkl`` of an official logdir, ``ckpt`` dir, checkpoint folder, or the file itself."""
    source = Path(source).expanduser()
    if source.is_file():
        return source
    for ckpt in (source, source / "ckpt"):
        if (ckpt / "agent.pkl").is_file():
            return ckpt / "agent.pkl"
        latest = ckpt / "latest"
        if latest.is_file() and (ckpt / latest.read_text().strip() / "agent.pkl").is_file():
            return ckpt / latest.read_text().strip() / "agent.pkl"
        stamps = sorted(p for p in ckpt.glob("*/agent.pkl")) if ckpt.is_dir() else []
        if stamps:
            return stamps[-1]
    if list(source.glob("**/agent-0000.pkl")):
        raise WorldFluxError(f"{source} holds a sharded checkpoint (agent-0000.pkl ...); only whole agent.pkl "
                             f"files are converted.")
    raise WorldFluxError(f"No official DreamerV3 checkpoint at {source}: expected an agent.pkl, a checkpoint folder "
                         f"holding one, a ckpt/ folder with a 'latest' file, or the run's logdir.")


def read_params(pkl: Path) -> dict[str, np.ndarray]:
    """The ``params`` of an official ``agent.pkl``, read without running code."""
    data = safe_load(pkl)
    params = data.get("params") if isinstance(data, dict) else None
    if not isinstance(params, dict) or not params:
        found = f"keys {sorted(map(str, data))}" if isinstance(data, dict) else type(data).__name__
        raise WorldFluxError(f"{pkl} is not an official DreamerV3 agent checkpoint: it holds no 'params' dict "
                             f"(found {found}).")
    bad = [k for k, v in params.items() if not isinstance(k, str) or not isinstance(v, (np.ndarray, np.generic))]
    if bad:
        raise WorldFluxError(f"{pkl}: params {bad[:5]} are not arrays.")
    return {k: np.asarray(v) for k, v in params.items()}


def find_run_config(pkl: Path) -> Path | None:
    """The run's ``config.yaml``: beside the checkpoint or in the logdir above ``ckpt/<stamp>/``."""
    for folder in list(pkl.resolve().parents)[:4]:
        if (folder / "config.yaml").is_file():
            return folder / "config.yaml"
    return None


def read_run_config(path: Path) -> dict[str, Any]:
    """The official run config flattened to dotted keys (``agent.dyn.rssm.deter``), parsed with ``yaml.safe_load``."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise WorldFluxError(f"{path} is not valid YAML ({exc}). Pass the options instead, or remove the "
                             f"file.") from exc
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}{k}.", v)
        else:
            flat[prefix[:-1]] = value

    walk("", data if isinstance(data, dict) else {})
    return flat


# --- the native config ---------------------------------------------------------------

# Official settings the native model implements only at these values.
REQUIRED = {
    "agent.dyn.typ": "rssm", "agent.enc.typ": "simple", "agent.dec.typ": "simple", "agent.dyn.rssm.norm": "rms",
    "agent.dyn.rssm.absolute": False, "agent.dyn.rssm.outscale": 1.0, "agent.enc.simple.outer": False,
    "agent.enc.simple.strided": False, "agent.dec.simple.outer": False, "agent.dec.simple.strided": False,
    "agent.dec.simple.outscale": 1.0, "agent.rewhead.outscale": 0.0, "agent.value.outscale": 0.0,
    "agent.conhead.outscale": 1.0, "agent.rewhead.output": "symexp_twohot", "agent.value.output": "symexp_twohot",
    "agent.policy_dist_disc": "categorical", "agent.policy_dist_cont": "bounded_normal", "agent.contdisc": True,
    "agent.imag_loss.slowtar": False, "agent.repl_loss.slowtar": False, "agent.retnorm.impl": "perc",
    "agent.retnorm.debias": False, "agent.valnorm.impl": "none", "agent.advnorm.impl": "none",
    "agent.ac_grads": False, "agent.reward_grad": True, "agent.repval_loss": True, "agent.repval_grad": True,
    "agent.imag_last": 0, "agent.opt.schedule": "const", "agent.opt.wd": 0.0, "agent.opt.momentum": True,
    "agent.opt.nesterov": False, "agent.slowvalue.every": 1,
}

# Native config field <- official setting (hyper-parameters that parameter shapes do not reveal).
SETTINGS = {
    "unimix": "agent.dyn.rssm.unimix", "free_nats": "agent.dyn.rssm.free_nats", "act": "agent.dyn.rssm.act",
    "symlog_inputs": "agent.enc.simple.symlog", "cnn_depth": "agent.enc.simple.depth",
    "cnn_mults": "agent.enc.simple.mults", "cnn_kernel": "agent.enc.simple.kernel",
    "dec_blocks": "agent.dec.simple.bspace", "policy_min_std": "agent.policy.minstd",
    "policy_max_std": "agent.policy.maxstd", "policy_outscale": "agent.policy.outscale",
    **{f"loss_{k}": f"agent.loss_scales.{k}" for k in ("rec", "rew", "con", "dyn", "rep", "policy", "value", "repval")},
    "imag_horizon": "agent.imag_length", "horizon": "agent.horizon", "return_lambda": "agent.imag_loss.lam",
    "actor_entropy": "agent.imag_loss.actent", "slow_reg": "agent.imag_loss.slowreg",
    "slow_rate": "agent.slowvalue.rate", "retnorm_rate": "agent.retnorm.rate", "retnorm_limit": "agent.retnorm.limit",
    "retnorm_low": "agent.retnorm.perclo", "retnorm_high": "agent.retnorm.perchi",
    **{k: f"agent.opt.{k}" for k in ("lr", "agc", "eps", "beta1", "beta2", "warmup")},
    "batch_size": "batch_size", "batch_length": "batch_length", "train_ratio": "run.train_ratio",
}
SAME_AS = {  # official settings that the native config holds once
    "agent.repl_loss.lam": "agent.imag_loss.lam", "agent.repl_loss.slowreg": "agent.imag_loss.slowreg",
    "agent.dec.simple.symlog": "agent.enc.simple.symlog", "agent.enc.simple.act": "agent.dyn.rssm.act",
    "agent.dec.simple.act": "agent.dyn.rssm.act", "agent.rewhead.act": "agent.dyn.rssm.act",
    "agent.conhead.act": "agent.dyn.rssm.act", "agent.policy.act": "agent.dyn.rssm.act",
    "agent.value.act": "agent.dyn.rssm.act", "agent.enc.simple.norm": "agent.dyn.rssm.norm",
    "agent.dec.simple.norm": "agent.dyn.rssm.norm", "agent.rewhead.norm": "agent.dyn.rssm.norm",
    "agent.conhead.norm": "agent.dyn.rssm.norm", "agent.policy.norm": "agent.dyn.rssm.norm",
    "agent.value.norm": "agent.dyn.rssm.norm", "agent.dec.simple.depth": "agent.enc.simple.depth",
    "agent.dec.simple.mults": "agent.enc.simple.mults", "agent.dec.simple.kernel": "agent.enc.simple.kernel",
}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return list(a) == list(b) if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) else False
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    except (TypeError, ValueError):
        return str(a).lower() == str(b).lower()


def _value(raw: Any, like: Any) -> Any:
    """A YAML value in the native field's type (PyYAML reads ``1e-08`` as a string)."""
    if isinstance(like, bool):
        return raw if isinstance(raw, bool) else str(raw).lower() == "true"
    if isinstance(like, int):
        return int(float(raw))
    if isinstance(like, float):
        return float(raw)
    if isinstance(like, tuple):
        return tuple(int(x) for x in raw)
    return raw


def _count(params: Mapping[str, Any], pattern: str) -> int:
    i = 0
    while pattern.format(i) in params:
        i += 1
    return i


def _shape(params: Mapping[str, Any], name: str) -> tuple[int, ...]:
    if name not in params:
        raise CheckpointMismatchError(f"The checkpoint has no {name}; it is not a DreamerV3 agent of {OFFICIAL} "
                                      f"(rssm dynamics, simple encoder and decoder).")
    return tuple(np.shape(params[name]))


def _parse_shape(text: str) -> tuple[int, ...]:
    parts = [p for p in re.split(r"[\s,x()\[\]]+", str(text)) if p]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise WorldFluxError(f"obs_shape {text!r} is not a shape; write it as C,H,W (e.g. 3,64,64) or D.") from None


def infer_config(params: Mapping[str, Any], settings: Mapping[str, Any] | None = None,
                 **options: Any) -> DreamerV3Config:
    """The native config of an official agent: sizes from the parameter shapes, the rest from ``settings``.

    ``settings`` is the run's flattened ``config.yaml`` (missing keys take the
    official defaults, which are the native defaults). ``options``
    (``obs_shape``, ``action_dim``, ``discrete``, ``stoch``) override what the
    shapes imply where they are ambiguous.
    """
    import attrs

    from worldflux.config import make_config
    from worldflux_dreamer.config import DreamerV3Config

    settings = dict(settings or {})
    unsupported = [f"{k}={settings[k]!r} (native: {v!r})" for k, v in REQUIRED.items()
                   if k in settings and not _same(settings[k], v)]
    unsupported += [f"{k}={settings[k]!r} differs from {ref}={settings[ref]!r}" for k, ref in SAME_AS.items()
                    if k in settings and ref in settings and not _same(settings[k], settings[ref])]
    if unsupported:
        raise WorldFluxError("The official run uses settings the native DreamerV3 does not implement: "
                             + "; ".join(unsupported) + ".")
    defaults = {f.name: f.default for f in attrs.fields(DreamerV3Config)}
    values: dict[str, Any] = {name: _value(settings[key], defaults[name])
                              for name, key in SETTINGS.items() if key in settings}

    deter, hidden = _shape(params, "dyn/dynin0/kernel")
    stoch_size = _shape(params, "dyn/dynin1/kernel")[0]
    stoch = int(options.get("stoch", settings.get("agent.dyn.rssm.stoch", 32)))
    if "stoch" not in options and "agent.dyn.rssm.stoch" not in settings:
        if stoch_size % stoch:
            raise WorldFluxError(f"The latent has {stoch_size} units, not a multiple of the default 32 latents, and "
                                 f"there is no config.yaml to tell; pass the run's agent.dyn.rssm.stoch as stoch=N.")
        log.warning("No config.yaml beside the checkpoint: assuming the official 32 latents x %d classes and "
                    "default hyper-parameters; pass stoch=N if the run used another number.", stoch_size // stoch)
    elif stoch_size % stoch:
        raise WorldFluxError(f"The latent has {stoch_size} units, not a multiple of {stoch} latents.")
    values.update(deter_dim=deter, hidden=hidden, stoch_discrete=stoch, stoch_classes=stoch_size // stoch,
                  gru_blocks=_shape(params, "dyn/dyngru/kernel")[0], dyn_layers=_count(params, "dyn/dynhid{}/kernel"),
                  img_layers=_count(params, "dyn/prior{}/kernel"), obs_layers=_count(params, "dyn/obs{}/kernel"))
    action_dim = _shape(params, "dyn/dynin2/kernel")[0]
    discrete = any(k.startswith("pol/head/") and k.endswith("/logits/kernel") for k in params)
    values["action_dim"] = int(options.get("action_dim", action_dim))
    values["discrete_actions"] = _value(options.get("discrete", discrete), True)

    widths = {}
    for name, official in (("reward_layers", "rew/mlp/linear{}/kernel"), ("cont_layers", "con/mlp/linear{}/kernel"),
                           ("policy_layers", "pol/mlp/linear{}/kernel"), ("value_layers", "val/mlp/linear{}/kernel"),
                           ("dec_layers", "dec/mlp/linear{}/kernel"), ("enc_layers", "enc/mlp{}/kernel")):
        values[name] = _count(params, official)
        if values[name]:
            widths[official.split("/")[0]] = _shape(params, official.format(0))[1]
    if "dec/sp1/kernel" in params:
        widths["dec"] = _shape(params, "dec/sp1/kernel")[1] // 2
    if len(set(widths.values())) > 1:
        raise WorldFluxError(f"The official run uses different widths per network ({widths}); the native DreamerV3 "
                             f"has one 'units' for encoder, decoder and heads.")
    if widths:
        values["units"] = next(iter(widths.values()))
    values["bins"] = _shape(params, "rew/head/logits/kernel")[1]
    if values["bins"] != _shape(params, "val/head/logits/kernel")[1]:
        raise WorldFluxError("The reward and value heads have different numbers of bins; the native model has one.")

    embed = _shape(params, "dyn/obs0/kernel" if values["obs_layers"] else "dyn/obslogit/kernel")[0] - deter
    vectors = {k.split("/")[2]: _shape(params, k)[1] for k in sorted(params)
               if k.startswith("dec/vec/") and k.endswith("/pred/kernel")}
    dict_obs = "enc/cnn0/kernel" in params and bool(vectors)  # an image and vectors: the vector MLP's output first
    if dict_obs:
        embed -= values["units"] if values["enc_layers"] else sum(vectors.values())
    if "enc/cnn0/kernel" in params:
        depths = [_shape(params, f"enc/cnn{i}/kernel")[3] for i in range(_count(params, "enc/cnn{}/kernel"))]
        depth = math.gcd(*depths)
        kernel, _, channels, _ = _shape(params, "enc/cnn0/kernel")
        values.update(cnn_depth=depth, cnn_mults=tuple(d // depth for d in depths), cnn_kernel=kernel,
                      dec_blocks=_shape(params, "dec/sp0/kernel")[0])
        side = math.isqrt(embed // depths[-1])
        shape = (channels, side * 2 ** len(depths), side * 2 ** len(depths))
        if side * side * depths[-1] != embed and "obs_shape" not in options:
            raise WorldFluxError(f"The image encoder's output ({embed} units) is not a square map; "
                                 f"pass obs_shape=C,H,W.")
    else:
        shape = (_shape(params, "enc/mlp0/kernel")[0] if values["enc_layers"] else embed,)
    values["obs_shape"] = _parse_shape(options["obs_shape"]) if "obs_shape" in options else shape
    if dict_obs:  # the official image key is not in the parameter names; its envs call it "image"
        values["obs_space"] = {"image": values["obs_shape"], **{k: (d,) for k, d in vectors.items()}}
    unknown = set(options) - {"obs_shape", "action_dim", "discrete", "stoch"}
    if unknown:
        raise WorldFluxError(f"Unknown option(s) {sorted(unknown)}; official-dreamerv3 takes obs_shape, action_dim, "
                             f"discrete and stoch.")
    return make_config(DreamerV3Config, {**defaults, **values})


def matching_preset(config: DreamerV3Config) -> str | None:
    """The preset whose architecture the config has, for the saved model's record (None if none matches)."""
    from worldflux.building import build_config
    from worldflux.state import catalog

    spec = {"obs_shape": config.obs_shape, "action_dim": config.action_dim,
            "discrete_actions": config.discrete_actions}
    fields = ("deter_dim", "stoch_discrete", "stoch_classes", "hidden", "units", "gru_blocks")
    if len(config.obs_shape) == 3:
        fields += ("cnn_depth",)
    for preset in catalog().presets.values():
        if preset.family != "dreamerv3":
            continue
        candidate = build_config(preset, spec)
        if all(getattr(candidate, f) == getattr(config, f) for f in fields):
            return preset.name
    return None


def load_official(params: Mapping[str, Any], config: DreamerV3Config) -> DreamerV3:
    """A native model of ``config`` holding the official ``params``."""
    from worldflux_dreamer.model import DreamerV3

    model = DreamerV3(config)
    model.load_state_dict(to_state_dict(params, model), strict=True)
    return model


def convert(source: Path, out: Path, **options: str) -> Path:
    """Convert the official checkpoint ``source`` into a saved WorldFlux model at ``out``.

    ``source``: an official logdir, its ``ckpt`` folder, a ``ckpt/<stamp>``
    folder or an ``agent.pkl``. ``options`` (strings, as from the CLI):
    ``obs_shape`` (``3,64,64`` or ``4``), ``action_dim``, ``discrete``
    (true/false) and ``stoch`` (number of latents, default 32), for what the
    run's ``config.yaml`` and the parameter shapes leave open.
    """
    pkl = find_agent_pickle(Path(source))
    params = read_params(pkl)
    run_config = find_run_config(pkl)
    settings = read_run_config(run_config) if run_config else {}
    model = load_official(params, infer_config(params, settings, **options))
    model.preset_name = matching_preset(model.config)
    model.save_pretrained(out)
    return Path(out)
