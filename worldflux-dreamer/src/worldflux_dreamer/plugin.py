"""The ``worldflux`` entry point of worldflux-dreamer. Kept light: no torch, no model code."""

from __future__ import annotations

from worldflux import hookimpl
from worldflux.registrar import FamilyRegistrar


@hookimpl
def worldflux_register_families(registry: FamilyRegistrar) -> None:
    registry.add_family(
        "dreamerv3",
        description="DreamerV3: a recurrent state-space model with an actor-critic learned in imagination.",
    )
