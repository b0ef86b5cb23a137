"""Fixtures of the training tests; their helpers live in training_helpers.py (importable by subprocesses)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _jobs_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep job registry entries inside the test's temporary directory."""
    monkeypatch.setenv("WORLDFLUX_HOME", str(tmp_path / "home"))
