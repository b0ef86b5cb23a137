"""Replay a fixture of the official DreamerV3 (written by :mod:`worldflux_dreamer.parity_probe`) natively.

The fixture's official parameters go into a native model through the
checkpoint converter's name table; the native code then sees the fixture's
inputs with the official random draws injected (latent samples and actor
actions replace ``sample_onehot`` and ``PolicyHead.sample`` while it runs), so
every compared quantity is deterministic. Components are fed the official
intermediate values (the decoder and heads read the official posterior), the
loss and the update run end to end.
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from worldflux.config import make_config
from worldflux.errors import WorldFluxError
from worldflux.parity.table import DEFAULT_RTOL, ParityRow, compare_arrays
from worldflux.types import Batch, LatentState
from worldflux_dreamer import rssm as rssm_module
from worldflux_dreamer.agent import DreamerAgent
from worldflux_dreamer.config import DreamerV3Config
from worldflux_dreamer.heads import PolicyHead
from worldflux_dreamer.model import DreamerV3
from worldflux_dreamer.official import TO_NATIVE, load_official, name_map

# One LaProp step moves each weight by about lr * sign(gradient), so the change is compared in units of lr.
UPDATE_RTOL = 1e-3
# The actor loss averages REINFORCE terms of both signs whose advantages are differences of returns and
# values (about 100 in the trained fixture): float32 rounding of those is 1e-5 of the loss, not of its terms.
POLICY_RTOL = 1e-4


class DrawMismatchError(WorldFluxError):
    """The native model drew a different number or shape of samples than the official code recorded."""


@contextlib.contextmanager
def replay_draws(latents: list[torch.Tensor], actions: list[torch.Tensor]) -> Iterator[None]:
    """Make the native model draw ``latents`` (one-hots, in call order) and ``actions`` instead of sampling.

    Latents keep the straight-through gradient of ``sample_onehot``. Raises if
    the native code draws more or fewer samples than the official code did.
    """
    latents, actions = list(latents), list(actions)

    def sample_latent(logits: torch.Tensor) -> torch.Tensor:
        if not latents:
            raise DrawMismatchError("the native model drew more latent samples than the official code")
        value = latents.pop(0).to(logits)
        if value.shape != logits.shape:
            raise DrawMismatchError(f"latent draw of shape {tuple(value.shape)} for logits {tuple(logits.shape)}")
        probs = logits.softmax(-1)
        return value + probs - probs.detach()

    def sample_action(self: PolicyHead, feat: torch.Tensor) -> torch.Tensor:
        if not actions:
            raise DrawMismatchError("the native model drew more actions than the official code")
        return actions.pop(0).to(feat)

    original = rssm_module.sample_onehot, PolicyHead.sample
    rssm_module.sample_onehot, PolicyHead.sample = sample_latent, sample_action  # type: ignore[assignment]
    try:
        yield
    finally:
        rssm_module.sample_onehot, PolicyHead.sample = original  # type: ignore[assignment]
    if latents or actions:
        raise DrawMismatchError(f"the native model left {len(latents)} latent and {len(actions)} action draws unused")


def _log_probs(logits: np.ndarray, unimix: float = 0.0) -> np.ndarray:
    """Log-probabilities of the official categorical: softmax of ``logits`` mixed with ``unimix`` uniform."""
    x = logits.astype(np.float64)
    probs = np.exp(x - x.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return np.log((1 - unimix) * probs + unimix / probs.shape[-1])


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x))


def load_fixture(fixture: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """``fixture.json`` and the arrays of a fixture directory (no pickles)."""
    meta = json.loads((fixture / "fixture.json").read_text())
    with np.load(fixture / "arrays.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return meta, arrays


def group_row(quantity: str, pairs: dict[str, tuple[np.ndarray, torch.Tensor]], tolerance: float) -> ParityRow:
    """One row for many tensors: the largest per-tensor error, and the tensor it is in when it fails."""
    rows = {name: compare_arrays(name, a, b, tolerance) for name, (a, b) in pairs.items()}
    worst = max(rows, key=lambda name: rows[name].error)
    return _summary(quantity, rows, worst, rows[worst].error, tolerance)


def update_row(quantity: str, steps: dict[str, tuple[np.ndarray, torch.Tensor, np.ndarray]], lr: float,
               tolerance: float) -> ParityRow:
    """Parameter changes ``(official, native, official new value)`` compared in units of ``lr``.

    The change is a difference of two float32 parameters, so each side carries
    up to one ulp of the parameter in rounding; that much is not counted.
    """
    rows, errors = {}, {}
    for name, (a, b, new) in steps.items():
        rows[name] = compare_arrays(name, a, b, tolerance)
        diff = np.abs(np.asarray(a, np.float64) - b.detach().double().numpy()).max(initial=0.0)
        ulp = float(np.spacing(np.float32(np.abs(new).max(initial=0.0))))
        errors[name] = max(0.0, float(diff) - ulp) / lr
    worst = max(errors, key=errors.__getitem__)
    return _summary(quantity, rows, worst, errors[worst], tolerance)


def _summary(quantity: str, rows: dict[str, ParityRow], worst: str, error: float, tolerance: float) -> ParityRow:
    label = f"{quantity} [{len(rows)} tensors]" + (f", worst {worst}" if error > tolerance else "")
    return ParityRow(quantity=label, official=max(abs(r.official) for r in rows.values()),
                     native=max(abs(r.native) for r in rows.values()), error=error, tolerance=tolerance,
                     shape=(sum(math.prod(r.shape) for r in rows.values()),))


def compare(fixture: Path) -> list[ParityRow]:
    """Compare the native DreamerV3 with the official outputs recorded in ``fixture``.

    Tolerance 1e-5 relative to the largest official magnitude (float32 on both
    sides), except: the parameter *changes* of the LaProp step, compared in
    units of the learning rate with 1e-3 (beyond one float32 ulp of the
    parameter); and the actor loss, 1e-4 (see ``POLICY_RTOL``).
    """
    meta, arrays = load_fixture(Path(fixture))
    config = make_config(DreamerV3Config, meta["request"]["config"])
    params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    model = load_official(params, config).float()
    if meta["request"].get("mode") == "codec":
        return codec_rows(model, arrays)
    batch, draws = native_inputs(config, arrays)
    return component_rows(model, batch, arrays, draws) + training_rows(model, batch, meta, arrays, draws)


@torch.no_grad()
def codec_rows(model: DreamerV3, arrays: dict[str, np.ndarray]) -> list[ParityRow]:
    """Encoder and decoder of a dict observation (a ``"codec"`` fixture), part by part."""
    c = model.config
    model.eval()
    obs = {k[len("input/obs/"):]: _t(v) for k, v in arrays.items() if k.startswith("input/obs/")}
    obs[c.image_key] = obs[c.image_key].permute(0, 1, 4, 2, 3)  # official HWC -> native CHW
    rows = [compare_arrays("encoder embedding", arrays["out/tokens"], model.encoder(obs))]
    recon = model.decoder(_t(arrays["input/deter"]), _t(arrays["input/stoch"]))
    recon[c.image_key] = recon[c.image_key].permute(0, 1, 3, 4, 2)
    rows += [compare_arrays(f"decoder output: {k}", arrays[f"out/recon/{k}"], recon[k]) for k in sorted(recon)]
    return rows


def native_inputs(c: DreamerV3Config, arrays: dict[str, np.ndarray]) -> tuple[Batch, dict[str, list[torch.Tensor]]]:
    """The fixture's window as a native batch (with its replay context), and the official draws in call order."""
    def actions(x: np.ndarray) -> torch.Tensor:
        return F.one_hot(_t(x).long(), c.action_dim).float() if c.discrete_actions else _t(x).float()

    obs = _t(arrays["input/obs"])
    if len(c.obs_shape) == 3:
        obs = obs.permute(0, 1, 4, 2, 3)  # official HWC -> native CHW
    action = actions(arrays["input/action"])
    context = {"deter": _t(arrays["input/context_deter"]), "stoch": _t(arrays["input/context_stoch"]),
               "action": action[:, 0]}
    batch = Batch(obs=obs[:, 1:], action=action[:, 1:], reward=_t(arrays["input/reward"][:, 1:]),
                  is_first=_t(arrays["input/is_first"][:, 1:]), is_terminal=_t(arrays["input/is_terminal"][:, 1:]),
                  context=context)
    steps = lambda x: [x[:, i] for i in range(x.shape[1])]  # noqa: E731
    draws = {"post": steps(_t(arrays["draw/post_stoch"])), "img": steps(_t(arrays["draw/img_stoch"])),
             "act": steps(actions(arrays["draw/img_action"])), "obs_step": [_t(arrays["draw/obs_step_stoch"])],
             "img_step": [_t(arrays["draw/img_step_stoch"])]}
    return batch, draws


