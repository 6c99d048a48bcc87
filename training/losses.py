"""Training losses, pure functions of tensors: adversarial (WGAN-GP or non-saturating + R1), L1 reconstruction,
patch nearest neighbour (by label, per sample), foot-contact consistency and foot sliding, mode seeking."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from mrgen_core import features as feat
from mrgen_core.geometry import forward_kinematics, rz
from mrgen_core.rotations import sixd_to_matrix
from mrgen_core.skeleton import FOOT_JOINTS, PARENTS

#: Joints of the two leg chains, root first: what foot kinematics need.
LEG_JOINTS = (0, 1, 4, 7, 10, 2, 5, 8, 11)


def d_loss(kind: str, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Discriminator loss on per-frame scores (averaged over frames: a Patch-GAN)."""
    if kind == "wgan-gp":
        return fake_scores.mean() - real_scores.mean()
    if kind == "ns-r1":
        return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()
    raise ValueError(f"unknown adversarial loss {kind!r}")


def g_loss(kind: str, fake_scores: torch.Tensor) -> torch.Tensor:
    """Generator's adversarial loss."""
    if kind == "wgan-gp":
        return -fake_scores.mean()
    if kind == "ns-r1":
        return F.softplus(-fake_scores).mean()
    raise ValueError(f"unknown adversarial loss {kind!r}")


def gradient_penalty(disc, real: torch.Tensor, fake: torch.Tensor, control, generator=None) -> torch.Tensor:
    """WGAN-GP: ``(|grad D(x)| - 1)^2`` at random points between real and fake, the norm taken per frame over
    channels (GANimator's choice for a Patch-GAN)."""
    alpha = torch.rand(real.shape[0], 1, 1, generator=generator).to(real.device)
    x = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = disc(x, control)
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    return ((grad.norm(dim=1) - 1) ** 2).mean()


def r1_penalty(disc, real: torch.Tensor, control) -> tuple[torch.Tensor, torch.Tensor]:
    """R1: squared gradient norm of D at real data (per frame, averaged). Returns (penalty, real scores)."""
    x = real.detach().requires_grad_(True)
    scores = disc(x, control)
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    return grad.pow(2).sum(dim=1).mean(), scores


