"""The ``worldflux`` entry point of worldflux-backends. Kept light: no torch, no backend code.

Backends register here through ``worldflux_register_backends`` as they land.
"""
