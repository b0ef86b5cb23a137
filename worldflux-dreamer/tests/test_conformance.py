"""The shared protocol conformance kit on the DreamerV3 presets.

Presets from size25m up are built in full only by the slow tests below; here the
kit runs on dreamer:ci with image and vector observations, discrete and continuous actions,
and on size1m and size12m.
"""

import pytest

from worldflux.testing import WorldModelConformance


@pytest.mark.parametrize("preset", ["dreamer:ci"])
class TestDreamerImageContinuous(WorldModelConformance):
    build_kwargs = {"batch_length": 8}  # the agent's checks replay one window; 64 steps cost seconds per update


@pytest.mark.parametrize("preset", ["dreamer:ci"])
class TestDreamerVectorDiscrete(WorldModelConformance):
    build_kwargs = {"obs_shape": (5,), "action_dim": 3, "discrete_actions": True, "batch_length": 8}


@pytest.mark.parametrize("preset", [
    "dreamer:quick", "dreamerv3:size1m", "dreamerv3:size12m",
    pytest.param("dreamerv3:size25m", marks=pytest.mark.slow),
    pytest.param("dreamerv3:size50m", marks=pytest.mark.slow),
    pytest.param("dreamerv3:size100m", marks=pytest.mark.slow),
    pytest.param("dreamerv3:size200m", marks=pytest.mark.slow),
    pytest.param("dreamerv3:size400m", marks=pytest.mark.slow),
    pytest.param("dreamerv3:official_xl", marks=pytest.mark.slow),
])
class TestDreamerSizes(WorldModelConformance):
    check_agent = False  # the agent is dreamer:ci's code, checked above
    batch_size = 2
    seq_len = 3
    horizon = 2
