"""TrainingConfig: everything about a training run that is not the model (the model config holds its optimiser)."""

from __future__ import annotations

from worldflux.config import config_field, evolve_config, non_negative, one_of, positive, worldflux_config
from worldflux.records import NATIVE_BACKEND


@worldflux_config
class TrainingConfig:
    """A training run: environment, budget, schedule, logging, and where it executes."""

    env: str | None = config_field(
        None, help="gymnasium id (e.g. Pendulum-v1), dmc:domain-task[:pixels] (dm_control) or atari:game (ale-py)")
    steps: int = config_field(10_000, help="total environment steps, summed over all environments",
                              validator=positive)
    seed: int = config_field(0, help="seed of weights, environments, replay sampling and exploration")
    device: str = config_field("cpu", help="torch device of the model: cpu, cuda, cuda:1, mps")
    num_envs: int = config_field(1, help="environments stepped together (one batched act per step)",
                                 validator=positive)
    train_ratio: float | None = config_field(
        None, help="replayed steps trained per env step; updates per env step = train_ratio / "
                   "(batch size * sequence length). None: the family's default", validator=positive)
    seed_steps: int | None = config_field(None, help="random-action env steps before training; None: the "
                                                     "family's default", validator=non_negative)
    eval_every: int | None = config_field(None, help="env steps between evaluations (0: never; None: a quarter of "
                                                     "the run, at most 5,000)", validator=non_negative)
    eval_episodes: int = config_field(5, help="episodes per evaluation, acting without exploration",
                                      validator=positive)
    checkpoint_every: int | None = config_field(None, help="env steps between checkpoints (one is also written at "
                                                            "the end and on cancel; None: as eval_every, or at "
                                                            "most 5,000 when it is 0)", validator=positive)
    log_every: int | None = config_field(None, help="env steps between metrics records (None: an eighth of the run, "
                                                    "at most 1,000)", validator=positive)
    run_dir: str | None = config_field(None, help="run directory (log dir); None: runs/<model>-<env>-<time>")
    replay_capacity: int = config_field(1_000_000, help="replay size in env steps; the oldest are dropped",
                                        validator=positive)
    image_size: int | None = config_field(None, help="image observations are resized to image_size x image_size "
                                                     "(None: square frames keep their size, others become 64 x 64)",
                                          validator=positive)
    backend: str = config_field(NATIVE_BACKEND, help="where the run executes: native_torch or a registered "
                                                      "backend (see `worldflux backends list`)")
    backend_profile: str | None = config_field(None, help="the backend's named settings, e.g. official_xl")
    compile: bool = config_field(
        False, help="torch.compile the agent's hot paths (DreamerV3: the RSSM steps; TD-MPC2: the losses and planning)")
    precision: str = config_field("fp32", help="fp32, or bf16 autocast for acting and updates",
                                  validator=one_of("fp32", "bf16"))

    def resolved(self) -> TrainingConfig:
        """This config with the intervals left at None set from ``steps``, so short runs still evaluate and log."""
        evaluate = self.eval_every if self.eval_every is not None else min(5_000, -(-self.steps // 4))
        checkpoint = self.checkpoint_every or evaluate or min(5_000, self.steps)
        log_every = self.log_every or min(1_000, -(-self.steps // 8))
        return evolve_config(self, {"eval_every": evaluate, "checkpoint_every": checkpoint, "log_every": log_every})
