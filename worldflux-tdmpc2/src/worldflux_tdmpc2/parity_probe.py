"""Parity probe: run the official TD-MPC2 (nicklashansen/tdmpc2) on CPU and record a fixture.

Run by the official environment's interpreter; it imports only the standard
library, numpy, torch and the official code (never worldflux)::

    python parity_probe.py --checkout DIR --request FILE --out DIR

``request.json`` is ``{"preset", "family", "config", "seed"}`` with ``config``
the native TDMPC2Config fields; optional keys: ``"mode"`` (``"fixture"``, the
default, ``"manifest"``, or ``"pixels"`` for a pixel model: its checkpoint, and
its encodings and Q values of fixed frames under fixed shift seeds),
``"updates"`` (default 5), ``"plan_task"``,
``"checkpoint"`` (an official-layout ``.pt`` to load with the official
``TDMPC2.load()`` instead of training) and ``"save_checkpoint"`` (default: for
models up to 20M parameters).

What it changes in the official code, in memory only (the checkout is read,
never written), each edit checked to apply exactly as often as expected so
that a different checkout stops the probe instead of being probed wrongly:

- ``tdmpc2.py`` and ``common/scale.py``: ``'cuda:0'`` becomes ``'cpu'`` (the
  official code hard-codes the GPU);
- ``tdmpc2.py``: Adam's ``capturable=True`` becomes ``capturable=False``
  (torch refuses capturable Adam on CPU; it is the same update rule with the
  step count kept on the GPU so that CUDA graphs can capture it);
- ``tdmpc2.py``: ``WorldModel(cfg).to(self.device)`` becomes
  ``WorldModel(cfg)``. On CPU the move does nothing but re-run ``init()``,
  which rebuilds the detach/target Q parameters as the copies ``__init__``
  already made; with tensordict >= 0.9 the move fails on the meta-device
  placeholders the official ``Ensemble`` keeps.

On a GPU (``load_official(checkout, cuda=True)``, used by the speed benchmark)
only the last edit is made, and the agent must be built under
``torch.device('cuda:0')`` so that the world model is made there directly.

Everything else runs as written. Random draws are recorded while the official
code runs: ``torch.randn``, ``torch.randn_like``, ``torch.randperm`` and
``Tensor.exponential_`` are wrapped to keep their results (in call order), and
``torch.topk`` (MPPI's elite choice) to keep its input values and indices; for
the Q-ensemble dropout, which runs inside ``torch.vmap(randomness="different")``
and is invisible from Python, the CPU generator state before each active
``F.dropout`` call is kept. Under that vmap the masks are one Bernoulli draw over
the stacked ``[num_q, ...]`` tensor, so a plain ``F.dropout`` on the contiguous
stacked tensor from the same state draws the same masks (the fixture's
``q/all_train`` checks exactly that).

Writes ``OUT/fixture.json`` (request, scalar outputs, provenance, the kind of
every recorded draw), ``OUT/arrays.npz`` (weights, inputs, draws, outputs; no
object arrays) and ``OUT/official.pt`` (what the official ``save()`` writes
after the updates). Mode ``"manifest"`` writes ``OUT/manifest.json`` instead:
the key and shape of every tensor in the official model's state dict (built on
the meta device), its tensordict metadata entries and the order of all entries
(data-less placeholders left out).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import json
import platform
import subprocess
import sys
import types
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

FORMAT = "worldflux-tdmpc2-parity-fixture"
EDITS = {  # file -> [(old, new, expected count)]
    "tdmpc2.py": [("'cuda:0'", "'cpu'", 2), ("capturable=True", "capturable=False", 2),
                  ("WorldModel(cfg).to(self.device)", "WorldModel(cfg)", 1)],
    "common/scale.py": [("'cuda:0'", "'cpu'", 2)],
}
CUDA_EDITS = {"tdmpc2.py": EDITS["tdmpc2.py"][-1:], "common/scale.py": []}  # on a GPU: only the model move
SAVE_MAX_PARAMS = 20_000_000  # the official .pt is written for models up to this size unless the request says
YAML_INTS = ("log_std_min", "log_std_max", "vmin", "vmax", "max_std", "grad_clip_norm", "consistency_coef",
             "termination_coef", "discount_denom")


# --- loading the official code ---------------------------------------------------------


def _edited_module(name: str, path: Path, edits: list[tuple[str, str, int]]) -> types.ModuleType:
    source = path.read_text()
    for old, new, count in edits:
        found = source.count(old)
        if found != count:
            raise SystemExit(f"{path}: expected {count} occurrence(s) of {old!r}, found {found}. This checkout "
                             f"differs from the one the probe was written for (nicklashansen/tdmpc2 e9f5932).")
        source = source.replace(old, new)
    spec = importlib.util.spec_from_loader(name, loader=None, origin=str(path))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


def load_official(checkout: Path, cuda: bool = False) -> types.ModuleType:
    """The official ``tdmpc2`` module, edited in memory as the module docstring says (for a GPU if ``cuda``)."""
    root = checkout / "tdmpc2"
    if not (root / "tdmpc2.py").is_file():
        raise SystemExit(f"{checkout} is not a nicklashansen/tdmpc2 checkout: {root / 'tdmpc2.py'} is missing.")
    sys.path.insert(0, str(root))
    import common  # noqa: F401  (the package must exist before its edited submodule)

    edits = CUDA_EDITS if cuda else EDITS
    _edited_module("common.scale", root / "common" / "scale.py", edits["common/scale.py"])
    return _edited_module("tdmpc2", root / "tdmpc2.py", edits["tdmpc2.py"])


class Cfg(types.SimpleNamespace):
    """The attribute bag the official code reads (parser.py builds a dataclass with ``get``)."""

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)


def official_cfg(config: dict[str, Any], seed: int) -> Cfg:
    """The official cfg for the native config fields (what parser.py + the env setup would produce).

    Fields that config.yaml writes as integers stay integers, so buffers such as
    ``log_std_min`` get the official dtype (int64).
    """
    c = {k: int(v) if k in YAML_INTS and float(v).is_integer() else v for k, v in config.items()}
    obs = "rgb" if len(c["obs_shape"]) == 3 else "state"
    tasks = list(c.get("tasks") or [])
    multitask = bool(tasks)
    n = len(tasks)
    return Cfg(
        obs=obs, obs_shape={obs: tuple(c["obs_shape"])}, action_dim=c["action_dim"],
        episode_length=c["episode_length"], episodic=c["episodic"],
        multitask=multitask, tasks=tasks if multitask else ["probe"], task_dim=c["task_dim"] if multitask else 0,
        action_dims=list(c.get("action_dims") or [c["action_dim"]] * n),
        episode_lengths=list(c.get("episode_lengths") or [c["episode_length"]] * n),
        latent_dim=c["latent_dim"], mlp_dim=c["hidden_dim"], enc_dim=c["enc_dim"],
        num_enc_layers=c["num_enc_layers"], num_q=c["num_q_networks"], simnorm_dim=c["simnorm_dim"],
        num_bins=c["num_bins"], vmin=c["vmin"], vmax=c["vmax"], bin_size=(c["vmax"] - c["vmin"]) / (c["num_bins"] - 1),
        dropout=c["dropout"], log_std_min=c["log_std_min"], log_std_max=c["log_std_max"],
        num_channels=c.get("num_channels") or c["latent_dim"] // 16,
        horizon=c["horizon"], rho=c["rho"], consistency_coef=c["consistency_coef"], reward_coef=c["reward_coef"],
        value_coef=c["value_coef"], termination_coef=c["termination_coef"], entropy_coef=c["entropy_coef"],
        tau=c["tau"], lr=c["lr"], enc_lr_scale=c["enc_lr_scale"], grad_clip_norm=c["grad_clip_norm"],
        batch_size=c["batch_size"], mpc=c["mpc"], iterations=c["iterations"], num_samples=c["num_samples"],
        num_elites=c["num_elites"], num_pi_trajs=c["num_pi_trajs"], temperature=c["temperature"],
        min_std=c["min_std"], max_std=c["max_std"], discount_denom=c["discount_denom"],
        discount_min=c["discount_min"], discount_max=c["discount_max"], compile=False, seed=seed,
    )


# --- recording random draws ----------------------------------------------------------------


class Recorder:
    """Keeps every random draw of the official code, per phase, in call order."""

    def __init__(self) -> None:
        self.phases: dict[str, list[tuple[str, np.ndarray]]] = {}
        self.phase: list[tuple[str, np.ndarray]] | None = None

    def keep(self, kind: str, value: Any) -> None:
        if self.phase is not None:
            array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
            self.phase.append((kind, array.copy()))

    @contextlib.contextmanager
    def recording(self, phase: str) -> Iterator[None]:
        self.phase = self.phases.setdefault(phase, [])
        originals = (torch.randn, torch.randn_like, torch.randperm, torch.Tensor.exponential_,
                     torch.nn.functional.dropout, torch.topk)
        randn, randn_like, randperm, exponential_, dropout, topk = originals

        def wrap(fn: Callable[..., torch.Tensor], kind: str) -> Callable[..., torch.Tensor]:
            def run(*args: Any, **kwargs: Any) -> torch.Tensor:
                out = fn(*args, **kwargs)
                self.keep(kind, out)
                return out
            return run

        def exponential(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
            out = exponential_(tensor, *args, **kwargs)
            self.keep("exponential", out)
            return out

        def drop(input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> torch.Tensor:
            if training and p > 0:
                self.keep("dropout", torch.get_rng_state())
            return dropout(input, p, training, inplace)

        def choose(input: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            out = topk(input, *args, **kwargs)
            self.keep("topk_input", input)
            self.keep("topk", out.indices)
            return out

        torch.randn, torch.randn_like = wrap(randn, "normal"), wrap(randn_like, "normal")  # type: ignore[assignment]
        torch.randperm = wrap(randperm, "randperm")  # type: ignore[assignment]
        torch.Tensor.exponential_ = exponential  # type: ignore[method-assign,assignment]
        torch.nn.functional.dropout = drop  # type: ignore[assignment]
        torch.topk = choose  # type: ignore[assignment]
        try:
            yield
        finally:
            (torch.randn, torch.randn_like, torch.randperm, torch.Tensor.exponential_,  # type: ignore[misc]
             torch.nn.functional.dropout, torch.topk) = originals
            self.phase = None


# --- the probe ---------------------------------------------------------------------------


def _state(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """The real tensors of the official state dict (meta placeholders and the detach alias left out)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()
            if isinstance(v, torch.Tensor) and not v.is_meta and not k.startswith("_detach_Qs_params.")}


