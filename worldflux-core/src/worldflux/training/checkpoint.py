"""Checkpoints: a tree of tensors and JSON values, written atomically, loaded without unpickling.

Tensors go to ``tensors-<hash>.safetensors``; the tree's shape and every
non-tensor value go to ``state.json``, which is replaced atomically last and is
the commit point (as in :mod:`worldflux.saving`). A kill at any moment leaves
the previous checkpoint whole. Older tensor files are removed after the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from worldflux.atomic import write_json_atomic
from worldflux.errors import WorldFluxError
from worldflux.paths import file_in

STATE_FILE = "state.json"
FORMAT = "worldflux-checkpoint"
FORMAT_VERSION = 1


def _flatten(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        key = str(len(tensors))
        tensors[key] = value.detach().to("cpu", copy=True).contiguous()
        return {"__tensor__": key}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _flatten(v, tensors) for k, v in value.items()}
        return {"__items__": [[k, _flatten(v, tensors)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_flatten(v, tensors) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"checkpoints hold tensors and JSON values; got {type(value).__name__}")


def _unflatten(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, dict):
        if "__tensor__" in value:
            if value["__tensor__"] not in tensors:
                raise ValueError(f"it refers to tensor {value['__tensor__']!r}, which the tensor file does not hold")
            return tensors[value["__tensor__"]]
        if "__items__" in value:
            return {k: _unflatten(v, tensors) for k, v in value["__items__"]}
        return {k: _unflatten(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_unflatten(v, tensors) for v in value]
    return value


def save_checkpoint(directory: Path, tree: dict[str, Any]) -> None:
    """Write ``tree`` (nested dicts/lists of tensors and JSON values) as the checkpoint in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _flatten(tree, tensors)
    tmp = directory / f".tensors-{uuid.uuid4().hex}.tmp"
    try:
        safetensors.torch.save_file(tensors, str(tmp))
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        name = f"tensors-{digest[:16]}.safetensors"
        os.replace(tmp, directory / name)
    finally:
        tmp.unlink(missing_ok=True)
    write_json_atomic(directory / STATE_FILE, {
        "format": FORMAT, "format_version": FORMAT_VERSION, "tensors": name, "sha256": digest,
        "size": (directory / name).stat().st_size, "tree": skeleton,
    })
    for old in directory.glob("tensors-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)


def has_checkpoint(directory: Path) -> bool:
    """Whether ``directory`` holds a committed checkpoint."""
    return (directory / STATE_FILE).is_file()


def checkpoint_step(directory: Path) -> int | None:
    """The env step a committed checkpoint was taken at (read from ``state.json`` alone), else None."""
    try:
        step = json.loads((directory / STATE_FILE).read_text())["tree"]["counters"]["steps"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None
    return step if type(step) is int else None


def load_checkpoint(directory: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The tree saved in ``directory``, tensors on ``device``; checks format, size and hash."""
    state = directory / STATE_FILE
    try:
        meta = json.loads(state.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorldFluxError(f"no readable checkpoint in {directory}: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        got = meta if not isinstance(meta, dict) else f"format {meta.get('format')!r} v{meta.get('format_version')!r}"
        raise WorldFluxError(f"{state} is not a worldflux checkpoint ({got})")
    path = file_in(directory, meta.get("tensors"))
    if path is None:
        raise WorldFluxError(f"{state} names tensor file {meta.get('tensors')!r}, which is not a file inside "
                             f"{directory}; the checkpoint was altered. Resume from another copy, or start again.")
    if not path.is_file() or path.stat().st_size != meta.get("size"):
        raise WorldFluxError(f"checkpoint tensors {path} are missing or truncated")
    with path.open("rb") as f:
        if hashlib.file_digest(f, "sha256").hexdigest() != meta.get("sha256"):
            raise WorldFluxError(f"checkpoint tensors {path} do not match their recorded sha256")
    try:
        return _unflatten(meta.get("tree"), safetensors.torch.load_file(str(path), device=str(device)))
    except (ValueError, TypeError, AttributeError, safetensors.SafetensorError) as exc:
        raise WorldFluxError(f"{state} does not describe the tensors in {path}: {exc}. The checkpoint was "
                             f"altered; resume from another copy, or start again.") from exc