@torch.no_grad()
def component_rows(model: DreamerV3, batch: Batch, arrays: dict[str, np.ndarray],
                   draws: dict[str, list[torch.Tensor]]) -> list[ParityRow]:
    """Encoder, RSSM (a window, one observe and one imagine step), decoder and heads, before the update."""
    c = model.config
    out = {k[len("out/"):]: v for k, v in arrays.items() if k.startswith("out/")}
    logp = lambda x: _log_probs(x, c.unimix)  # noqa: E731
    rows = []
    model.eval()
    embed = model.encoder(batch.obs)
    rows.append(compare_arrays("encoder embedding", out["tokens"], embed))
    start, first_action = model.window_start(batch)
    prev_action = torch.cat([first_action[:, None], batch.action[:, :-1]], 1)
    with replay_draws(draws["post"], []):
        post = model.rssm.observe(embed, prev_action, batch.is_first, start)
    rows.append(compare_arrays("posterior deter (observe, T steps)", out["post_deter"], post["deter"]))
    rows.append(compare_arrays("posterior log-probs (observe, T steps)", logp(out["post_logit"]), post["logits"]))
    deter, stoch = _t(out["post_deter"]), _t(arrays["draw/post_stoch"])  # the official posterior from here on
    rows.append(compare_arrays("prior log-probs", logp(out["prior_logit"]), model.rssm.prior_logits(deter)))
    context = {"deter": batch.context["deter"], "stoch": batch.context["stoch"]}
    with replay_draws(draws["obs_step"], []):
        step = model.observe_step(LatentState(context), batch.context["action"], batch.obs[:, 0],
                                  batch.is_first[:, 0])
    rows.append(compare_arrays("observe step: deter", out["obs_step_deter"], step["deter"]))
    rows.append(compare_arrays("observe step: log-probs", logp(out["obs_step_logit"]), step["logits"]))
    with replay_draws(draws["img_step"], []):
        step = model.rssm.img_step(context, batch.action[:, 0])
    rows.append(compare_arrays("imagine step: deter", out["img_step_deter"], step["deter"]))
    rows.append(compare_arrays("imagine step: log-probs", logp(out["img_step_logit"]), step["logits"]))

    recon = model.decoder(deter, stoch)
    if len(c.obs_shape) == 3:
        recon = recon.permute(0, 1, 3, 4, 2)
    rows.append(compare_arrays("decoder output", out["recon"], recon[:, : out["recon"].shape[1]]))
    feat = model.features({"deter": deter, "stoch": stoch})
    rows.append(compare_arrays("reward prediction", out["reward"], model.reward_head.mean(model.reward_head(feat))))
    rows.append(compare_arrays("continue probability", out["cont"], torch.sigmoid(model.cont_head(feat))))
    rows.append(compare_arrays("critic value", out["value"], model.critic.mean(model.critic(feat))))
    rows.append(compare_arrays("slow critic value", out["slow_value"],
                               model.slow_critic.mean(model.slow_critic(feat))))
    policy = model.actor(feat)
    if c.discrete_actions:
        rows.append(compare_arrays("actor log-probs", _log_probs(out["policy_logits"]), policy.logits))
    else:
        rows.append(compare_arrays("actor mean", out["policy_mean"], policy.base_dist.loc))
        rows.append(compare_arrays("actor std", out["policy_std"], policy.base_dist.scale))
    return rows


