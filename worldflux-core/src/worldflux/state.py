"""The process-wide catalog, built on first use so ``import worldflux`` stays cheap."""

from __future__ import annotations

from worldflux.catalog import Catalog
from worldflux.plugins import PluginSettings

_catalog: Catalog | None = None


def catalog() -> Catalog:
    """The catalog of the installed plugins, loaded once per process."""
    global _catalog
    if _catalog is None:
        _catalog = Catalog.load()
    return _catalog


def reload_plugins(settings: PluginSettings | None = None) -> Catalog:
    """Discover plugins again (after installing one, or to apply new settings)."""
    global _catalog
    _catalog = Catalog.load(settings)
    return _catalog
