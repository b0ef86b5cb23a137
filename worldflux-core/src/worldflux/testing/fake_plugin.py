"""Make a plugin discoverable through real entry points without installing it."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Mapping

import worldflux.state
from worldflux.catalog import Catalog
from worldflux.plugins import PluginSettings


def fake_distribution(
    root: str | Path,
    name: str,
    entry_points: Mapping[str, str],
    *,
    version: str = "1.0",
    files: Mapping[str, str] | None = None,
) -> Path:
    """Write ``name``'s ``*.dist-info`` (and any source ``files``) under ``root``; return ``root``.

    Put ``root`` on ``sys.path`` (``monkeypatch.syspath_prepend``) and
    ``importlib.metadata`` finds the distribution and its ``worldflux`` entry
    points (entry-point name -> ``"module"`` or ``"module:object"``). ``files``
    maps paths relative to ``root`` (``"acme_plugin.py"``) to their source.
    :class:`PluginSandbox` does this and the rest of a discovery test's set-up.
    """
    root = Path(root)
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "".join(f"{ep} = {target}\n" for ep, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[worldflux]\n{lines}")
    for rel, text in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


class PluginSandbox:
    """Fake-installs plugins for one test and loads a catalog of only those plugins.

    The process keeps one catalog and Python caches imported modules, so a
    discovery test that merely writes a fake distribution sees whatever an
    earlier test loaded. The sandbox undoes both when the test ends (through
    ``monkeypatch``): ``sys.path`` and the process-wide catalog are restored,
    and modules the fake distributions provide are re-imported from their files.

        def test_discovery(tmp_path, monkeypatch):
            sandbox = PluginSandbox(tmp_path, monkeypatch)
            sandbox.add("worldflux-acme-test", "acme_test_plugin", files={"acme_test_plugin.py": SOURCE})
            catalog = sandbox.load()
            assert "acme:small" in catalog.presets
    """

    def __init__(self, root: str | Path, monkeypatch: Any) -> None:
        self.root = Path(root)
        self.names: list[str] = []
        monkeypatch.setattr(sys, "path", list(sys.path))
        monkeypatch.setattr(worldflux.state, "_catalog", None)
        self._monkeypatch = monkeypatch

    def add(self, name: str, module: str, files: Mapping[str, str] | None = None, version: str = "1.0") -> None:
        """Install distribution ``name`` whose entry point (named ``name``) is ``module``, with source ``files``."""
        fake_distribution(self.root / name, name, {name: module}, version=version, files=files)
        for rel in [module.split(":")[0], *(files or {})]:  # an earlier test may have imported a same-named module
            dotted = rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            for loaded in [m for m in sys.modules if m == dotted or m.startswith(dotted + ".")]:
                self._monkeypatch.delitem(sys.modules, loaded)
        importlib.invalidate_caches()
        sys.path.insert(0, str(self.root / name))
        self.names.append(name)

    def load(self, **settings: Any) -> Catalog:
        """Load a catalog of the sandbox's plugins (``settings`` as for :class:`PluginSettings`) and make it the
        process-wide one, so ``create_world_model`` and ``list_models`` see it."""
        settings.setdefault("only", tuple(self.names))
        return worldflux.state.reload_plugins(PluginSettings(**settings))
