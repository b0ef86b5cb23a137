"""TD-MPC2 world models for WorldFlux (Hansen, Su, Wang, ICLR 2024)."""

__version__ = "0.1.0"
