"""The shared protocol conformance kit on the TD-MPC2 presets (large ones behind pytest --slow)."""

import pytest

from worldflux.testing import WorldModelConformance


@pytest.mark.parametrize("preset", ["tdmpc2:ci"])
class TestTDMPC2Agent(WorldModelConformance):
    seq_len = 4  # horizon 3 + 1


@pytest.mark.parametrize("preset", [
    "tdmpc2:quick", "tdmpc2:1m", "tdmpc2:5m", "tdmpc2:5m_legacy", "tdmpc2:proof_5m",
    pytest.param("tdmpc2:19m", marks=pytest.mark.slow),
    pytest.param("tdmpc2:48m", marks=pytest.mark.slow),
    pytest.param("tdmpc2:317m", marks=pytest.mark.slow),
])
class TestTDMPC2Presets(WorldModelConformance):
    check_agent = False  # the agent is tdmpc2:ci's code, checked above
    seq_len = 4  # horizon 3 + 1


@pytest.mark.parametrize("preset", ["tdmpc2:ci"])
class TestTDMPC2Episodic(WorldModelConformance):
    build_kwargs = {"episodic": True, "obs_shape": (5,), "action_dim": 2}
