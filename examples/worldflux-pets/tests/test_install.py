"""The plugin is installed as a real distribution: its entry point, its presets, and no stale copy."""

import filecmp
from importlib import metadata
from pathlib import Path

import worldflux_pets
from worldflux import list_models
from worldflux.state import catalog

SOURCE = Path(__file__).resolve().parents[1] / "src" / "worldflux_pets"


def test_entry_point_is_named_after_the_distribution():
    eps = [ep for ep in metadata.entry_points(group="worldflux") if ep.name == "worldflux-pets"]
    assert len(eps) == 1 and eps[0].value == "worldflux_pets.plugin" and eps[0].dist.name == "worldflux-pets"


def test_presets_are_registered_with_their_surfaces():
    assert "pets:small" in list_models(surface="public") and "pets:small" not in list_models()
    assert "pets:ci" in list_models(surface="all") and "pets:ci" not in list_models(surface="public")
    small = catalog().resolve("pets")
    assert small.name == "pets:small" and small.maturity == "experimental" and small.parity_role == "unclaimed"


def test_installed_code_is_this_source():
    """Tests run against the installed copy; after an edit, reinstall it (bash scripts/setup.sh)."""
    installed = Path(worldflux_pets.__file__).resolve().parent
    if installed == SOURCE.resolve():
        return  # an editable install or a path import: nothing can be stale
    names = sorted(p.name for p in SOURCE.glob("*.py"))
    assert names == sorted(p.name for p in installed.glob("*.py")), "installed files differ from the source"
    _, mismatch, errors = filecmp.cmpfiles(SOURCE, installed, names, shallow=False)
    assert not mismatch and not errors, (
        f"the installed worldflux_pets ({installed}) is stale in {mismatch + errors}; run bash scripts/setup.sh")
