"""The agent: its schedule in Trainer units, tiny batches, and the checkpoint round trip."""

import copy

import pytest
import torch

from worldflux import create_world_model
from worldflux.types import Batch
from worldflux_pets.agent import PETSAgent


def batch(b: int, t: int = 2) -> Batch:
    return Batch(obs=torch.randn(b, t, 3), action=torch.rand(b, t, 1) * 2 - 1, reward=torch.randn(b, t),
                 is_first=torch.zeros(b, t, dtype=torch.bool), is_terminal=torch.zeros(b, t, dtype=torch.bool))


def test_schedule_in_trainer_units():
    model = create_world_model("pets:small")
    agent = PETSAgent(model, 1)
    c = model.config
    assert agent.window == 2 and agent.within_episode
    assert agent.batch_size == c.batch_size * c.ensemble_size
    assert agent.train_ratio / (agent.batch_size * agent.window) == c.updates_per_step
    assert agent.seed_steps == c.seed_steps and agent.pretrain_ratio == c.pretrain_updates


@pytest.mark.parametrize("b, t", [(1, 2), (1, 1), (3, 4), (2, 2)])
def test_update_survives_tiny_batches(b, t):
    torch.manual_seed(0)
    agent = PETSAgent(create_world_model("pets:ci"), 1)
    metrics = agent.update(batch(b, t))
    assert all(torch.isfinite(v) and v.dim() == 0 for v in metrics.values())
    assert all(torch.isfinite(p).all() for p in agent.model.parameters())


def test_act_gives_bounded_actions_for_several_envs():
    torch.manual_seed(0)
    agent = PETSAgent(create_world_model("pets:ci"), 3)
    action = agent.act(torch.randn(3, 3), torch.tensor([True, False, True]), explore=True)
    assert action.shape == (3, 1) and action.abs().max() <= 1.0
    with pytest.raises(ValueError, match="acts in 3 environments"):
        agent.act(torch.randn(2, 3), torch.zeros(2, dtype=torch.bool), explore=False)


def test_state_round_trip_restores_optimiser_and_warm_start():
    def make():
        torch.manual_seed(0)
        model = create_world_model("pets:ci")
        return model, PETSAgent(model, 2)

    model, agent = make()
    for _ in range(3):
        agent.update(batch(16))
    agent.act(torch.randn(2, 3), torch.zeros(2, dtype=torch.bool), explore=True)
    state = copy.deepcopy(agent.state_dict())  # as a checkpoint on disk: no tensor shared with agent
    model2, agent2 = make()
    model2.load_state_dict(model.state_dict())
    agent2.load_state_dict(state)
    assert torch.equal(agent2.planner.prev_mean, agent.planner.prev_mean)
    # identical next steps from identical RNG: the optimiser moments and the plan both came back
    obs, first, data = torch.randn(2, 3), torch.zeros(2, dtype=torch.bool), batch(16)
    outs = []
    for m, a in ((model, agent), (model2, agent2)):
        torch.manual_seed(5)
        a.update(data)
        outs.append((a.act(obs, first, explore=True), [p.detach().clone() for p in m.parameters()]))
    assert torch.equal(outs[0][0], outs[1][0])
    assert all(torch.equal(p, q) for p, q in zip(outs[0][1], outs[1][1]))


def test_state_of_another_env_count_is_refused():
    agent = PETSAgent(create_world_model("pets:ci"), 2)
    other = PETSAgent(create_world_model("pets:ci"), 3)
    with pytest.raises(ValueError, match="another num_envs"):
        other.load_state_dict(agent.state_dict())
