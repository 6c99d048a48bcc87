"""The Patch-GAN discriminator of one pyramid level: one score per frame from a short receptive field."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import Embedding, FiLM, SkeletalConv, hidden_groups


class LevelDiscriminator(nn.Module):
    """Skeleton-aware convolutions (replicate padding) ending in a plain convolution to one channel.

    The receptive field is ``len(widths) * (kernel_size - 1) + 1`` frames: every output frame scores a short
    patch, and the loss averages them, so the discriminator never needs a whole clip. Conditioned on the same
    control as the generator, by its own embedding and FiLM.
    """

    def __init__(self, in_groups: np.ndarray, widths: list[int], adjacency: np.ndarray, kernel_size: int = 5,
                 control_dim: int = 0, embed_dim: int = 32):
        super().__init__()
        num_groups = adjacency.shape[0]
        groups = [np.asarray(in_groups)] + [hidden_groups(w, num_groups) for w in widths]
        self.convs = nn.ModuleList(SkeletalConv(groups[k], groups[k + 1], adjacency, kernel_size, padding="same")
                                   for k in range(len(groups) - 1))
        self.out = nn.Conv1d(len(groups[-1]), 1, kernel_size, padding=kernel_size // 2, padding_mode="replicate")
        self.control_dim = int(control_dim)
        if self.control_dim:
            self.embed = Embedding(self.control_dim, embed_dim)
            self.films = nn.ModuleList(FiLM(embed_dim, len(g)) for g in groups[1:])
        self.receptive_field = (len(widths) + 1) * (kernel_size - 1) + 1

    def forward(self, x: torch.Tensor, control: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (B, C, n), ``control`` (B, K, n) -> scores (B, 1, n)."""
        y = self.embed(control) if self.control_dim else None
        h = x
        for k, conv in enumerate(self.convs):
            h = conv(h)
            if y is not None:
                h = self.films[k](h, y)
            h = F.leaky_relu(h, 0.2)
        return self.out(h)
