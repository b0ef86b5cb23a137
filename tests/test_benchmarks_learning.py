"""benchmarks.learning.cartpole_endings: how a trained CartPole agent's episodes end."""

from worldflux.training import create_for_env

from benchmarks.learning.cartpole_endings import endings


def test_every_episode_is_counted_once_with_the_reason_it_ended():
    model = create_for_env("tdmpc2:ci", "CartPole-v1")
    returns, why = endings(model, 3, explore=False)
    assert len(returns) == 3 and sum(why.values()) == 3
    assert set(why) <= {"cart", "pole", "limit"}
    assert why["limit"] == sum(r == 500 for r in returns)  # one reward per step: 500 only at the limit
    assert all(1 <= r <= 500 for r in returns)
    # pushed at full force from the centre, the cart needs about 36 steps to leave the track: shorter
    # episodes (the untrained model's) can only have ended with the pole down
    assert why["pole"] >= sum(r < 30 for r in returns) > 0


def test_sparse_misses_count_every_step_and_only_unpaid_steps_as_misses():
    from benchmarks.learning.sparse_misses import misses

    model = create_for_env("tdmpc2:ci", "dmc:cartpole-balance_sparse")
    returns, where, firsts = misses(model, 1, explore=False)
    assert sum(where.values()) == 500 and set(where) <= {"paid", "cart", "pole", "both"}
    ((miss, kind, fallen),) = firsts
    assert kind in {"cart", "pole", "both"} and 0 <= miss < 500  # the untrained model loses the pay
    assert fallen is None or fallen >= miss  # a pole below horizontal is out of pay
    # each agent step is 2 control steps paying 0 or 1: a paid step (judged on its last one) earns at least 1
    assert where["paid"] <= returns[0] <= 2 * where["paid"] + (500 - where["paid"])


def test_the_suite_trains_a_seed_with_the_chosen_precision_and_says_so_in_its_table(tmp_path):
    import json

    from benchmarks.learning.__main__ import run_seed, table
    from benchmarks.learning.tasks import Task

    task = Task("dreamerv3", "tiny", "classic control", "dreamer:ci", "CartPole-v1", 40, 5.0)
    outcome = run_seed(task, 3, tmp_path, "bf16")
    assert "error" not in outcome and [s for s, _ in outcome["evals"]] == [10, 20, 30, 40]
    recorded = json.loads((tmp_path / task.key / "seed3" / "run.json").read_text())["training"]
    assert (recorded["precision"], recorded["seed"], recorded["steps"]) == ("bf16", 3, 40)
    row = table({task: [outcome]}, "bf16").splitlines()[2]
    assert "`dreamer:ci` (bf16)" in row and f"seed 3: {outcome['final']:.1f}" in row and "1 of 1" in row
