"""WorldFlux: reinforcement-learning world models behind one API.

Importing this package is cheap: torch and model code load only when a model is built. Imported before
torch, it makes torch's OpenMP threads sleep while they wait (see ``worldflux.threads``); it keeps freed memory
for reuse (``worldflux.allocator``).
"""

from __future__ import annotations

from worldflux.allocator import keep_freed_memory
from worldflux.threads import share_cores

share_cores()  # before anything below can import torch
keep_freed_memory()

from worldflux.backends import DelegatedHandle, OfficialBackendHandle
from worldflux.factory import create_world_model
from worldflux.hookspecs import hookimpl
from worldflux.listing import list_models
from worldflux.protocol import WorldModel
from worldflux.state import AliasView
from worldflux.version import __version__

MODEL_ALIASES = AliasView()
"""Live, read-only mapping alias -> preset of the installed plugins."""

__all__ = [
    "DelegatedHandle",
    "MODEL_ALIASES",
    "OfficialBackendHandle",
    "WorldModel",
    "create_world_model",
    "hookimpl",
    "list_models",
    "__version__",
]

