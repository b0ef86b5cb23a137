"""Plugin discovery through real entry points of fake distributions."""

from __future__ import annotations

import logging

import pytest

from worldflux import create_world_model, list_models
from worldflux.errors import PluginError

OTHER_PLUGIN = '''
from worldflux import hookimpl

@hookimpl
def worldflux_register_families(registry):
    registry.add_family("other", description="second family")
    registry.add_preset("other:one", family="other", description="d", obs_shape=(4,), action_dim=2,
                        config_class="worldflux_toy.model:ToyConfig", builder="worldflux_toy.model:ToyModel",
                        aliases=("uno",))
'''

CLASHING_PLUGIN = '''
from worldflux import hookimpl

@hookimpl
def worldflux_register_families(registry):
    registry.add_family("toy2", description="clashes")
    registry.add_preset("toy:tiny", family="toy2", description="d", obs_shape=(4,), action_dim=2,
                        config_class="worldflux_toy.model:ToyConfig", builder="worldflux_toy.model:ToyModel")
'''

ALIAS_CLASH_PLUGIN = CLASHING_PLUGIN.replace('"toy:tiny"', '"toy2:x"') + '''
    registry.add_alias("toy", "toy2:x")
'''

BAD_BUILDER_PLUGIN = '''
from worldflux import hookimpl

@hookimpl
def worldflux_register_families(registry):
    registry.add_family("jaxy", description="needs jax")
    registry.add_preset("jaxy:small", family="jaxy", description="d", obs_shape=(4,), action_dim=2,
                        config_class="worldflux_toy.model:ToyConfig", builder="jaxy_model:Model")
    registry.add_preset("jaxy:ghost", family="jaxy", description="d", obs_shape=(4,), action_dim=2,
                        config_class="worldflux_toy.model:ToyConfig", builder="no_such_module:Model")
'''


def test_two_plugins_are_discovered(plugins):
    plugins.add_toy()
    plugins.add("worldflux-other", "other_plugin", {"other_plugin.py": OTHER_PLUGIN}, version="2.5")
    cat = plugins.load()
    assert {"toy:tiny", "other:one"} <= set(list_models())
    assert cat.presets["other:one"].provider.distribution == "worldflux-other"
    assert cat.presets["other:one"].provider.version == "2.5"
    assert cat.reports["worldflux-other"].registered["aliases"] == ["uno"]


def test_broken_plugin_is_reported_and_hides_nothing(plugins, caplog):
    plugins.add_toy()
    plugins.add("worldflux-broken", "broken_plugin", {"broken_plugin.py": "raise ImportError('needs jax')\n"})
    with caplog.at_level(logging.WARNING, logger="worldflux"):
        cat = plugins.load()
    assert "toy:tiny" in list_models()
    report = cat.reports["worldflux-broken"]
    assert not report.ok and "ImportError: needs jax" in report.errors[0]
    assert "worldflux-broken" in caplog.text and "needs jax" in caplog.text
    with pytest.raises(Exception) as info:
        create_world_model("missing:model")
    assert "worldflux-broken" in str(info.value) and "needs jax" in str(info.value)


def test_strict_mode_makes_load_errors_fatal(plugins):
    plugins.add_toy()
    plugins.add("worldflux-broken", "broken_plugin", {"broken_plugin.py": "raise ImportError('needs jax')\n"})
    with pytest.raises(PluginError, match="worldflux-broken.*needs jax"):
        plugins.load(strict=True)


def test_a_preset_under_another_familys_prefix_is_refused_and_the_owner_keeps_the_name(plugins):
    plugins.add_toy()
    plugins.add("worldflux-clash", "clash_plugin", {"clash_plugin.py": CLASHING_PLUGIN})
    cat = plugins.load()
    assert cat.presets["toy:tiny"].provider.distribution == "worldflux-toy" and "toy2" in cat.families
    assert cat.reports["worldflux-toy"].errors == []
    assert cat.reports["worldflux-clash"].errors == [
        "preset 'toy:tiny': the prefix 'toy' belongs to family 'toy'; name it 'toy2:tiny' or register the prefix "
        "with add_family('toy2', prefixes=[...])"]
    with pytest.raises(PluginError, match="preset 'toy:tiny': the prefix 'toy' belongs to family 'toy'"):
        plugins.load(strict=True)


