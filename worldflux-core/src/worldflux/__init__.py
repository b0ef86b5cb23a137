"""WorldFlux: reinforcement-learning world models behind one API.

Importing this package is cheap: torch and model code load only when a model is built.
"""

from __future__ import annotations

from worldflux.backends import OfficialBackendHandle
from worldflux.catalog import AliasView
from worldflux.factory import create_world_model
from worldflux.hookspecs import hookimpl
from worldflux.listing import list_models
from worldflux.protocol import WorldModel

__version__ = "0.1.0"

MODEL_ALIASES = AliasView()
"""Live, read-only mapping alias -> preset of the installed plugins."""

__all__ = [
    "MODEL_ALIASES",
    "OfficialBackendHandle",
    "WorldModel",
    "create_world_model",
    "hookimpl",
    "list_models",
]

