"""DreamerV3 world models for WorldFlux (Hafner et al., 2023/2025)."""

__version__ = "0.1.0"
