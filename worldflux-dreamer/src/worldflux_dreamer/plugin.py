"""The ``worldflux`` entry point of worldflux-dreamer. Kept light: no torch, no model code."""

from __future__ import annotations

from worldflux import hookimpl
from worldflux.registrar import FamilyRegistrar

CODE = {"config_class": "worldflux_dreamer.config:DreamerV3Config", "builder": "worldflux_dreamer.model:DreamerV3"}
REFERENCE = {"obs_shape": (3, 64, 64), "action_dim": 18, "discrete_actions": True}

# name: (deter, latents, classes, hidden = units, cnn depth, params for REFERENCE, description)
# deter/latents/classes follow the API table; widths scale as the official size presets do.
SIZES = {
    "dreamerv3:size12m": (2048, 16, 16, 256, 16, 9908436, "widths of the official size12m"),
    "dreamerv3:size25m": (4096, 32, 16, 384, 24, 30414900, "widths of the official size25m"),
    "dreamerv3:size50m": (4096, 32, 32, 512, 32, 41659284, "widths of the official size50m"),
    "dreamerv3:size100m": (8192, 32, 32, 768, 48, 121147476, "widths of the official size100m"),
    "dreamerv3:size200m": (8192, 32, 32, 1024, 64, 156527892, "widths of the official size200m"),
}


@hookimpl
def worldflux_register_families(registry: FamilyRegistrar) -> None:
    registry.add_family(
        "dreamerv3",
        description="DreamerV3: a recurrent state-space model with an actor-critic learned in imagination.",
    )
    common = dict(family="dreamerv3", obs_shape=(3, 64, 64), action_dim=6, reference_spec=REFERENCE, **CODE)
    registry.add_preset(
        "dreamer:ci", description="A tiny DreamerV3 for CI and quick checks; not for results.",
        config={"deter_dim": 64, "stoch_discrete": 4, "stoch_classes": 4, "hidden": 32, "units": 32,
                "cnn_depth": 4},
        parity_role="ci-only", param_count=107396, aliases=("dreamer-ci",), **common)
    for name, (deter, latents, classes, width, depth, params, note) in SIZES.items():
        registry.add_preset(
            name, description=f"DreamerV3 with deter {deter}, {latents}x{classes} latents, {note}.",
            config={"deter_dim": deter, "stoch_discrete": latents, "stoch_classes": classes, "hidden": width,
                    "units": width, "cnn_depth": depth},
            param_count=params, **common)
    registry.add_preset(
        "dreamerv3:official_xl",
        description="Exactly the official default configuration (deter 8192, 32x64 latents, width 1024, "
                    "CNN depth 64); the proof-canonical DreamerV3.",
        surface="public", parity_role="proof-canonical", param_count=165967124, **common)
    for alias, target in {"dreamer": "dreamerv3:size12m", "dreamerv3": "dreamerv3:size12m",
                          "dreamer-small": "dreamerv3:size12m", "dreamer-medium": "dreamerv3:size50m",
                          "dreamer-large": "dreamerv3:size200m"}.items():
        registry.add_alias(alias, target)
