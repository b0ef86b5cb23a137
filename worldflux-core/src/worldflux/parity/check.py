"""Live parity checks: run a family's probe under the official code's interpreter, then compare natively.

The probe is a script of the family's package that imports only the official
code and numpy. It writes a fixture directory (``fixture.json`` with the
request, scalars and provenance; ``arrays.npz`` with weights, inputs, random
draws and outputs, read back with ``allow_pickle=False``). The family's
``compare`` replays that fixture with the native model.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Mapping

from worldflux.config import config_to_dict
from worldflux.errors import WorldFluxError
from worldflux.lazy import load_ref
from worldflux.parity.table import ParityRow
from worldflux.records import Official
from worldflux.state import catalog

PROBE_TIMEOUT_S = 1800.0


def make_request(preset_name: str, overrides: Mapping[str, Any] | None = None, seed: int = 0) -> dict[str, Any]:
    """What the probe builds: the preset's config at its reference spec (plus ``overrides``), and a seed."""
    from worldflux.building import build_config

    preset = catalog().resolve(preset_name)
    config = build_config(preset, {**preset.reference_spec, **(overrides or {})})
    return {"preset": preset.name, "family": preset.family, "config": config_to_dict(config), "seed": seed}


def official_setup(official: Official, python: str | None, checkout: str | Path | None) -> tuple[str, Path]:
    """The interpreter and checkout to probe with: the arguments, else the official's environment variables."""
    python = python or (os.environ.get(official.python_env) if official.python_env else None)
    checkout = checkout or (os.environ.get(official.checkout_env) if official.checkout_env else None)
    missing = []
    if not python:
        missing.append(f"the Python of an environment that runs it (--python or ${official.python_env})")
    if not checkout:
        missing.append(f"a checkout of its code (--checkout or ${official.checkout_env})")
    if missing:
        raise WorldFluxError(f"A live parity check runs {official.name} itself and needs " + " and ".join(missing)
                             + ". docs/parity.md shows how to set one up.")
    path = Path(str(checkout)).expanduser()
    if not path.is_dir():
        raise WorldFluxError(f"The {official.name} checkout {path} is not a directory.")
    return str(python), path


def probe_script(official: Official) -> Path:
    """The file of the official's probe module, found without importing it."""
    if official.probe is None:
        raise WorldFluxError(f"{official.name} ({official.provider}) registers no parity probe.")
    spec = importlib.util.find_spec(official.probe)
    if spec is None or spec.origin is None:
        raise WorldFluxError(f"{official.provider} registers probe {official.probe!r}, which is not installed. "
                             f"Reinstall {official.provider.distribution}.")
    return Path(spec.origin)


def run_probe(official: Official, request: Mapping[str, Any] | Path, out: Path, *, python: str, checkout: Path,
              timeout_s: float = PROBE_TIMEOUT_S) -> Path:
    """Write the fixture of ``request`` into ``out`` by running the official code; returns ``out``.

    ``request`` is the request itself, or a ``request.json`` file (whose relative paths, such as a
    committed fixture's official weights, the probe resolves beside it).
    """
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(request, Path):
        request_file = request.resolve()
    else:
        request_file = out / "request.json"
        request_file.write_text(json.dumps(request, indent=2))
    command = [python, str(probe_script(official)), "--checkout", str(checkout), "--request", str(request_file),
               "--out", str(out)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except FileNotFoundError as exc:
        raise WorldFluxError(f"Cannot run {python}: {exc.strerror}. Point --python at the official environment's "
                             f"interpreter.") from exc
    except subprocess.TimeoutExpired as exc:
        raise WorldFluxError(f"The {official.name} probe did not finish within {timeout_s:.0f} s.") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise WorldFluxError(f"The {official.name} probe failed (exit {done.returncode}):\n{tail}")
    if not (out / "fixture.json").is_file():
        raise WorldFluxError(f"The {official.name} probe exited without writing {out / 'fixture.json'}.")
    return out


def compare_fixture(official: Official, fixture: Path) -> list[ParityRow]:
    """Replay ``fixture`` with the native model through the family's ``compare``."""
    if official.compare is None:
        raise WorldFluxError(f"{official.name} ({official.provider}) registers no fixture comparison.")
    compare = load_ref(official.compare, provider=str(official.provider))
    return list(compare(fixture))


def check_preset(preset_name: str, *, python: str | None = None, checkout: str | Path | None = None,
                 keep: Path | None = None, overrides: Mapping[str, Any] | None = None) -> list[ParityRow]:
    """Probe the official code at ``preset_name``'s architecture and compare the native model with it.

    ``keep`` names a directory to leave the fixture in; otherwise it is temporary.
    """
    cat = catalog()
    preset = cat.resolve(preset_name)
    official = cat.official_of_family(preset.family)
    python, checkout_path = official_setup(official, python, checkout)
    request = make_request(preset.name, overrides)
    if keep is not None:
        return compare_fixture(official, run_probe(official, request, keep, python=python, checkout=checkout_path))
    with tempfile.TemporaryDirectory(prefix="worldflux-parity-") as tmp:
        return compare_fixture(official, run_probe(official, request, Path(tmp), python=python,
                                                   checkout=checkout_path))
