"""Files named inside saved models, checkpoints and replays stay inside their directory."""

from __future__ import annotations

from pathlib import Path


def file_in(directory: Path, name: object) -> Path | None:
    """``directory / name`` if ``name`` is a plain file name that stays inside ``directory``, else None.

    A name with a separator, ``..``, an absolute path, or a link that leads elsewhere is refused: these files
    are written by worldflux, so such a name means the directory was altered.
    """
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        return None
    path = directory / name
    if path.is_symlink() and path.resolve().parent != directory.resolve():
        return None
    return path
