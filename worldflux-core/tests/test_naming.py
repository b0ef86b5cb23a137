"""Who may register which names: a family owns its preset prefixes, and defaults claim nothing."""

from __future__ import annotations

import pytest

from worldflux import list_models

PLUGIN = '''
from worldflux import hookimpl

CODE = dict(description="d", obs_shape=(4,), action_dim=2, config_class="worldflux_toy.model:ToyConfig",
            builder="worldflux_toy.model:ToyModel")

@hookimpl
def worldflux_register_families(registry):
{body}
'''


def load(plugins, body: str, name: str = "worldflux-acme"):
    plugins.add_toy()
    source = PLUGIN.format(body="\n".join("    " + line for line in body.strip().splitlines()))
    module = name.replace("-", "_") + "_plugin"
    plugins.add(name, module, {f"{module}.py": source})
    cat = plugins.load()
    return cat, cat.reports[name].errors


def test_defaults_make_no_claim(plugins) -> None:
    cat, errors = load(plugins, 'registry.add_family("acme", description="d")\n'
                                'registry.add_preset("acme:small", family="acme", **CODE)')
    assert errors == []
    preset = cat.presets["acme:small"]
    assert (preset.maturity, preset.parity_role) == ("experimental", "unclaimed")


@pytest.mark.parametrize("field,value,message", [
    ("maturity", "stable", "maturity must be one of reference, experimental, skeleton; got 'stable'"),
    ("surface", "hidden", "surface must be one of supported, public, all; got 'hidden'"),
    ("parity_role", "faithful", "parity_role must be one of unclaimed, ci-only, reference-family, "
                                "proof-canonical, compatibility, legacy-compatibility; got 'faithful'"),
])
def test_a_bad_tag_is_refused_in_one_sentence(plugins, field: str, value: str, message: str) -> None:
    cat, errors = load(plugins, 'registry.add_family("acme", description="d")\n'
                                f'registry.add_preset("acme:small", family="acme", {field}={value!r}, **CODE)\n'
                                'registry.add_preset("acme:ok", family="acme", **CODE)')
    assert errors == [f"preset 'acme:small': {message}"]
    assert "acme:ok" in cat.presets and "acme:small" not in cat.presets


@pytest.mark.parametrize("name", ["small", "acme:small:v2", "acme:", ":small", "acme:sm all"])
def test_a_preset_name_is_prefix_colon_size(plugins, name: str) -> None:
    cat, errors = load(plugins, 'registry.add_family("acme", description="d")\n'
                                f'registry.add_preset({name!r}, family="acme", **CODE)')
    assert len(errors) == 1 and "a preset name is 'prefix:size'" in errors[0]


def test_a_prefix_owned_by_another_family_is_refused(plugins) -> None:
    cat, errors = load(plugins, 'registry.add_family("acme", description="d")\n'
                                'registry.add_preset("toy:mine", family="acme", **CODE)\n'
                                'registry.add_preset("acme:mine", family="acme", **CODE)')
    assert errors == ["preset 'toy:mine': the prefix 'toy' belongs to family 'toy'; name it 'acme:mine' or "
                      "register the prefix with add_family('acme', prefixes=[...])"]
    assert "acme:mine" in cat.presets and cat.presets["toy:tiny"].family == "toy"


def test_a_plugin_cannot_add_presets_to_another_plugins_family(plugins) -> None:
    cat, errors = load(plugins, 'registry.add_preset("toy:extra", family="toy", **CODE)')
    assert errors == ["preset 'toy:extra': family 'toy' is provided by worldflux-toy 1.0; a plugin adds presets "
                      "only to families it registers itself (add_family('yourname', ...))"]
    assert list_models(family="toy", surface="all") == ["toy:tiny", "toy:wide", "toy:draft"]


def test_a_family_owns_the_extra_prefixes_it_declares(plugins) -> None:
    cat, errors = load(plugins, 'registry.add_family("acmev2", description="d", prefixes=["acme"])\n'
                                'registry.add_preset("acme:small", family="acmev2", **CODE)\n'
                                'registry.add_preset("acmev2:large", family="acmev2", **CODE)')
    assert errors == [] and {"acme:small", "acmev2:large"} <= set(cat.presets)


def test_a_prefix_claimed_by_two_families_is_used_by_neither(plugins) -> None:
    cat, errors = load(plugins, 'registry.add_family("acme", description="d", prefixes=["toy"])\n'
                                'registry.add_preset("acme:small", family="acme", **CODE)')
    assert errors[0].startswith("preset prefix 'toy:' is registered by worldflux-acme 1.0 and worldflux-toy 1.0")
    assert cat.reports["worldflux-toy"].errors[1] == ("preset 'toy:tiny': its prefix 'toy' is claimed by two "
                                                      "families, so it is not used")
    assert "acme:small" in cat.presets and "toy:tiny" not in cat.presets


def test_an_alias_shaped_like_a_preset_name_follows_the_same_rule(plugins) -> None:
    cat, errors = load(plugins, 'registry.add_family("acme", description="d")\n'
                                'registry.add_preset("acme:small", family="acme", **CODE)\n'
                                'registry.add_alias("toy:small", "acme:small")\n'
                                'registry.add_alias("acme:default", "acme:small")\n'
                                'registry.add_alias("acme-small", "acme:small")')
    assert errors == ["alias 'toy:small': the prefix 'toy' belongs to family 'toy', not to 'acme' of its "
                      "preset 'acme:small'"]
    assert cat.resolve("acme:default").name == cat.resolve("acme-small").name == "acme:small"
