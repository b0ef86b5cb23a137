"""DreamerAgent.compile(): the compiled RSSM steps train and act as the eager ones do (CPU)."""

import torch
from torch._dynamo.utils import counters

from worldflux import create_world_model
from worldflux.types import Batch
from worldflux_dreamer.agent import DreamerAgent


def _run(compiled: bool) -> tuple[list[torch.Tensor], torch.Tensor, list[torch.Tensor]]:
    torch.manual_seed(0)
    model = create_world_model("dreamer:ci", obs_shape=(5,), action_dim=3, discrete_actions=True, warmup=0)
    agent = DreamerAgent(model, 2)
    if compiled:
        agent.compile()
    is_first = torch.zeros(4, 6, dtype=torch.bool)
    is_first[:, 0] = True
    batch = Batch(obs=torch.randn(4, 6, 5), action=torch.eye(3)[torch.randint(0, 3, (4, 6))],
                  reward=torch.randn(4, 6), is_first=is_first, is_terminal=torch.zeros(4, 6, dtype=torch.bool))
    losses = [agent.update(batch)["loss"] for _ in range(3)]
    actions = agent.act(torch.randn(2, 5), torch.ones(2, dtype=torch.bool), explore=True)
    return losses, actions, [p.detach().clone() for p in model.parameters()]


def test_compiled_steps_give_the_eager_losses_samples_and_weights():
    eager = _run(False)
    counters.clear()
    compiled = _run(True)
    assert counters["stats"]["unique_graphs"] >= 3  # the GRU step, the logits and the sample were compiled
    for a, b in zip(eager[0], compiled[0]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert torch.equal(eager[1], compiled[1])  # fallback_random: the same Gumbel draws, so the same actions
    for a, b in zip(eager[2], compiled[2]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
