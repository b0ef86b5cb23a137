"""Turn a device string into a torch device, with errors that say what to use instead."""

from __future__ import annotations

import torch

from worldflux.errors import DeviceError


def resolve_device(device: str | torch.device) -> torch.device:
    """Parse ``device`` and check this machine can use it (``meta`` always works)."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DeviceError(
            f"{device!r} is not a torch device. Use 'cpu', 'cuda', 'cuda:N', 'mps' or 'meta'."
        ) from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {device!r} was requested, but CUDA is not available here "
                f"(torch {torch.__version__}, torch.cuda.is_available() is False). "
                f"Use device='cpu', or install a CUDA build of torch on a machine with a GPU."
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise DeviceError(f"device {device!r} was requested, but only {count} CUDA device(s) exist.")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"device {device!r} was requested, but MPS is not available here. Use 'cpu'.")
    return dev
