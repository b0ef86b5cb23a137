"""``create_world_model``: a preset, alias or saved directory in, a ready model (or backend handle) out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from worldflux.catalog import FIRST_PARTY_EXTRAS
from worldflux.config import check_field_names, make_config
from worldflux.errors import ConfigError, PluginError, UnknownModelError, WorldFluxError
from worldflux.lazy import load_ref
from worldflux.records import Preset
from worldflux.state import catalog

if TYPE_CHECKING:
    import torch

    from worldflux.backends import OfficialBackendHandle
    from worldflux.protocol import WorldModel

API_VERSIONS = ("v3",)
NATIVE_BACKEND = "native_torch"


def _looks_like_path(model: str | Path) -> bool:
    if isinstance(model, Path):
        return True
    from worldflux.saving import is_saved_model

    return model.startswith((".", "/", "~")) or "/" in model or "\\" in model or is_saved_model(model)


def create_world_model(
    model: str | Path,
    obs_shape: tuple[int, ...] | None = None,
    action_dim: int | None = None,
    device: str = "cpu",
    api_version: str = "v3",
    backend: str = NATIVE_BACKEND,
    **overrides: Any,
) -> WorldModel | OfficialBackendHandle:
    """Build the model ``model`` names: a preset (``"tdmpc2:5m"``), an alias (``"dreamer"``) or a saved directory.

    ``obs_shape``, ``action_dim`` and ``**overrides`` replace config fields of the
    preset; ``None`` values are ignored. A ``backend`` other than
    ``"native_torch"`` returns an :class:`~worldflux.backends.OfficialBackendHandle`
    for delegated execution instead of a local model.
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
    if _looks_like_path(model):
        if changes:
            raise ConfigError(
                f"{sorted(changes)} cannot change a saved model ({model}); its weights fit its saved "
                f"config. Load it without overrides, or build a preset with them."
            )
        from worldflux.devices import resolve_device
        from worldflux.saving import load_model

        return load_model(model, resolve_device(device))
    preset = catalog().resolve(str(model))
    if backend != NATIVE_BACKEND:
        from worldflux.backends import make_handle

        return make_handle(preset, backend, device, changes)
    from worldflux.devices import resolve_device

    dev = resolve_device(device)
    return build_model(preset, build_config(preset, changes), dev)


def build_config(preset: Preset, changes: Mapping[str, Any], *, base: Mapping[str, Any] | None = None) -> Any:
    """The preset's config with ``changes`` applied; unknown or invalid fields raise ConfigError.

    ``base`` defaults to the preset's own spec and config values.
    """
    config_class = load_ref(preset.config_class, provider=str(preset.provider))
    check_field_names(config_class, changes)
    if base is None:
        base = {"obs_shape": preset.obs_shape, "action_dim": preset.action_dim, **preset.config}
    try:
        return make_config(config_class, {**base, **changes})
    except ConfigError as exc:
        raise ConfigError(f"{preset.name}: {exc}") from exc


def build_model(preset: Preset, config: Any, device: torch.device) -> WorldModel:
    """Call the preset's builder with ``config``, creating parameters directly on ``device``."""
    import torch

    from worldflux.protocol import WorldModel

    builder = load_ref(preset.builder, provider=str(preset.provider))
    with torch.device(device):
        model = builder(config)
    if not isinstance(model, WorldModel):
        raise PluginError(
            f"{preset.provider}'s builder {preset.builder!r} returned {type(model).__name__}, "
            f"which does not implement the WorldModel protocol."
        )
    model.preset_name = preset.name  # type: ignore[attr-defined]
    return model


def preset_for_family(family: str, preset_name: str | None) -> Preset:
    """The installed preset a saved model came from, or any preset of its family."""
    presets = catalog().presets
    if preset_name in presets and presets[preset_name].family == family:
        return presets[preset_name]
    for preset in presets.values():
        if preset.family == family:
            return preset
    extra = FIRST_PARTY_EXTRAS.get(family)
    hint = (
        f'Install it with: pip install "worldflux[{extra}]"'
        if extra
        else "Install the plugin that provides it (see `worldflux plugins`)."
    )
    raise UnknownModelError(f"The saved model is of family {family!r}, which no installed plugin provides. {hint}")
