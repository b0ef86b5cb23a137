"""Atari 2600 games as gymnasium environments with DreamerV3's Atari settings, for ``atari:game`` ids.

ale-py (``pip install "worldflux-core[atari]"``) ships the emulator and the ROMs
and is imported only when such an environment is made. The defaults are the
``env.atari`` block of the official DreamerV3 (dreamerv3/configs.yaml: size
96x96, repeat 4, sticky actions, gray, all 18 actions, lives unused, 30 no-ops,
max-pooling of 2 frames, Pillow resizing) with the meaning its
embodied/envs/atari.py gives them, and its time limit of 108,000 frames.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

import gymnasium as gym
import numpy as np

from worldflux.errors import ConfigError

STICKY_PROBABILITY = 0.25  # the chance the emulator repeats the previous action on a frame (Machado et al., 2018)
MAX_FRAMES = 108_000  # 30 minutes of play at 60 frames per second: the official episode time limit
# ITU-R 601 luma weights: a plain channel mean would give objects of different colours the same gray.
GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114])
LIST_GAMES = "python -c \"import ale_py.roms; print(ale_py.roms.get_all_rom_ids())\""


def make_atari_env(game: str, *, repeat: int = 4, size: tuple[int, int] = (96, 96), gray: bool = True,
                   sticky: bool = True, noops: int = 30, max_frames: int = MAX_FRAMES) -> AtariEnv:
    """The Atari game ``game`` (ale-py's ROM name, e.g. "pong", "space_invaders") as a gymnasium Env.

    The defaults are the official DreamerV3 Atari settings; ``size`` is (height, width).
    """
    if repeat < 1 or noops < 0 or max_frames < 1 or min(size) < 1:
        raise ConfigError(f"Atari settings need repeat >= 1, noops >= 0, max_frames >= 1 and a positive size; "
                          f"got repeat={repeat}, noops={noops}, max_frames={max_frames}, size={size}")
    try:
        import ale_py
        import ale_py.roms
        import PIL.Image  # noqa: F401 - frames are resized with Pillow, as the official wrapper does
    except ImportError as exc:
        raise ConfigError(f"atari: ids need ale-py and Pillow, which are not installed ({exc}). Install them with: "
                          f"pip install \"worldflux-core[atari]\" (or: pip install ale-py pillow)") from exc
    known = ale_py.roms.get_all_rom_ids()
    if game not in known:
        lower = game.lower()
        close = [lower] if lower in known else difflib.get_close_matches(lower, known, n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(f'atari:{c}' for c in close)}?" if close else ""
        raise ConfigError(f"unknown Atari game {game!r}: ids are atari:<game> with ale-py's lowercase ROM name, "
                          f"e.g. atari:pong or atari:space_invaders.{hint} List every name with: {LIST_GAMES}")
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # otherwise every env prints the ALE banner
    ale = ale_py.ALEInterface()
    ale.setFloat("repeat_action_probability", STICKY_PROBABILITY if sticky else 0.0)
    return AtariEnv(ale, str(ale_py.roms.get_rom_path(game)), ale_py.Action.NOOP, repeat=repeat, size=size,
                    gray=gray, noops=noops, max_frames=max_frames)


class AtariEnv(gym.Env[np.ndarray, int]):
    """An ALE game behind the gymnasium API; see :func:`make_atari_env`.

    One step plays the action for ``repeat`` frames and sums their rewards; the
    observation is the pixel-wise maximum of the last two frames (Atari sprites
    flicker between frames), resized to ``size``, then gray ``(H, W, 1)`` or RGB
    ``(H, W, 3)`` uint8. All 18 actions are legal in every game. Each reset plays
    0 to ``noops`` no-ops (uniform), so episodes do not start alike. Losing a life
    does not end the episode (``info["lives"]`` counts them): game over
    ``terminated`` it, and ``max_frames`` frames of play ``truncated`` it.
    ``reset(seed=s)`` also reseeds the emulator, so its sticky actions repeat
    with the episode.
    """

    def __init__(self, ale: Any, rom: str, noop: Any, *, repeat: int, size: tuple[int, int], gray: bool,
                 noops: int, max_frames: int) -> None:
        self._ale, self._rom, self._noop = ale, rom, noop
        self.repeat, self.size, self.gray, self.noops, self.max_frames = repeat, tuple(size), gray, noops, max_frames
        self._load(np.random.default_rng())  # an env never reset with a seed still plays a fresh sticky stream
        self._actions = self._ale.getLegalActionSet()
        self._frames = np.zeros((2, *self._ale.getScreenRGB().shape), np.uint8)  # the last two, pooled
        self._played = 0  # frames of play this episode, no-ops excluded (as the official time limit counts)
        self.episode_length = math.ceil(max_frames / repeat)
        self.observation_space = gym.spaces.Box(0, 255, (*self.size, 1 if gray else 3), np.uint8)
        self.action_space = gym.spaces.Discrete(len(self._actions))

    def _load(self, rng: np.random.Generator) -> None:
        # The emulator reads its seed when a ROM is loaded; reloading is how it is reseeded.
        self._ale.setInt("random_seed", int(rng.integers(2**31)))
        self._ale.loadROM(self._rom)

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a game after 0 to ``noops`` no-ops; with ``seed`` the episode is reproducible."""
        super().reset(seed=seed)
        if seed is not None:
            self._load(self.np_random)
        self._ale.reset_game()
        for _ in range(int(self.np_random.integers(self.noops + 1))):
            self._ale.act(self._noop)
            if self._ale.game_over():
                self._ale.reset_game()
        self._frames[:] = self._ale.getScreenRGB()  # nothing to pool with yet
        self._played = 0
        return self._observe(), {"lives": self._ale.lives()}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Play ``action`` for ``repeat`` frames (fewer if the game ends), summing rewards."""
        act = self._actions[int(action)]
        reward, terminated, truncated = 0.0, False, False
        for _ in range(self.repeat):
            reward += self._ale.act(act)
            self._played += 1
            self._ale.getScreenRGB(self._frames[self._played % 2])
            terminated = self._ale.game_over()
            truncated = not terminated and self._played >= self.max_frames
            if terminated or truncated:
                break
        return self._observe(), reward, terminated, truncated, {"lives": self._ale.lives()}

    def render(self) -> np.ndarray:
        """The current screen in colour, at the emulator's size (for videos)."""
        return self._ale.getScreenRGB()

    def _observe(self) -> np.ndarray:
        from PIL import Image

        frame = Image.fromarray(self._frames.max(0)).resize(self.size[::-1], Image.Resampling.BILINEAR)
        image = np.asarray(frame)
        if self.gray:
            return (image @ GRAY_WEIGHTS).astype(np.uint8)[..., None]  # truncated, as the official wrapper does
        return image
