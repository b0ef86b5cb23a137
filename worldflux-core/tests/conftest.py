"""Fixtures: real entry-point discovery of fake distributions, with a fresh catalog per test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import worldflux.state
from worldflux.catalog import Catalog
from worldflux.plugins import PluginSettings
from worldflux.testing import fake_distribution

TOY_SOURCE = Path(__file__).parent / "toy"


class PluginSandbox:
    """Fake-installs plugins and builds catalogs that load only those plugins."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.names: list[str] = []
        monkeypatch.syspath_prepend(str(root))
        monkeypatch.syspath_prepend(str(TOY_SOURCE))

    def add(self, name: str, module: str, files: dict[str, str] | None = None, version: str = "1.0") -> None:
        import importlib
        import sys

        fake_distribution(self.root / name, name, {name: module}, version=version, files=files)
        for rel in [module, *(files or {})]:  # earlier tests may have imported a same-named module
            sys.modules.pop(rel.removesuffix(".py").replace("/", "."), None)
        importlib.invalidate_caches()

        sys.path.insert(0, str(self.root / name))
        self.names.append(name)

    def add_toy(self) -> None:
        self.add("worldflux-toy", "worldflux_toy.plugin")

    def load(self, **settings: Any) -> Catalog:
        """Load a catalog of the sandbox's plugins and make it the process-wide one."""
        settings.setdefault("only", tuple(self.names))
        return worldflux.state.reload_plugins(PluginSettings(**settings))


@pytest.fixture(autouse=True)
def _fresh_catalog(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(worldflux.state, "_catalog", None)
    yield


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PluginSandbox:
    import sys

    monkeypatch.setattr(sys, "path", list(sys.path))
    return PluginSandbox(tmp_path / "site", monkeypatch)


@pytest.fixture
def toy(plugins: PluginSandbox) -> Catalog:
    """A catalog holding only the toy family."""
    plugins.add_toy()
    return plugins.load()
