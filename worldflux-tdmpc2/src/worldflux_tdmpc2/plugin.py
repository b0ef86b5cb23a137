"""The ``worldflux`` entry point of worldflux-tdmpc2. Kept light: no torch, no model code."""

from __future__ import annotations

from worldflux import hookimpl
from worldflux.registrar import FamilyRegistrar

CODE = {"config_class": "worldflux_tdmpc2.config:TDMPC2Config", "builder": "worldflux_tdmpc2.model:TDMPC2"}
REFERENCE = {"obs_shape": (39,), "action_dim": 6}

# name: (config, surface, parity role, params for REFERENCE, description)
PRESETS = {
    "tdmpc2:ci": ({"latent_dim": 32, "hidden_dim": 32, "enc_dim": 32, "num_q_networks": 2, "num_samples": 64,
                   "num_elites": 8, "num_pi_trajs": 4, "iterations": 2, "batch_size": 16},
                  "supported", "ci-only", 25947, "A tiny TD-MPC2 for CI and quick checks; not for results."),
    "tdmpc2:5m": ({"latent_dim": 256, "hidden_dim": 256}, "supported", "compatibility", 1373802,
                  "Compatibility preset: latent 256, MLP 256, encoder 256x2, 5 Qs (not the official 5M model)."),
    "tdmpc2:proof_5m": ({}, "public", "proof-canonical", 4964458,
                        "Exactly the official 5M model: encoder 256 (2 layers), MLP 512, latent 512, 5 Qs. "
                        "The API table's 256/256 does not match the official model; this preset does."),
    "tdmpc2:5m_legacy": ({"latent_dim": 256, "hidden_dim": 256}, "supported", "legacy-compatibility", 1373802,
                         "Legacy compatibility preset: latent 256, MLP 256, encoder 256x2, 5 Qs."),
    "tdmpc2:19m": ({"latent_dim": 512, "hidden_dim": 512, "enc_dim": 1024, "num_enc_layers": 3}, "supported",
                   "reference-family", 6441578, "latent 512, MLP 512, encoder 1024x3, 5 Qs."),
    "tdmpc2:48m": ({"latent_dim": 512, "hidden_dim": 1024, "enc_dim": 1792, "num_enc_layers": 4}, "supported",
                   "reference-family", 21261930, "latent 512, MLP 1024, encoder 1792x4, 5 Qs."),
    "tdmpc2:317m": ({"latent_dim": 1024, "hidden_dim": 2048, "enc_dim": 4096, "num_enc_layers": 5}, "supported",
                    "reference-family", 108620394, "latent 1024, MLP 2048, encoder 4096x5, 5 Qs."),
    "tdmpc2:official_1m": ({"latent_dim": 128, "hidden_dim": 384, "enc_dim": 256, "num_q_networks": 2},
                           "public", "official-size", 1218491, "The official 1M model: encoder 256x2, MLP 384, latent 128, 2 Qs."),
    "tdmpc2:official_19m": ({"latent_dim": 768, "hidden_dim": 1024, "enc_dim": 1024, "num_enc_layers": 3},
                            "public", "official-size", 18077802, "The official 19M model: encoder 1024x3, MLP 1024, latent 768, 5 Qs."),
    "tdmpc2:official_48m": ({"latent_dim": 768, "hidden_dim": 1792, "enc_dim": 1792, "num_enc_layers": 4},
                            "public", "official-size", 47235178, "The official 48M model: encoder 1792x4, MLP 1792, latent 768, 5 Qs."),
    "tdmpc2:official_317m": ({"latent_dim": 1376, "hidden_dim": 4096, "enc_dim": 4096, "num_enc_layers": 5,
                              "num_q_networks": 8}, "public", "official-size", 312656857,
                             "The official 317M model: encoder 4096x5, MLP 4096, latent 1376, 8 Qs."),
}
ALIASES = {"tdmpc": "tdmpc2:5m", "tdmpc2": "tdmpc2:5m", "tdmpc2-ci": "tdmpc2:ci", "tdmpc-small": "tdmpc2:5m",
           "tdmpc-medium": "tdmpc2:48m", "tdmpc-large": "tdmpc2:317m"}


@hookimpl
def worldflux_register_families(registry: FamilyRegistrar) -> None:
    registry.add_family(
        "tdmpc2",
        description="TD-MPC2: a decoder-free latent model with a Q ensemble, planned with MPPI.",
    )
    for name, (config, surface, role, params, description) in PRESETS.items():
        registry.add_preset(name, family="tdmpc2", description=description, obs_shape=(39,), action_dim=6,
                            config=config, surface=surface, parity_role=role, param_count=params,
                            reference_spec=REFERENCE, **CODE)
    for alias, target in ALIASES.items():
        registry.add_alias(alias, target)
