"""Building a model that fits an environment: its spec fills the config's obs/action fields."""

from __future__ import annotations

from typing import Any

import attrs

from worldflux.building import config_class
from worldflux.errors import ConfigError
from worldflux.factory import create_from, resolve_model
from worldflux.records import Preset
from worldflux.training.envs import EnvSpec, env_spec


def create_for_env(model: str | Preset, env: str | EnvSpec, *, device: str = "cpu",
                   image_size: int | None = None, **overrides: Any) -> Any:
    """``create_world_model(model)`` with obs_shape, action_dim (and, where the config has them,
    discrete_actions, episode_length and episodic) read from ``env``, its images stacked ``frame_stack`` deep
    where the config has that field; ``overrides`` win.

    ``model`` is a preset name or alias, or a preset already resolved (see ``resolve_model``).
    """
    preset = resolve_model(model)
    if not isinstance(preset, Preset):
        raise ConfigError(f"create_for_env builds a preset; {model} is a saved model: load it with "
                          f"create_world_model")
    spec = env if isinstance(env, EnvSpec) else env_spec(env, image_size, _frame_stack(preset, overrides))
    return create_from(preset, {**spec.config_values(config_class(preset)), **overrides}, device=device)


def _frame_stack(preset: Preset, overrides: dict[str, Any]) -> int:
    """The ``frame_stack`` the model will have (override, else preset, else its config's default; 1 without the
    field): the env's images are stacked that deep before their shape is read."""
    fields = {f.name: f for f in attrs.fields(config_class(preset))}
    if "frame_stack" not in fields:
        return 1
    value = overrides.get("frame_stack", preset.config.get("frame_stack", fields["frame_stack"].default))
    return value if isinstance(value, int) and value >= 1 else 1  # a bad value: the config's check names it
