"""TD-MPC2 from pixels: the official conv encoder with random shifts, its config checks, agent and Trainer runs."""

import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from worldflux import create_world_model
from worldflux.errors import ConfigError
from worldflux.testing import WorldModelConformance
from worldflux.training import Trainer, create_for_env
from worldflux.types import Batch
from worldflux_tdmpc2.agent import TDMPC2Agent
from worldflux_tdmpc2.layers import PixelEncoder, ShiftAug

# the training tests' helpers: their tiny image env and short run settings
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "training"))
from training_helpers import TINY, TinyPixels, short_run

PIXELS = {"obs_shape": (3, 64, 64), "action_dim": 2, "num_channels": 8, "latent_dim": 128}  # latent = 16 x channels


class TinyPixelsBox(TinyPixels):
    """The training tests' tiny image env with a continuous action: ``a > 0`` is its action 1."""

    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def step(self, action):  # type: ignore[no-untyped-def]
        return super().step(int(action[0] > 0))


if "WorldfluxTinyPixelsBox-v0" not in gym.registry:
    gym.register("WorldfluxTinyPixelsBox-v0", entry_point=TinyPixelsBox, max_episode_steps=5)


def _model(**changes):
    torch.manual_seed(0)
    return create_world_model("tdmpc2:ci", **{**PIXELS, **changes})


def _images(*lead):
    return torch.randint(0, 256, (*lead, 3, 64, 64), dtype=torch.uint8)


def _batch(b=4, t=4):
    return Batch(obs=_images(b, t), action=torch.rand(b, t, 2) * 2 - 1, reward=torch.randn(b, t),
                 is_first=torch.zeros(b, t, dtype=torch.bool), is_terminal=torch.zeros(b, t, dtype=torch.bool))


def test_encode_and_predict_shapes():
    model = _model()
    state = model.encode(_images(5))
    assert state["z"].shape == (5, 128)
    assert torch.allclose(state["z"].sum(-1), torch.full((5,), 128 / 8))  # SimNorm: 16 groups of 8 sum to 1 each
    assert model.encode(_images(2, 3))["z"].shape == (2, 3, 128)
    pred = model.predict(state, torch.zeros(5, 2))
    assert pred.state["z"].shape == (5, 128) and pred.reward.shape == (5,) and pred.cont.shape == (5,)
    assert model.value(state).shape == (5,)


@pytest.mark.parametrize("name, changes, official", [
    ("tdmpc2:5m", {}, 4_869_962), ("tdmpc2:5m", {"obs_shape": (9, 64, 64)}, 4_879_370),
    ("tdmpc2:1m", {"num_channels": 8}, 1_178_547),
])
def test_parameter_counts_equal_the_official_rgb_model(name, changes, official):
    """Counted from nicklashansen/tdmpc2 HEAD e9f5932's WorldModel with obs rgb, action 6 (see docs/tdmpc2.md)."""
    model = create_world_model(name, device="meta", **{"obs_shape": (3, 64, 64), "action_dim": 6, **changes})
    assert model.num_parameters() == official


def test_the_encoder_is_the_official_conv_stack():
    """nicklashansen/tdmpc2 layers.conv at the official num_channels 32: 48,864 parameters for 3 channels."""
    encoder = create_world_model("tdmpc2:5m", device="meta", obs_shape=(3, 64, 64), action_dim=6).encoder
    assert isinstance(encoder, PixelEncoder)
    assert [tuple(p.shape) for p in encoder.parameters()] == [
        (32, 3, 7, 7), (32,), (32, 32, 5, 5), (32,), (32, 32, 3, 3), (32,), (32, 32, 3, 3), (32,)]
    assert sum(p.numel() for p in encoder.parameters()) == 48_864


def test_encoder_outputs_equal_the_official_code():
    """Pinned from the official conv (seed 0 weights, seed 7 shifts) run on the same input: same draws, same result."""
    torch.manual_seed(0)
    features = PixelEncoder(3, 8, torch.nn.Identity())  # before SimNorm, where differences are not squashed
    x = (torch.arange(2 * 3 * 64 * 64) * 7 % 256).to(torch.uint8).reshape(2, 3, 64, 64)
    torch.manual_seed(7)
    with torch.no_grad():
        y = features(x)
    official = torch.tensor([[-0.07815020, -0.07887918, -0.07716440, -0.07492896, -0.07815017, -0.07887914],
                             [-0.07860371, -0.08036566, -0.07308888, -0.07939348, -0.07835252, -0.08062915]])
    assert torch.allclose(y[:, :6], official, atol=1e-6, rtol=0)
    assert (y * torch.arange(128)).sum().item() == pytest.approx(-227.25381470, abs=1e-3)


def _official_shift(x, pad=3):
    """The official formulation: grid_sample of the replicate-padded image at pixel centres, same draws."""
    n, _, h, _ = x.shape
    size = h + 2 * pad
    padded = F.pad(x.float(), (pad,) * 4, mode="replicate")
    centres = torch.linspace(-1 + 1 / size, 1 - 1 / size, size)[:h]
    grid = torch.stack(torch.meshgrid(centres, centres, indexing="xy"), -1)
    offset = torch.randint(0, 2 * pad + 1, (n, 1, 1, 2), dtype=torch.float32)
    return F.grid_sample(padded, grid + offset * (2 / size), padding_mode="zeros", align_corners=False)


