"""The conformance kit, run against the toy family as any third-party family would run it."""

import pytest

from worldflux import create_world_model
from worldflux.testing import WorldModelConformance


@pytest.fixture(autouse=True)
def _toy_catalog(toy):
    return toy


@pytest.mark.parametrize("preset", ["toy:tiny", "toy:wide", "toy:draft"])
class TestToyFamily(WorldModelConformance):
    pass


BROKEN = """
import torch
from worldflux import hookimpl
from worldflux_toy.agent import ToyAgent
from worldflux_toy.model import ToyModel


class BrokenModel(ToyModel):
    family = "broken"


class ForgetfulModel(BrokenModel):
    \"\"\"Scales rewards by a buffer that is not saved: encode() survives a reload, predictions do not.\"\"\"

    def __init__(self, config):
        super().__init__(config)
        self.register_buffer("reward_scale", torch.rand(()) + 1, persistent=False)

    def predict(self, state, action):
        pred = super().predict(state, action)
        return type(pred)(pred.state, pred.reward * self.reward_scale, pred.cont)


class ForgetfulAgent(ToyAgent):
    \"\"\"Leaves the optimiser out of its state: a resumed run would restart Adam's moments.\"\"\"

    def state_dict(self):
        return {"policy": self.policy.state_dict()}

    def load_state_dict(self, state):
        self.policy.load_state_dict(state["policy"])


@hookimpl
def worldflux_register_families(registry):
    registry.add_family("broken", description="toy variants the kit must fail")
    common = dict(family="broken", description="d", obs_shape=(4,), action_dim=2,
                  reference_spec={"obs_shape": (4,), "action_dim": 2}, config_class="worldflux_toy.model:ToyConfig")
    registry.add_preset("broken:miscounted", config={"latent_dim": 2}, param_count=999_999,
                        builder="broken_toy:BrokenModel", **common)
    registry.add_preset("broken:one_percent", config={"latent_dim": 64}, param_count=4855,
                        builder="broken_toy:BrokenModel", **common)
    registry.add_preset("broken:forgetful_model", param_count=157, builder="broken_toy:ForgetfulModel", **common)
    registry.add_preset("broken:forgetful_agent", param_count=157, builder="broken_toy:BrokenModel",
                        agent="broken_toy:ForgetfulAgent", **common)
"""


@pytest.fixture
def broken(plugins):
    plugins.add_toy()
    plugins.add("worldflux-broken", "broken_toy", files={"broken_toy.py": BROKEN})
    cat = plugins.load()
    assert not cat.reports["worldflux-broken"].errors
    return WorldModelConformance()


def test_the_kit_fails_a_preset_whose_declared_count_is_off_by_more_than_one_percent(broken) -> None:
    broken.test_declared_param_count("toy:wide")  # 4,805 declared and built
    with pytest.raises(AssertionError, match="declares 999,999 parameters, but builds 31 "):
        broken.test_declared_param_count("broken:miscounted")
    with pytest.raises(AssertionError, match="declares 4,855 parameters, but builds 4,805"):
        broken.test_declared_param_count("broken:one_percent")


def test_the_kit_compares_predictions_after_a_reload_not_only_the_encoding(broken, tmp_path) -> None:
    model = create_world_model("broken:forgetful_model")
    with pytest.raises(AssertionError, match=r"predicts differently: \['predict.reward'\]"):
        broken.test_save_load_round_trip(model, tmp_path)


def test_the_kit_fails_an_agent_whose_state_misses_the_optimiser(broken, tmp_path) -> None:
    model = create_world_model("broken:forgetful_agent")
    broken.test_agent_acts("broken:forgetful_agent", model)
    broken.test_agent_update("broken:forgetful_agent", model)
    with pytest.raises(AssertionError, match="state_dict\\(\\) misses optimiser or agent state"):
        broken.test_agent_checkpoint_round_trip("broken:forgetful_agent", model, tmp_path)
