"""PETSConfig: the ensemble, its training and the CEM planner, in one frozen config."""

from __future__ import annotations

from worldflux.config import config_field, non_negative, ordered, positive, unit_interval, worldflux_config
from worldflux.errors import ConfigError


@worldflux_config
class PETSConfig:
    """The defaults (the ``pets:small`` preset) learn Pendulum-v1 on a 2-core CPU in minutes (see the README).

    The paper's values, where they differ: members of 3-4 hidden layers of 200
    units, trained with plain NLL (``nll_beta=0``) to convergence after each
    episode; CEM with population 400-500, 40-50 elites, 5 iterations, 20
    particles, horizon 25-30. Here the hidden width and the CEM budget are cut
    to keep planning under 0.1 s per step on a CPU.
    """

    # spec
    obs_shape: tuple[int, ...] = config_field((3,), help="observation shape: a (D,) state vector")
    action_dim: int = config_field(1, help="continuous action size, actions in [-1, 1]", validator=positive)
    # ensemble
    ensemble_size: int = config_field(5, help="ensemble members (bootstrapped dynamics networks)",
                                      validator=positive)
    hidden_dim: int = config_field(64, help="width of each member's hidden layers", validator=positive)
    num_layers: int = config_field(3, help="hidden layers per member", validator=positive)
    min_logvar: float = config_field(-10.0, help="initial lower soft bound of the predicted log-variance")
    max_logvar: float = config_field(0.5, help="initial upper soft bound of the predicted log-variance")
    logvar_bound_coef: float = config_field(0.01, help="loss weight pulling the learned log-variance bounds "
                                                       "together (the paper's 0.01)", validator=non_negative)
    nll_beta: float = config_field(0.5, help="beta-NLL weight var^beta on each sample's NLL (0: the paper's plain "
                                              "NLL, which stops fitting samples it calls noisy)",
                                   validator=unit_interval)
    # training
    lr: float = config_field(1e-3, help="Adam learning rate", validator=positive)
    weight_decay: float = config_field(5e-5, help="L2 penalty on the members' weight matrices",
                                       validator=non_negative)
    batch_size: int = config_field(32, help="transitions per member per update (each member gets its own)",
                                   validator=positive)
    updates_per_step: float = config_field(2.0, help="model updates per env step once training has started",
                                           validator=positive)
    seed_steps: int = config_field(200, help="random-action env steps before the first update",
                                   validator=non_negative)
    pretrain_updates: float = config_field(1.0, help="updates per seed step, done at once when training starts",
                                           validator=non_negative)
    # CEM planner
    horizon: int = config_field(20, help="planning horizon in env steps", validator=positive)
    population: int = config_field(100, help="CEM action sequences per iteration", validator=positive)
    elites: int = config_field(20, help="CEM elites refitting the sampling distribution", validator=positive)
    iterations: int = config_field(4, help="CEM iterations per env step", validator=positive)
    particles: int = config_field(5, help="trajectory-sampling particles per sequence (a multiple of "
                                          "ensemble_size: each member carries the same number)", validator=positive)
    init_std: float = config_field(0.5, help="CEM initial action std (the paper's (ub - lb) / 4)",
                                   validator=positive)
    alpha: float = config_field(0.1, help="CEM smoothing: new mean = alpha * old + (1 - alpha) * elite mean",
                                validator=unit_interval)

    def __attrs_post_init__(self) -> None:
        """Checks across fields, so a config that cannot work fails when built, not at the first act."""
        if len(self.obs_shape) != 1:
            raise ConfigError(f"PETSConfig.obs_shape must be a (D,) state vector; got {self.obs_shape!r}. "
                              f"PETS models vector observations, not images.")
        if self.elites > self.population:
            raise ConfigError(f"PETSConfig.elites ({self.elites}) must not exceed population ({self.population})")
        if self.particles % self.ensemble_size:
            raise ConfigError(f"PETSConfig.particles ({self.particles}) must be a multiple of ensemble_size "
                              f"({self.ensemble_size}) so every member carries the same number of particles")
        ordered(("min_logvar", "max_logvar"))(self)
