"""Directed sampling (torch): seamless loops, key poses and kept frames, the pieces :mod:`mrgen_core.sampling` and
:mod:`mrgen_core.blend_directed` share.

- Loops: every level runs circularly (``synthesize(circular=True)``: circular margins and upsampling, periodic
  noise), so the output is one period by construction; :func:`finish` closes the heading (the yaw rate less its mean)
  and cleans the feet circularly (:mod:`mrgen_core.loops`).
- Key poses and kept frames: a time-masked synthesis. Each level's output is pulled onto the target downsampled to
  that level (:func:`constraint`, weights of :func:`mrgen_core.keys.level_weights`), the finer levels harmonise the
  boundary, and the finest keeps the kept frames exactly; the root path is then bent between them to meet the
  target's world positions (:func:`mrgen_core.keys.pin_path`) and the foot cleanup is kept off them.
"""
from __future__ import annotations

import numpy as np
import torch

from . import features as feat
from . import keys as keymod
from . import loops
from .cleanup import cleanup_feet
from .clip_codes import label_indices, public_labels, public_track
from .errors import MrgenError
from .features import Start
from .model.pyramid import MotionModel, downsample
from .motion import Motion

#: Seconds on either side of the seam of ``blend(loop=True)`` that the kept levels regenerate (plus their fade).
SEAM_SECONDS = 0.5


# --- masks ----------------------------------------------------------------------------------------------------------
def constraint(model: MotionModel, target: np.ndarray, weights: list[np.ndarray | None], channels: np.ndarray):
    """``constrain(level, out)`` for ``synthesize``: each level's output moved onto the full-rate ``target`` (raw
    features (T, C), downsampled to the level) by that level's ``weights`` (n,) on ``channels`` (C,) bool."""
    full = model.normalize(np.asarray(target, dtype=np.float64))
    ch = torch.as_tensor(np.asarray(channels, dtype=np.float32), device=model.device)[None, :, None]
    levels = {}
    for i, w in enumerate(weights):
        if w is not None and np.any(w > 0):
            wt = torch.as_tensor(np.asarray(w, dtype=np.float32), device=model.device)[None, None, :] * ch
            levels[i] = (wt, downsample(full, len(w)))

    def constrain(level: int, out: torch.Tensor) -> torch.Tensor:
        if level not in levels:
            return out
        w, t = levels[level]
        return out + w * (t - out)

    return constrain


def pin_constraint(model: MotionModel, pins: keymod.Pins, lengths: list[int]):
    """:func:`constraint` of key poses / kept frames at every level."""
    weights = [keymod.level_weights(pins.intervals, pins.frames, n) for n in lengths]
    return constraint(model, pins.raw, weights, pins.channels)


# --- loops ----------------------------------------------------------------------------------------------------------
def check_loop(model: MotionModel, frames: int, label_idx: np.ndarray | None) -> None:
    """A loop must be long enough for the coarsest level and follow one label (a switch cannot wrap round)."""
    loops.check_loop_frames(model, frames)
    if label_idx is not None and len({int(i) for i in label_idx if i >= 0}) > 1:
        raise MrgenError("--loop follows one label: a label schedule's switches cannot wrap round the seam")


def label_period(model: MotionModel, label: str | None = None) -> float:
    """The dominant period (seconds) of the model's training clips of ``label`` (all clips when None or the model
    has no labels): :func:`mrgen_core.loops.dominant_period` of their joint rotations."""
    idx = None
    if label and model.labels:
        idx = label_indices(model, label)  # a group of label codes: all its clips
    elif model.labels:
        idx = label_indices(model, public_labels(model)[0])  # as generate: the model's first label by default
    xs = []
    for clip, x in zip(model.clips, model.clip_features):
        x = x.T.detach().cpu().double().numpy()[:, feat.ROT]
        lab = clip.get("labels")
        if idx is not None and lab is not None:
            x = x[np.isin(np.asarray(lab), idx)]
        if len(x):
            xs.append(x)
    period, strength = loops.dominant_period(xs, model.fps)
    if period is None:
        what = f"label {label or public_labels(model)[0]!r}" if idx is not None else "its clips"
        raise MrgenError(f"--cycles: the model's training clips of {what} have no clear period (autocorrelation "
                         f"{strength:.2f} < {loops.MIN_PERIODICITY}); give the loop's length with --seconds")
    return period


def cycles_seconds(model: MotionModel, cycles: int, labels: str | None) -> float:
    """``cycles`` periods of the requested label (one label name; a schedule is refused by --loop anyway)."""
    if int(cycles) < 1:
        raise MrgenError(f"--cycles must be at least 1, got {cycles}")
    label = labels.strip() if labels and ":" not in labels and "," not in labels else None
    if labels and label is None:
        raise MrgenError("--loop follows one label: a label schedule's switches cannot wrap round the seam")
    return int(cycles) * label_period(model, label)


# --- finishing ------------------------------------------------------------------------------------------------------
def finish(model: MotionModel, x: torch.Tensor, *, start: Start | None, name: str, labels: np.ndarray | None,
           cleanup: bool, loop: bool = False, pins: keymod.Pins | None = None, first: int | None = None) -> Motion:
    """Decode one normalised (C, T) output of a loop (heading closed, feet cleaned circularly; the cycle starts at
    frame ``first`` of the period, default :func:`mrgen_core.loops.loop_start`) or of a pinned synthesis (path through
    the pinned positions, the cleanup kept off the kept frames)."""
    raw = model.denormalize(x.detach().float()).T.cpu().double().numpy()
    start = start or model.default_start()
    if loop:  # the cycle starts at its calmest frame: see loops.loop_start
        if first is None:
            first = loops.loop_start(x.detach().T.cpu().double().numpy(), feat.contacts_of(raw), model.fps)
        raw = loops.close_heading(np.roll(raw, -first, axis=0))
    if pins is not None and pins.yaw is not None:
        raw, start = keymod.pin_path(raw, model.fps, start, pins.xy, pins.yaw)
    motion = feat.decode(raw, model.fps, gender=model.config.get("gender", "neutral"), start=start, name=name,
                         credit="; ".join(sorted({c["credit"] for c in model.clips if c.get("credit")})))
    if labels is not None:
        labels, vocab = public_track(model, labels)
        motion = motion.copy(labels=labels, vocab=vocab)
    if cleanup:
        contacts = feat.contacts_of(raw)
        cleaned = loops.cleanup_loop(motion, contacts) if loop else cleanup_feet(motion, contacts=contacts)
        motion = keymod.restore(motion, cleaned, pins.intervals) if pins is not None else cleaned
    return motion
