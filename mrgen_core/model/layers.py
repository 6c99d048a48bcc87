"""Building blocks: skeleton-aware 1-D convolution (a masked ``Conv1d``) and FiLM conditioning."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def group_mask(out_groups: np.ndarray, in_groups: np.ndarray, adjacency: np.ndarray) -> torch.Tensor:
    """(out, in, 1) float mask: 1 where output channel's group may read input channel's group."""
    m = adjacency[np.asarray(out_groups)[:, None], np.asarray(in_groups)[None, :]]
    return torch.as_tensor(m, dtype=torch.float32).unsqueeze(-1)


def hidden_groups(width: int, num_groups: int) -> np.ndarray:
    """Groups of a hidden layer that gives every group ``width`` channels (group-major)."""
    return np.repeat(np.arange(num_groups), width)


class SkeletalConv(nn.Module):
    """A 1-D convolution whose output channels of a body part (joint, root motion or contact group) only read the
    input channels of adjacent parts (graph distance <= 2 on the skeleton, GANimator's skeleton-aware convolution).

    Implemented as one dense ``conv1d`` whose weight is 0 outside a fixed 0/1 mask (and whose gradient is masked,
    so it stays so): cheap on the CPU, where a few small dense convolutions beat many grouped ones. ``padding``: ``0`` = valid convolution, ``"same"`` = replicate padding.
    """

    def __init__(self, in_groups: np.ndarray, out_groups: np.ndarray, adjacency: np.ndarray, kernel_size: int,
                 padding: int | str = 0):
        super().__init__()
        self.kernel_size = int(kernel_size)
        self.padding = padding
        mask = group_mask(out_groups, in_groups, adjacency)
        self.register_buffer("mask", mask, persistent=False)
        fan_in = mask.sum(dim=1, keepdim=True).clamp(min=1) * self.kernel_size  # (out, 1, 1) unmasked inputs
        bound = 1.0 / torch.sqrt(fan_in)
        w = (torch.rand(mask.shape[0], mask.shape[1], self.kernel_size) * 2 - 1) * bound * math.sqrt(3.0)
        self.weight = nn.Parameter(w * mask)
        self.bias = nn.Parameter(torch.zeros(mask.shape[0]))
        # Masked entries start at 0 and their gradient is masked, so they stay 0 under any optimiser without
        # weight decay: the forward pass uses the weight as is (no multiply per call).
        self.weight.register_hook(self._mask_grad)

    def _mask_grad(self, grad: torch.Tensor) -> torch.Tensor:
        return grad * self.mask

    @property
    def shrink(self) -> int:
        """Frames lost at each end (valid convolution)."""
        return 0 if self.padding == "same" else self.kernel_size // 2

    def masked_weight(self) -> torch.Tensor:
        """The weight (its masked entries are 0 by construction)."""
        return self.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == "same":
            p = self.kernel_size // 2
            x = F.pad(x, (p, p), mode="replicate")
        return F.conv1d(x, self.weight, self.bias)


class FiLM(nn.Module):
    """Feature-wise linear modulation: ``h * (1 + gamma) + delta`` with ``gamma, delta`` per frame from ``y``.

    Starts as the identity (zero-initialised projection), so conditioning is learnt from a working unconditional
    model rather than fighting a random one.
    """

    def __init__(self, embed_dim: int, channels: int):
        super().__init__()
        self.proj = nn.Conv1d(embed_dim, 2 * channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def params(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``gamma, delta``, each (B, channels, T), from the embedded control ``y`` (B, embed_dim, T)."""
        gamma, delta = self.proj(y).chunk(2, dim=1)
        return gamma, delta

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        gamma, delta = self.params(y)
        return torch.addcmul(delta, h, 1.0 + gamma)


class Embedding(nn.Module):
    """The per-level embedding module: a fully connected layer (per frame) from the control to ``y_i``."""

    def __init__(self, control_dim: int, embed_dim: int):
        super().__init__()
        self.fc = nn.Conv1d(control_dim, embed_dim, 1)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.fc(c), 0.2)


def crop(x: torch.Tensor, k: int) -> torch.Tensor:
    """Drop ``k`` frames at both ends of (B, C, T)."""
    return x[..., k:x.shape[-1] - k] if k else x
