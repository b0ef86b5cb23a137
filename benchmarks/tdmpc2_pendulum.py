"""TD-MPC2 on gymnasium Pendulum-v1 through the Trainer (CPU): does it learn?

Target: an evaluation return (5 episodes, MPPI without exploration noise)
>= -250 by 3,000 env steps in at least 2 of 3 seeds (random play is about
-1,200). A seed stops early once it reaches the target.

Configuration: tdmpc2:ci widened to latent 64, MLP 128, encoder 128, 2 Qs,
4 MPPI iterations x 256 samples (32 elites, 16 policy trajectories), batch
256; the rest at the official defaults and schedule (1,000 random seed steps,
then as many updates at once, then one update per env step).

    python -m benchmarks.tdmpc2_pendulum --seeds 0 1 2 --threads 2
"""

from __future__ import annotations

from benchmarks.learning import Target, main

CONFIG = {"latent_dim": 64, "hidden_dim": 128, "enc_dim": 128, "num_q_networks": 2, "iterations": 4,
          "num_samples": 256, "num_elites": 32, "num_pi_trajs": 16, "batch_size": 256}

if __name__ == "__main__":
    main(__doc__, Target(model="tdmpc2:ci", env="Pendulum-v1", steps=3000, threshold=-250.0, eval_every=500,
                         model_overrides=CONFIG, training={}))
