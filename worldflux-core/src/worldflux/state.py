"""The process-wide catalog, built on first use so ``import worldflux`` stays cheap."""

from __future__ import annotations

from typing import Iterator, Mapping

from worldflux.catalog import Catalog
from worldflux.plugins import PluginSettings
from worldflux.registrar import normalise

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


class AliasView(Mapping[str, str]):
    """A live, read-only view of the installed plugins' aliases (alias -> preset)."""

    def __getitem__(self, key: str) -> str:
        return catalog().aliases[normalise(key)]

    def __iter__(self) -> Iterator[str]:
        return iter(dict(catalog().aliases))

    def __len__(self) -> int:
        return len(catalog().aliases)

    def __repr__(self) -> str:
        return repr(dict(catalog().aliases))
