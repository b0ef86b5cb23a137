"""Replay a parity fixture of the official TD-MPC2 with the native model (see ``parity_probe.py``).

The native model starts from the official initial weights (through the
converter), takes the same batches and, where the official code drew random
numbers, the same numbers: :class:`Replay` hands out the recorded draws in
order and restores the recorded generator state before each Q-ensemble
dropout. MPPI's elite choice (``topk``) is replayed too: the native candidate
values are compared with the official ones, then the official elites are
taken, because values equal up to float32 rounding can rank differently (a
barely trained model scores candidates within 1e-6 of each other). Each
compared quantity becomes a :class:`~worldflux.parity.ParityRow`.
"""

from __future__ import annotations

import collections
import contextlib
import json
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch

from worldflux.errors import WorldFluxError
from worldflux.parity.table import ParityRow, compare_arrays
from worldflux.types import Batch
from worldflux_tdmpc2.agent import TDMPC2Agent
from worldflux_tdmpc2.official import to_official
from worldflux_tdmpc2.planner import Planner

RTOL = 1e-5
# Tolerances looser than RTOL, each with its reason (error = max abs difference / max official magnitude):
PARAM_RTOL = 1e-3  # weights after n Adam steps, against max(largest weight, n * lr) (zero-initialised tensors
# move by at most about n * lr): Adam divides each step by the gradient's RMS, so where a gradient is ~0 its
# float32 rounding (the Q ensemble runs as batched matmuls natively, as vmapped per-member linears officially)
# changes that element's step by a fraction of lr. Measured: at most 0.015 lr in 2 of 295k elements (mt80 1M,
# batch 256), errors <= 4e-4; a policy Adam eps of 1e-8, an encoder lr scale of 1 or lr +10% give 0.1 to 0.9.
ENTROPY_RTOL = 1e-4  # the tanh-squash term log(1 - a^2 + 1e-6) has a slope up to 2e6 where actions saturate, so
# the float32-level parameter differences above move the mean entropy by up to ~1e-5 relative.
VALUE_FLOOR = 0.1  # decoded values (Q avg, planning values) are softmax-weighted sums of bins up to +-10 in
# float32, so their rounding error is absolute, about one ulp of 10 (9.5e-7), whatever the value: near-zero
# values are measured against 0.1, i.e. an absolute tolerance of 1e-6.
METRICS = {  # official name -> native name
    "consistency_loss": "consistency", "reward_loss": "reward", "value_loss": "value",
    "termination_loss": "termination", "total_loss": "total_loss", "grad_norm": "grad_norm",
    "pi_loss": "pi_loss", "pi_entropy": "pi_entropy", "pi_scale": "pi_scale",
}


class ReplayError(WorldFluxError):
    """The native code asked for random numbers the official code did not draw (a structural divergence)."""


