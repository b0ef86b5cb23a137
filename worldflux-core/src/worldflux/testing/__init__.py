"""Test helpers for family authors: the protocol conformance kit and fake plugin installs.

``pytest`` is needed only by :class:`WorldModelConformance`.
"""

from worldflux.testing.conformance import WorldModelConformance
from worldflux.testing.fake_plugin import fake_distribution

__all__ = ["WorldModelConformance", "fake_distribution"]
