"""The one place worldflux reports warnings and progress: the ``worldflux`` logger.

Library code logs; it never prints. The CLI attaches a stderr handler, so data
stays on stdout and warnings on stderr.
"""

from __future__ import annotations

import logging
import sys

logger = logging.getLogger("worldflux")


def get_logger(name: str) -> logging.Logger:
    """A child of the ``worldflux`` logger (``name`` is usually ``__name__``)."""
    return logger.getChild(name.removeprefix("worldflux."))


def log_to_stderr(level: int = logging.INFO) -> None:
    """Send worldflux records to stderr as ``worldflux: message`` (used by the CLI)."""
    if any(getattr(h, "_worldflux", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("worldflux: %(message)s"))
    handler._worldflux = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
