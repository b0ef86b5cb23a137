"""list_models, surfaces, maturity, MODEL_ALIASES."""

from __future__ import annotations

import pytest

from worldflux import MODEL_ALIASES, list_models


def test_surfaces_nest(toy):
    supported = list_models()
    public = list_models(surface="public")
    every = list_models(surface="all")
    assert supported == ["toy:tiny"]
    assert public == ["toy:tiny", "toy:wide"]
    assert every == ["toy:tiny", "toy:wide", "toy:draft"]


def test_verbose_metadata(toy):
    info = list_models(verbose=True)
    assert set(info) == {"toy:tiny"}
    tiny = info["toy:tiny"]
    assert tiny["family"] == "toy" and tiny["maturity"] == "experimental"  # the defaults claim nothing
    assert tiny["surface"] == "supported" and tiny["parity_role"] == "unclaimed"
    assert tiny["param_count"] == 157 and tiny["reference_spec"] == {"obs_shape": [4], "action_dim": 2}
    assert tiny["aliases"] == ["toy", "toy-tiny"]
    assert tiny["provider"] == "worldflux-toy" and tiny["version"] == "1.0"


def test_maturity_and_family_filters(toy):
    assert list_models(maturity="skeleton", surface="all") == ["toy:draft"]
    assert list_models(maturity="reference") == []
    assert list_models(maturity="experimental") == ["toy:tiny"]
    assert list_models(family="TOY", surface="all") == ["toy:tiny", "toy:wide", "toy:draft"]
    assert list_models(family="other") == []


@pytest.mark.parametrize("kwargs, message", [
    ({"surface": "everything"}, "surface must be one of supported, public, all"),
    ({"maturity": "stable"}, "maturity must be one of reference, experimental, skeleton"),
])
def test_bad_filters_say_what_is_allowed(toy, kwargs, message):
    with pytest.raises(ValueError, match=message):
        list_models(**kwargs)


def test_aliases_are_live_read_only_and_lowercase(plugins):
    plugins.add_toy()
    plugins.load()
    assert dict(MODEL_ALIASES) == {"toy": "toy:tiny", "toy-tiny": "toy:tiny"}
    assert MODEL_ALIASES["TOY"] == "toy:tiny"
    assert "toy-tiny" in repr(MODEL_ALIASES)
    with pytest.raises(TypeError):
        MODEL_ALIASES["x"] = "y"  # type: ignore[index]
    plugins.load(only=())
    assert len(MODEL_ALIASES) == 0


def test_catalog_listing_checks_builders_exist_without_importing_them(toy):
    import sys

    sys.modules.pop("worldflux_toy.model", None)
    list_models(surface="all", verbose=True)
    assert "worldflux_toy.model" not in sys.modules
