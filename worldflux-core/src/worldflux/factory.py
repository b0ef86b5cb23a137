"""``create_world_model``: a preset, alias or saved directory in, a ready model (or backend handle) out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from worldflux.errors import ConfigError, WorldFluxError
from worldflux.records import NATIVE_BACKEND, Preset
from worldflux.state import catalog

if TYPE_CHECKING:
    from worldflux.backends import DelegatedHandle
    from worldflux.protocol import WorldModel

API_VERSIONS = ("v3",)


def resolve_model(model: str | Path | Preset) -> Preset | Path:
    """What a model argument names: a saved model's directory, or a catalog preset (aliases resolved).

    Paths (a :class:`~pathlib.Path`, or text with a path separator or a leading ``.``/``~``) and
    saved-model directories are paths; anything else is looked up in the catalog.
    """
    from worldflux.saving import is_saved_model

    if isinstance(model, Preset):
        return model
    if not isinstance(model, (str, Path)) or not str(model).strip():
        raise ConfigError(f"model must be a preset name (e.g. 'tdmpc2:5m'), an alias or a saved model's directory; "
                          f"got {model!r}. See `worldflux models list`.")
    text = str(model)
    if isinstance(model, Path) or text.startswith((".", "/", "~")) or "/" in text or "\\" in text \
            or is_saved_model(text):
        return Path(text).expanduser()
    return catalog().resolve(text)


def create_world_model(
    model: str | Path,
    obs_shape: tuple[int, ...] | None = None,
    action_dim: int | None = None,
    device: str = "cpu",
    api_version: str = "v3",
    backend: str = NATIVE_BACKEND,
    **overrides: Any,
) -> WorldModel | DelegatedHandle:
    """Build the model ``model`` names: a preset (``"tdmpc2:5m"``), an alias (``"dreamer"``) or a saved directory.

    ``obs_shape``, ``action_dim`` and ``**overrides`` replace config fields of the
    preset; ``None`` values are ignored. A ``backend`` other than
    ``"native_torch"`` returns a handle for delegated execution instead of a local model: an
    :class:`~worldflux.backends.OfficialBackendHandle` when the backend runs the official
    implementation, else a :class:`~worldflux.backends.DelegatedHandle`.
    """
    if api_version not in API_VERSIONS:
        raise WorldFluxError(
            f"api_version {api_version!r} is not supported; this worldflux speaks {', '.join(API_VERSIONS)}."
        )
    changes = {k: v for k, v in overrides.items() if v is not None}
    if obs_shape is not None:
        changes["obs_shape"] = tuple(obs_shape)
    if action_dim is not None:
        changes["action_dim"] = action_dim
    return create_from(resolve_model(model), changes, device=device, backend=backend)


def create_from(target: Preset | Path, changes: Mapping[str, Any], *, device: str = "cpu",
                backend: str = NATIVE_BACKEND) -> WorldModel | DelegatedHandle:
    """:func:`create_world_model` for an already resolved target (see :func:`resolve_model`)."""
    from worldflux.building import build_config, build_model
    from worldflux.devices import resolve_device
    from worldflux.saving import load_model

    if isinstance(target, Path):
        if changes:
            raise ConfigError(
                f"{sorted(changes)} cannot change a saved model ({target}); its weights fit its saved "
                f"config. Load it without overrides, or build a preset with them."
            )
        return load_model(target, resolve_device(device))
    if backend != NATIVE_BACKEND:
        from worldflux.backends import make_handle

        return make_handle(target, backend, device, changes)
    return build_model(target, build_config(target, changes), resolve_device(device))