def reconstruction_loss(out: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    return (out - real).abs().mean()


def path_loss(raw: torch.Tensor, control: torch.Tensor, mean, std, fps: float) -> torch.Tensor:
    """How far the travel of generated crops (raw features (B, C, T)) is from the path control they were given
    (``control`` (B, 3, T), normalised by ``mean``/``std``): both averaged over
    :data:`mrgen_core.path_control.SMOOTH_SECONDS` (at most the crop), L1 in m/s and rad/s. In those units, not in
    the control's standard deviations: a clip that spins (a dance) must not make the turning of a walk cheap, and
    a turn missed by 0.1 rad/s puts the body as far off the path as a speed missed by 0.1 m/s (more, over time)."""
    from mrgen_core import path_control

    win = max(1, min(int(round(path_control.SMOOTH_SECONDS * fps)), raw.shape[-1]))
    mean = torch.as_tensor(mean, dtype=raw.dtype, device=raw.device)[None, :, None]
    std = torch.as_tensor(std, dtype=raw.dtype, device=raw.device)[None, :, None]
    travel = F.avg_pool1d(raw[:, feat.VEL_X:feat.YAW_RATE + 1], win, stride=1)
    return (travel - F.avg_pool1d(control * std + mean, win, stride=1)).abs().mean()


def foot_positions(raw: torch.Tensor, fps: float, offsets: torch.Tensor) -> torch.Tensor:
    """World positions (B, T, 4, 3) of the foot joints (``FOOT_JOINTS`` order) from raw features (B, C, T), the
    root integrated from the window's first frame (velocities do not depend on that choice)."""
    x = raw.transpose(1, 2)  # (B, T, C)
    root, yaw = feat.integrate_root(x, fps, start=None)
    six = x[..., feat.ROT].reshape(x.shape[0], x.shape[1], -1, 6)
    mats = sixd_to_matrix(six[:, :, list(LEG_JOINTS)])  # (B, T, 9, 3, 3), one call for all leg joints
    mats = torch.cat([(rz(yaw) @ mats[:, :, 0])[:, :, None], mats[:, :, 1:]], dim=2)  # the root turned to its heading
    pos, _ = forward_kinematics(mats, root, offsets, PARENTS, joints=LEG_JOINTS)
    return pos[:, :, [LEG_JOINTS.index(j) for j in FOOT_JOINTS]]


def foot_losses(raw: torch.Tensor, fps: float, offsets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Two foot losses from one forward kinematics pass over raw features (B, C, T):

    - contact consistency (GANimator): foot speed (m/s) where the *predicted* contact is on,
      ``mean(|v_foot| * sigmoid((c - 0.5) * 12))``;
    - sliding: horizontal speed of feet that are on the floor by their *kinematics*, as the foot-skating metric
      sees them (soft "low and slow": height under :data:`mrgen_core.contacts.CONTACT_HEIGHT`, speed under
      :data:`~mrgen_core.contacts.CONTACT_SPEED`).
    """
    if raw.shape[-1] < 2:
        zero = raw.new_zeros(())
        return zero, zero
    from mrgen_core.contacts import CONTACT_HEIGHT, CONTACT_SPEED

    p = foot_positions(raw, fps, offsets)
    v = (p[:, 1:] - p[:, :-1]) * fps  # (B, T-1, 4, 3)
    speed = v.norm(dim=-1)
    c = raw[:, feat.CONTACT, :-1].transpose(1, 2)
    consistency = (speed * torch.sigmoid((c - 0.5) * 12)).mean()
    limit = torch.tensor([CONTACT_HEIGHT[j] for j in FOOT_JOINTS], dtype=raw.dtype, device=raw.device)
    h = 0.5 * (p[:, 1:, :, 2] + p[:, :-1, :, 2])
    # the weight is detached: only stopping the slide lowers the loss, never lifting the foot off the floor (which
    # a generator otherwise learns: feet hovering above contact height)
    on_floor = (torch.sigmoid((limit - h) / 0.02) * torch.sigmoid((CONTACT_SPEED - speed) / 0.1)).detach()
    slide = (v[..., :2].norm(dim=-1) * on_floor).mean()
    return consistency, slide


def contact_loss(raw: torch.Tensor, fps: float, offsets: torch.Tensor) -> torch.Tensor:
    """Foot-contact consistency alone (see :func:`foot_losses`)."""
    return foot_losses(raw, fps, offsets)[0]


def patches(x: torch.Tensor, size: int, stride: int = 1) -> torch.Tensor:
    """(B, C, T) -> (B * P, C * size) flattened temporal patches."""
    u = x.unfold(-1, size, stride)  # (B, C, P, size)
    return u.permute(0, 2, 1, 3).reshape(-1, x.shape[1] * size)


def patch_nn_loss(fake: torch.Tensor, pool: torch.Tensor, size: int, margin: float = 0.0,
                  recall: float = 0.0) -> torch.Tensor:
    """Patch nearest-neighbour loss: every generated patch should lie near some real patch (``pool``, (P, C*size)),
    per frame RMS distance beyond ``margin`` counts; with ``recall`` > 0 every real patch should also have a
    generated patch near it (against mode collapse). A fast, non-adversarial realism signal."""
    return patch_nn_loss_patches(patches(fake, size), pool, size, margin, recall)


def _nearest(q: torch.Tensor, pool: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance of each generated patch ``q`` (Q, C*size) to its nearest real one in ``pool`` (P, C*size), and of
    each real patch to its nearest generated one: per-frame RMS-like distances, (Q,) and (P,)."""
    d = torch.cdist(q, pool) / math.sqrt(size)  # (Q, P)
    return d.min(dim=1).values, d.min(dim=0).values


def patch_nn_loss_patches(q: torch.Tensor, pool: torch.Tensor, size: int, margin: float = 0.0,
                          recall: float = 0.0) -> torch.Tensor:
    """:func:`patch_nn_loss` on generated patches already cut, ``q`` (Q, C*size)."""
    return _nn_terms(*_nearest(q, pool, size), margin, recall)


def _nn_terms(to_real: torch.Tensor, to_fake: torch.Tensor, margin: float, recall: float) -> torch.Tensor:
    """The patch loss from :func:`_nearest`'s distances: generated patches near real ones, plus ``recall`` times
    real patches near generated ones, each beyond ``margin``."""
    loss = F.relu(to_real - margin).mean()
    if recall:
        loss = loss + recall * F.relu(to_fake - margin).mean()
    return loss


def patch_recall_per_sample(fake: torch.Tensor, pool: torch.Tensor, size: int, margin: float = 0.0) -> torch.Tensor:
    """Recall of each generated sequence on its own: every real patch (``pool``) near some patch of *that* sequence
    (B, C, T), averaged over sequences. Where a crop is a whole clip (the coarse levels), this asks each sample,
    rather than the batch together, to hold every part of the clip (coverage is scored per sample)."""
    q = patches(fake, size).reshape(fake.shape[0], -1, fake.shape[1] * size)  # (B, Q, C*size)
    d = torch.cdist(q, pool[None].expand(fake.shape[0], -1, -1)) / math.sqrt(size)  # (B, Q, P)
    return F.relu(d.min(dim=1).values - margin).mean()


def patch_nn_loss_by_key(q: torch.Tensor, key: torch.Tensor, pools: dict, size: int, margin: float = 0.0,
                         recall: float = 0.0, pool_max: int | None = None, generator: torch.Generator | None = None,
                         total: torch.Tensor | None = None,
                         others: tuple[torch.Tensor, torch.Tensor] | None = None, world: int = 1,
                         memory: "RecallMemory | None" = None) -> torch.Tensor:
    """:func:`patch_nn_loss_patches` of generated patches ``q`` (Q, C*size), each against the real patches of its
    key ``key`` (Q,) in ``pools`` (key -> (P, C*size); at most ``pool_max`` of them, a random subset drawn from
    ``generator``), the keys in ascending order, each weighted by its share of the patches and added to ``total``
    (zero when None). Patches whose key has no pool (a label no clip mostly carries) are left out.

    ``others``: in a data-parallel run of ``world`` ranks, the other ranks' patches and keys (detached). The recall
    term then asks every real patch to be near a patch of the whole step's batch, as one process with all the crops
    does, rather than of this rank's share alone; it is weighted by the key's share of the whole batch and by
    ``world``, so the gradients averaged over the ranks are those of the whole batch's recall.

    ``memory``: the last steps' generated patches (:class:`RecallMemory`). A real patch that one of them came
    near counts as covered (only the distance, no gradient, is kept): recall then asks the generator to reach the
    real patches none of its recent crops reached, rather than every crop of a long clip for all of it at once.
    """
    total = q.new_zeros(()) if total is None else total
    for k in torch.unique(key).tolist():
        if k not in pools:
            continue
        sel = torch.nonzero(key == k).flatten().to(q.device)
        pool, pick = pools[k], None
        if pool_max is not None and pool.shape[0] > pool_max:
            pick = torch.randperm(pool.shape[0], generator=generator)[:pool_max]
            pool = pool[pick]
        to_real, near = _nearest(q[sel], pool, size)
        if others is None:
            if recall and memory is not None:
                near = memory.cover(k, near, pick, pools[k].shape[0])
            total = total + _nn_terms(to_real, near, margin, recall) * (len(sel) / len(key))
            continue
        total = total + F.relu(to_real - margin).mean() * (len(sel) / len(key))
        if recall:
            q_o, key_o = others
            sel_o = torch.nonzero(key_o == k).flatten().to(q_o.device)
            if len(sel_o):
                near = torch.minimum(near, _nearest(q_o[sel_o], pool, size)[1])
            if memory is not None:
                near = memory.cover(k, near, pick, pools[k].shape[0])
            whole = (len(sel) + len(sel_o)) / (len(key) + len(key_o))
            total = total + recall * F.relu(near - margin).mean() * whole * world
    return total


class RecallMemory:
    """Per pool key, the distance of every real patch to its nearest generated patch in each of the last ``steps``
    steps (detached; infinite where a step's random subset of the pool left it out)."""

    def __init__(self, steps: int):
        self.steps, self.past = int(steps), {}

    def cover(self, key, near: torch.Tensor, pick: torch.Tensor | None, size: int) -> torch.Tensor:
        """``near``, this step's distances of pool ``key``'s patches (``pick`` of its ``size``, or all), capped by the
        remembered ones; this step's are remembered."""
        past = self.past.get(key, [])
        out = near
        if past:
            best = torch.stack(past).min(dim=0).values
            out = torch.minimum(near, best if pick is None else best[pick])
        now = near.detach()
        if pick is not None:
            now = torch.full((size,), math.inf, dtype=near.dtype, device=near.device).index_put_((pick,), now)
        self.past[key] = (past + [now])[-self.steps:]
        return out

    def state(self) -> dict:
        """What a checkpoint keeps, to resume with the same memory."""
        return dict(steps=self.steps, past={k: [t.cpu() for t in v] for k, v in self.past.items()})

    def restore(self, state: dict, device) -> None:
        """Take back :meth:`state`."""
        self.steps = int(state["steps"])
        self.past = {k: [t.to(device) for t in v] for k, v in state["past"].items()}


def sample_recall_loss(fake: torch.Tensor, pools: list, size: int, margin: float = 0.0,
                       weight: float = 1.0) -> torch.Tensor:
    """Per-sample recall (:func:`patch_recall_per_sample`) of each generated sequence ``fake[i]`` (B, C, T) against
    its own real patches ``pools[i]`` (None: left out), summed, times ``weight / B``. Where a crop is a whole clip
    (the coarse levels), each sample should hold every patch of its clip, as coverage asks of every sample."""
    total = fake.new_zeros(())
    for i, pool in enumerate(pools):
        if pool is not None:
            total = total + patch_recall_per_sample(fake[i:i + 1], pool, size, margin)
    return total * (float(weight) / len(pools))


def mode_seeking_loss(fake: torch.Tensor, fake2: torch.Tensor, noise: torch.Tensor, noise2: torch.Tensor,
                      margin: int, ratio: float, smooth: int = 1) -> torch.Tensor:
    """Mode seeking (Mao et al. 2019): outputs ``fake``, ``fake2`` (B, C, n) of the same crops under noises
    ``noise``, ``noise2`` (B, C, n + 2 margin) must differ by at least ``ratio`` times the noise difference (mean
    absolute values per crop), so a level's noise makes new detail instead of being ignored. ``smooth`` > 1: only
    the difference's moving average over that many frames counts towards the ratio, and what is left of it (the
    frame-to-frame part: noise passed straight through, which shakes the motion) is added as a penalty."""
    dz = (noise - noise2)[..., margin:noise.shape[-1] - margin].abs().mean(dim=(1, 2))
    d = fake - fake2
    if smooth > 1:
        low = F.avg_pool1d(d, smooth, stride=1, padding=smooth // 2, count_include_pad=False)[..., :d.shape[-1]]
        r = low.abs().mean(dim=(1, 2)) / (dz + 1e-8)
        return (F.relu(float(ratio) - r) + (d - low).abs().mean(dim=(1, 2)) / (dz + 1e-8)).mean()
    r = d.abs().mean(dim=(1, 2)) / (dz + 1e-8)
    return F.relu(float(ratio) - r).mean()
