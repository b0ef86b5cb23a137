"""Official TD-MPC2 checkpoints (nicklashansen/tdmpc2) in and out.

``convert`` reads an official ``.pt`` without unpickling code
(``torch.load(weights_only=True)``), infers the architecture from the tensor
shapes, checks every tensor by name and shape against the native model, and
saves a WorldFlux model; ``export`` writes a saved model back as
``{"model": state_dict}`` in the official layout, which ``TDMPC2.load()`` reads.

The official layout: ``_encoder.state.*``, ``_dynamics.*``, ``_reward.*``,
``_termination.*`` (episodic), ``_pi.*``, the Q ensemble as
``_Qs.params.{layer}.{weight,bias,ln.weight,ln.bias}`` stacked ``[num_q, out, in]``
with the copies ``_detach_Qs_params.*`` (the same tensors) and
``_target_Qs_params.*``, buffers ``log_std_min`` and ``log_std_dif``; multi-task
adds ``_task_emb.weight`` and ``_action_masks``. Older checkpoints numbered the
ensemble tensors ``_Qs.params.{0..9}`` / ``_target_Qs.params.{0..9}``; both are read.

The tensordict the official code pins (0.8.3) also stores ``<ensemble>.__batch_size``
(``torch.Size([num_q])``) and ``<ensemble>.__device`` (``None``) for each of the three
ensemble parameter sets, and its ``load()`` requires them, so ``export`` writes them;
tensordict >= 0.9 instead adds data-less meta placeholders ``<ensemble>.module.*``.
Reading ignores both.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Mapping

import attrs
import torch

from worldflux.errors import WorldFluxError
from worldflux_tdmpc2.config import IMAGE_SIZE, TDMPC2Config

# --- the official task sets (tdmpc2/common/__init__.py TASK_SET), with each task's spec ---------------------
# (observation size, action size, episode length). DMControl episodes are 500 steps in the official wrappers
# (1000 simulator steps, action repeat 2), Meta-World 100. Sizes checked against dm_control 1.0.50 with the
# official custom tasks; every Meta-World v2 task observes 39 numbers and acts with 4.
_DMC = {
    "walker-stand": (24, 6), "walker-walk": (24, 6), "walker-run": (24, 6), "cheetah-run": (17, 6),
    "reacher-easy": (6, 2), "reacher-hard": (6, 2), "acrobot-swingup": (6, 1), "pendulum-swingup": (3, 1),
    "cartpole-balance": (5, 1), "cartpole-balance-sparse": (5, 1), "cartpole-swingup": (5, 1),
    "cartpole-swingup-sparse": (5, 1), "cup-catch": (8, 2), "finger-spin": (9, 2), "finger-turn-easy": (12, 2),
    "finger-turn-hard": (12, 2), "fish-swim": (24, 5), "hopper-stand": (15, 4), "hopper-hop": (15, 4),
    # the official custom DMControl tasks
    "walker-walk-backwards": (24, 6), "walker-run-backwards": (24, 6), "cheetah-run-backwards": (17, 6),
    "cheetah-run-front": (17, 6), "cheetah-run-back": (17, 6), "cheetah-jump": (17, 6),
    "hopper-hop-backwards": (15, 4), "reacher-three-easy": (8, 3), "reacher-three-hard": (8, 3),
    "cup-spin": (8, 2), "pendulum-spin": (3, 1),
}
_METAWORLD = [
    "assembly", "basketball", "button-press-topdown", "button-press-topdown-wall", "button-press",
    "button-press-wall", "coffee-button", "coffee-pull", "coffee-push", "dial-turn", "disassemble", "door-open",
    "door-close", "drawer-close", "drawer-open", "faucet-open", "faucet-close", "hammer", "handle-press-side",
    "handle-press", "handle-pull-side", "handle-pull", "lever-pull", "peg-insert-side", "peg-unplug-side",
    "pick-out-of-hole", "pick-place", "pick-place-wall", "plate-slide", "plate-slide-side", "plate-slide-back",
    "plate-slide-back-side", "push-back", "push", "push-wall", "reach", "reach-wall", "shelf-place", "soccer",
    "stick-push", "stick-pull", "sweep-into", "sweep", "window-open", "window-close", "bin-picking", "box-close",
    "door-lock", "door-unlock", "hand-insert",
]
TASKS: dict[str, tuple[int, int, int]] = {
    **{name: (obs, act, 500) for name, (obs, act) in _DMC.items()},
    **{f"mw-{name}": (39, 4, 100) for name in _METAWORLD},
}
TASK_SETS: dict[str, tuple[str, ...]] = {"mt30": tuple(_DMC), "mt80": (*_DMC, *(f"mw-{n}" for n in _METAWORLD))}
DMC_DOMAINS = ("acrobot", "ball_in_cup", "cartpole", "cheetah", "cup", "dog", "finger", "fish", "hopper",
               "humanoid", "manipulator", "pendulum", "point_mass", "pointmass", "quadruped", "reacher",
               "swimmer", "walker")

_MODULES = {"encoder": "_encoder.state.", "dynamics": "_dynamics.", "reward": "_reward.",
            "termination": "_termination.", "pi": "_pi."}
RGB_ENCODER = "_encoder.rgb."  # the conv encoder of pixel models; its layer indices are the native ones
RGB_FRAME = 3  # the official pixel observation stacks RGB frames of 3 channels


def _modules(pixels: bool) -> dict[str, str]:
    """Native module -> official key prefix, for a state or a pixel model."""
    return {**_MODULES, "encoder": RGB_ENCODER} if pixels else _MODULES
_Q_NAMES = ("weight", "bias", "ln.weight", "ln.bias")  # the old numbered layout's order within a layer
_Q_COPIES = {"_Qs.params": "qs", "_detach_Qs_params": "qs", "_target_Qs_params": "target_qs"}


class OfficialCheckpointError(WorldFluxError):
    """An official TD-MPC2 checkpoint cannot be read safely, or its tensors do not fit the model they describe."""


def task_set_fields(task_set: str, model_size: int | None = None) -> dict[str, Any]:
    """Native config fields of an official multi-task setup (``"mt30"``/``"mt80"``), as the official parser sets them.

    Observations pad to the largest task's, actions likewise; ``task_dim`` is 96
    for mt80 and for mt30 at sizes 1 and 317, else 64; mt30 at size 19 has latent 512.
    """
    if task_set not in TASK_SETS:
        raise OfficialCheckpointError(f"Unknown task set {task_set!r}; the official ones are {sorted(TASK_SETS)}.")
    tasks = TASK_SETS[task_set]
    specs = [TASKS[t] for t in tasks]
    fields: dict[str, Any] = {
        "obs_shape": (max(s[0] for s in specs),), "action_dim": max(s[1] for s in specs), "tasks": tasks,
        "action_dims": tuple(s[1] for s in specs), "episode_lengths": tuple(s[2] for s in specs),
        "task_dim": 96 if task_set == "mt80" or (model_size or 5) in (1, 317) else 64,
    }
    if task_set == "mt30" and model_size == 19:
        fields["latent_dim"] = 512
    return fields


def task_episode_length(task: str) -> int:
    """The official episode length of a single task: the table, else 100 for Meta-World and 500 for DMControl."""
    if task in TASKS:
        return TASKS[task][2]
    if task.startswith("mw-"):
        return 100
    if task.split("-")[0] in DMC_DOMAINS:
        return 500
    raise OfficialCheckpointError(f"No known episode length for task {task!r}; pass episode_length=N instead "
                                  f"(the discount follows from it).")


# --- reading ------------------------------------------------------------------------------------------------


def read_checkpoint(source: Path) -> dict[str, torch.Tensor]:
    """The official state dict in ``source``, loaded with ``weights_only=True`` and brought to the current layout."""
    try:
        raw = torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise OfficialCheckpointError(
            f"Refused to load {source}: it is not a weights-only checkpoint (loading it would run code it "
            f"names: {str(exc).splitlines()[0][:200]}). Official TD-MPC2 checkpoints hold tensors only; re-save "
            f"the state dict with torch.save({{'model': state_dict}}) from a trusted environment.") from exc
    except (OSError, RuntimeError, EOFError) as exc:
        raise OfficialCheckpointError(f"Cannot read {source} as a torch checkpoint: {exc}") from exc
    state = raw.get("model", raw) if isinstance(raw, dict) else raw
    if not isinstance(state, dict):
        raise OfficialCheckpointError(f"{source} holds a {type(state).__name__}, not a state dict "
                                      f"(official checkpoints are {{'model': state_dict}}).")
    return normalise(state)


def normalise(state: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The current official layout: numbered ensemble keys renamed, tensordict metadata and placeholders dropped.

    Dropped: ``<ensemble>.__batch_size`` / ``.__device`` entries (older tensordict) and data-less meta
    tensors under ``_Qs.module.*``, ``_detach_Qs.module.*``, ``_target_Qs.module.*`` (tensordict >= 0.9).
    """
    old = "_detach_Qs_params.0.weight" not in state and any(
        k.startswith("_Qs.params.") and k[len("_Qs.params."):].isdigit() for k in state)
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        top = key.split(".")[0]
        if top in ("_Qs", "_detach_Qs", "_target_Qs", "_detach_Qs_params", "_target_Qs_params"):
            if key.endswith((".__batch_size", ".__device")):
                continue
            if ".module." in key and isinstance(value, torch.Tensor) and value.is_meta:
                continue
        if not isinstance(value, torch.Tensor):
            raise OfficialCheckpointError(f"Entry {key!r} is a {type(value).__name__}, not a tensor.")
        if old and top in ("_Qs", "_target_Qs") and key.split(".")[-1].isdigit():
            num = int(key.split(".")[-1])
            name = f"{num // 4}.{_Q_NAMES[num % 4]}"
            if top == "_Qs":
                out[f"_Qs.params.{name}"] = out[f"_detach_Qs_params.{name}"] = value
            else:
                out[f"_target_Qs_params.{name}"] = value
            continue
        out[key] = value
    return out


