"""The ``worldflux`` entry point of worldflux-pets. Kept light: no torch, no model code.

Presets name their code as ``"module:attr"`` strings, imported only when a
model is built, so ``worldflux models list`` stays fast.
"""

from __future__ import annotations

from worldflux import hookimpl
from worldflux.registrar import FamilyRegistrar

CODE = {"config_class": "worldflux_pets.config:PETSConfig", "builder": "worldflux_pets.model:PETS",
        "agent": "worldflux_pets.agent:PETSAgent"}
PENDULUM = {"obs_shape": (3,), "action_dim": 1}  # Pendulum-v1; param_count below is measured for this spec

PRESETS = [
    dict(name="pets:small", surface="public", param_count=45_808, config={},
         description="5 members of 3x64, beta-NLL; CEM of 100 sequences x 4 iterations over 20 steps. Learns "
                     "Pendulum-v1 in 2,000-3,000 env steps on a CPU.",
         aliases=("pets",)),
    dict(name="pets:ci", surface="all", param_count=984,
         config={"ensemble_size": 2, "hidden_dim": 16, "num_layers": 2, "batch_size": 8, "seed_steps": 50,
                 "horizon": 4, "population": 16, "elites": 4, "iterations": 2, "particles": 2},
         description="A tiny PETS for CI and quick checks; not for results."),
]


@hookimpl
def worldflux_register_families(registry: FamilyRegistrar) -> None:
    registry.add_family(
        "pets",
        description="PETS: a probabilistic ensemble of dynamics networks, planned with CEM and trajectory "
                    "sampling (Chua et al. 2018).",
    )
    for preset in PRESETS:
        registry.add_preset(family="pets", maturity="experimental", parity_role="unclaimed",
                            reference_spec=PENDULUM, **PENDULUM, **preset, **CODE)
