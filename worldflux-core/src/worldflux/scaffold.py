"""``worldflux plugins new``: the skeleton of a family distribution that installs and passes the kit as written.

The files are templates in ``worldflux/templates/plugin`` (``*.tmpl``, so they
are never imported or byte-compiled as part of WorldFlux); ``__package__`` in a
path and ``${name}`` placeholders in a file are filled from the family name.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

from worldflux.errors import WorldFluxError
from worldflux.version import __version__

FAMILY = re.compile(r"[a-z][a-z0-9_]*")
TEMPLATES = Path(__file__).parent / "templates" / "plugin"


def template_values(family: str) -> dict[str, str]:
    """The placeholder values for ``family``: distribution, package and class names."""
    if not FAMILY.fullmatch(family):
        raise WorldFluxError(f"{family!r} cannot name a family: use lowercase letters, digits and '_', starting "
                             f"with a letter (e.g. 'acme' or 'my_model')")
    return {"family": family, "package": f"worldflux_{family}", "distribution": f"worldflux-{family.replace('_', '-')}",
            "Class": "".join(part.capitalize() for part in family.split("_")),
            "core_version": __version__}


def new_plugin(family: str, directory: Path) -> list[Path]:
    """Write the skeleton of ``family``'s distribution into ``directory`` (new or empty); return the files."""
    values = template_values(family)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise WorldFluxError(f"{directory} already exists and is not empty; choose a new directory with --dir")
    written = []
    for source in sorted(TEMPLATES.rglob("*.tmpl")):
        relative = str(source.relative_to(TEMPLATES)).replace("__package__", values["package"])
        target = directory / relative.removesuffix(".tmpl")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(string.Template(source.read_text()).substitute(values))
        written.append(target)
    return written
