"""Seamless loops (numpy; the sampling side is ``synthesize(circular=True)`` in :mod:`mrgen_core.model.pyramid`).

A loop of ``T`` frames is one period of a motion: poses, joint velocities and root velocity run on from its last
frame into its first, the heading returns to where it started, and the pelvis has moved on by a constant ground
offset, so copies of the loop placed end to end (each shifted by that offset) make one continuous motion.

- :func:`min_loop_frames`: the shortest loop a model makes (its coarsest level must hold at least its margin).
- :func:`close_heading`: the yaw rate less its mean over the cycle (the heading returns each cycle).
- :func:`repeat` (``mrgen preview --repeat``, Blender's closing key), :func:`loop_offset`: copies end to end.
- :func:`cleanup_loop`: the foot cleanup on a circular motion (a contact run across the seam is one run).
- :func:`dominant_period`: the period of the training clips of a label (autocorrelation), for ``--cycles``.
"""
from __future__ import annotations

import numpy as np

from . import features as feat
from .errors import MrgenError
from .motion import Motion

#: Periods (seconds) :func:`dominant_period` looks for: a stride of a run to a slow dance figure.
PERIOD_RANGE = (0.4, 4.0)
#: Smallest autocorrelation (of the mean-removed joint features) that counts as periodic.
MIN_PERIODICITY = 0.3


def min_loop_frames(model) -> int:
    """The fewest frames (at the model's rate) of a loop: the coarsest level needs ``margin`` frames, so its circular
    margin wraps round at most once."""
    n = 1
    while model.lengths(n)[0] < model.margin:
        n += 1
    return n


def check_loop_frames(model, frames: int) -> None:
    """MrgenError (naming ``--loop``) for a loop shorter than :func:`min_loop_frames`."""
    need = min_loop_frames(model)
    if frames < need:
        raise MrgenError(f"--loop: {frames} frames ({frames / model.fps:.2f} s) is shorter than a loop of this model "
                         f"can be: its coarsest level needs {model.margin} frames, i.e. at least {need} frames "
                         f"({need / model.fps:.2f} s); give longer --seconds or more --cycles")


def loop_start(x: np.ndarray, contacts: np.ndarray, fps: float) -> int:
    """Where in a synthesised period (features ``x`` (T, C), normalised; predicted ``contacts`` (T, 4)) the loop's
    first frame is taken: any frame will do for a period, so the calmest one (least feature change and acceleration
    over a few frames) that is at least the foot cleanup's fade from any contact change, where the cleanup moves the
    feet most (where contacts change more often, as far from them as the period allows), and away from the period's
    own start: every level of the pyramid has a frame boundary there, so the kinks of the levels' linear upsampling
    line up and the motion is a little rougher there than elsewhere."""
    from .cleanup import BLEND_SECONDS

    x = np.asarray(x, dtype=np.float64)
    t = len(x)
    if t < 8:
        return 0
    speed = np.abs(np.roll(x, -1, axis=0) - x).mean(axis=1)
    acc = np.abs(np.roll(x, -1, axis=0) - 2 * x + np.roll(x, 1, axis=0)).mean(axis=1)
    # the seam lies between frames start - 1 and start: score the steps and accelerations about it
    rough = speed / max(speed.mean(), 1e-12) + acc / max(acc.mean(), 1e-12)
    score = sum(np.roll(rough, k) for k in (-2, -1, 0, 1))
    idx = np.arange(t)
    ok = np.minimum(idx, t - idx) > 3  # away from the period's own start
    on = np.asarray(contacts) > 0.5
    change = np.flatnonzero((on != np.roll(on, 1, axis=0)).any(axis=1))
    if len(change) and ok.any():
        d = np.abs(idx[:, None] - change[None, :])
        near = np.minimum(d, t - d).min(axis=1)
        # more than a fade's length from every contact change or, where contacts change more often (a walk's
        # four feet), as far from them as the period allows
        ok &= near >= min(np.floor(BLEND_SECONDS * fps) + 1, near[ok].max())
    if not ok.any():
        return 0
    return int(idx[ok][np.argmin(score[ok])])


def close_heading(raw: np.ndarray) -> np.ndarray:
    """Raw features (T, C) whose yaw rate has zero mean over the cycle: the heading returns to its start, so the
    cycle repeats without turning (a constant shift of a periodic yaw rate: still continuous across the seam)."""
    out = np.array(raw, dtype=np.float64, copy=True)
    out[:, feat.YAW_RATE] -= out[:, feat.YAW_RATE].mean()
    return out


def _seam_features(motion: Motion) -> np.ndarray:
    """Features of a loop with the root step of its last frame (into the next cycle's first) estimated from its
    neighbours across the seam (:func:`mrgen_core.features.encode` repeats the step before it)."""
    f = feat.encode(motion)
    if len(f) >= 3:
        root = slice(feat.VEL_X, feat.YAW_RATE + 1)
        f[-1, root] = 0.5 * (f[-2, root] + f[0, root])
    return f


def repeat(motion: Motion, times: int) -> Motion:
    """``times`` copies of a loop end to end, each starting where the one before it leads (its heading and ground
    position carried on): the first copy is ``motion`` itself. Works on any motion (a non-loop jumps at each seam)."""
    times = int(times)
    if times < 1:
        raise MrgenError(f"--repeat must be at least 1, got {times}")
    if times == 1:
        return motion.copy()
    f = np.tile(_seam_features(motion), (times, 1))
    out = feat.decode(f, motion.fps, gender=motion.gender, start=feat.start_of(motion), name=motion.name,
                      source=motion.source, credit=motion.credit).copy(betas=motion.betas.copy())
    if motion.labels is not None:
        out = out.copy(labels=np.tile(motion.labels, times), vocab=motion.vocab)
    return out


