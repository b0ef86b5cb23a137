"""The conformance kit, run against the toy family as any third-party family would run it."""

import pytest

from worldflux.testing import WorldModelConformance


@pytest.fixture(autouse=True)
def _toy_catalog(toy):
    return toy


@pytest.mark.parametrize("preset", ["toy:tiny", "toy:wide", "toy:draft"])
class TestToyFamily(WorldModelConformance):
    pass
