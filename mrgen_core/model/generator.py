"""The generator of one pyramid level: skeleton-aware convolutions, modulated by FiLM from the control."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import Embedding, FiLM, SkeletalConv, crop, hidden_groups


class LevelGenerator(nn.Module):
    """``residual = G(up(prev) + noise, control)``: ``len(widths) + 1`` valid skeletal convolutions.

    ``in_groups``: the group of every feature channel; ``widths``: channels per group of each hidden layer;
    ``adjacency``: (G, G) which groups see which. With ``control_dim > 0`` an :class:`Embedding` turns the
    control into ``y`` and FiLM modulates the input (motion + noise) and every hidden layer.

    Valid convolutions: the input holds ``margin`` extra frames at each end (the caller pads the sequence by
    replicating its ends), the output has exactly the frames wanted. So a crop of a long sequence gives the same
    frames as the whole sequence, which is what lets training work on random crops.
    """

    def __init__(self, in_groups: np.ndarray, widths: list[int], adjacency: np.ndarray, kernel_size: int = 5,
                 control_dim: int = 0, embed_dim: int = 32):
        super().__init__()
        num_groups = adjacency.shape[0]
        groups = [np.asarray(in_groups)] + [hidden_groups(w, num_groups) for w in widths] + [np.asarray(in_groups)]
        self.convs = nn.ModuleList(SkeletalConv(groups[k], groups[k + 1], adjacency, kernel_size)
                                   for k in range(len(groups) - 1))
        self.control_dim = int(control_dim)
        if self.control_dim:
            self.embed = Embedding(self.control_dim, embed_dim)
            self.films = nn.ModuleList([FiLM(embed_dim, len(groups[0]))] +
                                       [FiLM(embed_dim, len(g)) for g in groups[1:-1]])
        self.margin = sum(c.shrink for c in self.convs)
        # start as the identity (residual 0): an untrained level passes the level below through unchanged
        nn.init.zeros_(self.convs[-1].weight)

    def forward(self, x: torch.Tensor, control: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (B, C, n + 2 margin), ``control`` (B, K, n + 2 margin) -> residual (B, C, n)."""
        y = self.embed(control) if self.control_dim else None
        h = self.films[0](x, y) if y is not None else x
        last = len(self.convs) - 1
        for k, conv in enumerate(self.convs):
            h = conv(h)
            if y is not None:
                y = crop(y, conv.shrink)
            if k < last:
                if y is not None:
                    h = self.films[k + 1](h, y)
                h = F.leaky_relu(h, 0.2)
        return h
