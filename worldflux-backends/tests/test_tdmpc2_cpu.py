"""``python -m worldflux_backends.tdmpc2_cpu``: the CPU copy of an official TD-MPC2 checkout, on a small fake
checkout holding the official CUDA-only lines; the real official code when WORLDFLUX_TDMPC2_CHECKOUT names a
(GPU) checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from worldflux.errors import BackendError
from worldflux_backends import official, tdmpc2_cpu
from worldflux_backends import tdmpc2_torch as td

# The lines of the official code that the copy changes (nicklashansen/tdmpc2, tdmpc2/ folder), each in a small
# module that still compiles, with the official tab indentation.
OFFICIAL = {
    "tdmpc2.py": (
        "import torch\n"
        "class TDMPC2(torch.nn.Module):\n"
        "\tdef __init__(self, cfg):\n"
        "\t\tself.device = torch.device('cuda:0')\n"
        "\t\tself.model = WorldModel(cfg).to(self.device)\n"
        "\t\tself.optim = torch.optim.Adam([\n"
        "\t\t], lr=self.cfg.lr, capturable=True)\n"
        "\t\tself.pi_optim = torch.optim.Adam(self.model._pi.parameters(), lr=self.cfg.lr, eps=1e-5, capturable=True)\n"
        "\t\tself.discount = torch.tensor(\n"
        "\t\t\t[self._get_discount(ep_len) for ep_len in cfg.episode_lengths], device='cuda:0'\n"
        "\t\t) if self.cfg.multitask else self._get_discount(cfg.episode_length)\n"),
    "common/scale.py": (
        "import torch\n"
        "class RunningScale(torch.nn.Module):\n"
        "\tdef __init__(self, cfg):\n"
        "\t\tself.value = Buffer(torch.ones(1, dtype=torch.float32, device=torch.device('cuda:0')))\n"
        "\t\tself._percentiles = Buffer(torch.tensor([5, 95], dtype=torch.float32, device=torch.device('cuda:0')))\n"),
    "common/buffer.py": (
        "import torch\n"
        "class Buffer:\n"
        "\tdef __init__(self, cfg):\n"
        "\t\tself._device = torch.device('cuda:0')\n"
        "\tdef _init(self, tds):\n"
        "\t\tmem_free, _ = torch.cuda.mem_get_info()\n"
        "\t\ttotal_bytes = 1e9\n"
        "\t\tstorage_device = 'cuda:0' if 2.5*total_bytes < mem_free else 'cpu'\n"
        "\t\tself._storage_device = torch.device(storage_device)\n"),
    "train.py": (
        "import torch\n"
        "def train(cfg):\n"
        "\t\"\"\"Script for training.\"\"\"\n"
        "\tassert torch.cuda.is_available()\n"
        "\tassert cfg.steps > 0, 'Must train for at least 1 step.'\n"),
    "common/seed.py": "import torch\ndef set_seed(seed):\n\ttorch.cuda.manual_seed_all(seed)\n",  # left as is
}


def write_checkout(root: Path, files: dict[str, str] = OFFICIAL) -> Path:
    for rel, text in files.items():
        path = root / "tdmpc2" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "README.md").write_text("official readme\n")
    return root


@pytest.fixture
def checkout(tmp_path):
    return write_checkout(tmp_path / "tdmpc2-official")


def test_copy_is_patched_and_the_original_untouched(checkout, tmp_path):
    dest = tmp_path / "cpu"
    changes = tdmpc2_cpu.prepare_cpu_copy(checkout, dest)
    assert len(changes) == len(tdmpc2_cpu.EDITS) == 11
    for rel, text in OFFICIAL.items():
        assert (checkout / "tdmpc2" / rel).read_text() == text  # the original is unchanged
    copied = {rel: (dest / "tdmpc2" / rel).read_text() for rel in OFFICIAL}
    for rel in ("tdmpc2.py", "common/scale.py", "common/buffer.py", "train.py"):
        assert "cuda" not in copied[rel] and "capturable=True" not in copied[rel], rel
        compile(copied[rel], rel, "exec")  # still valid Python
    assert "\t\tself.device = torch.device('cpu')\n\t\tself.model = WorldModel(cfg)\n" in copied["tdmpc2.py"]
    assert copied["tdmpc2.py"].count("capturable=False)") == 2
    assert "], device='cpu'\n" in copied["tdmpc2.py"]
    assert copied["common/scale.py"].count("device=torch.device('cpu')") == 2
    assert "\t\tstorage_device = 'cpu'\n" in copied["common/buffer.py"]
    assert "\tpass  # CPU copy: the CUDA assert is removed\n\tassert cfg.steps > 0" in copied["train.py"]
    assert copied["common/seed.py"] == OFFICIAL["common/seed.py"]  # manual_seed_all is harmless on CPU
    assert (dest / "README.md").read_text() == "official readme\n"
    record = (dest / tdmpc2_cpu.RECORD_FILE).read_text()
    assert str(checkout.resolve()) in record and all(change in record for change in changes)
    # the backend's own check: every CUDA-only line is in the original, none in the copy
    assert len(td.cuda_markers(checkout / "tdmpc2" / "train.py")) == len(td.CUDA_MARKERS)
    assert td.cuda_markers(dest / "tdmpc2" / "train.py") == []


def test_change_list_is_printed(checkout, tmp_path, capsys):
    dest = tmp_path / "cpu"
    assert tdmpc2_cpu.main([str(checkout), str(dest)]) == 0
    out = capsys.readouterr().out
    assert f"CPU copy written to {dest.resolve()}; 11 changes:" in out
    assert ("tdmpc2/common/buffer.py: 'mem_free, _ = torch.cuda.mem_get_info()' -> 'mem_free = 0  # CPU copy: no "
            "CUDA query'") in out
    assert "tdmpc2/train.py: 'assert torch.cuda.is_available()' -> 'pass" in out
    assert f"WORLDFLUX_TDMPC2_CHECKOUT={dest.resolve()} WORLDFLUX_TDMPC2_ALLOW_CPU=1" in out


def test_runs_as_a_module(checkout, tmp_path):
    done = subprocess.run([sys.executable, "-m", "worldflux_backends.tdmpc2_cpu", str(checkout), str(tmp_path / "c")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "11 changes" in done.stdout and (tmp_path / "c" / "tdmpc2" / "train.py").is_file()


def test_a_missing_line_fails_and_writes_nothing(tmp_path, capsys):
    moved_on = dict(OFFICIAL, **{"common/buffer.py": OFFICIAL["common/buffer.py"].replace(
        "mem_free, _ = torch.cuda.mem_get_info()", "mem_free, _ = torch.cuda.mem_get_info(device)")})
    checkout = write_checkout(tmp_path / "src", moved_on)
    dest = tmp_path / "cpu"
    with pytest.raises(BackendError) as info:
        tdmpc2_cpu.prepare_cpu_copy(checkout, dest)
    message = str(info.value)
    assert "nothing was written" in message and "the official code has changed" in message
    assert (f"{checkout / 'tdmpc2' / 'common' / 'buffer.py'}: expected exactly one "
            f"'mem_free, _ = torch.cuda.mem_get_info()', not found") in message
    assert message.count("\n- ") == 1  # the other edits applied: only the missing one is named
    assert not dest.exists()
    assert tdmpc2_cpu.main([str(checkout), str(dest)]) == 1
    assert "expected exactly one 'mem_free, _ = torch.cuda.mem_get_info()'" in capsys.readouterr().err


def test_a_line_found_twice_or_a_missing_file_fails(tmp_path):
    doubled = dict(OFFICIAL, **{"train.py": OFFICIAL["train.py"] + "\tassert torch.cuda.is_available()\n"})
    del doubled["common/scale.py"]
    checkout = write_checkout(tmp_path / "src", doubled)
    with pytest.raises(BackendError) as info:
        tdmpc2_cpu.prepare_cpu_copy(checkout, tmp_path / "cpu")
    assert "train.py: expected exactly one 'assert torch.cuda.is_available()', found 2 times" in str(info.value)
    assert f"{checkout / 'tdmpc2' / 'common' / 'scale.py'}: cannot be read" in str(info.value)
    assert not (tmp_path / "cpu").exists()


def test_refuses_to_overwrite(checkout, tmp_path):
    dest = tmp_path / "cpu"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep me")
    with pytest.raises(BackendError, match="is not empty"):
        tdmpc2_cpu.prepare_cpu_copy(checkout, dest)
    assert [p.name for p in dest.iterdir()] == ["mine.txt"]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(BackendError, match="not a directory"):
        tdmpc2_cpu.prepare_cpu_copy(checkout, a_file)
    with pytest.raises(BackendError, match="inside the checkout"):
        tdmpc2_cpu.prepare_cpu_copy(checkout, checkout / "cpu")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert len(tdmpc2_cpu.prepare_cpu_copy(checkout, empty)) == 11  # an empty directory is fine


def test_a_copy_is_not_copied_again_and_a_non_checkout_is_refused(checkout, tmp_path):
    tdmpc2_cpu.prepare_cpu_copy(checkout, tmp_path / "cpu")
    with pytest.raises(BackendError, match="already a CPU copy"):
        tdmpc2_cpu.prepare_cpu_copy(tmp_path / "cpu", tmp_path / "again")
    with pytest.raises(BackendError, match="is not a checkout of the official TD-MPC2"):
        tdmpc2_cpu.prepare_cpu_copy(tmp_path / "cpu" / "tdmpc2" / "common", tmp_path / "again")


def test_the_tdmpc2_folder_itself_can_be_copied(checkout, tmp_path):
    changes = tdmpc2_cpu.prepare_cpu_copy(checkout / "tdmpc2", tmp_path / "cpu")
    assert changes[0].startswith("tdmpc2.py: ")
    assert td.cuda_markers(td.CODE.entry(tmp_path / "cpu")) == []


def test_the_backend_check_accepts_the_copy_without_a_gpu(checkout, tmp_path, monkeypatch):
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\nexit 3\n")
    python.chmod(0o755)
    monkeypatch.setattr(official, "probe", lambda code, python: {"version": [3, 11], "missing": [], "cuda": False})
    monkeypatch.setenv("WORLDFLUX_TDMPC2_PYTHON", str(python))
    monkeypatch.setenv("WORLDFLUX_TDMPC2_ALLOW_CPU", "1")
    monkeypatch.setenv("WORLDFLUX_TDMPC2_CHECKOUT", str(checkout))
    (refusal,) = td.check()  # the official checkout: its CUDA-only lines, and the command that removes them
    assert "is not a CPU copy" in refusal and "python -m worldflux_backends.tdmpc2_cpu CHECKOUT DEST" in refusal
    assert "capturable=True" in refusal and "torch.cuda.mem_get_info()" in refusal
    tdmpc2_cpu.prepare_cpu_copy(checkout, tmp_path / "cpu")
    monkeypatch.setenv("WORLDFLUX_TDMPC2_CHECKOUT", str(tmp_path / "cpu"))
    assert td.check() == []
    monkeypatch.delenv("WORLDFLUX_TDMPC2_ALLOW_CPU")
    (undeclared,) = td.check()  # a copy still has to be declared
    assert "WORLDFLUX_TDMPC2_ALLOW_CPU=1" in undeclared and "tdmpc2_cpu" in undeclared


def test_the_real_official_checkout(tmp_path):
    """The edits against the real official code: WORLDFLUX_TDMPC2_CHECKOUT naming an unpatched checkout."""
    source = os.environ.get("WORLDFLUX_TDMPC2_CHECKOUT")
    script = td.CODE.entry(source) if source else None
    if script is None or not td.cuda_markers(script):
        pytest.skip("WORLDFLUX_TDMPC2_CHECKOUT does not name an unpatched official TD-MPC2 checkout")
    changes = tdmpc2_cpu.prepare_cpu_copy(source, tmp_path / "cpu")
    assert len(changes) == len(tdmpc2_cpu.EDITS)
    assert td.cuda_markers(td.CODE.entry(tmp_path / "cpu")) == []