def loop_offset(motion: Motion) -> np.ndarray:
    """The pelvis's ground offset (3,) from one cycle to the next (z = 0), its last step estimated across the seam."""
    two = repeat(motion, 2)
    return np.array([*(two.trans[motion.num_frames, :2] - motion.trans[0, :2]), 0.0])


def close_loop(motion: Motion) -> Motion:
    """The loop with one more frame: the next cycle's first (the first frame moved on by :func:`loop_offset`), as
    keyframed cycles want it (Blender's Cycles modifier repeats from the first key to the last)."""
    return repeat(motion, 2).slice(0, motion.num_frames + 1)


def cleanup_loop(motion: Motion, contacts: np.ndarray) -> Motion:
    """:func:`mrgen_core.cleanup.cleanup_feet` of a loop, treated as circular: it runs on three copies end to end
    and keeps the middle one, so a contact run across the seam is one run, pinned once, and the correction is the
    same at the end of the cycle as at its start. Short gaps are closed circularly first, as the cleanup would; a
    foot then in contact all cycle long (a standing foot) is released for a moment where it moves fastest
    (:func:`_release`), or its run would span the copies and pin it to one place in all three while the loop
    carries it on."""
    from .cleanup import GAP_SECONDS, _close_gaps, cleanup_feet

    t = motion.num_frames
    on = np.asarray(contacts, dtype=np.float64) > 0.5
    gap = max(0, int(round(GAP_SECONDS * motion.fps)))
    on = _close_gaps(np.tile(on, (3, 1)), gap)[t:2 * t]
    three = repeat(motion, 3)
    cleaned = cleanup_feet(three, contacts=np.tile(_release(motion, three, on), (3, 1)), fill_gaps=0)
    return motion.copy(poses=cleaned.poses[t:2 * t].copy())


def _release(motion: Motion, three: Motion, on: np.ndarray) -> np.ndarray:
    """Contact flags (T, 4) with a gap of about 0.2 s opened, centred where the foot joint moves fastest, in every
    column that is in contact on every frame of the cycle (``three``: the loop three times end to end)."""
    from .cleanup import BLEND_SECONDS
    from .contacts import joint_speed
    from .skeleton import FOOT_JOINTS

    out = on.astype(np.float64)
    full = np.flatnonzero(on.all(axis=0))
    if not len(full):
        return out
    t = motion.num_frames
    speed = joint_speed(three.joints()[:, list(FOOT_JOINTS)], motion.fps)[t:2 * t]
    half = min(max(1, int(round(BLEND_SECONDS * motion.fps / 2))), max(0, (t - 1) // 2))
    for c in full:
        at = int(np.argmax(speed[:, c]))
        out[(np.arange(at - half, at + half + 1)) % t, c] = 0.0
    return out


def dominant_period(clips: list[np.ndarray], fps: float, period_range: tuple[float, float] = PERIOD_RANGE
                    ) -> tuple[float | None, float]:
    """The dominant period (seconds) of feature sequences ``clips`` (each (T, C); e.g. a model's joint rotation
    channels over the frames of one label) and how periodic they are (autocorrelation at that lag, 0..1).

    Each clip's autocorrelation (mean-removed channels, lags up to two thirds of its length) is searched within
    ``period_range`` for the first peak within 85 % of its highest (a walk's full stride rather than two strides);
    the periodic clips (peak >= :data:`MIN_PERIODICITY`) then vote, weighted by frames times periodicity (weighted
    median). ``(None, best periodicity seen)`` when no clip is periodic.
    """
    found, best = [], 0.0
    for x in clips:
        period, strength = _clip_period(np.asarray(x, dtype=np.float64), fps, period_range)
        best = max(best, strength)
        if period is not None:
            found.append((period, len(x) * strength, strength))
    if not found:
        return None, best
    found.sort()
    w = np.cumsum([f[1] for f in found])
    k = int(np.searchsorted(w, 0.5 * w[-1]))
    return found[k][0], found[k][2]


def _clip_period(x: np.ndarray, fps: float, period_range) -> tuple[float | None, float]:
    t = len(x)
    lo = max(1, int(np.ceil(period_range[0] * fps)))
    hi = min(int(np.floor(period_range[1] * fps)), (2 * t) // 3 - 1)  # at least a third of the clip overlaps
    if hi < lo + 1:
        return None, 0.0
    x = x - x.mean(axis=0)
    ac = np.empty(hi + 2)
    for lag in range(hi + 2):
        a, b = x[:t - lag], x[lag:]
        den = float(np.sqrt((a * a).sum() * (b * b).sum()))
        ac[lag] = float((a * b).sum()) / den if den > 0 else 0.0
    peaks = [k for k in range(lo, hi + 1) if ac[k] >= ac[k - 1] and ac[k] >= ac[k + 1]]
    if not peaks:
        return None, 0.0
    top = max(ac[k] for k in peaks)
    if top < MIN_PERIODICITY:
        return None, float(max(top, 0.0))
    k = next(k for k in peaks if ac[k] >= 0.85 * top)
    y0, y1, y2 = ac[k - 1], ac[k], ac[k + 1]  # parabolic refinement between frames
    d = y0 - 2 * y1 + y2
    shift = float(np.clip(0.5 * (y0 - y2) / d, -0.5, 0.5)) if d < 0 else 0.0
    return (k + shift) / fps, float(y1)
