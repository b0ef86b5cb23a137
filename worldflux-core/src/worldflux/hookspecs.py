"""The hooks a worldflux plugin may implement (pluggy project name ``worldflux``)."""

from __future__ import annotations

import pluggy

from worldflux.registrar import BackendRegistrar, FamilyRegistrar

hookspec = pluggy.HookspecMarker("worldflux")
hookimpl = pluggy.HookimplMarker("worldflux")


@hookspec
def worldflux_register_families(registry: FamilyRegistrar) -> None:
    """Register model families, presets and aliases with ``registry``."""


@hookspec
def worldflux_register_backends(registry: BackendRegistrar) -> None:
    """Register delegated execution backends with ``registry``."""
