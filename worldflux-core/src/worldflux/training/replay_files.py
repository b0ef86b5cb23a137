"""Replay on disk: the stream of rows is written to the run directory in fixed-size chunk files.

Chunk ``k`` holds rows ``[k * size, k * size + n)`` of every environment as a
safetensors file; a checkpoint also writes the partial last chunk. Each file is
replaced atomically, so a crash leaves either the old or the new chunk, and a
resume reads back exactly the rows its checkpoint counted.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import safetensors.numpy

from worldflux.errors import WorldFluxError
from worldflux.training.replay import Replay


class ReplayFiles:
    """Writes a :class:`Replay`'s rows to ``directory`` as they fill; reads them back on resume."""

    def __init__(self, directory: Path, chunk: int = 1024) -> None:
        self.directory, self.chunk = directory, chunk
        self.written = 0  # rows persisted per environment

    def clear(self) -> None:
        """Remove every chunk: a run that starts again keeps no rows of an earlier, uncheckpointed attempt."""
        for chunk in self.directory.glob("chunk-*.safetensors"):
            chunk.unlink(missing_ok=True)

    def _path(self, k: int) -> Path:
        return self.directory / f"chunk-{k:06d}.safetensors"

    def _write(self, replay: Replay, k: int, stop: int) -> None:
        rows = replay.rows(k * self.chunk, stop)
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".{uuid.uuid4().hex}.tmp"
        safetensors.numpy.save_file({name: np.ascontiguousarray(v) for name, v in rows.items()}, str(tmp))
        os.replace(tmp, self._path(k))

    def sync(self, replay: Replay, partial: bool = False) -> None:
        """Write every chunk that filled since the last call (and, with ``partial``, the unfinished one)."""
        size = self.chunk
        while (self.written // size + 1) * size <= replay.total:
            k = self.written // size
            self._write(replay, k, (k + 1) * size)
            self.written = (k + 1) * size
        if partial and replay.total > self.written:
            self._write(replay, self.written // size, replay.total)
            self.written = replay.total - replay.total % size  # the partial chunk is rewritten when full

    def load(self, replay: Replay, total: int) -> None:
        """Fill the empty ``replay`` with the last rows (up to its capacity) of the first ``total`` rows."""
        start = max(0, total - replay.capacity)
        for k in range(start // self.chunk, -(-total // self.chunk)):
            path = self._path(k)
            if not path.exists():
                raise WorldFluxError(f"replay chunk {path} is missing; the run directory is incomplete")
            try:
                rows = safetensors.numpy.load_file(str(path))
            except Exception as exc:  # noqa: BLE001 - whatever is wrong with the file, it is not a chunk
                raise WorldFluxError(f"replay chunk {path} is not a readable safetensors file ({exc}); the run "
                                     f"directory was altered or damaged") from exc
            lo, hi = max(start - k * self.chunk, 0), min(total - k * self.chunk, len(rows["reward"][0]))
            if hi < min(total - k * self.chunk, self.chunk):
                raise WorldFluxError(f"replay chunk {path} holds {len(rows['reward'][0])} rows; the checkpoint "
                                     f"needs {min(total - k * self.chunk, self.chunk)}")
            missing = [name for name in replay.fields if name not in rows]
            if missing:
                raise WorldFluxError(f"replay chunk {path} lacks {', '.join(missing)}; it was written by a run "
                                     f"with other observations or replay entries, so this run cannot resume from it")
            replay.extend({name: rows[name][:, lo:hi] for name in replay.fields})
        replay.total = total
        self.written = total - total % self.chunk
