"""Saved models: a directory with ``config.json`` and weights in safetensors.

``config.json`` is the commit point. Weights go first to a file named after
their hash; only then is ``config.json`` atomically replaced to point at them,
so a crash at any moment leaves the previous save loadable and never a mix.
Loading checks size and hash, and builds the model from the installed
plugin's registered code: nothing is unpickled and no code path comes from the file.
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
from worldflux.building import build_config, build_model, preset_for_family
from worldflux.paths import file_in
from worldflux.errors import SavedModelError
from worldflux.log import get_logger
from worldflux.version import __version__

CONFIG_FILE = "config.json"
FORMAT = "worldflux-model"
FORMAT_VERSION = 1
log = get_logger(__name__)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(model: Any, path: str | Path) -> Path:
    """Save ``model`` (a :class:`~worldflux.model.WorldModelBase`) into directory ``path``."""
    from worldflux.config import config_to_dict

    path = Path(path).expanduser()
    tmp = path / f".weights.{uuid.uuid4().hex}.tmp"
    try:
        path.mkdir(parents=True, exist_ok=True)
        safetensors.torch.save_model(model, str(tmp), metadata={"format": FORMAT})
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        sha = _sha256(tmp)
        weights = path / f"weights-{sha[:16]}.safetensors"
        os.replace(tmp, weights)
        write_json_atomic(
            path / CONFIG_FILE,
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "worldflux_version": __version__,
                "family": model.family,
                "preset": model.preset_name,
                "obs_shape": list(model.config.obs_shape),
                "action_dim": model.config.action_dim,
                "config": config_to_dict(model.config),
                "weights": {"file": weights.name, "sha256": sha, "bytes": weights.stat().st_size},
            },
        )
    except (OSError, safetensors.SafetensorError) as exc:
        raise SavedModelError(
            f"Could not save the model to {path}: {getattr(exc, 'strerror', None) or exc}. "
            f"Choose a directory you can write to, with free space."
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    for stale in path.glob("weights-*.safetensors"):
        if stale != weights:
            stale.unlink(missing_ok=True)
    return path


def is_saved_model(path: str | Path) -> bool:
    """Whether ``path`` is a directory holding a ``config.json``."""
    return (Path(path).expanduser() / CONFIG_FILE).is_file()


def read_saved_config(path: str | Path) -> dict[str, Any]:
    """The parsed ``config.json`` of a saved model, checked for format and version."""
    path = Path(path).expanduser()
    config_path = path / CONFIG_FILE
    if not config_path.is_file():
        raise SavedModelError(
            f"No saved model at {path}: {CONFIG_FILE} is missing. Saved models are "
            f"directories written by model.save_pretrained(path)."
        )
    try:
        data = json.loads(config_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SavedModelError(f"{config_path} is not valid JSON ({exc}); the save is corrupt. Save the model again.") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SavedModelError(
            f"{config_path} is not a worldflux model config (no \"format\": \"{FORMAT}\"). "
            f"Saved models are directories written by model.save_pretrained(path)."
        )
    version = data.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise SavedModelError(f"{config_path} has format_version {version!r}, not a number; the save is corrupt. "
                              f"Save the model again.")
    if version > FORMAT_VERSION:
        raise SavedModelError(
            f"{path} was saved by worldflux {data.get('worldflux_version')} in format "
            f"{data['format_version']}; this worldflux reads up to {FORMAT_VERSION}. Upgrade worldflux."
        )
    for key, kind in (("family", str), ("config", dict), ("weights", dict)):
        if not isinstance(data.get(key), kind):
            raise SavedModelError(f"{config_path}: {key!r} is missing or not a {kind.__name__}; the save is corrupt. "
                                  f"Save the model again.")
    weights = data["weights"]
    if not (isinstance(weights.get("sha256"), str) and isinstance(weights.get("bytes"), int)):
        raise SavedModelError(f"{config_path}: 'weights' lacks its sha256 or byte count; the save is corrupt. "
                              f"Save the model again.")
    return data


def _checked_weights(path: Path, info: dict[str, Any]) -> Path:
    weights = file_in(path, info.get("file"))
    if weights is None:
        raise SavedModelError(f"{path / CONFIG_FILE} names weights file {info.get('file')!r}, which is not a file "
                              f"inside {path}; the config was altered. Save the model again.")
    if not weights.is_file():
        raise SavedModelError(f"{path} names weights file {weights.name!r}, which is missing. Save the model again.")
    size = weights.stat().st_size
    if size != info.get("bytes"):
        raise SavedModelError(
            f"{weights} is truncated or altered: {size} bytes, expected {info.get('bytes')}. "
            f"Copy the whole directory again, or save the model again."
        )
    if _sha256(weights) != info.get("sha256"):
        raise SavedModelError(f"{weights} does not match its recorded sha256; the file is corrupt.")
    return weights


def _check_shapes(weights: Path, skeleton: Any, family: str) -> None:
    """The tensors in ``weights`` (read from the safetensors header) fit ``skeleton``, a model on the meta device."""
    expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    try:
        with safetensors.safe_open(str(weights), "pt") as f:
            stored = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as exc:  # noqa: BLE001 - a header that does not parse is a corrupt file, whatever the error
        raise SavedModelError(f"{weights} is not a readable safetensors file ({exc}); save the model again.") from exc
    wrong = [f"{k}: stored {stored[k]}, config gives {expected.get(k)}" for k in stored if stored[k] != expected.get(k)]
    if wrong:
        raise SavedModelError(f"The weights in {weights} do not fit the {family} model its config.json describes ("
                              + "; ".join(wrong[:3]) + (f"; {len(wrong) - 3} more" if len(wrong) > 3 else "")
                              + "). The config or the weights were altered; save the model again.")


def load_model(path: str | Path, device: torch.device) -> Any:
    """Rebuild the model saved at ``path`` with its exact weights, on ``device``."""
    path = Path(path).expanduser()
    data = read_saved_config(path)
    preset = preset_for_family(data["family"], data.get("preset"))
    config = build_config(preset, data["config"], base={})
    weights = _checked_weights(path, data["weights"])
    _check_shapes(weights, build_model(preset, config, torch.device("meta")), preset.family)  # before allocating
    model = build_model(preset, config, torch.device("cpu"))
    try:
        safetensors.torch.load_model(model, str(weights), strict=True)
    except Exception as exc:
        raise SavedModelError(
            f"The weights in {weights} do not fit the {preset.family} model built from its config: {exc}"
        ) from exc
    model.preset_name = data.get("preset")
    return model.to(device)
