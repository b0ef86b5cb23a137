"""The ``worldflux`` entry point of worldflux-dreamer. Kept light: no torch, no model code."""

from __future__ import annotations

from worldflux import hookimpl
from worldflux.registrar import FamilyRegistrar

CODE = {"config_class": "worldflux_dreamer.config:DreamerV3Config", "builder": "worldflux_dreamer.model:DreamerV3",
        "agent": "worldflux_dreamer.agent:DreamerAgent"}
REFERENCE = {"obs_shape": (3, 64, 64), "action_dim": 18, "discrete_actions": True}  # param_count is for this spec


def _official(deter: int, width: int, classes: int, param_count: int) -> dict:
    """An official size: MLP and GRU-input width ``width``, ``classes`` classes per latent and CNN depth."""
    config = dict(deter_dim=deter, hidden=width, stoch_classes=classes, cnn_depth=classes, units=width)
    return dict(config=config, param_count=param_count)


# The official sizes (danijar/dreamerv3 configs.yaml sizeXm), 32 latents throughout. param_count is measured
# for REFERENCE and equals the official agent's.
SIZES = {
    "size1m": _official(512, 64, 4, 688_004),
    "size12m": _official(2048, 256, 16, 10_498_772),
    "size25m": _official(3072, 384, 24, 23_496_244),
    "size50m": _official(4096, 512, 32, 41_659_284),
    "size100m": _official(6144, 768, 48, 93_482_068),
    "size200m": _official(8192, 1024, 64, 165_967_124),
    "size400m": _official(12288, 1536, 96, 372_924_052),
}
# Training settings for short runs (docs/learning.md shows what they learn); the rest are the official ones.
QUICK = {"lr": 3e-4, "warmup": 100, "train_ratio": 256.0}


@hookimpl
def worldflux_register_families(registry: FamilyRegistrar) -> None:
    registry.add_family(
        "dreamerv3",
        description="DreamerV3: a recurrent state-space model with an actor-critic learned in imagination.",
        prefixes=("dreamer",),
    )
    common = dict(family="dreamerv3", obs_shape=(3, 64, 64), action_dim=6, reference_spec=REFERENCE,
                  maturity="reference", **CODE)
    registry.add_preset(
        "dreamer:ci", description="A tiny DreamerV3 for CI and quick checks; not for results.",
        config={"deter_dim": 64, "stoch_discrete": 4, "stoch_classes": 4, "hidden": 32, "units": 32,
                "cnn_depth": 4},
        parity_role="ci-only", param_count=107_396, aliases=("dreamer-ci",), **common)
    registry.add_preset(
        "dreamer:quick",
        description="The official size1m network trained for budgets of a few thousand env steps: lr 3e-4 "
                    "with 100 warm-up updates, train ratio 256 (size1m: lr 4e-5, 1,000, 32).",
        config={**SIZES["size1m"]["config"], **QUICK}, param_count=SIZES["size1m"]["param_count"],
        parity_role="unclaimed", **common)
    for size, preset in SIZES.items():
        c = preset["config"]
        registry.add_preset(
            f"dreamerv3:{size}",
            description=f"The official {size}: deter {c['deter_dim']}, 32x{c['stoch_classes']} latents, hidden "
                        f"{c['hidden']}, units {c['units']}, CNN depth {c['cnn_depth']}.",
            parity_role="reference-family", **preset, **common)
    registry.add_preset(
        "dreamerv3:official_xl",
        description="The official default configuration (= size200m: deter 8192, 32x64 latents, width 1024, "
                    "CNN depth 64) in the proof-canonical role.",
        surface="public", parity_role="proof-canonical", param_count=165_967_124,
        evidence=("parameters: equal to the official agent's at this size (conformance kit, 1% tolerance)",
                  "CI: worldflux-dreamer/tests/test_parity.py matches fixtures recorded from the official code "
                  "(embedding, observe/imagine steps, heads, each loss, parameters after one LaProp update)",
                  "live: `worldflux parity check dreamerv3:official_xl`: forward pass and every loss term match; "
                  "the first update differs where gradients are float32 noise (docs/parity.md)",
                  "learning: docs/parity/dreamerv3-size1m-cartpole (the same code at size1m)"),
        **common)
    for alias, target in {"dreamer": "dreamerv3:size12m", "dreamerv3": "dreamerv3:size12m",
                          "dreamer-small": "dreamerv3:size12m", "dreamer-medium": "dreamerv3:size50m",
                          "dreamer-large": "dreamerv3:size200m"}.items():
        registry.add_alias(alias, target)
    registry.add_official(
        "official-dreamerv3", family="dreamerv3",
        description="danijar/dreamerv3: converts its agent.pkl checkpoints (read without unpickling code) and "
                    "checks parity by running it.",
        convert="worldflux_dreamer.official:convert", probe="worldflux_dreamer.parity_probe",
        compare="worldflux_dreamer.parity:compare", python_env="WORLDFLUX_DREAMERV3_PYTHON",
        checkout_env="WORLDFLUX_DREAMERV3_CHECKOUT", backend="worldflux_dreamerv3_jax_subprocess")
