"""The ``worldflux`` entry point of worldflux-tdmpc2. Kept light: no torch, no model code."""

from __future__ import annotations

from worldflux import hookimpl
from worldflux.registrar import FamilyRegistrar


@hookimpl
def worldflux_register_families(registry: FamilyRegistrar) -> None:
    registry.add_family(
        "tdmpc2",
        description="TD-MPC2: a decoder-free latent model with a Q ensemble, planned with MPPI.",
    )