def _shape(state: Mapping[str, torch.Tensor], key: str) -> tuple[int, ...]:
    if key not in state:
        raise OfficialCheckpointError(f"The checkpoint has no {key!r}, so its architecture cannot be read; it is "
                                      f"not an official TD-MPC2 checkpoint.")
    return tuple(state[key].shape)


def infer_fields(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Native config fields that the tensor shapes (and buffers) determine."""
    if f"{RGB_ENCODER}2.weight" in state:
        return {**_common_fields(state), **_pixel_fields(state)}
    n_enc = 0
    while f"_encoder.state.{n_enc}.weight" in state:
        n_enc += 1
    if n_enc < 2:
        _shape(state, f"_encoder.state.{max(n_enc, 1)}.weight")  # raises, naming the missing tensor
    enc_dim, enc_in = _shape(state, "_encoder.state.0.weight")
    fields = _common_fields(state)
    task_dim = fields.get("task_dim", 0)
    return {**fields, "obs_shape": (enc_in - task_dim,), "enc_dim": enc_dim, "num_enc_layers": n_enc}


def _pixel_fields(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """The conv encoder's fields: image channels (stacked frames) and conv width; images are 64x64."""
    channels, in_channels, _, _ = _shape(state, f"{RGB_ENCODER}2.weight")
    fields: dict[str, Any] = {"obs_shape": (in_channels, IMAGE_SIZE, IMAGE_SIZE), "num_channels": channels}
    if in_channels % RGB_FRAME == 0:
        fields["frame_stack"] = in_channels // RGB_FRAME
    return fields


def _common_fields(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """The fields of everything after the encoder: latent and hidden sizes, Q ensemble, policy, task embedding."""
    hidden, _ = _shape(state, "_dynamics.0.weight")
    latent, _ = _shape(state, "_dynamics.2.weight")
    bins, _ = _shape(state, "_reward.2.weight")
    pi_out, _ = _shape(state, "_pi.2.weight")
    num_q = _shape(state, "_Qs.params.0.weight")[0]
    fields: dict[str, Any] = {
        "action_dim": pi_out // 2, "latent_dim": latent, "hidden_dim": hidden, "num_q_networks": num_q,
        "num_bins": bins, "episodic": "_termination.0.weight" in state,
    }
    if "_task_emb.weight" in state:
        fields["task_dim"] = _shape(state, "_task_emb.weight")[1]
    if "log_std_min" in state and "log_std_dif" in state and not state["log_std_min"].is_meta:
        low = float(state["log_std_min"])
        fields.update(log_std_min=low, log_std_max=low + float(state["log_std_dif"]))
    return fields


def _parse(name: str, value: Any) -> Any:
    """An option for config field ``name``: strings (from the CLI) parsed by the field's type."""
    if not isinstance(value, str):
        return tuple(value) if isinstance(value, list) else value
    kind = str(attrs.fields_dict(TDMPC2Config)[name].type).removesuffix(" | None")
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
        if kind == "tuple[int, ...]":
            return tuple(int(v) for v in value.split(",") if v.strip())
        if kind == "tuple[str, ...]":
            return tuple(v.strip() for v in value.split(",") if v.strip())
    except ValueError as exc:
        raise OfficialCheckpointError(f"Option {name}={value!r} is not a valid {kind}.") from exc
    return value


def config_fields(state: Mapping[str, torch.Tensor], **options: Any) -> dict[str, Any]:
    """The full native config of an official state dict: inferred from shapes, the task table and ``options``.

    ``options`` are config fields (strings are parsed) plus ``task`` (a task name that sets the
    episode length) and ``task_set`` (``mt30``/``mt80`` for a multi-task checkpoint of another size).
    Options that contradict the tensors are errors.
    """
    valid = {f.name for f in attrs.fields(TDMPC2Config)}
    unknown = sorted(set(options) - valid - {"task", "task_set"})
    if unknown:
        raise OfficialCheckpointError(f"Unknown option(s) {unknown}: options are TDMPC2Config fields "
                                      f"(e.g. episode_length=500) or task=NAME / task_set=mt30|mt80.")
    opts = {k: _parse(k, v) for k, v in options.items() if k in valid}
    fields = infer_fields(state)
    if "_task_emb.weight" in state:
        n = state["_task_emb.weight"].shape[0]
        task_set = options.get("task_set") or {30: "mt30", 80: "mt80"}.get(n)
        if "tasks" in opts:
            tasks = tuple(opts["tasks"])
            specs = {"tasks": tasks}
            if all(t in TASKS for t in tasks):
                specs.update(action_dims=tuple(TASKS[t][1] for t in tasks),
                             episode_lengths=tuple(TASKS[t][2] for t in tasks))
        elif task_set is None:
            raise OfficialCheckpointError(
                f"A multi-task checkpoint with {n} tasks is neither mt30 nor mt80; pass tasks=a,b,... (in "
                f"task-index order) and, for tasks outside those sets, action_dims=... and episode_lengths=....")
        else:
            specs = {k: v for k, v in task_set_fields(str(task_set)).items()
                     if k in ("tasks", "action_dims", "episode_lengths")}
            if len(specs["tasks"]) != n:
                raise OfficialCheckpointError(f"The checkpoint embeds {n} tasks; {task_set} has "
                                              f"{len(specs['tasks'])}.")
        masks = state.get("_action_masks")
        if masks is not None and not masks.is_meta:  # the checkpoint's own per-task action sizes
            dims = tuple(int(v) for v in masks.sum(-1).tolist())
            table = specs.get("action_dims")
            if "tasks" not in opts and table is not None and dims != table:
                odd = [f"{t} ({d}, table {e})" for t, d, e in zip(specs["tasks"], dims, table) if d != e]
                raise OfficialCheckpointError(f"The checkpoint's action masks disagree with the official {task_set} "
                                              f"tasks: {', '.join(odd[:5])}. Pass tasks=... in its task order.")
            specs["action_dims"] = dims
        fields.update(specs)
    elif "episode_length" not in opts:
        if "task" not in options:
            raise OfficialCheckpointError(
                "A single-task checkpoint does not record its episode length, which sets the discount. Pass "
                "episode_length=N or task=NAME (DMControl tasks: 500, Meta-World: 100).")
        fields["episode_length"] = task_episode_length(str(options["task"]))
    for key, value in opts.items():
        if key in fields and _differs(key, fields[key], value):
            raise OfficialCheckpointError(f"Option {key}={value!r} contradicts the checkpoint, whose tensors give "
                                          f"{key}={fields[key]!r}.")
        fields[key] = value
    return fields


def _differs(key: str, inferred: Any, given: Any) -> bool:
    if key == "num_enc_layers":  # 1 and 2 build the same encoder (max(n - 1, 1) hidden layers)
        return max(inferred - 1, 1) != max(int(given) - 1, 1)
    if isinstance(inferred, tuple):
        return tuple(inferred) != tuple(given)
    return inferred != given


# --- the two layouts --------------------------------------------------------------------------------------


def to_official(native: Mapping[str, torch.Tensor], config: TDMPC2Config) -> dict[str, torch.Tensor]:
    """The official state dict (current layout, official key order) of a native TDMPC2 state dict."""
    out: dict[str, torch.Tensor] = {}
    if config.multitask:
        masks = torch.zeros(len(config.tasks), config.action_dim)
        for i, dim in enumerate(config.task_action_dims):
            masks[i, :dim] = 1.0
        out["_action_masks"] = masks
    out["log_std_min"] = _scalar(config.log_std_min)
    out["log_std_dif"] = _scalar(config.log_std_max) - out["log_std_min"]
    if config.multitask:
        out["_task_emb.weight"] = native["task_emb.weight"]
    for module, prefix in _modules(config.pixels).items():
        out.update({prefix + k[len(module) + 1:]: v for k, v in native.items() if k.startswith(module + ".")})
    for prefix, source in _Q_COPIES.items():
        for layer in range(3):
            tensors = {"weight": native[f"{source}.weights.{layer}"].transpose(1, 2),
                       "bias": native[f"{source}.biases.{layer}"].squeeze(1)}
            if layer < 2:
                tensors["ln.weight"] = native[f"{source}.ln_weights.{layer}"].squeeze(1)
                tensors["ln.bias"] = native[f"{source}.ln_biases.{layer}"].squeeze(1)
            for name, tensor in tensors.items():
                shared = out.get(f"_Qs.params.{layer}.{name}") if prefix == "_detach_Qs_params" else None
                out[f"{prefix}.{layer}.{name}"] = shared if shared is not None else tensor.contiguous()
    return out


def _scalar(value: float) -> torch.Tensor:
    """A 0-d buffer as the official code makes it from its YAML config (ints stay ints)."""
    return torch.tensor(int(value) if float(value).is_integer() else value)


def to_native(official: Mapping[str, torch.Tensor], model: Any) -> dict[str, torch.Tensor]:
    """The native state dict for ``model`` from an official one, after checking every key, shape and copy.

    Raises :class:`OfficialCheckpointError` naming every missing, unexpected or mis-shaped tensor.
    """
    native_state = model.state_dict()
    expected = to_official(native_state, model.config)
    optional = {"log_std_min", "log_std_dif", "_action_masks"}  # absent from checkpoints of the old layout
    missing = [k for k in expected if k not in official and k not in optional]
    unexpected = [k for k in official if k not in expected]
    shapes = [f"{k} {tuple(official[k].shape)} (expected {tuple(expected[k].shape)})"
              for k in expected if k in official and official[k].shape != expected[k].shape]
    if missing or unexpected or shapes:
        parts = [f"missing: {', '.join(missing)}" if missing else "",
                 f"unexpected: {', '.join(unexpected)}" if unexpected else "",
                 f"wrong shape: {'; '.join(shapes)}" if shapes else ""]
        raise OfficialCheckpointError(
            "The checkpoint does not fit the TD-MPC2 architecture its shapes describe ("
            + "; ".join(p for p in parts if p) + "). Is it an official nicklashansen/tdmpc2 checkpoint, "
            "complete and unmodified?")
    real = {k: v for k, v in official.items() if not v.is_meta}
    mismatched = [k for k in optional & set(real) if not torch.equal(real[k].double(), expected[k].double())]
    mismatched += [k for k in real if k.startswith("_detach_Qs_params.")
                   and not torch.equal(real[k], real.get("_Qs.params." + k[len("_detach_Qs_params."):], real[k]))]
    if mismatched:
        raise OfficialCheckpointError(f"Tensors {sorted(mismatched)} disagree with the rest of the checkpoint "
                                      f"(or with the options given); the file is inconsistent.")
    out: dict[str, torch.Tensor] = {}
    for module, prefix in _modules(model.config.pixels).items():
        out.update({f"{module}.{k[len(prefix):]}": v for k, v in official.items() if k.startswith(prefix)})
    if model.config.multitask:
        out["task_emb.weight"] = official["_task_emb.weight"]
    for prefix, target in (("_Qs.params", "qs"), ("_target_Qs_params", "target_qs")):
        for layer in range(3):
            out[f"{target}.weights.{layer}"] = official[f"{prefix}.{layer}.weight"].transpose(1, 2)
            out[f"{target}.biases.{layer}"] = official[f"{prefix}.{layer}.bias"].unsqueeze(1)
            if layer < 2:
                out[f"{target}.ln_weights.{layer}"] = official[f"{prefix}.{layer}.ln.weight"].unsqueeze(1)
                out[f"{target}.ln_biases.{layer}"] = official[f"{prefix}.{layer}.ln.bias"].unsqueeze(1)
    for key, value in native_state.items():  # the running Q scale is the agent's, not in the checkpoint
        out.setdefault(key, value)
    return {k: v.to(native_state[k].dtype).contiguous() for k, v in out.items()}


# --- the registered tools ---------------------------------------------------------------------------------


def _preset(fields: Mapping[str, Any]) -> str | None:
    """The official size preset with this architecture, if any."""
    from worldflux_tdmpc2.plugin import OFFICIAL

    for size, spec in OFFICIAL.items():
        if all(fields.get(k) == v for k, v in {"num_q_networks": 5, **spec}.items()):
            return f"tdmpc2:{size}m"
    return None


def build_native(state: Mapping[str, torch.Tensor], device: str = "cpu", **options: Any) -> Any:
    """The native model an official state dict describes, with its weights (on ``device``; ``"meta"`` checks only)."""
    from worldflux import create_world_model

    fields = config_fields(state, **options)
    preset = _preset(fields)
    model = create_world_model(preset or "tdmpc2:5m", device=device, **fields)
    weights = to_native(state, model)
    if device != "meta":
        model.load_state_dict(weights, strict=True)
    model.preset_name = preset
    return model


def convert(source: Path, out: Path, **options: str) -> Path:
    """Convert the official checkpoint ``source`` into a saved model at ``out`` (``create_world_model(out)`` loads it).

    Options: ``episode_length=N`` or ``task=NAME`` for a single-task checkpoint (the discount
    follows from it), and any other TDMPC2Config field (e.g. ``num_samples=512``).
    """
    model = build_native(read_checkpoint(Path(source)), **options)
    model.save_pretrained(out)
    return Path(out)


def with_tensordict_metadata(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """``state`` with the entries tensordict 0.8.3 (the official pin) stores after each ensemble parameter set."""
    out: dict[str, Any] = {}
    last = {f"{prefix}.2.bias": prefix for prefix in _Q_COPIES}  # the last tensor of each set
    for key, value in state.items():
        out[key] = value
        if key in last:
            out[f"{last[key]}.__batch_size"] = torch.Size([value.shape[0]])
            out[f"{last[key]}.__device"] = None
    return out


def export(model_dir: Path, out: Path, **options: str) -> Path:
    """Write the saved TD-MPC2 model ``model_dir`` as an official checkpoint ``out`` for ``TDMPC2.load()``."""
    from worldflux import create_world_model

    if options:
        raise OfficialCheckpointError(f"export takes no options; got {sorted(options)}.")
    model = create_world_model(model_dir)
    if getattr(model, "family", None) != "tdmpc2":
        raise OfficialCheckpointError(f"{model_dir} holds a {getattr(model, 'family', '?')} model, not TD-MPC2.")
    state = to_official({k: v.detach().cpu() for k, v in model.state_dict().items()}, model.config)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": with_tensordict_metadata(state)}, out)
    return out
