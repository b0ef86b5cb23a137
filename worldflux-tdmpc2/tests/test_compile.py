"""torch.compile works for the TD-MPC2 update losses and the planner's value estimate (CPU)."""

import torch

from worldflux import create_world_model
from worldflux.types import Batch
from worldflux_tdmpc2.planner import Planner


def test_compiled_loss_and_planning_value_match_eager():
    torch.manual_seed(0)
    # Two Qs (min/avg of "two random" is then order-free) and a policy std of e^-20: no randomness left.
    model = create_world_model("tdmpc2:ci", obs_shape=(5,), action_dim=2, num_q_networks=2,
                               log_std_min=-20, log_std_max=-20).eval()
    batch = Batch(obs=torch.randn(8, 4, 5), action=torch.rand(8, 4, 2) * 2 - 1, reward=torch.randn(8, 4),
                  is_first=torch.zeros(8, 4, dtype=torch.bool), is_terminal=torch.zeros(8, 4, dtype=torch.bool))
    planner = Planner(model)
    z = model.encode(torch.randn(1, 5))["z"][:, None].expand(-1, 16, -1)
    actions = torch.rand(1, 16, 3, 2) * 2 - 1

    def run(loss_fn, value_fn):
        out = loss_fn(batch)
        return out.loss, out.metrics["consistency"], value_fn(z, actions)

    eager = run(model.loss, planner.estimate_value)
    compiled = run(torch.compile(model.loss), torch.compile(planner.estimate_value))
    for a, b in zip(eager, compiled):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