def training_rows(model: DreamerV3, batch: Batch, meta: dict, arrays: dict[str, np.ndarray],
                  draws: dict[str, list[torch.Tensor]]) -> list[ParityRow]:
    """One native training step (the agent's update) against the official one: loss terms, then the weights."""
    c = model.config
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    agent = DreamerAgent(model, batch.shape[0])
    with replay_draws(draws["post"] + draws["img"], draws["act"]):
        metrics = agent.update(batch)
    official = meta["scalars"]
    rows = [compare_arrays(f"loss/{name}", np.float32(official[f"loss/{meta['obs_key'] if name == 'rec' else name}"]),
                           metrics[f"loss/{name}"]) for name in ("dyn", "rep", "rec", "rew", "con", "value", "repval")]
    rows.append(compare_arrays("loss/policy (sum of cancelling terms)", np.float32(official["loss/policy"]),
                               metrics["loss/policy"], POLICY_RTOL))
    rows.append(compare_arrays("loss (total)", np.float32(official["loss"]), metrics["loss"]))

    after = model.state_dict()
    weights: dict[str, dict[str, tuple[np.ndarray, torch.Tensor]]] = {}
    changes: dict[str, dict[str, tuple[np.ndarray, torch.Tensor, np.ndarray]]] = {}
    for native, (name, layout) in name_map(c, meta["obs_key"], meta["act_key"]).items():
        change = TO_NATIVE[layout](arrays[f"update/{name}"])
        new = TO_NATIVE[layout](arrays[f"param/{name}"]) + change
        group = name.split("/")[0]
        weights.setdefault(group, {})[name] = (new, after[native])
        if group != "retnorm":  # the return percentiles move by rate * percentile, not by lr
            changes.setdefault(group, {})[name] = (change, after[native] - before[native], new)
    rows += [group_row(f"params after update: {group}", pairs, DEFAULT_RTOL) for group, pairs in weights.items()]
    rows += [update_row(f"update / lr: {group}", steps, c.lr, UPDATE_RTOL) for group, steps in changes.items()]
    return rows
