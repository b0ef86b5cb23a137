"""A tiny gymnasium env with dict observations: an image plus vectors, as DMC pixels plus proprioception."""

import gymnasium as gym
import numpy as np

DICT_ENV = "WorldfluxToyDict-v0"


class DictObsEnv(gym.Env):
    """A point pushed left or right on a line, seen as a 16x16 RGB image with a bar at its position and as
    ``position`` (x, x^2) and ``velocity`` vectors; reward 1 - |x|, episodes of 10 steps."""

    observation_space = gym.spaces.Dict({
        "image": gym.spaces.Box(0, 255, (16, 16, 3), np.uint8),
        "position": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
        "velocity": gym.spaces.Box(-0.5, 0.5, (1,), np.float32),
    })
    action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):  # type: ignore[no-untyped-def]
        super().reset(seed=seed)
        self.x, self.v = float(self.np_random.uniform(-1, 1)), 0.0
        return self._obs(), {}

    def step(self, action):  # type: ignore[no-untyped-def]
        self.v = float(np.clip(self.v + 0.1 * (int(action) - 1), -0.5, 0.5))
        self.x = float(np.clip(self.x + self.v, -1, 1))
        return self._obs(), 1.0 - abs(self.x), False, False, {}

    def _obs(self) -> dict[str, np.ndarray]:
        image = np.zeros((16, 16, 3), np.uint8)
        image[:, round((self.x + 1) * 7.5)] = 255
        return {"image": image, "position": np.array([self.x, self.x ** 2], np.float32),
                "velocity": np.array([self.v], np.float32)}


if DICT_ENV not in gym.registry:
    gym.register(DICT_ENV, entry_point=DictObsEnv, max_episode_steps=10)
