"""Parity with the official implementations: fixture comparisons, live checks, learning-curve campaigns."""

from worldflux.parity.table import ParityRow, compare_arrays

__all__ = ["ParityRow", "compare_arrays"]
