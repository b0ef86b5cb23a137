"""The skeleton every official-implementation backend shares: its settings, its availability check, its launch.

The official code runs in its own Python environment from a checkout of its repository, both named by an
option of ``create_world_model`` or an environment variable. Each backend describes its implementation with an
:class:`OfficialCode` and supplies what is specific to it: the command line (a :class:`Plan`), extra checks,
and the translation of its metrics. No torch here: ``worldflux backends list`` imports the checks.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import attrs

from worldflux.errors import BackendError, ConfigError

if TYPE_CHECKING:
    from worldflux.backends import DelegatedHandle
    from worldflux.runs import Job
    from worldflux.training.config import TrainingConfig

DOCS = "see docs/backends.md"
COMMON_OPTIONS = ("python", "checkout", "timeout_s")
PROBE = """
import importlib, json, sys
missing = []
for name in sys.argv[2:]:
    try:
        importlib.import_module(name)
    except Exception:
        missing.append(name)
cuda = None
if sys.argv[1] == "cuda":
    try:
        import torch
        cuda = bool(torch.cuda.is_available())
    except Exception:
        pass
print("WORLDFLUX_PROBE " + json.dumps({"version": list(sys.version_info[:2]), "missing": missing, "cuda": cuda}))
"""


@attrs.frozen(kw_only=True)
class OfficialCode:
    """One official implementation: where its code is, what its environment must import, what it accepts.

    ``entries`` are the training script's possible paths inside a checkout (the first that exists is used);
    ``options`` the backend options beyond ``python``, ``checkout`` and ``timeout_s``; ``model_fields`` the
    native config fields it maps onto official settings (others are refused, ``refusal_hint`` says why).
    """

    name: str
    label: str
    repository: str
    entries: tuple[str, ...] = attrs.field(converter=tuple)
    python_var: str
    checkout_var: str
    required_modules: tuple[str, ...] = attrs.field(converter=tuple)
    install_hint: str
    options: tuple[str, ...] = attrs.field(converter=tuple)
    model_fields: tuple[str, ...] = attrs.field(converter=tuple)
    refusal_hint: str
    min_python: tuple[int, int] = (3, 9)
    probe_cuda: bool = False
    probe_env: Mapping[str, str] = attrs.field(factory=dict)
    probe_timeout_s: float = 120.0

    def entry(self, checkout: str | Path) -> Path | None:
        """The training script in ``checkout``, if there is one."""
        for rel in self.entries:
            path = Path(checkout).expanduser() / rel
            if path.is_file():
                return path.resolve()
        return None


@attrs.frozen(kw_only=True)
class Settings:
    """The options of one launch: ``metadata`` first, then the environment variables."""

    python: str | None
    checkout: str | None
    python_source: str
    checkout_source: str
    timeout_s: float | None
    model_changes: Mapping[str, Any]
    extra: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class Plan:
    """What a backend runs: the command, its working directory and environment, and where its metrics appear."""

    command: list[str]
    cwd: Path
    env: Mapping[str, str | None]
    metrics_file: Path
    translate: str
    metrics_format: str = "jsonl"
    more_metrics: Sequence[tuple[str | Path, str]] = ()
    info: Mapping[str, Any] = attrs.field(factory=dict)


def settings(code: OfficialCode, metadata: Mapping[str, Any] | None = None) -> Settings:
    """``metadata`` (the ``create_world_model`` options) checked against what ``code`` takes."""
    metadata = dict(metadata or {})
    taken = COMMON_OPTIONS + code.options
    unknown = sorted(set(metadata) - set(taken) - set(code.model_fields))
    if unknown:
        raise ConfigError(f"{code.name} takes the options {', '.join(taken)} and the model fields "
                          f"{', '.join(code.model_fields)}, not {', '.join(unknown)} ({code.refusal_hint})")
    timeout = metadata.get("timeout_s")
    return Settings(
        python=metadata.get("python") or os.environ.get(code.python_var) or None,
        checkout=metadata.get("checkout") or os.environ.get(code.checkout_var) or None,
        python_source="the python= option" if metadata.get("python") else code.python_var,
        checkout_source="the checkout= option" if metadata.get("checkout") else code.checkout_var,
        timeout_s=None if timeout is None else float(timeout),
        model_changes={k: v for k, v in sorted(metadata.items()) if k in code.model_fields},
        extra={k: v for k, v in metadata.items() if k in code.options},
    )


def probe(code: OfficialCode, python: str) -> dict[str, Any]:
    """One subprocess: the interpreter's version, the required modules it cannot import, CUDA (if asked)."""
    try:
        done = subprocess.run([python, "-c", PROBE, "cuda" if code.probe_cuda else "-", *code.required_modules],
                              capture_output=True, text=True, timeout=code.probe_timeout_s,
                              stdin=subprocess.DEVNULL, env={**os.environ, **code.probe_env})
    except subprocess.TimeoutExpired:
        return {"error": f"it did not answer within {code.probe_timeout_s:.0f} s"}
    except OSError as exc:
        return {"error": f"it could not be started ({exc})"}
    for line in done.stdout.splitlines():
        if line.startswith("WORLDFLUX_PROBE "):
            return json.loads(line.removeprefix("WORLDFLUX_PROBE "))
    return {"error": f"it exited with code {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]}"}


