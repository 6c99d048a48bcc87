"""The multi-resolution model: a pyramid of levels (frame rates), each a generator and a discriminator.

Level ``i`` of ``L`` runs at ``fps * F**-(L-1-i)`` (``F`` = 4/3 by default): level 0 is the coarsest, level
``L-1`` the motion's own rate. A sample starts from noise at level 0; every finer level upsamples the level below
(linear interpolation in time), adds its own noise and a learnt residual. Reconstruction of training clip ``c``
feeds the fixed noise ``z*_c`` at level 0 and no noise above.

Everything the model needs to sample lives here, so a checkpoint is this module's config (plain values) and
tensors: see :mod:`mrgen_core.checkpoint`.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import features as feat
from ..clip_codes import public_track
from ..control import ControlSpec
from ..motion import Motion
from .config import check_config
from .crossfade import CROSSFADE_SECONDS, crossfade_step, label_weights, upsample_rotations
from .discriminator import LevelDiscriminator
from .generator import LevelGenerator


def num_levels_for(fps: float, scale_factor: float, receptive_field: int, coarse_seconds: float) -> int:
    """Levels such that the coarsest generator's receptive field spans about ``coarse_seconds``."""
    coarse_fps = receptive_field / coarse_seconds
    return max(1, 1 + int(round(math.log(max(fps / coarse_fps, 1.0)) / math.log(scale_factor))))


def level_lengths(frames: int, num_levels: int, scale_factor: float) -> list[int]:
    """Frames at every level (coarsest first) for a motion of ``frames`` frames at the finest level."""
    return [max(1, int(round(frames * scale_factor ** -(num_levels - 1 - i)))) for i in range(num_levels)]


