"""Official checkpoints in and out: dispatch to the converters that families register.

A family registers its official implementation with
``registry.add_official("official-tdmpc2", family="tdmpc2", convert=..., export=...)``;
``worldflux convert`` / ``worldflux export`` and the functions here look it up by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from worldflux.errors import WorldFluxError
from worldflux.lazy import load_ref
from worldflux.state import catalog


def convert_checkpoint(official: str, source: str | Path, out: str | Path, **options: Any) -> Path:
    """Turn the official checkpoint ``source`` into a saved model at ``out`` (load it with ``create_world_model(out)``).

    ``official`` names the implementation (``"official-tdmpc2"``, ``"official-dreamerv3"``);
    ``options`` are the converter's own (see ``worldflux convert --help``).
    """
    record = catalog().official(official)
    source = Path(source).expanduser()
    if not source.exists():
        raise WorldFluxError(f"{source} does not exist. Give the path of an official {record.family} checkpoint.")
    convert = load_ref(record.convert, provider=str(record.provider))
    return Path(convert(source, Path(out).expanduser(), **options))


def export_checkpoint(official: str, model_dir: str | Path, out: str | Path, **options: Any) -> Path:
    """Write the saved model at ``model_dir`` as a checkpoint that the official code of ``official`` loads."""
    record = catalog().official(official)
    if record.export is None:
        raise WorldFluxError(f"{record.name} has no exporter: {record.provider} converts its checkpoints "
                             f"into WorldFlux models only.")
    export = load_ref(record.export, provider=str(record.provider))
    return Path(export(Path(model_dir).expanduser(), Path(out).expanduser(), **options))