class Replay:
    """Hands the official draws of one phase to the native code, per kind, in call order."""

    def __init__(self, kinds: list[str], values: list[np.ndarray], phase: str) -> None:
        self.phase = phase
        self.queues: dict[str, collections.deque[np.ndarray]] = collections.defaultdict(collections.deque)
        for kind, value in zip(kinds, values):
            self.queues[kind].append(value)
        self.choices: list[tuple[np.ndarray, torch.Tensor]] = []  # (official, native) values ranked by topk

    def take(self, kind: str, numel: int | None = None) -> np.ndarray:
        if not self.queues[kind]:
            raise ReplayError(f"{self.phase}: the native code drew more {kind} numbers than the official code.")
        value = self.queues[kind].popleft()
        if numel is not None and value.size != numel:
            raise ReplayError(f"{self.phase}: the native code drew {numel} {kind} numbers where the official "
                              f"code drew {value.size}.")
        return value

    def leftover(self) -> dict[str, int]:
        return {k: len(q) for k, q in self.queues.items() if q}

    @contextlib.contextmanager
    def active(self) -> Iterator[Replay]:
        originals = (torch.randn, torch.randn_like, torch.randperm, torch.Tensor.exponential_,
                     torch.nn.functional.dropout, torch.Tensor.topk)
        dropout = originals[4]

        def normal(shape: tuple[int, ...], dtype: Any, device: Any) -> torch.Tensor:
            value = self.take("normal", int(np.prod(shape)))
            return torch.as_tensor(value.reshape(shape), dtype=dtype, device=device)

        def randn(*size: Any, dtype: Any = None, device: Any = None, **_: Any) -> torch.Tensor:
            shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else tuple(size)
            return normal(shape, dtype or torch.get_default_dtype(), device)

        def randn_like(t: torch.Tensor, dtype: Any = None, device: Any = None, **_: Any) -> torch.Tensor:
            return normal(tuple(t.shape), dtype or t.dtype, device or t.device)

        def randperm(n: int, dtype: Any = torch.long, device: Any = None, **_: Any) -> torch.Tensor:
            return torch.as_tensor(self.take("randperm", n), dtype=dtype, device=device)

        def exponential_(t: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
            return t.copy_(torch.as_tensor(self.take("exponential", t.numel()).reshape(t.shape)))

        def drop(input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> torch.Tensor:
            if training and p > 0:
                torch.set_rng_state(torch.as_tensor(self.take("dropout")))
            return dropout(input, p, training, inplace)

        def topk(values: torch.Tensor, k: int, dim: int = -1, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, ...]:
            official = self.take("topk_input", values.numel())
            index = torch.as_tensor(self.take("topk", k), device=values.device).reshape(
                *values.shape[:dim % values.dim()], k, *values.shape[dim % values.dim() + 1:])
            self.choices.append((official, values.detach().clone()))
            return values.gather(dim, index), index

        torch.randn, torch.randn_like, torch.randperm = randn, randn_like, randperm  # type: ignore[assignment]
        torch.Tensor.exponential_ = exponential_  # type: ignore[method-assign,assignment]
        torch.nn.functional.dropout = drop  # type: ignore[assignment]
        torch.Tensor.topk = topk  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            (torch.randn, torch.randn_like, torch.randperm, torch.Tensor.exponential_,  # type: ignore[misc]
             torch.nn.functional.dropout, torch.Tensor.topk) = originals


class Fixture:
    """A probe's output directory: ``fixture.json`` and ``arrays.npz`` (read with ``allow_pickle=False``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not (self.path / "fixture.json").is_file():
            raise WorldFluxError(f"{self.path} is not a TD-MPC2 parity fixture: fixture.json is missing.")
        self.meta: dict[str, Any] = json.loads((self.path / "fixture.json").read_text())
        with np.load(self.path / "arrays.npz", allow_pickle=False) as data:
            self.arrays: dict[str, np.ndarray] = {k: data[k] for k in data.files}
        self.config: dict[str, Any] = self.meta["request"]["config"]

    def group(self, prefix: str) -> dict[str, np.ndarray]:
        return {k[len(prefix):]: v for k, v in self.arrays.items() if k.startswith(prefix)}

    def replay(self, phase: str) -> Replay:
        kinds = self.meta["draws"].get(phase, [])
        return Replay(kinds, [self.arrays[f"draws/{phase}/{i}"] for i in range(len(kinds))], phase)

    def tensor(self, key: str) -> torch.Tensor:
        return torch.from_numpy(self.arrays[key])

    def task(self, key: str) -> torch.Tensor | None:
        return self.tensor(key).long() if key in self.arrays else None


def official_state(arrays: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """An official state dict from recorded arrays, with the ``_detach_Qs_params`` alias restored."""
    state = {k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}
    for key in [k for k in state if k.startswith("_Qs.params.")]:
        state["_detach_Qs_params." + key[len("_Qs.params."):]] = state[key]
    return state


def native_model(fx: Fixture, prefix: str, workdir: Path) -> Any:
    """The native model holding the fixture's ``prefix`` weights, made by converting them as an official ``.pt``."""
    from worldflux import create_world_model
    from worldflux_tdmpc2.official import convert

    source = workdir / f"{prefix.strip('/')}.pt"
    torch.save({"model": official_state(fx.group(prefix))}, source)
    return create_world_model(convert(source, workdir / prefix.strip("/"), **fx.config))


def _finish(replay: Replay, model: Any) -> None:
    """Every recorded draw must have been used (the randperm of two Qs is skipped natively: both are used)."""
    left = replay.leftover()
    if model.config.num_q_networks == 2:
        left.pop("randperm", None)
    if left:
        raise ReplayError(f"{replay.phase}: the native code left official draws unused: {left}.")


def update_rows(fx: Fixture, model: Any) -> list[ParityRow]:
    """Replay the recorded updates; compare losses, norms and, at the end, every tensor of the state dict."""
    rows: list[ParityRow] = []
    agent = TDMPC2Agent(model, 1)
    obs, action, reward, term = (fx.arrays[f"batch/{k}"] for k in ("obs", "action", "reward", "terminated"))
    tasks = fx.arrays.get("batch/task")
    for u in range(fx.meta["updates"]):
        horizon, b = action.shape[1:3]
        native_action = np.zeros((b, horizon + 1, action.shape[-1]), np.float32)
        native_action[:, :-1] = action[u].transpose(1, 0, 2)
        native_reward = np.zeros((b, horizon + 1), np.float32)
        native_reward[:, 1:] = reward[u, ..., 0].T
        native_term = np.zeros((b, horizon + 1), bool)
        native_term[:, 1:] = term[u, ..., 0].T > 0
        x = torch.from_numpy(obs[u].transpose(1, 0, 2).copy())
        batch = Batch(obs=x if tasks is None else {"obs": x, "task": torch.from_numpy(tasks[u]).long()},
                      action=torch.from_numpy(native_action), reward=torch.from_numpy(native_reward),
                      is_first=torch.zeros(b, horizon + 1, dtype=torch.bool), is_terminal=torch.from_numpy(native_term))
        replay = fx.replay(f"update{u}")
        with replay.active():
            metrics = agent.update(batch)
        _finish(replay, model)
        for official, native in METRICS.items():
            if native in metrics:
                rows.append(compare_arrays(f"update{u}/{official}", fx.meta["scalars"][f"update{u}/{official}"],
                                           metrics[native], ENTROPY_RTOL if native == "pi_entropy" else RTOL))
    native = to_official({k: v.detach() for k, v in model.state_dict().items()}, model.config)
    steps = fx.meta["updates"] * model.config.lr
    for key, value in fx.group("final/").items():
        rows.append(compare_arrays(f"after {fx.meta['updates']} updates/{key}", value, native[key], PARAM_RTOL,
                                   floor=steps))
    return rows


def q_rows(fx: Fixture, model: Any) -> list[ParityRow]:
    """Q logits of every member (eval, and train with the official dropout masks) and the two-member average."""
    z, a, task = fx.tensor("q/z"), fx.tensor("q/a"), fx.task("q/task")
    rows = []
    model.eval()
    with torch.no_grad():
        rows.append(compare_arrays("Q all members", fx.arrays["q/all"], model.q(z, a, "all", task=task), RTOL))
        replay = fx.replay("q_avg")
        with replay.active():
            avg = model.q(z, a, "avg", task=task)
        _finish(replay, model)
        rows.append(compare_arrays("Q avg of two", fx.arrays["q/avg"].reshape(avg.shape), avg, RTOL,
                                   floor=VALUE_FLOOR))
        model.train()
        replay = fx.replay("q_train")
        with replay.active():
            train = model.q(z, a, "all", task=task)
        _finish(replay, model)
        model.eval()
    rows.append(compare_arrays("Q all members, train (dropout)", fx.arrays["q/all_train"], train, RTOL))
    return rows


def plan_rows(fx: Fixture, model: Any) -> list[ParityRow]:
    """MPPI at an episode start (with exploration noise), then a warm-started step (without)."""
    planner = Planner(model, 1)
    task = fx.meta["plan"]["task"]
    rows = []
    for i, step in enumerate(fx.meta["plan"]["steps"]):
        x = fx.tensor("plan/obs")[i : i + 1]
        obs = x if task is None else {"obs": x, "task": torch.tensor([task])}
        replay = fx.replay(f"plan{i}")
        with replay.active():
            action = planner.act(obs, torch.tensor([step["t0"]]), explore=not step["eval_mode"])
        _finish(replay, model)
        official = np.stack([o.reshape(-1) for o, _ in replay.choices])
        native = torch.stack([n.reshape(-1) for _, n in replay.choices])
        rows += [compare_arrays(f"plan {i}/candidate values", official, native, RTOL, floor=VALUE_FLOOR),
                 compare_arrays(f"plan {i}/action", fx.arrays["plan/action"][i], action[0], RTOL),
                 compare_arrays(f"plan {i}/mean", fx.arrays["plan/mean"][i], planner.prev_mean[0], RTOL),
                 compare_arrays(f"plan {i}/std", fx.arrays["plan/std"][i], planner.last_std[0], RTOL)]
    return rows


def compare(fixture: Path) -> list[ParityRow]:
    """Every quantity of the fixture, official vs native.

    The updates run from the official initial weights; the Q values and plans
    use the official weights after the updates, so each is compared on equal inputs.
    """
    fx = Fixture(Path(fixture))
    rng_state = torch.get_rng_state()
    try:
        with tempfile.TemporaryDirectory(prefix="worldflux-tdmpc2-parity-") as tmp:
            rows: list[ParityRow] = []
            if fx.meta["updates"]:
                rows += update_rows(fx, native_model(fx, "init/", Path(tmp)))
            final = native_model(fx, "final/", Path(tmp))
            return rows + q_rows(fx, final) + plan_rows(fx, final)
    finally:
        torch.set_rng_state(rng_state)
