"""Data-parallel training on torch.distributed: each worker collects and trains one replica.

Launched by ``torchrun`` (which sets ``RANK`` and ``WORLD_SIZE``). Replicas
start from rank 0's weights; every gradient is averaged over workers as soon
as backward produces it (what DDP does, without wrapping the family's module,
so the families' own update code runs unchanged); buffers such as running
normalisers follow rank 0 after each update. Rank 0 alone writes metrics and
the exported model.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn

from worldflux.errors import WorldFluxError


class Workers:
    """This process's place among the workers (``world == 1`` without torchrun)."""

    def __init__(self, device: torch.device) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.device = device
        if self.world > 1 and device.type == "cuda" and device.index is None:  # one GPU per worker on a node
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(self.device)
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def replicate(self, model: nn.Module) -> None:
        """Copy rank 0's parameters and buffers everywhere and average gradients from now on."""
        if self.world == 1:
            return
        self.sync_buffers(model)
        for p in model.parameters():
            dist.broadcast(p.data, 0)
            if p.requires_grad:
                p.register_post_accumulate_grad_hook(self._average)

    def _average(self, param: torch.Tensor) -> None:
        dist.all_reduce(param.grad)
        param.grad.div_(self.world)

    def sync_buffers(self, model: nn.Module) -> None:
        if self.world > 1:
            for b in model.buffers():
                dist.broadcast(b, 0)

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is set on any worker (so all of them stop at the same step)."""
        if self.world == 1:
            return flag
        value = torch.tensor([float(flag)], device=self.device)
        dist.all_reduce(value, dist.ReduceOp.MAX)
        return bool(value.item())

    def check_same(self, value: int, what: str) -> None:
        """Raise WorldFluxError unless every worker has the same ``value``."""
        if self.world == 1:
            return
        values = torch.tensor([value, -value], dtype=torch.float64, device=self.device)
        dist.all_reduce(values, dist.ReduceOp.MAX)
        if values[0].item() != -values[1].item():
            raise WorldFluxError(f"the workers disagree on {what} ({-values[1].item():.0f} to {values[0].item():.0f}): "
                                 f"their checkpoints are from different steps, or the number of workers changed")

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()