def _for_this_tensordict(saved: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint adapted to the installed tensordict, which ``load_state_dict`` checks strictly.

    tensordict 0.8.3 (the official pin) stores ``<ensemble>.__batch_size`` / ``.__device`` entries and
    needs them; tensordict >= 0.9 has data-less meta placeholders ``<ensemble>.module.*`` instead. Entries
    of the one kind the running version lacks are dropped, placeholders it has are filled from the model.
    """
    state = dict(saved.get("model", saved))
    for key in [k for k in state if k.endswith((".__batch_size", ".__device")) and k not in current]:
        del state[key]
    for key, value in current.items():
        if isinstance(value, torch.Tensor) and value.is_meta and key not in state:
            state[key] = value
    return state


def _plan(agent: Any, obs: torch.Tensor, t0: bool, eval_mode: bool, task: int | None
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """``agent.act`` and the final MPPI std, read from ``_plan``'s locals (the official code does not return it)."""
    captured: dict[str, torch.Tensor] = {}
    code = inspect.unwrap(type(agent)._plan).__code__  # under @torch.no_grad()

    def local(frame: types.FrameType, event: str, arg: Any) -> Any:
        std = frame.f_locals.get("std")
        if isinstance(std, torch.Tensor) and std.dim() == 2:  # before `a, std = actions[0], std[0]`
            captured["std"] = std.clone()
        return local

    def calls(frame: types.FrameType, event: str, arg: Any) -> Any:
        return local if event == "call" and frame.f_code is code else None

    sys.settrace(calls)
    try:
        action = agent.act(obs, t0=t0, eval_mode=eval_mode, task=task)
    finally:
        sys.settrace(None)
    return action, captured["std"]


def _versions(checkout: Path) -> dict[str, Any]:
    try:
        import tensordict
        td_version = tensordict.__version__
    except Exception:  # pragma: no cover - the official code needs it anyway
        td_version = None
    try:
        commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=30).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"repository": "nicklashansen/tdmpc2", "commit": commit, "torch": torch.__version__,
            "tensordict": td_version, "numpy": np.__version__, "python": platform.python_version()}


