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


class Workers:
    """This process's place among the workers (``world == 1`` without torchrun)."""

    def __init__(self, device: torch.device) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
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

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()
