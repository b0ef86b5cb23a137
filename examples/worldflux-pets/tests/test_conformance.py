"""The shared protocol conformance kit over both presets (and a spec other than Pendulum's).

It also exercises each preset's registered agent (act, update, checkpoint round trip).
"""

import pytest

from worldflux.testing import WorldModelConformance


@pytest.mark.parametrize("preset", ["pets:ci", "pets:small"])
class TestPETSPresets(WorldModelConformance):
    pass


@pytest.mark.parametrize("preset", ["pets:ci"])
class TestPETSOtherSpec(WorldModelConformance):
    build_kwargs = {"obs_shape": (5,), "action_dim": 2}
