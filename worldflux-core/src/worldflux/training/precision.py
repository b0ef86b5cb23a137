"""The compute context of a run's ``precision``: bf16 autocast for ``"bf16"``, plain float32 for ``"fp32"``."""

from __future__ import annotations

import torch


def autocast(device_type: str, precision: str) -> torch.autocast:
    """The context acting, updates and evaluation run in for ``TrainingConfig.precision``, on ``device_type``."""
    return torch.autocast(device_type, torch.bfloat16, enabled=precision == "bf16")
