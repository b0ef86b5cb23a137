"""DreamerV3 on gymnasium CartPole-v1 (vector observations) through the Trainer: does it learn on 2 CPU cores?

Target: an evaluation return (5 episodes, policy mode) >= 150 within 5,000 env
steps in at least 2 of 3 seeds (random play is about 20). A seed stops early
once it reaches the target. Prints each evaluation, then a summary table.

Configuration: the preset dreamerv3:size1m (the official size1m: deter 512,
hidden 64, 32x4 latents, units 64), batch 16 x 64, lr 3e-4 with 100 warm-up
updates, train ratio 256; everything else at the official defaults.

    python -m benchmarks.dreamer_cartpole --seeds 0 1 2 --threads 2
"""

from __future__ import annotations

from benchmarks.learning import Target, main

if __name__ == "__main__":
    main(__doc__, Target(model="dreamerv3:size1m", env="CartPole-v1", steps=5000, threshold=150.0,
                         eval_every=500, model_overrides={"lr": 3e-4, "warmup": 100},
                         training={"train_ratio": 256.0}))
