"""The ``worldflux`` entry point of worldflux-backends. Kept light: names and lazy references, no backend code."""

from __future__ import annotations

from worldflux.hookspecs import hookimpl
from worldflux.registrar import BackendRegistrar


@hookimpl
def worldflux_register_backends(registry: BackendRegistrar) -> None:
    registry.add_backend(
        "worldflux_dreamerv3_jax_subprocess",
        description="The official DreamerV3 (danijar/dreamerv3, JAX) in its own Python environment, as a subprocess.",
        presets=("dreamerv3:official_xl", "dreamerv3:size*"),
        launcher="worldflux_backends.dreamerv3_jax:launch",
        check="worldflux_backends.dreamerv3_jax:check",
        aliases=("official_dreamerv3_jax_subprocess",),
    )
    registry.add_backend(
        "official_tdmpc2_torch_subprocess",
        description="The official TD-MPC2 (nicklashansen/tdmpc2, PyTorch) checkout, as a subprocess.",
        presets=("tdmpc2:1m", "tdmpc2:5m", "tdmpc2:proof_5m", "tdmpc2:19m", "tdmpc2:48m", "tdmpc2:317m"),
        launcher="worldflux_backends.tdmpc2_torch:launch",
        check="worldflux_backends.tdmpc2_torch:check",
    )
    registry.add_backend(
        "ray",
        description="Native WorldFlux training runs on a Ray cluster (RAY_ADDRESS, or a local Ray started on demand).",
        presets=("*",),
        launcher="worldflux_backends.ray_cluster:launch",
        check="worldflux_backends.ray_cluster:check",
    )
