"""save_pretrained / create_world_model(path): exact round trip, atomic writes, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from worldflux import create_world_model
from worldflux.errors import SavedModelError, UnknownModelError


def _equal(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_round_trip_restores_exact_state(toy, tmp_path):
    model = create_world_model("toy:tiny", latent_dim=5)
    model.save_pretrained(tmp_path / "m")
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files[0] == "config.json" and files[1].startswith("weights-") and len(files) == 2
    data = json.loads((tmp_path / "m" / "config.json").read_text())
    assert data["format"] == "worldflux-model" and data["format_version"] == 1
    assert data["family"] == "toy" and data["preset"] == "toy:tiny"
    assert data["obs_shape"] == [4] and data["action_dim"] == 2 and data["config"]["latent_dim"] == 5
    assert data["worldflux_version"] == "0.1.0"
    loaded = create_world_model(str(tmp_path / "m"))
    assert loaded.config == model.config and loaded.preset_name == "toy:tiny" and _equal(model, loaded)


def test_resaving_replaces_weights_and_leaves_no_stale_files(toy, tmp_path):
    model = create_world_model("toy:tiny")
    model.save_pretrained(tmp_path / "m")
    with torch.no_grad():
        model.enc.weight.add_(1.0)
    model.save_pretrained(tmp_path / "m")
    assert len(list((tmp_path / "m").iterdir())) == 2
    assert _equal(model, create_world_model(str(tmp_path / "m")))


def test_failure_before_commit_keeps_the_previous_save(toy, tmp_path, monkeypatch):
    import worldflux.saving

    model = create_world_model("toy:tiny")
    model.save_pretrained(tmp_path / "m")
    before = create_world_model(str(tmp_path / "m"))
    with torch.no_grad():
        model.enc.weight.add_(1.0)

    def crash(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(worldflux.saving, "write_json_atomic", crash)
    with pytest.raises(SavedModelError, match="No space left on device"):
        model.save_pretrained(tmp_path / "m")
    assert _equal(before, create_world_model(str(tmp_path / "m")))


def test_kill_during_save_never_leaves_a_half_model(toy, tmp_path):
    """SIGKILL a process that saves in a loop; every time, the directory loads a whole save."""
    script = textwrap.dedent(f"""
        import sys, torch
        sys.path[:0] = {sys.path!r}
        import worldflux.state
        from worldflux.plugins import PluginSettings
        worldflux.state.reload_plugins(PluginSettings(only=("worldflux-toy",)))
        from worldflux import create_world_model
        model = create_world_model("toy:wide", latent_dim=700)
        i = 0
        while True:
            with torch.no_grad():
                for p in model.parameters():
                    p.fill_(i)
            model.save_pretrained(sys.argv[1])
            i += 1
            print(i, flush=True)
    """)
    target = tmp_path / "m"
    for delay in (0.6, 0.9, 1.3):
        proc = subprocess.Popen([sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # at least one save completed
        import time

        time.sleep(delay)
        proc.kill()
        proc.wait()
        loaded = create_world_model(str(target))
        values = {p.flatten()[0].item() for p in loaded.parameters()}
        assert len(values) == 1, "weights from two different saves"


def test_read_only_directory_is_a_clear_error(toy, tmp_path):
    model = create_world_model("toy:tiny")
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o555)
    immutable = False
    if os.access(target, os.W_OK):  # root ignores modes; make the directory immutable instead
        immutable = subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode == 0
        if not immutable:
            pytest.skip("running as root on a filesystem without chattr +i: cannot make a read-only directory")
    try:
        with pytest.raises(SavedModelError, match=r"Could not save the model to .*ro: .*Choose a directory"):
            model.save_pretrained(target)
        assert list(target.iterdir()) == []
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(target)], check=True)
        target.chmod(0o755)


def test_truncated_weights_are_detected(toy, tmp_path):
    create_world_model("toy:tiny").save_pretrained(tmp_path / "m")
    weights = next((tmp_path / "m").glob("weights-*"))
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(SavedModelError, match="is truncated or altered"):
        create_world_model(str(tmp_path / "m"))


def test_corrupt_weights_are_detected(toy, tmp_path):
    create_world_model("toy:tiny").save_pretrained(tmp_path / "m")
    weights = next((tmp_path / "m").glob("weights-*"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(SavedModelError, match="does not match its recorded sha256"):
        create_world_model(str(tmp_path / "m"))


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    ('{"architectures": ["Bert"]}', "is not a worldflux model config"),
    ('{"format": "worldflux-model", "format_version": 99, "worldflux_version": "9.0"}', "Upgrade worldflux"),
    ('{"format": "worldflux-model", "format_version": 1}', "'family' is missing or not a str"),
])
def test_corrupt_or_foreign_configs(toy, tmp_path, content, message):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text(content)
    with pytest.raises(SavedModelError, match=message):
        create_world_model(str(tmp_path / "m"))


def test_missing_directory(toy, tmp_path):
    with pytest.raises(SavedModelError, match="No saved model at .*config.json is missing"):
        create_world_model(str(tmp_path / "nothing"))


def test_family_not_installed(plugins, tmp_path):
    plugins.add_toy()
    plugins.load()
    create_world_model("toy:tiny").save_pretrained(tmp_path / "m")
    plugins.load(only=())
    with pytest.raises(UnknownModelError, match="family 'toy', which no installed plugin provides"):
        create_world_model(str(tmp_path / "m"))


def test_weights_that_do_not_fit_the_config(toy, tmp_path):
    create_world_model("toy:tiny").save_pretrained(tmp_path / "m")
    config_path = tmp_path / "m" / "config.json"
    data = json.loads(config_path.read_text())
    data["config"]["latent_dim"] = 9
    config_path.write_text(json.dumps(data))
    with pytest.raises(SavedModelError, match="do not fit the toy model"):
        create_world_model(str(tmp_path / "m"))
