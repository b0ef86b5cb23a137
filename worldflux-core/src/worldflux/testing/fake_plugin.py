"""Make a plugin discoverable through real entry points without installing it."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping


def fake_distribution(
    root: str | Path,
    name: str,
    entry_points: Mapping[str, str],
    *,
    version: str = "1.0",
    files: Mapping[str, str] | None = None,
) -> Path:
    """Write ``name``'s ``*.dist-info`` (and any source ``files``) under ``root``; return ``root``.

    Put ``root`` on ``sys.path`` (``monkeypatch.syspath_prepend``) and
    ``importlib.metadata`` finds the distribution and its ``worldflux`` entry
    points (entry-point name -> ``"module"`` or ``"module:object"``).
    """
    root = Path(root)
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "".join(f"{ep} = {target}\n" for ep, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[worldflux]\n{lines}")
    for rel, text in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
