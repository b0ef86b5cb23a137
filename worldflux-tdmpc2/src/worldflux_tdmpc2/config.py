"""TDMPC2Config: every knob of the official agent, with the official defaults (state or pixel observations)."""

from __future__ import annotations

from worldflux.config import config_field, non_negative, ordered, positive, unit_interval, worldflux_config
from worldflux.errors import ConfigError

IMAGE_SIZE = 64  # the official conv encoder's input size: its flattened output is num_channels x 4 x 4
CONV_OUT = 4 * 4  # spatial positions left by that conv stack at IMAGE_SIZE


@worldflux_config
class TDMPC2Config:
    """Field defaults are nicklashansen/tdmpc2's ``config.yaml`` with the 5M model size.

    Pixel observations (``obs_shape`` ``(C, 64, 64)``, the official ``obs: rgb``)
    use the official conv encoder, whose flattened output is the latent itself:
    ``latent_dim`` must be ``16 * num_channels`` (``num_channels`` follows it by default). As officially, the last 3
    frames form one observation (``frame_stack``; RGB frames give ``C = 9``).

    Multi-task (``tasks`` non-empty), as officially: observations zero-padded
    to ``obs_shape``, actions to ``action_dim`` with task ``i`` using the first
    ``action_dims[i]``; a learned task embedding joins every network's input;
    each task has its own discount from ``episode_lengths[i]``.
    """

    # spec
    obs_shape: tuple[int, ...] = config_field(
        (39,), help="observation shape: a (D,) state vector, or (C, 64, 64) uint8 images (pixels, channels first)")
    action_dim: int = config_field(6, help="continuous action size, actions in [-1, 1]", validator=positive)
    episode_length: int = config_field(1000, help="episode length; sets the discount (see discount)",
                                       validator=positive)
    episodic: bool = config_field(False, help="learn a termination head and stop returns at terminations")
    frame_stack: int = config_field(3, help="pixels: the env's last frame_stack frames, concatenated on channels, "
                                            "are one observation (obs_shape channels = frame_stack x the frame's); "
                                            "state vectors are not stacked", validator=positive)
    # multi-task
    tasks: tuple[str, ...] = config_field((), help="multi-task: the task names in task-index order (empty: one task)")
    action_dims: tuple[int, ...] | None = config_field(
        None, help="multi-task: each task's action size (<= action_dim); default action_dim for all")
    episode_lengths: tuple[int, ...] | None = config_field(
        None, help="multi-task: each task's episode length (sets its discount); default episode_length for all")
    task_dim: int = config_field(96, help="multi-task: task embedding size", validator=positive)
    # architecture
    latent_dim: int = config_field(512, help="latent state size (SimNorm groups of simnorm_dim)", validator=positive)
    hidden_dim: int = config_field(512, help="MLP width of dynamics, reward, policy and Q networks",
                                   validator=positive)
    enc_dim: int = config_field(256, help="encoder MLP width", validator=positive)
    num_enc_layers: int = config_field(2, help="encoder layers (hidden layers = max(1, this - 1))",
                                       validator=positive)
    num_channels: int | None = config_field(
        None, help="pixels: channels of each of the 4 conv layers of the image encoder, whose flattened output is "
                   "the latent (16 x this = latent_dim); default latent_dim / 16, the official 32 at latent 512",
        validator=positive)
    num_q_networks: int = config_field(5, help="size of the Q ensemble (>= 2)", validator=positive)
    simnorm_dim: int = config_field(8, help="SimNorm group size", validator=positive)
    num_bins: int = config_field(101, help="two-hot bins of reward and Q in symlog space", validator=positive)
    vmin: float = config_field(-10.0, help="lowest bin (symlog space)")
    vmax: float = config_field(10.0, help="highest bin (symlog space)")
    dropout: float = config_field(0.01, help="dropout after the first layer of each Q network",
                                  validator=unit_interval)
    log_std_min: float = config_field(-10.0, help="policy log-std lower bound")
    log_std_max: float = config_field(2.0, help="policy log-std upper bound")
    # losses and optimisation
    horizon: int = config_field(3, help="latent rollout length in training and planning", validator=positive)
    rho: float = config_field(0.5, help="temporal weight rho^t of the multi-step losses", validator=unit_interval)
    consistency_coef: float = config_field(20.0, help="latent consistency loss weight", validator=non_negative)
    reward_coef: float = config_field(0.1, help="reward loss weight", validator=non_negative)
    value_coef: float = config_field(0.1, help="Q loss weight", validator=non_negative)
    termination_coef: float = config_field(1.0, help="termination loss weight (episodic)", validator=non_negative)
    entropy_coef: float = config_field(1e-4, help="policy entropy weight", validator=non_negative)
    tau: float = config_field(0.01, help="Polyak rate of target Qs and of the Q scale", validator=unit_interval)
    lr: float = config_field(3e-4, help="Adam learning rate", validator=positive)
    enc_lr_scale: float = config_field(0.3, help="encoder learning rate = lr * this", validator=non_negative)
    grad_clip_norm: float = config_field(20.0, help="gradient norm clip", validator=positive)
    batch_size: int = config_field(256, help="sequences per update", validator=positive)
    # MPPI
    mpc: bool = config_field(True, help="plan with MPPI (else act with the policy prior)")
    iterations: int = config_field(6, help="MPPI iterations", validator=positive)
    num_samples: int = config_field(512, help="MPPI action sequences per iteration", validator=positive)
    num_elites: int = config_field(64, help="MPPI elites", validator=positive)
    num_pi_trajs: int = config_field(24, help="sequences drawn from the policy prior", validator=non_negative)
    temperature: float = config_field(0.5, help="MPPI score temperature", validator=positive)
    min_std: float = config_field(0.05, help="MPPI minimum std", validator=positive)
    max_std: float = config_field(2.0, help="MPPI initial / maximum std", validator=positive)
    discount_denom: float = config_field(5.0, help="discount rule: frac = episode_length / this", validator=positive)
    discount_min: float = config_field(0.95, help="discount lower bound", validator=unit_interval)
    discount_max: float = config_field(0.995, help="discount upper bound", validator=unit_interval)

    def __attrs_post_init__(self) -> None:
        """Checks across fields, so a config that cannot work fails when built, not at the first act."""
        if len(self.obs_shape) == 3:
            self._check_pixels()
        elif len(self.obs_shape) != 1:
            raise ConfigError(f"TDMPC2Config.obs_shape must be a (D,) state vector or (C, {IMAGE_SIZE}, "
                              f"{IMAGE_SIZE}) images; got {self.obs_shape!r}")
        if not self.vmin < self.vmax:  # the two-hot bins need a span
            raise ConfigError(f"TDMPC2Config.vmin ({self.vmin!r}) must be below vmax ({self.vmax!r})")
        ordered(("log_std_min", "log_std_max"), ("min_std", "max_std"), ("discount_min", "discount_max"))(self)
        for name in ("num_elites", "num_pi_trajs"):  # both are among the num_samples sequences MPPI scores
            if getattr(self, name) > self.num_samples:
                raise ConfigError(f"TDMPC2Config.{name} ({getattr(self, name)}) must not exceed num_samples "
                                  f"({self.num_samples}), the sequences MPPI scores")

    def _check_pixels(self) -> None:
        """The official conv encoder fixes the image size, and its output size is the latent size."""
        size = (IMAGE_SIZE, IMAGE_SIZE)
        if tuple(self.obs_shape[1:]) != size:
            raise ConfigError(f"TDMPC2Config.obs_shape must be a (D,) state vector or (C, {IMAGE_SIZE}, {IMAGE_SIZE}) "
                              f"images, the size the official conv encoder takes; got {self.obs_shape!r}. Resize "
                              f"the images to {IMAGE_SIZE}x{IMAGE_SIZE} (worldflux train does, with image_size="
                              f"{IMAGE_SIZE}).")
        if self.num_channels is None and self.latent_dim % CONV_OUT:
            raise ConfigError(f"TDMPC2Config.latent_dim ({self.latent_dim}) must be a multiple of {CONV_OUT} for "
                              f"images: the official conv encoder's flattened output ({CONV_OUT} x num_channels) is "
                              f"the latent. Set latent_dim={CONV_OUT * max(1, round(self.latent_dim / CONV_OUT))}.")
        if self.latent_dim != CONV_OUT * self.conv_channels:
            fix = f"latent_dim={CONV_OUT * self.conv_channels}"
            if self.latent_dim % CONV_OUT == 0:
                fix = f"num_channels={self.latent_dim // CONV_OUT} (or leave it unset) or {fix}"
            raise ConfigError(f"TDMPC2Config.latent_dim ({self.latent_dim}) must equal {CONV_OUT} x num_channels "
                              f"({CONV_OUT * self.conv_channels}) for images: the official conv encoder's flattened "
                              f"output is the latent. Set {fix}.")
        if self.tasks:
            raise ConfigError("TDMPC2Config: multi-task models take state vectors only, as officially (the task "
                              "embedding joins a vector input). Use one task for images, or state observations.")

    @property
    def pixels(self) -> bool:
        """Whether observations are images (the conv encoder) rather than state vectors."""
        return len(self.obs_shape) == 3

    @property
    def conv_channels(self) -> int:
        """Channels of the image encoder's convs: ``num_channels``, by default ``latent_dim / 16``."""
        return self.num_channels if self.num_channels is not None else self.latent_dim // CONV_OUT

    @property
    def discount(self) -> float:
        """The official rule: ``(frac - 1) / frac`` clipped to [min, max], ``frac = episode_length / denom``."""
        return self.discount_for(self.episode_length)

    def discount_for(self, episode_length: int) -> float:
        """The discount of a task whose episodes last ``episode_length`` steps."""
        frac = episode_length / self.discount_denom
        return min(max((frac - 1) / frac, self.discount_min), self.discount_max)

    @property
    def multitask(self) -> bool:
        return bool(self.tasks)

    @property
    def task_action_dims(self) -> tuple[int, ...]:
        """Each task's action size (multi-task)."""
        return self.action_dims if self.action_dims is not None else (self.action_dim,) * len(self.tasks)

    @property
    def discounts(self) -> tuple[float, ...]:
        """Each task's discount (multi-task)."""
        lengths = self.episode_lengths if self.episode_lengths is not None else (self.episode_length,) * len(self.tasks)
        return tuple(self.discount_for(n) for n in lengths)

    @property
    def seed_steps(self) -> int:
        """Random-action steps before training: ``max(1000, 5 * episode_length)``."""
        return max(1000, 5 * self.episode_length)

    @property
    def mppi_iterations(self) -> int:
        """Iterations, plus 2 for large action spaces (>= 20 dims) as officially."""
        return self.iterations + 2 * int(self.action_dim >= 20)
