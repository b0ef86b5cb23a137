"""Building a model that fits an environment: its spec fills the config's obs/action fields."""

from __future__ import annotations

from typing import Any

from worldflux.building import config_class
from worldflux.errors import ConfigError
from worldflux.factory import create_from, resolve_model
from worldflux.records import Preset
from worldflux.training.envs import EnvSpec, env_spec


def create_for_env(model: str | Preset, env: str | EnvSpec, *, device: str = "cpu",
                   image_size: int | None = None, **overrides: Any) -> Any:
    """``create_world_model(model)`` with obs_shape, action_dim (and, where the config has them,
    discrete_actions, episode_length and episodic) read from ``env``; ``overrides`` win.

    ``model`` is a preset name or alias, or a preset already resolved (see ``resolve_model``).
    """
    preset = resolve_model(model)
    if not isinstance(preset, Preset):
        raise ConfigError(f"create_for_env builds a preset; {model} is a saved model: load it with "
                          f"create_world_model")
    spec = env if isinstance(env, EnvSpec) else env_spec(env, image_size)
    return create_from(preset, {**spec.config_values(config_class(preset)), **overrides}, device=device)