def write_manifest(request: dict[str, Any], out: Path, checkout: Path) -> None:
    load_official(checkout)
    from common.world_model import WorldModel

    cfg = official_cfg(request["config"], request.get("seed", 0))
    with torch.device("meta"):
        model = WorldModel(cfg)
    state = {k: v for k, v in model.state_dict().items()
             if not (isinstance(v, torch.Tensor) and v.is_meta and ".module." in k)}
    manifest = {"request": request, "official": _versions(checkout),
                "note": "official WorldModel.state_dict(): tensor keys and shapes, tensordict metadata entries "
                        "(tensordict 0.8.3), and the order of all entries; tensordict >= 0.9 adds data-less "
                        "'<_Qs|_detach_Qs|_target_Qs>.module.*' meta placeholders, left out here",
                "keys": {k: list(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)},
                "metadata": {k: list(v) if isinstance(v, torch.Size) else v for k, v in state.items()
                             if not isinstance(v, torch.Tensor)},
                "order": list(state)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


def write_fixture(request: dict[str, Any], out: Path, checkout: Path) -> None:
    module = load_official(checkout)
    torch.set_num_threads(1)
    seed = int(request.get("seed", 0))
    cfg = official_cfg(request["config"], seed)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    agent = module.TDMPC2(cfg)
    arrays: dict[str, np.ndarray] = {f"init/{k}": v for k, v in _state(agent.model).items()}
    scalars: dict[str, float] = {}
    recorder = Recorder()
    h, b, d, a = cfg.horizon, cfg.batch_size, cfg.obs_shape["state"][0], cfg.action_dim
    masks = agent.model._action_masks.numpy() if cfg.multitask else np.ones((1, a), np.float32)
    n_tasks = masks.shape[0]
    updates = 0 if request.get("checkpoint") else int(request.get("updates", 5))
    if request.get("checkpoint"):
        agent.load({"model": _for_this_tensordict(torch.load(request["checkpoint"], weights_only=True),
                                                  agent.model.state_dict())})
    # training: `updates` official updates on fixed random batches
    if updates:
        obs = rng.normal(size=(updates, h + 1, b, d)).astype(np.float32)
        action = rng.uniform(-1, 1, size=(updates, h, b, a)).astype(np.float32)
        reward = rng.normal(size=(updates, h, b, 1)).astype(np.float32)
        terminated = (rng.uniform(size=(updates, h, b, 1)) < 0.2).astype(np.float32) if cfg.episodic \
            else np.zeros((updates, h, b, 1), np.float32)
        task = rng.integers(0, n_tasks, size=(updates, b))
        arrays.update({"batch/obs": obs, "batch/action": action, "batch/reward": reward,
                       "batch/terminated": terminated})
        if cfg.multitask:
            arrays["batch/task"] = task
        for u in range(updates):
            sample = (torch.from_numpy(obs[u]), torch.from_numpy(action[u]), torch.from_numpy(reward[u]),
                      torch.from_numpy(terminated[u]), torch.from_numpy(task[u]) if cfg.multitask else None)
            buffer = types.SimpleNamespace(sample=lambda s=sample: s)
            with recorder.recording(f"update{u}"):
                info = agent.update(buffer)
            scalars.update({f"update{u}/{k}": float(v) for k, v in info.items()})
    arrays.update({f"final/{k}": v for k, v in _state(agent.model).items()})
    save = request.get("save_checkpoint", sum(p.numel() for p in agent.model.parameters()) <= SAVE_MAX_PARAMS)
    if save:
        agent.save(str(out / "official.pt"))
    # Q values of every member for given (z, a): eval, train (dropout), and the average of two random members
    n = 16
    q_task = rng.integers(0, n_tasks, size=n)
    q_task_t = torch.from_numpy(q_task) if cfg.multitask else None
    with torch.no_grad():
        z = agent.model.encode(torch.from_numpy(rng.normal(size=(n, d)).astype(np.float32)), q_task_t)
        q_a = torch.from_numpy(rng.uniform(-1, 1, size=(n, a)).astype(np.float32) * masks[q_task % n_tasks])
        arrays.update({"q/z": z.numpy(), "q/a": q_a.numpy()})
        if cfg.multitask:
            arrays["q/task"] = q_task
        arrays["q/all"] = agent.model.Q(z, q_a, q_task_t, return_type="all").numpy()
        with recorder.recording("q_avg"):
            arrays["q/avg"] = agent.model.Q(z, q_a, q_task_t, return_type="avg").numpy()
        agent.model.train()
        with recorder.recording("q_train"):
            arrays["q/all_train"] = agent.model.Q(z, q_a, q_task_t, return_type="all").numpy()
        agent.model.eval()
    # planning: an episode start with exploration noise, then a warm-started step without
    plan_task = request.get("plan_task", int(np.argmin(masks.sum(1)))) if cfg.multitask else None
    plan_obs = rng.normal(size=(2, d)).astype(np.float32)
    steps = [(True, False), (False, True)]  # (t0, eval_mode)
    actions, means, stds = [], [], []
    for i, (t0, eval_mode) in enumerate(steps):
        with recorder.recording(f"plan{i}"):
            act, std = _plan(agent, torch.from_numpy(plan_obs[i]), t0, eval_mode, plan_task)
        actions.append(act.numpy())
        means.append(agent._prev_mean.detach().numpy().copy())
        stds.append(std.numpy())
    arrays.update({"plan/obs": plan_obs, "plan/action": np.stack(actions), "plan/mean": np.stack(means),
                   "plan/std": np.stack(stds)})
    draws = {}
    for phase, items in recorder.phases.items():
        draws[phase] = [kind for kind, _ in items]
        for i, (_, value) in enumerate(items):
            arrays[f"draws/{phase}/{i}"] = value
    fixture = {
        "format": FORMAT, "format_version": 1, "request": request, "official": _versions(checkout),
        "edits": {f: [[old, new] for old, new, _ in e] for f, e in EDITS.items()},
        "updates": updates, "scalars": scalars, "draws": draws,
        "plan": {"task": plan_task, "steps": [{"t0": t0, "eval_mode": e} for t0, e in steps]},
        "discount": [float(x) for x in np.atleast_1d(np.asarray(agent.discount, dtype=np.float64))],
        "checkpoint": "official.pt" if save else None,
    }
    np.savez_compressed(out / "arrays.npz", **arrays)
    (out / "fixture.json").write_text(json.dumps(fixture, indent=1))


def write_pixel_fixture(request: dict[str, Any], out: Path, checkout: Path) -> None:
    """A pixel model's checkpoint and what it computes: the encodings of fixed uint8 frames under fixed shift
    seeds (the random shift draws from torch's generator), and every Q member's logits there."""
    module = load_official(checkout)
    torch.set_num_threads(1)
    seed = int(request.get("seed", 0))
    cfg = official_cfg(request["config"], seed)
    torch.manual_seed(seed)
    agent = module.TDMPC2(cfg)
    agent.save(str(out / "official.pt"))
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (4, *cfg.obs_shape["rgb"]), dtype=np.uint8)
    action = rng.uniform(-1, 1, (4, cfg.action_dim)).astype(np.float32)
    arrays: dict[str, np.ndarray] = {"images": images, "action": action}
    with torch.no_grad():
        for shift_seed in (7, 8):
            torch.manual_seed(shift_seed)
            z = agent.model.encode(torch.from_numpy(images), None)
            arrays[f"z/{shift_seed}"] = z.numpy()
            arrays[f"q/{shift_seed}"] = agent.model.Q(z, torch.from_numpy(action), None, return_type="all").numpy()
    np.savez_compressed(out / "arrays.npz", **arrays)
    fixture = {"format": FORMAT + "-pixels", "format_version": 1, "request": request, "official": _versions(checkout),
               "edits": {f: [[old, new] for old, new, _ in e] for f, e in EDITS.items()}, "shift_seeds": [7, 8]}
    (out / "fixture.json").write_text(json.dumps(fixture, indent=1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, required=True, help="a nicklashansen/tdmpc2 checkout")
    parser.add_argument("--request", type=Path, required=True, help="request.json")
    parser.add_argument("--out", type=Path, required=True, help="the directory to write the fixture into")
    args = parser.parse_args(argv)
    request = json.loads(args.request.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    if request.get("mode", "fixture") == "manifest":
        write_manifest(request, args.out, args.checkout.resolve())
    elif request.get("mode") == "pixels":
        write_pixel_fixture(request, args.out, args.checkout.resolve())
    else:
        write_fixture(request, args.out, args.checkout.resolve())


if __name__ == "__main__":
    main()
