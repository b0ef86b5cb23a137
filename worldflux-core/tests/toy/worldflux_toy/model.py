import torch
from torch import nn

from worldflux.config import config_field, positive, worldflux_config
from worldflux.model import WorldModelBase
from worldflux.types import LatentState, LossOutput, Prediction


@worldflux_config
class ToyConfig:
    obs_shape: tuple[int, ...] = config_field((4,), help="observation shape")
    action_dim: int = config_field(2, help="action size")
    latent_dim: int = config_field(8, help="latent size", validator=positive)
    learning_rate: float = config_field(1e-3, help="Adam step size", validator=positive)


class ToyModel(WorldModelBase):
    family = "toy"

    def __init__(self, config: ToyConfig) -> None:
        super().__init__(config)
        obs, z, a = config.obs_shape[0], config.latent_dim, config.action_dim
        self.enc = nn.Linear(obs, z)
        self.dyn = nn.Linear(z + a, z)
        self.rew = nn.Linear(z + a, 1)
        self.cont_head = nn.Linear(z, 1)
        self.val = nn.Linear(z, 1)

    def initial_state(self, batch_size):
        return LatentState({"z": torch.zeros(batch_size, self.config.latent_dim)})

    def encode(self, obs):
        return LatentState({"z": torch.tanh(self.enc(obs.float()))})

    def prior(self, state, action):
        return LatentState({"z": torch.tanh(self.dyn(torch.cat([state["z"], action], -1)))})

    def posterior(self, state, obs):
        return self.encode(obs)

    def predict(self, state, action):
        nxt = self.prior(state, action)
        reward = self.rew(torch.cat([state["z"], action], -1)).squeeze(-1)
        return Prediction(nxt, reward, torch.sigmoid(self.cont_head(nxt["z"])).squeeze(-1))

    def value(self, state):
        return self.val(state["z"]).squeeze(-1)

    def loss(self, batch):
        z = self.encode(batch.obs)["z"]
        za = torch.cat([z[:, :-1], batch.action[:, :-1]], -1)
        consistency = (torch.tanh(self.dyn(za)) - z[:, 1:].detach()).pow(2).mean()
        reward = (self.rew(za).squeeze(-1) - batch.reward[:, 1:]).pow(2).mean()
        cont = nn.functional.binary_cross_entropy_with_logits(
            self.cont_head(z[:, 1:]).squeeze(-1), (~batch.is_terminal[:, 1:]).float())
        loss = consistency + reward + cont
        metrics = {"consistency": consistency.detach(), "reward": reward.detach(), "cont": cont.detach()}
        return LossOutput(loss, metrics, LatentState({"z": z}))
