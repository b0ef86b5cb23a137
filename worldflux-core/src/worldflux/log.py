"""The one place worldflux reports warnings and progress: the ``worldflux`` logger.

Library code logs; it never prints. The CLI attaches a stderr handler, so data
stays on stdout and warnings on stderr. On a terminal that handler redraws
records marked ``extra={"live": True}`` (a progress bar) in place, and
keeps the other records above it.
"""

from __future__ import annotations

import logging
import sys

logger = logging.getLogger("worldflux")


def get_logger(name: str) -> logging.Logger:
    """A child of the ``worldflux`` logger (``name`` is usually ``__name__``)."""
    return logger.getChild(name.removeprefix("worldflux."))


class _StderrHandler(logging.StreamHandler):
    """``worldflux: message`` lines; on a terminal a live record stays on its line until the next record."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(logging.Formatter("worldflux: %(message)s"))

    @property
    def terminal(self) -> bool:
        return self.stream.isatty()

    def emit(self, record: logging.LogRecord) -> None:
        if not self.terminal:
            super().emit(record)
            return
        try:
            end = "" if getattr(record, "live", False) else "\n"  # the next record overwrites a live line
            self.stream.write("\r\033[K" + self.format(record) + end)
            self.flush()
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)


def _handler() -> _StderrHandler | None:
    return next((h for h in logger.handlers if isinstance(h, _StderrHandler)), None)


def log_to_stderr(level: int = logging.INFO) -> None:
    """Send worldflux records to stderr as ``worldflux: message`` (used by the CLI)."""
    if _handler() is not None:
        return
    logger.addHandler(_StderrHandler())
    logger.setLevel(level)
    logger.propagate = False  # a root handler that a dependency installs (absl does) would print each line twice


def live_terminal() -> bool:
    """Whether progress may be redrawn in place: worldflux logs to stderr and stderr is a terminal."""
    handler = _handler()
    return handler is not None and handler.terminal
