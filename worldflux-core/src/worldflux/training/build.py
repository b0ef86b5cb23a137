"""Building a model that fits an environment: its spec fills the config's obs/action fields."""

from __future__ import annotations

from typing import Any

from worldflux.factory import create_world_model
from worldflux.lazy import load_ref
from worldflux.state import catalog
from worldflux.training.envs import EnvSpec, env_spec


def create_for_env(model: str, env: str | EnvSpec, *, device: str = "cpu", image_size: int = 64,
                   **overrides: Any) -> Any:
    """``create_world_model(model)`` with obs_shape, action_dim (and, where the config has them,
    discrete_actions and episode_length) read from ``env``; ``overrides`` win."""
    spec = env if isinstance(env, EnvSpec) else env_spec(env, image_size)
    preset = catalog().resolve(model)
    config_class = load_ref(preset.config_class, provider=str(preset.provider))
    return create_world_model(model, device=device, **{**spec.config_values(config_class), **overrides})
