"""PETS world models for WorldFlux (Chua, Calandra, McAllister, Levine, NeurIPS 2018).

An example of a family shipped as its own distribution: a probabilistic
ensemble of dynamics networks, planned with CEM and trajectory sampling.
"""

__version__ = "0.1.0"
