"""DreamerV3Config: every knob of the official agent, with the official defaults (= size200m / official_xl)."""

from __future__ import annotations

from worldflux.config import config_field, non_negative, one_of, ordered, positive, unit_interval, worldflux_config
from worldflux.errors import ConfigError


@worldflux_config
class DreamerV3Config:
    """Field defaults are danijar/dreamerv3's ``configs.yaml`` defaults."""

    # spec
    obs_shape: tuple[int, ...] = config_field((3, 64, 64), help="observation shape: (C, H, W) uint8 image or (D,) vector")
    obs_space: dict[str, tuple[int, ...]] | None = config_field(
        None, help="dict observations, name -> shape: one (C, H, W) uint8 image (obs_shape is its shape) and any "
                   "number of (D,) vectors; None: one array of obs_shape")
    action_dim: int = config_field(6, help="action size (number of choices when discrete)", validator=positive)
    discrete_actions: bool = config_field(False, help="one-hot discrete actions instead of bounded continuous ones")
    # RSSM
    deter_dim: int = config_field(8192, help="deterministic (GRU) state size", validator=positive)
    stoch_discrete: int = config_field(32, help="number of categorical latents", validator=positive)
    stoch_classes: int = config_field(64, help="classes per categorical latent", validator=positive)
    hidden: int = config_field(1024, help="RSSM hidden width (input projections, prior/posterior MLPs)", validator=positive)
    gru_blocks: int = config_field(8, help="blocks of the block-diagonal GRU", validator=positive)
    dyn_layers: int = config_field(1, help="block-linear layers before the GRU gates", validator=non_negative)
    img_layers: int = config_field(2, help="hidden layers of the prior", validator=non_negative)
    obs_layers: int = config_field(1, help="hidden layers of the posterior", validator=non_negative)
    unimix: float = config_field(0.01, help="uniform mixture of the latent categoricals", validator=unit_interval)
    free_nats: float = config_field(1.0, help="free bits: KL terms are clipped below this many nats per step",
                                    validator=non_negative)
    # encoder / decoder
    units: int = config_field(1024, help="MLP width of encoder, decoder and heads", validator=positive)
    cnn_depth: int = config_field(64, help="CNN base channels (multiplied by cnn_mults per stage)", validator=positive)
    cnn_mults: tuple[int, ...] = config_field((2, 3, 4, 4), help="channel multipliers of the CNN stages")
    cnn_kernel: int = config_field(5, help="CNN kernel size", validator=positive)
    enc_layers: int = config_field(3, help="MLP layers of the vector encoder", validator=non_negative)
    dec_layers: int = config_field(3, help="MLP layers of the vector decoder", validator=non_negative)
    dec_blocks: int = config_field(8, help="blocks of the image decoder's block-linear input (bspace)", validator=positive)
    symlog_inputs: bool = config_field(True, help="symlog vector inputs and vector reconstruction targets")
    # heads
    reward_layers: int = config_field(1, help="MLP layers of the reward head", validator=non_negative)
    cont_layers: int = config_field(1, help="MLP layers of the continue head", validator=non_negative)
    policy_layers: int = config_field(3, help="MLP layers of the actor", validator=non_negative)
    value_layers: int = config_field(3, help="MLP layers of the critic", validator=non_negative)
    bins: int = config_field(255, help="two-hot bins of reward and value, symexp-spaced over [-20, 20] in symlog space",
                             validator=positive)
    policy_min_std: float = config_field(0.1, help="minimum std of continuous actions", validator=positive)
    policy_max_std: float = config_field(1.0, help="maximum std of continuous actions", validator=positive)
    policy_outscale: float = config_field(0.01, help="init scale of the actor's output layer", validator=non_negative)
    # losses
    loss_rec: float = config_field(1.0, help="scale of the reconstruction loss", validator=non_negative)
    loss_rew: float = config_field(1.0, help="scale of the reward loss", validator=non_negative)
    loss_con: float = config_field(1.0, help="scale of the continue loss", validator=non_negative)
    loss_dyn: float = config_field(1.0, help="scale of the dynamics KL", validator=non_negative)
    loss_rep: float = config_field(0.1, help="scale of the representation KL", validator=non_negative)
    loss_policy: float = config_field(1.0, help="scale of the actor loss", validator=non_negative)
    loss_value: float = config_field(1.0, help="scale of the critic loss on imagined returns", validator=non_negative)
    loss_repval: float = config_field(0.3, help="scale of the critic loss on replayed returns", validator=non_negative)
    # actor-critic
    imag_horizon: int = config_field(15, help="imagination length", validator=positive)
    horizon: int = config_field(333, help="discount horizon: discount = 1 - 1/horizon", validator=positive)
    return_lambda: float = config_field(0.95, help="lambda of the lambda-returns", validator=unit_interval)
    actor_entropy: float = config_field(3e-4, help="entropy bonus of the actor", validator=non_negative)
    slow_reg: float = config_field(1.0, help="weight of the slow-critic regulariser", validator=non_negative)
    slow_rate: float = config_field(0.02, help="EMA rate of the slow critic", validator=unit_interval)
    retnorm_rate: float = config_field(0.01, help="EMA rate of the return percentiles", validator=unit_interval)
    retnorm_limit: float = config_field(1.0, help="returns are divided by max(limit, P95 - P5)", validator=positive)
    retnorm_low: float = config_field(5.0, help="lower return percentile", validator=non_negative)
    retnorm_high: float = config_field(95.0, help="upper return percentile", validator=non_negative)
    # optimiser (LaProp with adaptive gradient clipping)
    lr: float = config_field(4e-5, help="learning rate", validator=positive)
    agc: float = config_field(0.3, help="adaptive gradient clipping: update norm <= agc * max(1e-3, param norm)",
                              validator=non_negative)
    eps: float = config_field(1e-20, help="LaProp epsilon", validator=positive)
    beta1: float = config_field(0.9, help="momentum decay", validator=unit_interval)
    beta2: float = config_field(0.999, help="squared-gradient decay", validator=unit_interval)
    warmup: int = config_field(1000, help="linear learning-rate warm-up steps", validator=non_negative)
    # data
    batch_size: int = config_field(16, help="sequences per batch", validator=positive)
    batch_length: int = config_field(64, help="steps per sequence", validator=positive)
    train_ratio: float = config_field(32.0, help="replayed steps trained per environment step", validator=positive)
    act: str = config_field("silu", help="activation", validator=one_of("silu", "gelu", "mish", "relu"))

    def __attrs_post_init__(self) -> None:
        """Checks across fields, so a config that cannot work fails when built, not at the first act."""
        if len(self.obs_shape) not in (1, 3):
            raise ConfigError(f"DreamerV3Config.obs_shape must be (C, H, W) for images or (D,) for vectors; got "
                              f"{self.obs_shape!r}")
        if self.obs_space is not None:
            self._check_obs_space()
        ordered(("policy_min_std", "policy_max_std"), ("retnorm_low", "retnorm_high"))(self)

    def _check_obs_space(self) -> None:
        images = [k for k, shape in self.obs_space.items() if len(shape) == 3]
        if len(images) != 1 or len(images) + len(self.vector_keys) != len(self.obs_space):
            raise ConfigError(f"DreamerV3Config.obs_space must name one (C, H, W) uint8 image and any number of "
                              f"(D,) vectors; got {self.obs_space!r}. Flatten other parts into (D,) vectors, or "
                              f"leave obs_space None for one observation array.")
        if self.obs_space[images[0]] != self.obs_shape:
            raise ConfigError(f"DreamerV3Config.obs_shape {self.obs_shape!r} must be the shape of the image "
                              f"{images[0]!r} in obs_space; pass obs_shape={self.obs_space[images[0]]!r}")

    @property
    def image_key(self) -> str | None:
        """The image's name in a dict observation (None without one): the part the CNN reads."""
        return next((k for k, shape in (self.obs_space or {}).items() if len(shape) == 3), None)

    @property
    def vector_keys(self) -> tuple[str, ...]:
        """The vectors' names in a dict observation, sorted: the official order of their concatenation."""
        return tuple(sorted(k for k, shape in (self.obs_space or {}).items() if len(shape) == 1))

    @property
    def stoch_size(self) -> int:
        """Flattened size of the stochastic state."""
        return self.stoch_discrete * self.stoch_classes

    @property
    def feat_size(self) -> int:
        """Size of the features the heads read: deterministic plus flattened stochastic state."""
        return self.deter_dim + self.stoch_size
