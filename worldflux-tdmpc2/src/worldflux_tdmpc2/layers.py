"""TD-MPC2 building blocks: Linear -> LayerNorm -> Mish blocks, SimNorm, the pixel encoder, a batched Q ensemble."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class _Mish(torch.autograd.Function):
    """Mish from one ``exp``: ``tanh(softplus(x)) = n / (n + 2)`` with ``n = e^x (e^x + 2)``.

    torch's CPU ``mish`` and its backward evaluate ``tanh`` and ``log1p`` element by element, several times
    slower than ``exp``; this form agrees with it to float rounding. Inputs above 20 are clamped inside ``exp``,
    where ``n / (n + 2)`` is 1 in float32 anyway.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        e = x.clamp(max=20.0).exp_()
        n = (e + 2.0).mul_(e)
        ctx.save_for_backward(x, e)
        return n.div_(n + 2.0).mul_(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        # d/dx x tanh(softplus(x)) = 1 - 2d + 4 x e (1 + e) d^2, with d = 1 / ((1 + e)^2 + 1)
        x, e = ctx.saved_tensors
        s = e + 1.0
        d = torch.addcmul(torch.ones_like(s), s, s).reciprocal_()
        return (x * e).mul_(s).mul_(d).mul_(4.0).sub_(2.0).mul_(d).add_(1.0).mul_(grad)


def mish(x: torch.Tensor) -> torch.Tensor:
    """``x * tanh(softplus(x))``: on CPU from one ``exp`` (see ``_Mish``), in at least float32 precision; on other
    devices torch's own kernel, which is one fused pass there."""
    if x.device.type != "cpu":
        return F.mish(x)
    return _Mish.apply(x.to(torch.promote_types(x.dtype, torch.float32))).to(x.dtype)


class Mish(nn.Module):
    """The Mish activation as a module (``mish``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mish(x)


class SimNorm(nn.Module):
    """Softmax over consecutive groups of ``dim`` features (simplicial normalisation).

    On CPU the softmax runs across a transposed view: torch's CPU softmax along a last axis only ``dim`` (8) long
    is about ten times slower than along an inner axis, for the same values to float rounding.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        groups = x.unflatten(-1, (-1, self.dim))
        if x.device.type != "cpu":
            return groups.softmax(-1).flatten(-2)
        return groups.transpose(-1, -2).softmax(-2).transpose(-1, -2).flatten(-2)


class NormedLinear(nn.Linear):
    """Linear -> (dropout) -> LayerNorm -> activation (Mish unless given)."""

    def __init__(self, inp: int, out: int, act: nn.Module | None = None, dropout: float = 0.0) -> None:
        super().__init__(inp, out)
        self.ln = nn.LayerNorm(out)
        self.act = act if act is not None else Mish()
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.ln(self.dropout(super().forward(x))))


def mlp(inp: int, hidden: list[int], out: int, act: nn.Module | None = None) -> nn.Sequential:
    """Hidden NormedLinear blocks, then a NormedLinear with ``act`` (e.g. SimNorm) or a plain Linear."""
    dims = [inp, *hidden]
    layers: list[nn.Module] = [NormedLinear(a, b) for a, b in zip(dims[:-1], dims[1:])]
    layers.append(NormedLinear(dims[-1], out, act=act) if act is not None else nn.Linear(dims[-1], out))
    return nn.Sequential(*layers)