def interp_index(n_src, n_dst, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source indices ``i0, i1`` and weights ``w`` of linear upsampling (``align_corners=False``, as
    ``F.interpolate``) for destination ``frames`` (any integers; clamped to the sequence, i.e. replicate padding).
    ``n_src``, ``n_dst``: ints or tensors broadcasting against ``frames``."""
    n_src = torch.as_tensor(n_src)
    n_dst = torch.as_tensor(n_dst)
    f = torch.minimum(frames.clamp(min=0), n_dst - 1).to(torch.float64)
    pos = ((f + 0.5) * (n_src.double() / n_dst.double()) - 0.5).clamp(min=0.0)
    i0 = torch.minimum(pos.floor().long(), n_src - 1)
    i1 = torch.minimum(i0 + 1, n_src - 1)
    return i0, i1, (pos - i0).to(torch.float32)


def upsample(x: torch.Tensor, n: int) -> torch.Tensor:
    """Linear interpolation in time of (B, C, T) to (B, C, n)."""
    if x.shape[-1] == n:
        return x
    return F.interpolate(x, size=n, mode="linear", align_corners=False)


def downsample(x: torch.Tensor, n: int) -> torch.Tensor:
    """Anti-aliased resampling of (B, C, T) to (B, C, n) (for real data and sources, not in the generator)."""
    if x.shape[-1] == n:
        return x
    return F.interpolate(x.unsqueeze(2), size=(1, n), mode="bilinear", align_corners=False,
                         antialias=True).squeeze(2)


def pad(x: torch.Tensor, m: int) -> torch.Tensor:
    """Replicate ``m`` frames at both ends of (B, C, T)."""
    return F.pad(x, (m, m), mode="replicate") if m else x


def pad_circular(x: torch.Tensor, m: int) -> torch.Tensor:
    """``m`` frames at both ends of (B, C, T) wrapped round from the other end (any ``m``, also ``m > T``): a valid
    convolution of the result is the circular convolution of ``x``, so its output is periodic too."""
    if not m:
        return x
    n = x.shape[-1]
    return x[..., torch.arange(-m, n + m, device=x.device) % n]


def upsample_circular(x: torch.Tensor, n: int) -> torch.Tensor:
    """Linear interpolation in time of a periodic (B, C, T) to (B, C, n) (as :func:`upsample`, but frames before the
    first and after the last interpolate across the seam instead of repeating the end)."""
    m = x.shape[-1]
    if m == n:
        return x
    pos = (torch.arange(n, dtype=torch.float64, device=x.device) + 0.5) * (m / n) - 0.5
    lo = pos.floor()
    w = (pos - lo).to(x.dtype)
    i0 = lo.long() % m
    return x[..., i0] * (1 - w) + x[..., (i0 + 1) % m] * w


def default_config(fps: float = 30.0, **changes) -> dict:
    """A model config: plain values only (it goes into the checkpoint as is)."""
    cfg = dict(fps=float(fps), scale_factor=4.0 / 3.0, num_levels=10, kernel_size=5, g_widths=[3, 6, 6],
               d_widths=[2, 4, 4], embed_dim=32, neighbour_distance=2, full_noise=False, gender="neutral",
               control=ControlSpec().to_dict())
    cfg.update(changes)
    return cfg


class MotionModel(nn.Module):
    """Generators (and, while training, discriminators) of every level plus what sampling needs: normalisation,
    noise amplitudes, reconstruction noise ``z*`` and the training clips (features, control, metadata).

    Public attributes (sampling API): ``labels`` (tuple of label names), ``fps``, ``num_levels``, ``clip_names``,
    ``clip_lengths``.
    """

    def __init__(self, config: dict, with_discriminators: bool = True):
        super().__init__()
        check_config(config)  # types, ranges and network size, before anything is allocated
        self.config = dict(config)
        self.control_spec = ControlSpec.from_dict(config["control"])
        adj = feat.group_neighbours(int(config["neighbour_distance"]))
        groups = feat.channel_groups()
        k, e, cdim = int(config["kernel_size"]), int(config["embed_dim"]), self.control_spec.size
        n = int(config["num_levels"])
        self.generators = nn.ModuleList(
            LevelGenerator(groups, list(config["g_widths"]), adj, k, cdim, e) for _ in range(n))
        self.discriminators = nn.ModuleList(
            LevelDiscriminator(groups, list(config["d_widths"]), adj, k, cdim, e) for _ in range(n)
        ) if with_discriminators else nn.ModuleList()
        self.margin = self.generators[0].margin
        # filled by training (or a checkpoint)
        self.register_buffer("mean", torch.zeros(feat.NUM_FEATURES))
        self.register_buffer("std", torch.ones(feat.NUM_FEATURES))
        self.amps: list[float] = [1.0] * n
        self.clips: list[dict] = []  # name, frames, fps, credit, source, start [x, y, heading]
        self.clip_features: list[torch.Tensor] = []  # normalised (C, T) per clip
        self.clip_controls: list[torch.Tensor] = []  # full-rate control (K, T) per clip
        self.z_star: list[torch.Tensor] = []  # (C, T_c0 + 2 margin) per clip
        self.trained_levels = 0  # levels trained so far (a stopped run's checkpoint has fewer than num_levels)
        self.train_seconds = 0.0

    # --- facts ------------------------------------------------------------------------------------------------
    @property
    def fps(self) -> float:
        return float(self.config["fps"])

    @property
    def num_levels(self) -> int:
        return int(self.config["num_levels"])

    @property
    def scale_factor(self) -> float:
        return float(self.config["scale_factor"])

    @property
    def labels(self) -> tuple[str, ...]:
        return self.control_spec.vocab

    @property
    def clip_names(self) -> list[str]:
        return [c["name"] for c in self.clips]

    @property
    def clip_lengths(self) -> list[int]:
        return [int(c["frames"]) for c in self.clips]

    @property
    def device(self) -> torch.device:
        return self.mean.device

    def lengths(self, frames: int) -> list[int]:
        return level_lengths(frames, self.num_levels, self.scale_factor)

    def level_fps(self, level: int) -> float:
        return self.fps * self.scale_factor ** -(self.num_levels - 1 - level)

    # --- control ----------------------------------------------------------------------------------------------
    def control_levels(self, control: np.ndarray | None, lengths: list[int], crossfade: bool = False
                       ) -> list[torch.Tensor | None]:
        """Per-level control tensors (1, K, n_i) from a full-rate control (T, K) (None if unconditional);
        ``crossfade``: labels as crossfade weights for ``synthesize(crossfade=True)`` (sampling)."""
        if self.control_spec.size == 0:
            return [None] * len(lengths)
        fade = CROSSFADE_SECONDS * self.fps if crossfade else 0.0
        out = []
        for n in lengths:
            c = self.control_spec.at_level(np.asarray(control, dtype=np.float64), n, fade)
            out.append(torch.as_tensor(c.T[None], dtype=torch.float32, device=self.device))
        return out

    # --- the generator pyramid --------------------------------------------------------------------------------
    def level_step(self, level: int, base: torch.Tensor | None, n: int, control: torch.Tensor | None,
                   noise: torch.Tensor | None, circular: bool = False) -> torch.Tensor:
        """One level on whole sequences: ``base`` (B, C, n) upsampled from the level below (None at level 0),
        ``control`` (B, K, n), ``noise`` (B, C, n + 2 margin) -> (B, C, n). ``circular``: the sequence is one period
        of a loop: base, noise (its own ``n`` frames) and control wrap round instead of ending, so the output is
        periodic."""
        m = self.margin
        wrap = pad_circular if circular else pad
        if base is None:
            b = noise.shape[0] if noise is not None else 1
            x = torch.zeros(b, feat.NUM_FEATURES, n + 2 * m, device=self.device)
        else:
            x = wrap(base, m)
        if noise is not None:  # noise on the sequence's own frames only: a quiet (or, circular, wrapped) margin
            own = noise[..., m:noise.shape[-1] - m] if m else noise
            x = x + (pad_circular(own, m) if circular else F.pad(own, (m, m)))
        c = wrap(control, m) if control is not None else None
        if c is not None and c.shape[0] != x.shape[0]:
            c = c.expand(x.shape[0], -1, -1)
        res = self.generators[level](x, c)
        return res if base is None else base + res

    def noise(self, level: int, batch: int, n: int, generator=None, scale: float = 1.0) -> torch.Tensor:
        """Random noise (B, C, n + 2 margin) at ``level``'s amplitude (one channel broadcast unless full_noise).

        ``generator``: a CPU ``torch.Generator`` or a list of them, one per batch item (so a sample's noise does
        not depend on what else is in the batch)."""
        if isinstance(generator, (list, tuple)):
            return torch.cat([self.noise(level, 1, n, g, scale) for g in generator])
        ch = feat.NUM_FEATURES if self.config.get("full_noise", True) else 1
        z = torch.randn(batch, ch, n + 2 * self.margin, generator=generator).to(self.device)  # CPU RNG: same
        return z.expand(-1, feat.NUM_FEATURES, -1) * (self.amps[level] * scale)

    def synthesize(self, lengths: list[int], controls: list[torch.Tensor | None], *, batch: int = 1,
                   generator: torch.Generator | None = None, noise_levels=None, noise_scale: float = 1.0,
                   start_level: int = 0, base: torch.Tensor | None = None, z0: torch.Tensor | None = None,
                   stop_level: int | None = None, crossfade: bool = False, circular: bool = False,
                   constrain=None) -> list[torch.Tensor]:
        """Run levels ``start_level .. stop_level`` (default: to the finest) and return every level's output.

        ``noise_levels``: levels that get random noise (default all); ``base``: the output of level
        ``start_level - 1`` (blending, training banks); ``z0``: fixed level-0 noise (reconstruction).
        ``crossfade``: where the labels change over time, run each level once per label and crossfade the outputs
        (:mod:`.crossfade`; sampling, with ``control_levels(..., crossfade=True)``) instead of feeding the
        generators the mixed control (training). ``circular``: every level is one period of a loop (circular
        margins and upsampling, :meth:`level_step`). ``constrain(level, out) -> out``: applied to every level's
        output before the next level reads it (key poses, kept frames: :mod:`mrgen_core.keyed`).
        """
        stop = self.num_levels - 1 if stop_level is None else stop_level
        noise_levels = set(range(self.num_levels)) if noise_levels is None else set(noise_levels)
        outs = []
        prev = base
        for i in range(start_level, stop + 1):
            n = lengths[i]
            up = None if prev is None else (upsample_circular if circular else upsample)(prev, n)
            if crossfade and up is not None and i > 0:
                up = upsample_rotations(prev, up, label_weights(controls[i - 1], len(self.control_spec.vocab)),
                                        self.mean, self.std)
            if i == 0 and z0 is not None:
                z = z0
            elif i in noise_levels:
                z = self.noise(i, batch, n, generator, noise_scale)
            else:
                z = None
            w = label_weights(controls[i], len(self.control_spec.vocab)) if crossfade else None
            size = self.control_spec.size  # channels past it: every label's own continuous control (lanes)
            if w is None:
                c = controls[i] if controls[i] is None else controls[i][:, :size]
                prev = self.level_step(i, up, n, c, z, circular)
            else:
                step = (lambda b, c, z_, i=i, n=n: self.level_step(i, b, n, c, z_, circular))
                prev = crossfade_step(step, w, up, controls[i], z, self.mean, self.std, size)
            if constrain is not None:
                prev = constrain(i, prev)
            outs.append(prev)
        return outs

    def reconstruct(self, clip: int, stop_level: int | None = None) -> list[torch.Tensor]:
        """Every level's output for training clip ``clip`` fed its reconstruction noise ``z*``."""
        lengths = self.lengths(self.clip_lengths[clip])
        ctrl = self.clip_controls[clip].T.cpu().numpy() if self.control_spec.size else None
        return self.synthesize(lengths, self.control_levels(ctrl, lengths), z0=self.z_star[clip][None].to(self.device),
                               noise_levels=(), stop_level=stop_level)

    # --- features <-> motion ----------------------------------------------------------------------------------
    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """(..., C, T) normalised -> raw features."""
        return x * self.std[:, None] + self.mean[:, None]

    def normalize(self, raw: np.ndarray) -> torch.Tensor:
        """Raw features (T, C) -> one normalised sequence (1, C, T) on the model's device (inverse of
        :meth:`denormalize`)."""
        norm = (raw - self.mean.cpu().double().numpy()) / self.std.cpu().double().numpy()
        return torch.as_tensor(norm.T[None], dtype=torch.float32, device=self.device)

    def to_motion(self, x: torch.Tensor, start: feat.Start | None = None, name: str = "", fps: float | None = None
                  ) -> Motion:
        """Decode one normalised (C, T) output into a Motion (root integrated from ``start``)."""
        raw = self.denormalize(x.detach().float()).T.cpu().double().numpy()
        return feat.decode(raw, fps or self.fps, gender=self.config.get("gender", "neutral"),
                           start=start or self.default_start(), name=name,
                           credit="; ".join(sorted({c["credit"] for c in self.clips if c.get("credit")})))

    def default_start(self) -> feat.Start:
        return feat.Start(*self.clips[0]["start"]) if self.clips else feat.Start()

    def training_motions(self) -> list:
        """The training clips as Motions (decoded from the stored features, labels attached)."""
        out = []
        for c, x in zip(self.clips, self.clip_features):
            m = feat.decode(self.denormalize(x).T.cpu().double().numpy(), self.fps,
                            gender=self.config.get("gender", "neutral"), start=feat.Start(*c["start"]),
                            name=c["name"], source=c.get("source", ""), credit=c.get("credit", ""))
            if c.get("labels") is not None and self.labels:  # (label codes: the label each clip is under)
                labels, vocab = public_track(self, np.asarray(c["labels"], dtype=np.int64))
                m = m.copy(labels=labels, vocab=vocab)
            out.append(m)
        return out
