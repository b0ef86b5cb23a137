"""``list_models`` and the metadata records shown by the CLI."""

from __future__ import annotations

from typing import Any

from worldflux.catalog import Catalog
from worldflux.records import Preset
from worldflux.state import catalog


def preset_info(preset: Preset, cat: Catalog) -> dict[str, Any]:
    """The catalog metadata of ``preset`` as plain JSON-ready values."""
    return {
        "family": preset.family,
        "maturity": preset.maturity,
        "surface": preset.surface,
        "parity_role": preset.parity_role,
        "description": preset.description,
        "param_count": preset.param_count,
        "reference_spec": {k: list(v) if isinstance(v, tuple) else v for k, v in preset.reference_spec.items()},
        "obs_shape": list(preset.obs_shape),
        "action_dim": preset.action_dim,
        "aliases": cat.aliases_of(preset.name),
        "evidence": list(preset.evidence),
        "provider": preset.provider.distribution,
        "version": preset.provider.version,
    }


def list_models(
    verbose: bool = False,
    maturity: str | None = None,
    surface: str = "supported",
    family: str | None = None,
) -> list[str] | dict[str, dict[str, Any]]:
    """Installed presets on ``surface`` (``"supported"`` ⊂ ``"public"`` ⊂ ``"all"``).

    Returns the names, or with ``verbose`` a dict of name -> catalog metadata.
    ``maturity`` keeps one of ``"reference"``, ``"experimental"``, ``"skeleton"``.
    """
    cat = catalog()
    presets = cat.select(surface=surface, maturity=maturity, family=family)
    if verbose:
        return {p.name: preset_info(p, cat) for p in presets}
    return [p.name for p in presets]
