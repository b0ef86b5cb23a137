"""Observation encoder and decoder: symlog MLPs for vectors, CNNs for uint8 images, both for dict observations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from worldflux_dreamer.config import DreamerV3Config
from worldflux_dreamer.functional import symlog
from worldflux_dreamer.layers import BlockLinear, Conv2d, Linear, NormAct, mlp

if TYPE_CHECKING:
    from worldflux.types import Observation


def is_image(shape: tuple[int, ...]) -> bool:
    return len(shape) == 3


def cnn_depths(c: DreamerV3Config) -> list[int]:
    return [c.cnn_depth * m for m in c.cnn_mults]


def min_resolution(c: DreamerV3Config) -> tuple[int, int]:
    factor = 2 ** len(c.cnn_mults)
    return c.obs_shape[1] // factor, c.obs_shape[2] // factor


class Encoder(nn.Module):
    """Images ``[..., C, H, W]`` uint8 -> conv, 2x2 max-pool, RMSNorm, SiLU per stage, flattened as (H, W, C)
    like the official channels-last encoder; vectors -> symlog MLP.

    A dict observation's image goes through the CNN and its vectors, concatenated
    in name order and symlogged, through the MLP; the embedding is the MLP's
    output then the CNN's, as in the official encoder.
    """

    def __init__(self, c: DreamerV3Config) -> None:
        super().__init__()
        self.c = c
        if is_image(c.obs_shape):
            res = min_resolution(c)
            if not (3 <= res[0] <= 16 and 3 <= res[1] <= 16):
                raise ValueError(f"image {c.obs_shape} leaves a {res} map after {len(c.cnn_mults)} halvings; "
                                 f"use 64x64 images or change cnn_mults")
            stages: list[nn.Module] = []
            inp = c.obs_shape[0]
            for depth in cnn_depths(c):
                stages += [Conv2d(inp, depth, c.cnn_kernel), nn.MaxPool2d(2), NormAct(depth, c.act, dim=1)]
                inp = depth
            self.net = nn.Sequential(*stages)
            self.out_dim = inp * res[0] * res[1]
        else:
            self.net = mlp(c.obs_shape[0], c.units, c.enc_layers, c.act)
            self.out_dim = c.units if c.enc_layers else c.obs_shape[0]
        if c.vector_keys:
            width = sum(c.obs_space[k][0] for k in c.vector_keys)
            self.vectors = mlp(width, c.units, c.enc_layers, c.act)
            self.out_dim += c.units if c.enc_layers else width

    def forward(self, obs: Observation) -> torch.Tensor:
        """The embedding ``[..., out_dim]`` of observations ``[..., *obs_shape]`` (or a dict of their parts)."""
        if self.c.obs_space is None:
            return self._embed(obs)
        image = self._embed(obs[self.c.image_key])
        if not self.c.vector_keys:
            return image
        x = torch.cat([obs[k].float() for k in self.c.vector_keys], -1)
        x = symlog(x) if self.c.symlog_inputs else x
        return torch.cat([self.vectors(x), image], -1)

    def _embed(self, obs: torch.Tensor) -> torch.Tensor:
        lead = obs.shape[: obs.dim() - len(self.c.obs_shape)]
        x = obs.reshape(-1, *self.c.obs_shape)
        if is_image(self.c.obs_shape):
            x = (x.float() / 255 - 0.5).contiguous(memory_format=torch.channels_last)
        elif self.c.symlog_inputs:
            x = symlog(x.float())
        x = self.net(x)
        if is_image(self.c.obs_shape):  # flatten (H, W, C) as the official channels-last encoder
            x = x.permute(0, 2, 3, 1)
        return x.reshape(*lead, -1)


class Decoder(nn.Module):
    """Reconstructs observations from the latent; returns the per-step loss.

    Images: a block-linear map of ``deter`` plus an MLP of ``stoch`` to the
    smallest feature map, then upsample+conv stages and a sigmoid, scored by
    summed squared error on [0, 1] pixels. Vectors: an MLP, scored by summed
    squared error against symlog targets. Dict observations: the image as
    above, and one MLP for the vectors with a linear head per vector, as the
    official decoder; each part is a reconstruction target of its own.
    """

    def __init__(self, c: DreamerV3Config) -> None:
        super().__init__()
        self.c = c
        if is_image(c.obs_shape):
            depths = cnn_depths(c)
            h, w = min_resolution(c)
            self.space = (depths[-1], h, w)
            units = h * w * depths[-1]
            self.sp0 = BlockLinear(c.deter_dim, units, c.dec_blocks)
            self.sp1 = nn.Sequential(Linear(c.stoch_size, 2 * c.units), NormAct(2 * c.units, c.act),
                                     Linear(2 * c.units, units))
            self.spnorm = NormAct(depths[-1], c.act, dim=1)
            stages: list[nn.Module] = []
            for depth, inp in zip(reversed(depths[:-1]), reversed(depths[1:])):
                stages += [nn.Upsample(scale_factor=2), Conv2d(inp, depth, c.cnn_kernel), NormAct(depth, c.act, dim=1)]
            stages += [nn.Upsample(scale_factor=2), Conv2d(depths[0], c.obs_shape[0], c.cnn_kernel)]
            self.net = nn.Sequential(*stages)
        else:
            self.net = nn.Sequential(mlp(c.feat_size, c.units, c.dec_layers, c.act),
                                     Linear(c.units if c.dec_layers else c.feat_size, c.obs_shape[0]))
        if c.vector_keys:
            self.vectors = mlp(c.feat_size, c.units, c.dec_layers, c.act)
            width = c.units if c.dec_layers else c.feat_size
            self.heads = nn.ModuleList([Linear(width, c.obs_space[k][0]) for k in c.vector_keys])

    def _image(self, deter: torch.Tensor, stoch: torch.Tensor) -> torch.Tensor:
        g, (ch, h, w) = self.c.dec_blocks, self.space
        x0 = self.sp0(deter).reshape(-1, g, h, w, ch // g)  # '(g h w c) -> h w (g c)'
        x0 = x0.permute(0, 1, 4, 2, 3).reshape(-1, ch, h, w)
        x1 = self.sp1(stoch).reshape(-1, h, w, ch).permute(0, 3, 1, 2)
        return torch.sigmoid(self.net(self.spnorm(x0 + x1).contiguous(memory_format=torch.channels_last)))

    def forward(self, deter: torch.Tensor, stoch: torch.Tensor) -> Observation:
        """The reconstruction ``[..., *obs_shape]`` (of each part of a dict observation, by name) of latents
        ``deter [..., D]``, ``stoch [..., S, K]``."""
        lead = deter.shape[:-1]
        deter = deter.reshape(-1, deter.shape[-1])
        stoch = stoch.reshape(deter.shape[0], -1)
        if is_image(self.c.obs_shape):
            out = self._image(deter, stoch)
        else:
            out = self.net(torch.cat([stoch, deter], -1))
        out = out.reshape(*lead, *self.c.obs_shape)
        if self.c.obs_space is None:
            return out
        recon = {self.c.image_key: out}
        if self.c.vector_keys:
            hidden = self.vectors(torch.cat([stoch, deter], -1))
            recon.update({k: head(hidden).reshape(*lead, -1) for k, head in zip(self.c.vector_keys, self.heads)})
        return recon

    def loss(self, recon: Observation, obs: Observation) -> torch.Tensor | dict[str, torch.Tensor]:
        """Summed squared error per step, against [0, 1] pixels or symlog vectors; for a dict observation one
        such term per part, by name (the official loss sums them, each scaled by ``loss_rec``)."""
        if self.c.obs_space is None:
            return self._error(recon, obs, self.c.obs_shape)
        return {k: self._error(recon[k], obs[k], self.c.obs_space[k]) for k in recon}

    def _error(self, recon: torch.Tensor, obs: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        if is_image(shape):
            target = obs.float() / 255
        else:
            target = symlog(obs.float()) if self.c.symlog_inputs else obs.float()
        dims = tuple(range(recon.dim() - len(shape), recon.dim()))
        return (recon - target.detach()).square().sum(dims)
