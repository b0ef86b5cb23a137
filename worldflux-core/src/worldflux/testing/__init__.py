"""Test helpers for family authors: the protocol conformance kit, fake plugin installs and fixed thread settings.

``pytest`` is needed only by :class:`WorldModelConformance`.
"""

import pytest

pytest.register_assert_rewrite("worldflux.testing.conformance")  # failures show values, as in the author's own tests

from worldflux.testing.conformance import WorldModelConformance  # noqa: E402
from worldflux.testing.fake_plugin import PluginSandbox, fake_distribution  # noqa: E402
from worldflux.testing.threads import torch_threads  # noqa: E402

__all__ = ["PluginSandbox", "WorldModelConformance", "fake_distribution", "torch_threads"]
