"""Exceptions raised by worldflux; each message says what went wrong and what to do next."""

from __future__ import annotations


class WorldFluxError(Exception):
    """Base class of every error worldflux raises on purpose."""


class UnknownModelError(WorldFluxError, KeyError):
    """A model name matches no installed preset or alias."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ConfigError(WorldFluxError, ValueError):
    """A config override names no field, or gives a field a value it cannot take."""


class PluginError(WorldFluxError):
    """A plugin failed to load, or its code could not be imported when needed."""


class SavedModelError(WorldFluxError):
    """A saved model directory is missing, corrupt, truncated or not a worldflux model."""


class DeviceError(WorldFluxError, ValueError):
    """The requested torch device cannot be used on this machine."""


class BackendError(WorldFluxError, ValueError):
    """A delegated backend is unknown, or does not accept the requested preset."""
