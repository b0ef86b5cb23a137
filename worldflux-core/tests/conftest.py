"""Fixtures: real entry-point discovery of fake distributions, with a fresh catalog per test."""

from __future__ import annotations

from pathlib import Path

import pytest

import worldflux.state
from worldflux.catalog import Catalog
from worldflux.testing import PluginSandbox

TOY_SOURCE = Path(__file__).parent / "toy"


class CoreSandbox(PluginSandbox):
    """The sandbox with the toy family's source on the path."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(root, monkeypatch)
        monkeypatch.syspath_prepend(str(TOY_SOURCE))

    def add_toy(self) -> None:
        self.add("worldflux-toy", "worldflux_toy.plugin")


@pytest.fixture(autouse=True)
def _fresh_catalog(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(worldflux.state, "_catalog", None)
    yield


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CoreSandbox:
    return CoreSandbox(tmp_path / "site", monkeypatch)


@pytest.fixture
def toy(plugins: CoreSandbox) -> Catalog:
    """A catalog holding only the toy family."""
    plugins.add_toy()
    return plugins.load()
