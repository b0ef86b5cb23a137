"""Delegated execution backends for WorldFlux."""

__version__ = "0.1.0"
