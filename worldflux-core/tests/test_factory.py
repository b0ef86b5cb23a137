"""create_world_model: names, aliases, overrides, devices, api versions, backends."""

from __future__ import annotations

import pytest
import torch

from worldflux import DelegatedHandle, OfficialBackendHandle, WorldModel, create_world_model
from worldflux.errors import BackendError, ConfigError, DeviceError, UnknownModelError, WorldFluxError

BACKEND_PLUGIN = '''
from worldflux import hookimpl

@hookimpl
def worldflux_register_backends(registry):
    registry.add_backend("toy_remote", description="runs toys elsewhere", presets=["toy:tiny"],
                         launcher="toy_remote:launch", aliases=["remote"])
'''


def test_builds_a_preset_with_its_default_spec(toy):
    model = create_world_model("toy:tiny")
    assert isinstance(model, WorldModel)
    assert model.config.obs_shape == (4,) and model.config.action_dim == 2 and model.config.latent_dim == 8
    assert model.preset_name == "toy:tiny"
    assert sum(p.numel() for p in model.parameters()) == toy.presets["toy:tiny"].param_count


def test_aliases_resolve_case_insensitively(toy):
    assert create_world_model("TOY").preset_name == "toy:tiny"
    assert create_world_model("Toy-Tiny").preset_name == "toy:tiny"


def test_spec_and_overrides_reach_the_config(toy):
    model = create_world_model("toy:tiny", obs_shape=[6], action_dim=3, latent_dim=5, learning_rate=1)
    assert model.config.obs_shape == (6,) and model.config.action_dim == 3 and model.config.latent_dim == 5
    assert model.config.learning_rate == 1.0 and isinstance(model.config.learning_rate, float)
    assert model.enc.in_features == 6


def test_none_overrides_are_ignored(toy):
    model = create_world_model("toy:tiny", obs_shape=None, action_dim=None, latent_dim=None)
    assert model.config.latent_dim == 8


def test_unknown_name_suggests_close_matches(toy):
    with pytest.raises(UnknownModelError) as info:
        create_world_model("toy:tinny")
    message = str(info.value)
    assert "Unknown model 'toy:tinny'" in message and "'toy:tiny'" in message
    assert "worldflux models list --surface all" in message


def test_first_party_family_not_loaded_gives_the_install_hint(toy):
    with pytest.raises(UnknownModelError, match=r'pip install "worldflux\[dreamer\]"'):
        create_world_model("dreamerv3:size12m")
    with pytest.raises(UnknownModelError, match=r'pip install "worldflux\[tdmpc2\]"'):
        create_world_model("tdmpc-small")


def test_unknown_override_names_close_fields(toy):
    with pytest.raises(ConfigError) as info:
        create_world_model("toy:tiny", latnet_dim=3)
    assert "ToyConfig has no field 'latnet_dim' (did you mean 'latent_dim'" in str(info.value)
    assert "Valid fields: obs_shape, action_dim, latent_dim, learning_rate" in str(info.value)


@pytest.mark.parametrize("override, message", [
    ({"latent_dim": 0}, r"toy:tiny: ToyConfig.latent_dim must be a finite number > 0; got 0"),
    ({"latent_dim": "big"}, r"ToyConfig.latent_dim must be an int; got 'big' \(str\)"),
    ({"latent_dim": True}, r"ToyConfig.latent_dim must be an int; got True \(bool\)"),
    ({"obs_shape": (0,)}, r"ToyConfig.obs_shape must be a non-empty tuple of positive ints"),
    ({"learning_rate": "fast"}, r"ToyConfig.learning_rate must be a number"),
])
def test_invalid_values_name_the_field(toy, override, message):
    with pytest.raises(ConfigError, match=message):
        create_world_model("toy:tiny", **override)


def test_unsupported_api_version(toy):
    with pytest.raises(WorldFluxError, match="api_version 'v2' is not supported; this worldflux speaks v3"):
        create_world_model("toy:tiny", api_version="v2")


def test_bad_devices_are_clear_errors(toy):
    with pytest.raises(DeviceError, match="'cdua' is not a torch device"):
        create_world_model("toy:tiny", device="cdua")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available here"):
            create_world_model("toy:tiny", device="cuda")


def test_meta_device_builds_without_memory(toy):
    model = create_world_model("toy:wide", device="meta")
    assert all(p.is_meta for p in model.parameters())


def test_backend_returns_a_handle(plugins):
    plugins.add_toy()
    plugins.add("worldflux-remote", "remote_plugin", {"remote_plugin.py": BACKEND_PLUGIN})
    plugins.load()
    handle = create_world_model("toy", backend="remote", device="cuda", checkout="/opt/x")
    assert isinstance(handle, DelegatedHandle) and not isinstance(handle, OfficialBackendHandle)  # no official
    assert handle.to_dict() == {"backend": "toy_remote", "model_id": "toy:tiny", "profile": "tiny",
                                "device": "cuda", "metadata": {"checkout": "/opt/x"}}
    with pytest.raises(BackendError, match="Backend 'toy_remote' does not run 'toy:wide'; it accepts: toy:tiny"):
        create_world_model("toy:wide", backend="toy_remote")


def test_unknown_backend_lists_installed_ones(plugins):
    plugins.add_toy()
    plugins.add("worldflux-remote", "remote_plugin", {"remote_plugin.py": BACKEND_PLUGIN})
    plugins.load()
    with pytest.raises(BackendError, match="Unknown backend 'jax'. Installed backends: native_torch, toy_remote"):
        create_world_model("toy:tiny", backend="jax")


def test_overrides_cannot_change_a_saved_model(toy, tmp_path):
    create_world_model("toy:tiny").save_pretrained(tmp_path / "m")
    with pytest.raises(ConfigError, match=r"\['latent_dim'\] cannot change a saved model"):
        create_world_model(str(tmp_path / "m"), latent_dim=3)
