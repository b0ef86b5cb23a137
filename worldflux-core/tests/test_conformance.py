"""The conformance kit, run against the toy family as any third-party family would run it."""

import pytest

from worldflux.testing import WorldModelConformance


@pytest.fixture(autouse=True)
def _toy_catalog(toy):
    return toy


@pytest.mark.parametrize("preset", ["toy:tiny", "toy:wide", "toy:draft"])
class TestToyFamily(WorldModelConformance):
    pass


MISCOUNTED = """
from worldflux import hookimpl

@hookimpl
def worldflux_register_families(registry):
    registry.add_preset("toy:miscounted", family="toy", description="claims 1.04% too many parameters",
                        obs_shape=(4,), action_dim=2, config={"latent_dim": 64}, param_count=4855,
                        reference_spec={"obs_shape": (4,), "action_dim": 2},
                        config_class="worldflux_toy.model:ToyConfig", builder="worldflux_toy.model:ToyModel")
"""


def test_the_kit_fails_a_preset_whose_declared_count_is_off_by_more_than_one_percent(plugins) -> None:
    plugins.add_toy()
    plugins.add("worldflux-miscounted", "miscounted_plugin", files={"miscounted_plugin.py": MISCOUNTED})
    plugins.load()
    kit = WorldModelConformance()
    kit.test_declared_param_count("toy:wide")  # 4,805 declared and built
    with pytest.raises(AssertionError, match="declares 4,855 parameters, but builds 4,805"):
        kit.test_declared_param_count("toy:miscounted")