def problems(code: OfficialCode, s: Settings) -> tuple[list[str], dict[str, Any] | None]:
    """Actionable sentences for what keeps ``s`` from running (empty: nothing), and the probe if it ran."""
    found: list[str] = []
    if not s.checkout:
        found.append(f"No checkout of the official {code.label} is set: clone {code.repository} and set "
                     f"{code.checkout_var} (or pass checkout=... to create_world_model) to it; {DOCS}.")
    elif code.entry(s.checkout) is None:
        found.append(f"{Path(s.checkout).expanduser() / code.entries[0]} not found: {s.checkout_source} must be "
                     f"the root of a clone of {code.repository}; {DOCS}.")
    if not s.python:
        found.append(f"No Python for the official {code.label} is set: set {code.python_var} (or pass python=... "
                     f"to create_world_model) to the interpreter of an environment with its requirements; {DOCS}.")
        return found, None
    exe = Path(s.python).expanduser()
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        found.append(f"The {code.label} Python {s.python} (from {s.python_source}) is not an executable file; "
                     f"set it to the interpreter of an environment with the official requirements; {DOCS}.")
        return found, None
    result = probe(code, str(exe))
    if "error" in result:
        return found + [f"The {code.label} Python {s.python} (from {s.python_source}) failed its check: "
                        f"{result['error']}; {DOCS}."], result
    version = tuple(result["version"])
    if version < code.min_python:
        found.append(f"The {code.label} Python {s.python} is Python {'.'.join(map(str, version))}; the official "
                     f"code needs {'.'.join(map(str, code.min_python))} or newer; {DOCS}.")
    if result["missing"]:
        found.append(f"The {code.label} Python {s.python} cannot import {', '.join(result['missing'])}: install "
                     f"the official requirements into that environment ({code.install_hint}); {DOCS}.")
    return found, result


def launch(code: OfficialCode, handle: DelegatedHandle, config: TrainingConfig,
           plan: Callable[[Settings, Path, Path], Plan],
           more_problems: Callable[[Settings, dict[str, Any]], list[str]] | None = None) -> Job:
    """Check the set-up, plan the command, open the run directory and start the official run under the bridge.

    ``plan(settings, script, run_dir)`` validates the request and returns the command for the training
    ``script`` (checked afterwards, with the interpreter); it runs first, so a request the official code cannot
    honour is refused before the slow probe. ``more_problems(settings, probe)`` adds the backend's own checks.
    """
    from worldflux.runs import default_run_dir, open_run
    from worldflux_backends.bridge import start_official_run

    s = settings(code, handle.metadata)
    run_dir = Path(config.run_dir or default_run_dir(handle.model_id, config.env)).resolve()
    script = (code.entry(s.checkout) if s.checkout else None) or Path(s.checkout or ".") / code.entries[0]
    planned = plan(s, script, run_dir)
    missing, found = problems(code, s)
    if not missing and more_problems is not None and found is not None:
        missing = more_problems(s, found)
    if missing:
        raise BackendError(f"{code.name} cannot run on this machine:\n- " + "\n- ".join(missing))
    with open_run(run_dir, model_name=handle.model_id, env=config.env, config=config):
        planned.cwd.mkdir(parents=True, exist_ok=True)
    return start_official_run(run_dir, command=planned.command, cwd=str(planned.cwd), env=dict(planned.env),
                              metrics_file=planned.metrics_file, translate=planned.translate,
                              metrics_format=planned.metrics_format, more_metrics=planned.more_metrics,
                              timeout_s=s.timeout_s, kind=code.name, info=dict(planned.info))
