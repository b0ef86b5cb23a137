"""The toy family's training object: a linear-tanh policy on the encoded observation, Adam on the loss."""

from typing import Any

import torch


class ToyAgent:
    within_episode = False
    train_ratio = 16.0
    seed_steps = 8
    pretrain_ratio = 1.0
    min_windows = 0
    replay_context: dict[str, tuple[int, ...]] = {}

    def __init__(self, model, num_envs: int) -> None:
        self.model = model
        self.window, self.batch_size = 4, 4
        self.policy = torch.nn.Linear(model.config.latent_dim, model.config.action_dim)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=model.config.learning_rate)

    @torch.no_grad()
    def act(self, obs: torch.Tensor, is_first: torch.Tensor, explore: bool) -> torch.Tensor:
        mean = torch.tanh(self.policy(self.model.encode(obs)["z"]))
        return (mean + 0.3 * torch.randn_like(mean)).clamp(-1, 1) if explore else mean

    def replay_entries(self) -> dict[str, torch.Tensor]:
        return {}

    def update(self, batch) -> dict[str, torch.Tensor]:
        out = self.model.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        self.optimizer.step()
        return {**out.metrics, "loss": out.loss.detach()}

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "policy": self.policy.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.policy.load_state_dict(state["policy"])

    def compile(self) -> None:
        self.model.loss = torch.compile(self.model.loss)
