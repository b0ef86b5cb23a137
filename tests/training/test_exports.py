"""worldflux.training's lazy exports resolve to the documented objects, never to a same-named submodule."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types

import worldflux.training


def test_every_export_is_an_object_even_after_every_submodule_is_imported() -> None:
    for info in pkgutil.iter_modules(worldflux.training.__path__):
        if info.name not in ("dmc", "worker"):
            importlib.import_module(f"worldflux.training.{info.name}")
    for name in worldflux.training.__all__:
        assert not isinstance(getattr(worldflux.training, name), types.ModuleType), name


def test_job_control_does_not_import_torch() -> None:
    code = "import sys, worldflux.runs, worldflux_backends.bridge; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
