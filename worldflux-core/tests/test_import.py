"""Importing worldflux and listing the catalog stay light: no torch, no model code."""

import os
import subprocess
import sys


def test_listing_imports_no_torch():
    code = ("import sys, worldflux; worldflux.list_models(surface='all', verbose=True); "
            "dict(worldflux.MODEL_ALIASES); print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_types_protocol_and_stack():
    import torch

    from worldflux.types import LatentState

    states = [LatentState({"z": torch.full((2, 3), float(t))}) for t in range(4)]
    stacked = LatentState.stack(states)
    assert stacked["z"].shape == (2, 4, 3)
    assert torch.equal(stacked.at(2)["z"], states[2]["z"])
    assert stacked.flatten_time()["z"].shape == (8, 3)


def _wait_policy(code: str, **env: str) -> str:
    """OMP_WAIT_POLICY after running ``code`` in a fresh interpreter with ``env`` (and none of the wait settings)."""
    from worldflux.threads import WAIT_SETTINGS

    base = {k: v for k, v in os.environ.items() if k not in WAIT_SETTINGS}
    code += "; import os; print(os.environ.get('OMP_WAIT_POLICY'))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**base, **env}).stdout.strip()


def test_importing_worldflux_before_torch_makes_waiting_threads_sleep():
    assert _wait_policy("import worldflux") == "PASSIVE"
    assert _wait_policy("import worldflux, torch; assert torch.get_num_threads() >= 1") == "PASSIVE"


def test_a_wait_setting_of_the_user_wins_and_a_loaded_torch_is_left_alone():
    assert _wait_policy("import worldflux", OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"
    assert _wait_policy("import worldflux", GOMP_SPINCOUNT="300000") == "None"
    assert _wait_policy("import torch, worldflux") == "None"  # too late: OpenMP read its settings with torch


def test_split_cores_gives_children_an_even_share_and_leaves_a_user_choice_alone(monkeypatch):
    from worldflux.threads import split_cores

    def child_threads() -> str:
        return subprocess.run([sys.executable, "-c", "import os; print(os.environ.get('OMP_NUM_THREADS'))"],
                              capture_output=True, text=True, check=True).stdout.strip()

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    with split_cores(3) as threads:
        assert threads == 2 and child_threads() == "2"
    assert "OMP_NUM_THREADS" not in os.environ  # only the runs started inside the block get it
    with split_cores(16) as threads:
        assert threads == 1  # never none
    monkeypatch.setenv("OMP_NUM_THREADS", "5")
    with split_cores(2) as threads:
        assert threads == 5 and child_threads() == "5"
    assert os.environ["OMP_NUM_THREADS"] == "5"


def test_importing_worldflux_keeps_freed_memory_unless_the_user_tuned_malloc():
    code = "import worldflux; from worldflux.allocator import keep_freed_memory; print(keep_freed_memory())"
    run = lambda **env: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,  # noqa: E731
                                       env={**os.environ, **env}).stdout.strip()
    assert run() == ("True" if sys.platform == "linux" else "False")
    assert run(MALLOC_TRIM_THRESHOLD_="0") == "False"  # the user's setting wins
