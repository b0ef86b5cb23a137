"""The ``worldflux`` entry point of worldflux-tdmpc2. Kept light: no torch, no model code."""

from __future__ import annotations

from worldflux import hookimpl
from worldflux.registrar import FamilyRegistrar

CODE = {"config_class": "worldflux_tdmpc2.config:TDMPC2Config", "builder": "worldflux_tdmpc2.model:TDMPC2",
        "agent": "worldflux_tdmpc2.agent:TDMPC2Agent"}
REFERENCE = {"obs_shape": (24,), "action_dim": 6}  # param_count below is measured for this spec

# The official model sizes (nicklashansen/tdmpc2, tdmpc2/common/__init__.py MODEL_SIZE).
OFFICIAL = {
    1: {"enc_dim": 256, "hidden_dim": 384, "latent_dim": 128, "num_enc_layers": 2, "num_q_networks": 2},
    5: {"enc_dim": 256, "hidden_dim": 512, "latent_dim": 512, "num_enc_layers": 2},
    19: {"enc_dim": 1024, "hidden_dim": 1024, "latent_dim": 768, "num_enc_layers": 3},
    48: {"enc_dim": 1792, "hidden_dim": 1792, "latent_dim": 768, "num_enc_layers": 4},
    317: {"enc_dim": 4096, "hidden_dim": 4096, "latent_dim": 1376, "num_enc_layers": 5, "num_q_networks": 8},
}


def _official(size: int) -> str:
    c = OFFICIAL[size]
    return (f"encoder {c['enc_dim']}x{c['num_enc_layers']}, MLP {c['hidden_dim']}, latent {c['latent_dim']}, "
            f"{c.get('num_q_networks', 5)} Qs")


PRESETS = [
    dict(name="tdmpc2:ci", param_count=25_467, parity_role="ci-only",
         config={"latent_dim": 32, "hidden_dim": 32, "enc_dim": 32, "num_q_networks": 2, "num_samples": 64,
                 "num_elites": 8, "num_pi_trajs": 4, "iterations": 2, "batch_size": 16},
         description="A tiny TD-MPC2 for CI and quick checks; not for results."),
    dict(name="tdmpc2:quick", param_count=190_651, parity_role="unclaimed",
         config={"latent_dim": 64, "hidden_dim": 128, "enc_dim": 128, "num_q_networks": 2, "num_samples": 256,
                 "num_elites": 32, "num_pi_trajs": 16, "iterations": 4},
         description="A small TD-MPC2 (latent 64, MLP 128, encoder 128x2, 2 Qs) planning with 256 samples x 4 "
                     "iterations: learns classic-control tasks in a few thousand env steps on a CPU."),
    dict(name="tdmpc2:1m", param_count=1_214_651, config=OFFICIAL[1],
         description=f"The official 1M model: {_official(1)}."),
    dict(name="tdmpc2:5m", param_count=4_960_618, parity_role="compatibility", config=OFFICIAL[5],
         description=f"The official 5M model: {_official(5)}."),
    dict(name="tdmpc2:proof_5m", param_count=4_960_618, parity_role="proof-canonical", surface="public",
         config=OFFICIAL[5],
         description=f"The official 5M model ({_official(5)}) in the proof-canonical role: the preset that "
                     f"parity evidence is about.",
         evidence=("CI: worldflux-tdmpc2/tests/test_parity.py matches fixtures recorded from the official code "
                   "(losses, grad norm, parameters after 5 updates, MPPI plan; single-task, episodic, multi-task)",
                   "live: `worldflux parity check tdmpc2:proof_5m` reruns the official code (docs/parity.md)",
                   "checkpoints: an official 5M .pt converts to exactly its weights and gives the official Q "
                   "values and plan (docs/parity.md)",
                   "learning: docs/parity/tdmpc2-1m-cartpole-balance (the same code at the official 1M size)")),
    dict(name="tdmpc2:5m_legacy", param_count=1_369_962, parity_role="legacy-compatibility",
         config={"latent_dim": 256, "hidden_dim": 256},
         description="The API table's 256/256/5 network (latent 256, MLP 256, encoder 256x2, 5 Qs); "
                     "not an official size."),
    dict(name="tdmpc2:19m", param_count=18_062_442, config=OFFICIAL[19],
         description=f"The official 19M model: {_official(19)}."),
    dict(name="tdmpc2:48m", param_count=47_208_298, config=OFFICIAL[48],
         description=f"The official 48M model: {_official(48)}."),
    dict(name="tdmpc2:317m", param_count=312_595_417, config=OFFICIAL[317],
         description=f"The official 317M model: {_official(317)}."),
]
ALIASES = {"tdmpc": "tdmpc2:5m", "tdmpc2": "tdmpc2:5m", "tdmpc2-ci": "tdmpc2:ci", "tdmpc-small": "tdmpc2:5m",
           "tdmpc-medium": "tdmpc2:48m", "tdmpc-large": "tdmpc2:317m",
           # names of earlier releases
           "tdmpc2:official_1m": "tdmpc2:1m", "tdmpc2:official_19m": "tdmpc2:19m",
           "tdmpc2:official_48m": "tdmpc2:48m", "tdmpc2:official_317m": "tdmpc2:317m"}


@hookimpl
def worldflux_register_families(registry: FamilyRegistrar) -> None:
    registry.add_family(
        "tdmpc2",
        description="TD-MPC2: a decoder-free latent model with a Q ensemble, planned with MPPI.",
    )
    for preset in PRESETS:
        registry.add_preset(family="tdmpc2", obs_shape=(39,), action_dim=6, reference_spec=REFERENCE,
                            maturity="reference",
                            **{"parity_role": "reference-family", **preset, **CODE})
    for alias, target in ALIASES.items():
        registry.add_alias(alias, target)
    registry.add_official(
        "official-tdmpc2", family="tdmpc2",
        description="nicklashansen/tdmpc2: its checkpoints ({'model': state_dict}, single- and multi-task) "
                    "convert to and from saved models; its code runs as the parity reference.",
        convert="worldflux_tdmpc2.official:convert", export="worldflux_tdmpc2.official:export",
        probe="worldflux_tdmpc2.parity_probe", compare="worldflux_tdmpc2.parity:compare",
        python_env="WORLDFLUX_TDMPC2_PYTHON", checkout_env="WORLDFLUX_TDMPC2_CHECKOUT",
        backend="official_tdmpc2_torch_subprocess",
    )
