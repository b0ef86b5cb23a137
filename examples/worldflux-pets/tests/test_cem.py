"""CEM on known objectives, and the planner's warm start."""

import torch

from worldflux import create_world_model
from worldflux_pets.cem import cem, truncated_normal
from worldflux_pets.planner import CEMPlanner


def test_truncated_normal_stays_within_two_std():
    torch.manual_seed(0)
    x = truncated_normal((10_000,), torch.device("cpu"))
    assert x.abs().max() <= 2.0 and 0.7 < x.std() < 0.95


def test_cem_finds_the_optimum_of_a_quadratic():
    torch.manual_seed(0)
    target = torch.tensor([[[0.3, -0.6], [0.8, 0.0], [-0.4, 0.5]], [[-0.9, 0.9], [0.1, 0.2], [0.0, -0.2]]])

    def score(actions):  # [E, N, H, A] -> [E, N]
        return -(actions - target[:, None]).pow(2).sum((-1, -2))

    mean, std = cem(score, torch.zeros(2, 3, 2), torch.full((2, 3, 2), 0.5), iterations=20, population=200,
                    elites=20, alpha=0.1)
    assert (mean - target).abs().max() < 0.03
    assert std.max() < 0.05


def test_cem_respects_the_bounds_and_ignores_nan_scores():
    torch.manual_seed(0)
    seen = []

    def score(actions):
        seen.append(actions)
        out = actions.sum((-1, -2))  # optimum at the upper bound
        out[:, :5] = float("nan")
        return out

    mean, _ = cem(score, torch.zeros(1, 2, 1), torch.full((1, 2, 1), 0.5), iterations=10, population=50,
                  elites=5)
    assert all(a.abs().max() <= 1.0 for a in seen)
    assert torch.isfinite(mean).all() and mean.min() > 0.9


def test_planner_warm_starts_from_the_shifted_plan_and_resets_at_episode_starts():
    torch.manual_seed(0)
    model = create_world_model("pets:ci")
    planner = CEMPlanner(model, num_envs=2)
    plan = torch.arange(2 * 4, dtype=torch.float32).view(2, 4, 1) / 10
    planner.prev_mean = plan.clone()
    starts = []
    import worldflux_pets.planner as module

    real = module.cem
    module.cem = lambda score, mean, std, **kw: (starts.append(mean.clone()) or real(score, mean, std, **kw))
    try:
        action = planner.act(torch.randn(2, 3), torch.tensor([False, True]))
    finally:
        module.cem = real
    assert torch.equal(starts[0][0, :-1], plan[0, 1:]) and starts[0][0, -1].item() == 0.0
    assert (starts[0][1] == 0).all()
    assert action.shape == (2, 1) and action.abs().max() <= 1.0
