"""Label schedules at sampling time: every level runs once per label in play, each under that label alone, and the
outputs crossfade with the schedule's per-frame label weights.

Mixing the *control* instead lets a label reach seconds past its segment (the coarse levels' convolutions span
several seconds), so a walk between two hops kept hopping for its first and last half second. Crossfading the
*outputs* confines each label to its own segment plus the crossfade window. Joint rotations crossfade along the
shortest arc (a linear blend of two distant 6D rotations snaps through a near-degenerate one mid-way), and so does
the upsampling of a level's output across a switch, where neighbouring frames of a coarse level can hold two
labels' very different poses; root motion and contacts blend linearly.
"""
from __future__ import annotations

import torch

from .. import features as feat
from ..rotations import axis_angle_to_matrix, matrix_to_6d, matrix_to_axis_angle, sixd_to_matrix

_EPS = 1e-6
#: How long a crossfade takes at every level (where a level's frames lie further apart, as at the coarsest levels,
#: the switch falls between two of them and the upsampling spreads it over one frame of that level).
CROSSFADE_SECONDS = 1.0 / 3.0


def label_weights(control: torch.Tensor | None, vocab_size: int) -> torch.Tensor | None:
    """The per-frame weights (B, K + 1, n) of each label of a level's control, and last of no label (unlabelled
    frames), where they change within the sequence (None where one of them covers it all)."""
    if control is None or vocab_size < 1:
        return None
    w = control[:, :vocab_size]
    w = torch.cat([w, (1.0 - w.sum(1, keepdim=True)).clamp(min=0.0)], dim=1)
    live = (w > _EPS).any(dim=2).any(dim=0)
    return w if int(live.sum()) > 1 else None


def crossfade_step(step, weights: torch.Tensor, base: torch.Tensor | None, control: torch.Tensor,
                   noise: torch.Tensor | None, mean: torch.Tensor, std: torch.Tensor, size: int | None = None
                   ) -> torch.Tensor:
    """``step(base, control, noise) -> (B, C, n)`` run once per label in ``weights`` (B, K + 1, n), in one batch,
    then crossfaded (normalised features; ``mean``/``std`` undo the normalisation for the rotations). ``size``: the
    model's control size, where ``control`` carries past it every label's own continuous control (K lanes of
    ``size - K`` channels: a path-controlled model's travel), which that label's run then takes."""
    live = [k for k in range(weights.shape[1]) if float(weights[:, k].max()) > _EPS]
    b = max(t.shape[0] for t in (base, noise, control) if t is not None)
    control, weights = control.expand(b, -1, -1), weights.expand(b, -1, -1)
    vocab = weights.shape[1] - 1
    size = control.shape[1] if size is None else size
    width = size - vocab
    lanes = control.shape[1] > size
    ctrl = control.repeat(len(live), 1, 1)
    ctrl[:, :vocab] = 0.0
    for j, k in enumerate(live):
        if k < vocab:  # (the last weight is for unlabelled frames: no label at all)
            ctrl[j * b:(j + 1) * b, k] = 1.0
            if lanes:
                ctrl[j * b:(j + 1) * b, vocab:size] = control[:, size + k * width:size + (k + 1) * width]
    ctrl = ctrl[:, :size]
    rep = (lambda t: None if t is None else t.repeat(len(live), *([1] * (t.dim() - 1))))
    outs = step(rep(base), ctrl, rep(noise)).view(len(live), b, -1, weights.shape[2])
    w = weights[:, live].transpose(0, 1)[:, :, None]  # (L, B, 1, n)
    mixed = (w * outs).sum(0)
    blend = w[:, :, 0].max(0).values < 1.0 - _EPS  # (B, n): frames where labels mix
    if blend.any():
        mixed = _blend_rotations(mixed, outs, w[:, :, 0], blend, mean, std)
    return mixed


def upsample_rotations(prev: torch.Tensor, up: torch.Tensor, weights: torch.Tensor | None, mean: torch.Tensor,
                       std: torch.Tensor) -> torch.Tensor:
    """``up`` (B, C, n), the linear upsampling of ``prev`` (B, C, m), with the joint rotations turned along the
    shortest arc between the two frames of ``prev`` each frame lies between, where ``prev``'s label ``weights``
    (B, K + 1, m) change between them: a switch can turn a joint far from one of ``prev``'s frames to the next,
    and a linear blend of two distant 6D rotations snaps through a near-degenerate one."""
    if weights is None or up.shape[-1] == prev.shape[-1]:
        return up
    m, n = prev.shape[-1], up.shape[-1]
    pos = ((torch.arange(n, dtype=torch.float64, device=prev.device) + 0.5) * (m / n) - 0.5).clamp(0, m - 1)
    i0 = pos.floor().long()  # the two frames F.interpolate blends, and how
    i1 = (i0 + 1).clamp(max=m - 1)
    t = pos - i0
    w = weights.expand(prev.shape[0], -1, -1)
    turn = (w[..., i0] - w[..., i1]).abs().amax(dim=1) > _EPS  # (B, n)
    if not turn.any():
        return up
    bi, ti = torch.nonzero(turn, as_tuple=True)
    frames = torch.stack([prev[bi, :, i0[ti]], prev[bi, :, i1[ti]]])  # (2, F, C)
    out = up.clone()
    out.permute(0, 2, 1)[bi, ti, feat.ROT] = _mean_rotations(frames, torch.stack([1 - t[ti], t[ti]]), mean, std
                                                             ).to(up.dtype)
    return out


def _blend_rotations(mixed, outs, w, blend, mean, std):
    """Replace the rotation channels of ``mixed`` at ``blend`` frames by the weighted rotation average of
    ``outs`` (L, B, C, n) with weights ``w`` (L, B, n)."""
    bi, ti = torch.nonzero(blend, as_tuple=True)
    out = mixed.clone()
    out.permute(0, 2, 1)[bi, ti, feat.ROT] = _mean_rotations(outs.permute(0, 1, 3, 2)[:, bi, ti], w[:, bi, ti],
                                                             mean, std).to(mixed.dtype)
    return out


def _mean_rotations(frames: torch.Tensor, wt: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """The weighted average (F, 144) of L normalised feature frames' joint rotations (``frames`` (L, F, C),
    ``wt`` (L, F)): a tangent-space mean about the heaviest one (slerp for two), as normalised 6D."""
    rot = feat.ROT
    m, s = mean[rot].double(), std[rot].double()
    raw = frames[..., rot].double() * s + m  # (L, F, 144)
    mats = sixd_to_matrix(raw.reshape(raw.shape[0], raw.shape[1], feat.NUM_JOINTS, 6))  # (L, F, J, 3, 3)
    wt = wt.double()
    ref = mats[wt.argmax(0), torch.arange(mats.shape[1], device=mats.device)]  # (F, J, 3, 3)
    rel = matrix_to_axis_angle(ref.transpose(-1, -2)[None] @ mats)  # (L, F, J, 3)
    avg = ref @ axis_angle_to_matrix((wt[:, :, None, None] * rel).sum(0))
    return (matrix_to_6d(avg).reshape(mats.shape[1], -1) - m) / s
