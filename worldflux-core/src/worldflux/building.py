"""From a catalog preset to a model: its config class, its config with changes, its builder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import attrs

from worldflux.catalog import FIRST_PARTY_EXTRAS
from worldflux.config import check_field_names, make_config
from worldflux.errors import ConfigError, PluginError, UnknownModelError
from worldflux.lazy import load_ref
from worldflux.records import Preset
from worldflux.state import catalog

if TYPE_CHECKING:
    import torch

    from worldflux.protocol import WorldModel


def config_class(preset: Preset) -> type:
    """The attrs class of ``preset``'s config (imported from its plugin); it must declare the observation spec."""
    cls = load_ref(preset.config_class, provider=str(preset.provider))
    names = {f.name for f in attrs.fields(cls)} if attrs.has(cls) else set()
    missing = [name for name in ("obs_shape", "action_dim") if name not in names]
    if missing:
        raise PluginError(
            f"{preset.provider}'s config class {preset.config_class!r} (preset {preset.name}) does not declare "
            f"{' and '.join(missing)}; a family config is a @worldflux_config class with obs_shape: tuple[int, ...] "
            f"and action_dim: int fields (docs/plugin-authors.md, 'The config')")
    return cls


def build_config(preset: Preset, changes: Mapping[str, Any], *, base: Mapping[str, Any] | None = None) -> Any:
    """The preset's config with ``changes`` applied; unknown or invalid fields raise ConfigError.

    ``base`` defaults to the preset's own spec and config values.
    """
    cls = config_class(preset)
    check_field_names(cls, changes)
    if base is None:
        base = {"obs_shape": preset.obs_shape, "action_dim": preset.action_dim, **preset.config}
    try:
        return make_config(cls, {**base, **changes})
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