@pytest.mark.parametrize("train", [True, False])
def test_shifts_are_random_whole_pixel_crops_in_train_and_eval_mode_as_officially(train):
    """The official ShiftAug has no eval switch: acting and TD targets see shifted images too."""
    aug = ShiftAug().train(train)
    x = torch.randint(0, 256, (16, 3, 64, 64), dtype=torch.uint8)
    padded = F.pad(x.float(), (3, 3, 3, 3), mode="replicate").to(torch.uint8)
    out = aug(x)
    assert out.dtype == torch.uint8 and out.is_contiguous(memory_format=torch.channels_last)
    for image, source in zip(out, padded):  # each output is the padded image cropped at a shift in [0, 6]^2
        crops = [source[:, dy:dy + 64, dx:dx + 64] for dy in range(7) for dx in range(7)]
        assert any(torch.equal(image, c) for c in crops)
    assert not torch.equal(out, aug(x))  # fresh shifts per call
    torch.manual_seed(4)
    first = aug(x)
    torch.manual_seed(4)
    assert torch.equal(first, aug(x))  # drawn from torch's generator
    torch.manual_seed(4)
    official = _official_shift(x)
    assert (first.float() - official).abs().max() < 1e-2  # the same crops, up to grid_sample's rounding (of 255)


def test_uint8_images_are_taken_as_stored():
    model = _model()
    images = _images(3)
    torch.manual_seed(1)
    stored = model.encode(images)["z"]
    torch.manual_seed(1)
    assert torch.equal(stored, model.encode(images.float())["z"])


@pytest.mark.parametrize("changes,message", [
    ({"obs_shape": (3, 32, 32)}, r"got \(3, 32, 32\)\. Resize the images to 64x64 \(worldflux train does"),
    ({"obs_shape": (64, 64, 3)}, r"\(C, 64, 64\) images"),
    ({"num_channels": 32},
     r"latent_dim \(128\) must equal 16 x num_channels \(512\).*Set num_channels=8 \(or leave it unset\) or "
     r"latent_dim=512\."),
    ({"num_channels": None, "latent_dim": 100}, r"latent_dim \(100\) must be a multiple of 16.*latent_dim=96\."),
    ({"tasks": ("a", "b")}, r"multi-task models take state vectors only, as officially"),
])
def test_a_pixel_config_that_cannot_work_names_the_fix(changes, message):
    with pytest.raises(ConfigError, match=message):
        create_world_model("tdmpc2:ci", **{**PIXELS, **changes})


def test_the_agent_acts_and_updates_on_uint8_pixels():
    model = _model(batch_size=4, num_samples=16, num_elites=4, num_pi_trajs=2, iterations=1)
    agent = TDMPC2Agent(model, num_envs=2)
    action = agent.act(_images(2), torch.ones(2, dtype=torch.bool), explore=True)
    assert action.shape == (2, 2) and (action.abs() <= 1).all()
    conv = model.encoder[2].weight.detach().clone()
    metrics = agent.update(_batch())
    assert all(torch.isfinite(v) for v in metrics.values())
    assert not torch.equal(conv, model.encoder[2].weight)  # the conv learns (encoder lr = lr x enc_lr_scale)


def test_save_load_round_trip_predicts_the_same(tmp_path):
    model = _model()
    model.save_pretrained(tmp_path / "saved")
    loaded = create_world_model(str(tmp_path / "saved"))
    assert loaded.config == model.config and loaded.config.obs_shape == (3, 64, 64)
    images, action = _images(3), torch.rand(3, 2) * 2 - 1
    results = []
    for m in (model, loaded):
        torch.manual_seed(2)  # the same shifts for both
        with torch.no_grad():
            pred = m.predict(m.encode(images), action)
        results.append((pred.state["z"], pred.reward, pred.cont))
    assert all(torch.equal(a, b) for a, b in zip(*results))


def test_the_trainer_trains_tdmpc2_on_an_image_env(tmp_path):
    env = "WorldfluxTinyPixelsBox-v0"
    torch.manual_seed(0)
    model = create_for_env("tdmpc2:ci", env, image_size=64, num_channels=8, latent_dim=128, **TINY["tdmpc2:ci"])
    assert model.config.obs_shape == (9, 64, 64)  # 3 stacked 32x32 RGB frames resized to the official 64x64
    summary = Trainer(model, short_run(tmp_path, env, steps=200, eval_every=100, checkpoint_every=100,
                                       image_size=64)).fit()
    assert summary["steps"] == 200 and summary["updates"] == 40 + (200 - 40)
    assert np.isfinite(summary["eval_return"])
    assert create_world_model(tmp_path / "model").config == model.config


@pytest.mark.parametrize("preset", ["tdmpc2:ci"])
class TestTDMPC2Pixels(WorldModelConformance):
    build_kwargs = PIXELS


@pytest.mark.parametrize("frames, channels", [(1, 3), (2, 6)])
def test_frame_stack_sets_the_channels_create_for_env_reads(frames, channels):
    model = create_for_env("tdmpc2:ci", "WorldfluxTinyPixelsBox-v0", image_size=64, num_channels=8, latent_dim=128,
                           frame_stack=frames)
    assert model.config.frame_stack == frames and model.config.obs_shape == (channels, 64, 64)


def test_the_conv_follows_the_latent_unless_num_channels_is_set():
    assert _model(num_channels=None).encoder[2].out_channels == 8  # latent 128 = 16 x 8
    quick = create_world_model("tdmpc2:quick", device="meta", obs_shape=(9, 64, 64), action_dim=1)
    assert quick.config.num_channels is None and quick.encoder[2].out_channels == 4  # latent 64
    assert create_world_model("tdmpc2:5m", device="meta", obs_shape=(3, 64, 64), action_dim=6).encoder[
        2].out_channels == 32  # the official channels at the official latent 512


def test_frame_stack_leaves_state_vectors_alone():
    assert create_for_env("tdmpc2:ci", "Pendulum-v1").config.obs_shape == (3,)
