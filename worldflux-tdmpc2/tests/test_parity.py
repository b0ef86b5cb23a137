"""Parity with the official TD-MPC2: committed fixtures replayed natively, and a live rerun of the probe."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from worldflux.parity.check import compare_fixture, run_probe
from worldflux.state import catalog
from worldflux_tdmpc2.official import convert, export
from worldflux_tdmpc2.parity import Replay, ReplayError, compare
from worldflux_tdmpc2.planner import Planner

OFFICIAL = Path(__file__).parent / "fixtures" / "official"
FIXTURES = ["ci_single", "ci_episodic", "ci_multitask"]
LIVE = ("WORLDFLUX_TDMPC2_PYTHON", "WORLDFLUX_TDMPC2_CHECKOUT")


def _failures(rows):
    return [r.to_dict() for r in rows if not r.ok]


@pytest.mark.parametrize("name", FIXTURES)
def test_committed_fixture_matches_within_tolerance(name):
    rows = compare(OFFICIAL / name)
    assert _failures(rows) == []
    quantities = {r.quantity for r in rows}
    assert {"update4/total_loss", "update4/grad_norm", "update4/pi_loss", "Q all members", "Q avg of two",
            "Q all members, train (dropout)", "plan 0/candidate values", "plan 0/action", "plan 1/mean",
            "plan 1/std"} <= quantities
    assert any(q.startswith("after 5 updates/_target_Qs_params.") for q in quantities)
    if name == "ci_episodic":
        assert "update0/termination_loss" in quantities


def test_fixtures_are_small_and_load_without_pickle():
    for name in FIXTURES:
        files = list((OFFICIAL / name).iterdir())
        assert {f.name for f in files} == {"request.json", "fixture.json", "arrays.npz", "official.pt"}
        assert sum(f.stat().st_size for f in files) < 800_000
        with np.load(OFFICIAL / name / "arrays.npz", allow_pickle=False) as data:
            assert all(data[k].dtype != object for k in data.files)


def test_ensemble_dropout_draws_the_mask_of_the_official_vmap():
    """Officially each Q runs under torch.vmap(randomness="different"); natively one F.dropout covers the stack.

    From one generator state both draw the same masks, because vmap draws one Bernoulli over the stacked
    [n, ...] tensor in memory order, and F.dropout draws in the memory order of its input: the native
    stacked activations are laid out [n, ...] too.
    """
    n, inp, out, p = 5, 7, 16, 0.3
    weight, bias, x = torch.randn(n, out, inp), torch.randn(n, out), torch.randn(3, 4, inp)
    torch.manual_seed(3)
    official = torch.vmap(lambda w, b: F.dropout(F.linear(x, w, b), p, True), randomness="different")(weight, bias)
    torch.manual_seed(3)
    stacked = torch.baddbmm(bias[:, None], x.reshape(1, -1, inp).expand(n, -1, -1), weight.transpose(1, 2))
    native = F.dropout(stacked, p, True).reshape(n, 3, 4, out)
    assert torch.equal(official == 0, native == 0)
    torch.testing.assert_close(native, official, rtol=1e-5, atol=1e-5)
    torch.manual_seed(3)  # the layout matters: members interleaved in memory draw other masks
    interleaved = stacked.reshape(n, 12, out).transpose(0, 1).contiguous()
    other = F.dropout(interleaved, p, True).transpose(0, 1).reshape(n, 3, 4, out)
    assert not torch.equal(official == 0, other == 0)


def test_replay_refuses_draws_the_official_code_did_not_make():
    replay = Replay(["normal"], [np.zeros((2, 3), np.float32)], "phase")
    with replay.active():
        assert torch.equal(torch.randn(3, 2), torch.zeros(3, 2))
        with pytest.raises(ReplayError, match="drew more normal numbers"):
            torch.randn(1)
    with pytest.raises(ReplayError, match="drew 4 normal numbers where the official code drew 6"):
        with Replay(["normal"], [np.zeros(6, np.float32)], "phase").active():
            torch.randn_like(torch.ones(4))
    assert torch.randn(2).shape == (2,)  # restored


def test_native_mppi_draws_in_the_official_order():
    """With one environment the native planner consumes the random stream as the official _plan does."""
    from worldflux import create_world_model

    model = create_world_model("tdmpc2:ci", obs_shape=(5,), action_dim=2, num_q_networks=3)
    seen = []
    randn = torch.randn

    def spy(*size, **kwargs):
        seen.append(tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size)
        return randn(*size, **kwargs)

    torch.randn = spy
    try:
        Planner(model).act(torch.randn(1, 5), torch.tensor([True]), explore=False)
    finally:
        torch.randn = randn
    c = model.config
    assert seen[1:] == [(1, c.horizon, c.num_samples - c.num_pi_trajs, 2)] * c.mppi_iterations


# --- live: the official code itself -------------------------------------------------------------------------


def _live():
    missing = [v for v in LIVE if not os.environ.get(v)]
    if missing:
        pytest.skip(f"set {' and '.join(missing)} (the official tdmpc2 environment's python and a checkout of "
                    f"nicklashansen/tdmpc2) to rerun the probe against the official code")
    return os.environ[LIVE[0]], Path(os.environ[LIVE[1]])


@pytest.mark.parametrize("name", FIXTURES)
def test_live_probe_reproduces_the_committed_fixture(name, tmp_path):
    python, checkout = _live()
    official = catalog().official("official-tdmpc2")
    request = json.loads((OFFICIAL / name / "request.json").read_text())
    fresh = run_probe(official, request, tmp_path / "fresh", python=python, checkout=checkout)
    with np.load(OFFICIAL / name / "arrays.npz") as old, np.load(fresh / "arrays.npz") as new:
        assert sorted(old.files) == sorted(new.files)
        for key in old.files:
            np.testing.assert_allclose(new[key], old[key], rtol=1e-5, atol=1e-6, err_msg=key)
    assert _failures(compare_fixture(official, fresh)) == []


def test_live_official_load_accepts_an_export(tmp_path):
    """Export a converted model; the official TDMPC2.load() reads it and plans as the native model does."""
    python, checkout = _live()
    official = catalog().official("official-tdmpc2")
    request = json.loads((OFFICIAL / "ci_multitask" / "request.json").read_text())
    saved = convert(OFFICIAL / "ci_multitask" / "official.pt", tmp_path / "model", **request["config"])
    request["checkpoint"] = str(export(saved, tmp_path / "exported.pt"))
    fixture = run_probe(official, request, tmp_path / "loaded", python=python, checkout=checkout)
    with np.load(fixture / "arrays.npz") as loaded, np.load(OFFICIAL / "ci_multitask" / "arrays.npz") as old:
        finals = [k for k in old.files if k.startswith("final/")]
        for key in finals:
            np.testing.assert_array_equal(loaded[key], old[key], err_msg=key)
    assert _failures(compare(fixture)) == []
    shutil.rmtree(tmp_path / "loaded")
