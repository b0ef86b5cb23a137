"""The version of worldflux-core, in a module of its own so that saving can record it without importing the package."""

__version__ = "0.1.0"
