"""Plugins: one plugin's failure, clash or mistake never takes down the others or the process, and is reported."""

from __future__ import annotations

import pytest

from worldflux import list_models

EXITING = "import sys\nsys.exit(3)\n"
INTERRUPTED = "raise KeyboardInterrupt\n"
BAD_FIELDS = '''
from worldflux import hookimpl

@hookimpl
def worldflux_register_families(registry):
    registry.add_family("odd", description="d")
    common = dict(family="odd", description="d", config_class="worldflux_toy.model:ToyConfig",
                  builder="worldflux_toy.model:ToyModel")
    registry.add_preset("odd:text", obs_shape=(4,), action_dim="x", **common)
    registry.add_preset("odd:shape", obs_shape=(4, -1), action_dim=2, **common)
    registry.add_preset("odd:ok", obs_shape=(4,), action_dim=2, **common)
'''
TYPO = '''
from worldflux import hookimpl

@hookimpl
def worldflux_register_familes(registry):
    pass
'''


@pytest.mark.parametrize("source,error", [(EXITING, "failed to load: SystemExit: 3"),
                                          (INTERRUPTED, "failed to load: KeyboardInterrupt")])
def test_a_plugin_that_exits_or_is_interrupted_at_import_is_contained(plugins, source: str, error: str) -> None:
    plugins.add_toy()
    plugins.add("worldflux-rude", "rude_plugin", {"rude_plugin.py": source})
    cat = plugins.load()
    assert cat.reports["worldflux-rude"].errors == [error]
    assert "toy:tiny" in list_models()


def test_bad_registration_fields_are_refused_naming_preset_and_field(plugins) -> None:
    plugins.add_toy()
    plugins.add("worldflux-odd", "odd_plugin", {"odd_plugin.py": BAD_FIELDS})
    cat = plugins.load()
    assert "odd:ok" in cat.presets and "odd:text" not in cat.presets and "odd:shape" not in cat.presets
    assert cat.reports["worldflux-odd"].errors == [
        "preset 'odd:text': action_dim must be a positive int; got 'x'",
        "preset 'odd:shape': obs_shape must be a sequence of positive ints; got (4, -1)"]


def test_a_misspelled_hook_is_reported(plugins) -> None:
    plugins.add("worldflux-typo", "typo_plugin", {"typo_plugin.py": TYPO})
    cat = plugins.load()
    assert cat.reports["worldflux-typo"].errors == [
        "implements 'worldflux_register_familes', which is not a worldflux hook (the hooks are "
        "worldflux_register_families and worldflux_register_backends); check its spelling"]


def test_an_entry_point_named_after_another_distribution_cannot_hide_its_plugin(plugins) -> None:
    from worldflux.testing import fake_distribution

    plugins.add_toy()
    fake_distribution(plugins.root / "impostor", "impostor", {"worldflux-toy": "rude_plugin"},
                      files={"rude_plugin.py": "raise ImportError('hidden')\n"})
    import sys

    sys.path.insert(0, str(plugins.root / "impostor"))
    plugins.names.append("worldflux-toy")
    cat = plugins.load()
    assert "toy:tiny" in cat.presets and cat.reports["worldflux-toy"].ok
    assert cat.reports["worldflux-toy (impostor)"].errors == [
        "names its entry point 'worldflux-toy', not after its own distribution 'impostor', so it is not loaded: "
        "a plugin's entry point carries its distribution's name"]


NO_SPEC = '''
from worldflux import hookimpl
from worldflux.config import config_field, worldflux_config


@worldflux_config
class NoSpecConfig:
    width: int = config_field(4, help="w")


@hookimpl
def worldflux_register_families(registry):
    registry.add_family("nospec", description="d")
    registry.add_preset("nospec:small", family="nospec", description="d", obs_shape=(4,), action_dim=2,
                        config_class="nospec_plugin:NoSpecConfig", builder="worldflux_toy.model:ToyModel")
'''


def test_a_config_class_without_the_observation_spec_is_named_with_the_fix(plugins) -> None:
    from worldflux import create_world_model
    from worldflux.errors import PluginError

    plugins.add("worldflux-nospec", "nospec_plugin", {"nospec_plugin.py": NO_SPEC})
    plugins.load()
    with pytest.raises(PluginError, match=r"config class 'nospec_plugin:NoSpecConfig' \(preset nospec:small\) does "
                                          r"not declare obs_shape and action_dim; a family config is a "
                                          r"@worldflux_config class"):
        create_world_model("nospec:small")
