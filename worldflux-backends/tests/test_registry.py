"""The backends worldflux-backends registers: names, aliases, accepted presets, handles, status listing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from worldflux import DelegatedHandle, OfficialBackendHandle, create_world_model
from worldflux.errors import BackendError, ConfigError
from worldflux.state import catalog
from worldflux.training import Trainer, TrainingConfig


def test_every_backend_is_registered_with_its_alias() -> None:
    cat = catalog()
    assert {"worldflux_dreamerv3_jax_subprocess", "official_tdmpc2_torch_subprocess", "ray"} <= set(cat.backends)
    assert cat.backend("official_dreamerv3_jax_subprocess").name == "worldflux_dreamerv3_jax_subprocess"


def test_a_handle_names_backend_preset_profile_and_options() -> None:
    handle = create_world_model("dreamerv3:official_xl", backend="official_dreamerv3_jax_subprocess",
                                device="cuda", checkout="/opt/dreamerv3")
    assert isinstance(handle, OfficialBackendHandle)
    assert handle.to_dict() == {"backend": "worldflux_dreamerv3_jax_subprocess", "model_id": "dreamerv3:official_xl",
                                "profile": "official_xl", "device": "cuda", "metadata": {"checkout": "/opt/dreamerv3"}}


def test_ray_is_delegated_execution_but_not_an_official_implementation() -> None:
    handle = create_world_model("tdmpc2:ci", backend="ray")
    assert isinstance(handle, DelegatedHandle) and not isinstance(handle, OfficialBackendHandle)


@pytest.mark.parametrize("backend,preset,accepted", [
    ("official_tdmpc2_torch_subprocess", "tdmpc2:ci",
     "tdmpc2:1m, tdmpc2:5m, tdmpc2:proof_5m, tdmpc2:19m, tdmpc2:48m, tdmpc2:317m"),
    ("worldflux_dreamerv3_jax_subprocess", "dreamer:ci", "dreamerv3:size12m"),
])
def test_a_preset_the_backend_does_not_run_is_refused_with_the_accepted_ones(backend: str, preset: str,
                                                                          accepted: str) -> None:
    with pytest.raises(BackendError, match=f"does not run '{preset}'; it accepts: .*{accepted}"):
        create_world_model(preset, backend=backend)


def test_a_handle_and_a_training_config_must_name_the_same_backend() -> None:
    handle = create_world_model("tdmpc2:proof_5m", backend="official_tdmpc2_torch_subprocess")
    with pytest.raises(ConfigError, match="the handle is for backend 'official_tdmpc2_torch_subprocess'"):
        Trainer(handle, TrainingConfig(backend="ray"))
    dreamer = create_world_model("dreamerv3:official_xl", backend="worldflux_dreamerv3_jax_subprocess")
    trainer = Trainer(dreamer, TrainingConfig(backend="official_dreamerv3_jax_subprocess"))  # an alias agrees
    assert trainer.config.backend == "worldflux_dreamerv3_jax_subprocess"
    with pytest.raises(ConfigError, match="runs on backend 'official_tdmpc2_torch_subprocess'.*submit"):
        Trainer(handle, TrainingConfig(env="dmc:walker-walk")).fit()


def test_backends_list_shows_status_or_what_is_missing() -> None:
    out = subprocess.run([sys.executable, "-m", "worldflux.cli", "backends", "list", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["worldflux_dreamerv3_jax_subprocess"]["aliases"] == ["official_dreamerv3_jax_subprocess"]
    for row in rows.values():
        assert (row["status"] == "available") == (row["missing"] == [])
        assert all(isinstance(m, str) and len(m) > 20 for m in row["missing"])
    table = subprocess.run([sys.executable, "-m", "worldflux.cli", "backends", "list"], capture_output=True,
                           text=True, timeout=120)
    assert "available here" in table.stdout and "official_tdmpc2_torch_subprocess" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80, table.stdout  # fits a normal terminal
    verbose = subprocess.run([sys.executable, "-m", "worldflux.cli", "backends", "list", "--verbose"],
                             capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "80"})
    for row in rows.values():
        assert all(" ".join(m.split()) in " ".join(verbose.stdout.split()) for m in row["missing"])
    assert max(len(line) for line in verbose.stdout.splitlines()) <= 80, verbose.stdout
