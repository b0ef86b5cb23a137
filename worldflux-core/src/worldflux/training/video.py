"""Episodes as animated GIFs: the frames an environment renders, written with Pillow."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from worldflux.errors import ConfigError, WorldFluxError


def gif_path(path: str | Path) -> Path:
    """``path`` as a video path, checked before an episode is played for it."""
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ConfigError(f"videos are written as GIF files; name one ending in .gif instead of {path.name}")
    return path


def write_gif(frames: Sequence[np.ndarray], path: str | Path, fps: float) -> Path:
    """Write ``frames`` (``H x W x 3`` uint8) to the GIF ``path``, looping, at ``fps`` frames per second."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise WorldFluxError('writing a video needs Pillow: pip install "worldflux-core[plot]"') from exc
    if not frames:
        raise WorldFluxError("the episode rendered no frames, so there is no video to write")
    path = gif_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.asarray(f, np.uint8)) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=max(1, round(1000 / fps)), loop=0)
    return path
