"""A run directory: everything one training run reads and writes, in one place (the log dir)."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

from worldflux.atomic import write_json_atomic
from worldflux.config import config_to_dict
from worldflux.errors import WorldFluxError

RUN_FILE = "run.json"


def slug(text: str) -> str:
    """``text`` as a directory name: runs of other characters than ``[A-Za-z0-9_.-]`` become ``-``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def default_run_dir(model_name: str, env_id: str | None) -> Path:
    """``runs/<model>-<env>-<time>-<random>`` under the current directory."""
    name = slug(f"{model_name}-{env_id or 'noenv'}")
    return Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"


class RunDir:
    """Paths of a run: ``run.json`` (its TrainingConfig), ``model/`` (latest weights as a saved model),
    ``checkpoint/``, ``replay/``, ``metrics.jsonl``, ``logs.txt``, ``job.json`` and ``curve.png``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.run_file = self.path / RUN_FILE
        self.model = self.path / "model"
        self.logs = self.path / "logs.txt"
        self.job = self.path / "job.json"
        self.curve = self.path / "curve.png"

    def checkpoint(self, rank: int = 0) -> Path:
        return self.path / ("checkpoint" if rank == 0 else f"checkpoint-rank{rank}")

    def replay(self, rank: int = 0) -> Path:
        return self.path / ("replay" if rank == 0 else f"replay-rank{rank}")

    def write_config(self, config: Any, model_name: str, model_config: dict[str, Any] | None = None) -> None:
        """Record the model's name, the run's ``config`` (a TrainingConfig) and, for native runs, the model's
        family and config (``{"family", "config"}``: a run killed before its first save can start again)."""
        self.path.mkdir(parents=True, exist_ok=True)
        data = {"model": model_name, "training": config_to_dict(config)}
        if model_config is not None:
            data["model_config"] = model_config
        write_json_atomic(self.run_file, data)

    def clear_temporaries(self) -> None:
        """Remove the ``*.tmp`` files that writes interrupted by a kill left behind (only while holding the lock)."""
        for pattern in ("*.tmp", "*/*.tmp"):
            for stray in self.path.glob(pattern):
                if stray.is_file():
                    stray.unlink(missing_ok=True)

    def read(self) -> dict[str, Any]:
        """``{"model": name, "training": {field: value}}`` as written when the run started."""
        try:
            data = json.loads(self.run_file.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WorldFluxError(f"{self.path} is not a worldflux run directory ({self.run_file}: {exc}). "
                                 f"Pass the directory `worldflux train --out` created.") from exc
        if not (isinstance(data, dict) and isinstance(data.get("model"), str) and isinstance(data.get("training"), dict)):
            raise WorldFluxError(f"{self.run_file} lacks the model's name or the training config; the run "
                                 f"directory was altered. Start the run again in a new directory.")
        return data
