"""Importing worldflux and listing the catalog stay light: no torch, no model code."""

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