def test_a_family_name_clash_disables_that_family_and_is_reported_on_both_plugins(plugins):
    plugins.add_toy()
    plugins.add("worldflux-clash", "clash_plugin",
                {"clash_plugin.py": CLASHING_PLUGIN.replace('"toy2"', '"toy"').replace('"toy:tiny"', '"toy:other"')})
    cat = plugins.load()
    assert "toy" not in cat.families and not cat.select(surface="all", family="toy")
    message = "family 'toy' is registered by worldflux-clash 1.0 and worldflux-toy 1.0, so it is not used."
    assert any(e.startswith(message) for e in cat.reports["worldflux-toy"].errors)
    assert any(e.startswith(message) for e in cat.reports["worldflux-clash"].errors)


def test_an_alias_clash_disables_only_that_alias(plugins):
    plugins.add_toy()
    plugins.add("worldflux-clash", "clash_plugin", {"clash_plugin.py": ALIAS_CLASH_PLUGIN})
    cat = plugins.load()
    assert "toy" not in cat.aliases and "toy-tiny" in cat.aliases and "toy2:x" in cat.presets
    assert any("alias 'toy' is registered by worldflux-clash 1.0 and worldflux-toy 1.0" in e
               for e in cat.reports["worldflux-clash"].errors)


def test_builder_that_fails_to_import_is_a_clear_error(plugins):
    plugins.add("worldflux-jaxy", "jaxy_plugin", {
        "jaxy_plugin.py": BAD_BUILDER_PLUGIN,
        "jaxy_model.py": "import jax_that_is_not_installed\n",
    })
    plugins.add_toy()
    cat = plugins.load()
    # Listing never imports builders: the importable-looking one is listed ...
    assert "jaxy:small" in list_models()
    # ... one whose module does not exist is never listed, and is reported.
    assert "jaxy:ghost" not in list_models(surface="all")
    assert any("jaxy:ghost" in e and "no_such_module" in e for e in cat.reports["worldflux-jaxy"].errors)
    with pytest.raises(PluginError, match=r"worldflux-jaxy 1.0 registered 'jaxy_model:Model'.*"
                                          r"No module named 'jax_that_is_not_installed'"):
        create_world_model("jaxy:small")


def test_only_loads_the_named_plugins(plugins):
    plugins.add_toy()
    plugins.add("worldflux-other", "other_plugin", {"other_plugin.py": OTHER_PLUGIN})
    cat = plugins.load(only=("worldflux-other",))
    assert list(cat.reports) == ["worldflux-other"]
    assert "toy:tiny" not in cat.presets


def test_disabled_autoload_loads_nothing_unless_named(plugins):
    plugins.add_toy()
    assert plugins.load(only=None, autoload=False).presets == {}
    assert "toy:tiny" in plugins.load(only=("worldflux-toy",), autoload=False).presets


def test_settings_come_from_the_environment(monkeypatch):
    from worldflux.plugins import PluginSettings

    monkeypatch.setenv("WORLDFLUX_PLUGINS", "a, b")
    monkeypatch.setenv("WORLDFLUX_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("WORLDFLUX_STRICT_PLUGINS", "true")
    monkeypatch.setenv("WORLDFLUX_TRACE_PLUGINS", "0")
    assert PluginSettings.from_env() == PluginSettings(autoload=False, only=("a", "b"), strict=True, trace=False)


def test_naming_an_absent_plugin_warns_or_raises(plugins, caplog):
    plugins.add_toy()
    with caplog.at_level(logging.WARNING, logger="worldflux"):
        plugins.load(only=("worldflux-toy", "worldflux-nope"))
    assert "no installed plugin has that name" in caplog.text and "worldflux-nope" in caplog.text
    with pytest.raises(PluginError, match="worldflux-nope"):
        plugins.load(only=("worldflux-toy", "worldflux-nope"), strict=True)


def test_hook_that_raises_is_reported(plugins):
    source = "from worldflux import hookimpl\n\n@hookimpl\ndef worldflux_register_families(registry):\n    1 / 0\n"
    plugins.add("worldflux-oops", "oops_plugin", {"oops_plugin.py": source})
    plugins.add_toy()
    cat = plugins.load()
    assert "ZeroDivisionError" in cat.reports["worldflux-oops"].errors[0]
    assert "toy:tiny" in cat.presets


def test_tracing_logs_hook_calls(plugins, caplog):
    plugins.add_toy()
    with caplog.at_level(logging.INFO, logger="worldflux"):
        plugins.load(trace=True)
    assert "trace:" in caplog.text and "worldflux_register_families" in caplog.text


def test_first_party_plugins_are_light():
    """The installed family plugin modules register without importing torch."""
    import subprocess
    import sys

    code = ("import sys, worldflux; from worldflux.state import catalog; catalog(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