class ShiftAug(nn.Module):
    """Random shifts of each image by up to ``pad`` pixels (edges replicated): the official augmentation.

    Officially it is the conv encoder's first layer, so every encoding is shifted, in training and when acting,
    in train and eval mode alike. The official code samples the replicate-padded image with ``grid_sample`` at
    pixel centres, one integer ``(x, y)`` offset per image; that is a crop, taken here directly with the same
    draws (grid_sample's rounding, under 1e-5 of a pixel value, is the only difference). The crop keeps the
    input's dtype and comes out channels-last, the layout in which the CPU convolutions run several times faster.
    """

    def __init__(self, pad: int = 3) -> None:
        super().__init__()
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        assert h == w, f"ShiftAug takes square images, got {h}x{w}"
        offset = torch.randint(0, 2 * self.pad + 1, (n, 2), device=x.device, dtype=torch.float32).long()
        pixels = torch.arange(h, device=x.device) - self.pad
        rows = (pixels + offset[:, 1:]).clamp_(0, h - 1)  # clamping to the edge is replicate padding
        cols = (pixels + offset[:, :1]).clamp_(0, w - 1)
        images = torch.arange(n, device=x.device)[:, None, None]
        return x.permute(0, 2, 3, 1)[images, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


class PixelPreprocess(nn.Module):
    """Pixels in [0, 255] to [-0.5, 0.5], as officially (converting first, then dividing in place, is faster)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float32, copy=True).div_(255.0).sub_(0.5)


class PixelEncoder(nn.Sequential):
    """The official pixel encoder: shift, ``x / 255 - 0.5``, four ReLU-separated convs, flatten, then ``act``.

    At 64x64 the convs (7/2, 5/2, 3/2, 3/1, no padding) leave ``num_channels x 4 x 4`` features, the latent.
    Takes uint8 or float images with any leading dims ``[..., C, H, W]``; the layer indices are the official
    ``_encoder.rgb`` ones.
    """

    def __init__(self, in_channels: int, num_channels: int, act: nn.Module) -> None:
        c = num_channels
        super().__init__(ShiftAug(), PixelPreprocess(),
                         nn.Conv2d(in_channels, c, 7, stride=2), nn.ReLU(), nn.Conv2d(c, c, 5, stride=2), nn.ReLU(),
                         nn.Conv2d(c, c, 3, stride=2), nn.ReLU(), nn.Conv2d(c, c, 3, stride=1), nn.Flatten(), act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        lead = x.shape[:-3]
        return super().forward(x.reshape(-1, *x.shape[-3:])).reshape(*lead, -1)


def init_weights(module: nn.Module) -> None:
    """Official initialisation: truncated normal (std 0.02) weights, zero biases; task embeddings U(-0.02, 0.02).

    Convolutions keep PyTorch's default initialisation, as officially.
    """
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.uniform_(module.weight, -0.02, 0.02)


class EnsembleMLP(nn.Module):
    """``n`` independent 2-hidden-layer Q networks evaluated as one batched computation.

    Each member is NormedLinear(dropout) -> NormedLinear -> Linear; weights are
    stacked ``[n, in, out]`` and applied with ``baddbmm``, so the ensemble costs
    three batched matmuls instead of ``3 n`` small ones.
    """

    def __init__(self, n: int, inp: int, hidden: int, out: int, dropout: float) -> None:
        super().__init__()
        self.dropout = dropout
        shapes = [(inp, hidden), (hidden, hidden), (hidden, out)]
        self.weights = nn.ParameterList([nn.Parameter(torch.empty(n, a, b)) for a, b in shapes])
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(n, 1, b)) for _, b in shapes])
        self.ln_weights = nn.ParameterList([nn.Parameter(torch.ones(n, 1, hidden)) for _ in range(2)])
        self.ln_biases = nn.ParameterList([nn.Parameter(torch.zeros(n, 1, hidden)) for _ in range(2)])
        for w in self.weights:
            nn.init.trunc_normal_(w, std=0.02)
        nn.init.zeros_(self.weights[-1])  # zero-initialised output layer

    def masks(self, rows: int) -> torch.Tensor | None:
        """Every member's dropout masks for ``rows`` inputs, ``[n, rows, hidden]``; None without dropout.

        ``F.dropout`` of ones over the stacked shape: the draw ``F.dropout`` makes on the stacked first-layer
        output, which is how the official ``vmap(randomness="different")`` draws the masks (tests/test_parity.py).
        Drawing them apart lets a caller compute only the members it uses.
        """
        if not (self.training and self.dropout > 0):
            return None
        n, _, hidden = self.weights[0].shape
        return F.dropout(self.weights[0].new_ones(n, rows, hidden), self.dropout, training=True)

    def forward(self, x: torch.Tensor, params: list[torch.Tensor] | None = None,
                masks: torch.Tensor | None = None) -> torch.Tensor:
        """``x [..., in]`` -> ``[n, ..., out]``; ``params`` replaces the weights (e.g. target copies or a subset of
        members), ``masks`` (from :meth:`masks`, for the same members) applies dropout after the first layer."""
        w1, w2, w3, b1, b2, b3, g1, g2, s1, s2 = params if params is not None else self.flat_params()
        lead = x.shape[:-1]
        h = x.reshape(1, -1, x.shape[-1]).expand(w1.shape[0], -1, -1)
        h = torch.baddbmm(b1, h, w1)
        if masks is not None:
            h = h * masks
        h = mish(torch.addcmul(s1, F.layer_norm(h, h.shape[-1:]), g1))
        h = mish(torch.addcmul(s2, F.layer_norm(torch.baddbmm(b2, h, w2), h.shape[-1:]), g2))
        out = torch.baddbmm(b3, h, w3)
        return out.reshape(out.shape[0], *lead, out.shape[-1])

    def flat_params(self) -> list[torch.Tensor]:
        # indexed, not iterated: a ParameterList iterates through a generator, which torch.compile in torch 2.11
        # cannot unpack (seen on a GPU machine); 2.13 can
        groups = (self.weights, self.biases, self.ln_weights, self.ln_biases)
        return [group[i] for group in groups for i in range(len(group))]
