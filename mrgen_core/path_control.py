"""Path control: the root's travel as a per-frame continuous control (models trained with ``--path-control``).

A path-controlled model sees, at every level and every frame, where its training clip's body is going: the pelvis
velocity in the body's heading frame (x, y; m/s) and the heading rate (rad/s) -- the root channels of
:mod:`mrgen_core.features` -- averaged over :data:`SMOOTH_SECONDS` so that the control carries the travel (speed,
sideways drift, turning) and not the sway of each step. Generation then reads the same three channels

- from a floor path (:func:`of_track`, ``mrgen generate --path``): the path's velocity seen from the wanted facing;
- without a path (:func:`free_control`): the travel of the training clips of the requested label, one after the
  other from their start, so a free "walk" walks as far and turns as much as the walk clips do.

numpy only (no torch).
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from . import features as feat
from .control import PATH_SOURCE, follows_paths  # noqa: F401 (follows_paths: part of this module's API)
from .geometry import rotate_heading

#: ``ControlSpec.source`` of a path-controlled model.
SOURCE = PATH_SOURCE
#: Channels: pelvis velocity in the heading frame (x, y; m/s), heading rate (rad/s).
CHANNELS = 3
#: The travel is a centred moving average over this many seconds (about one gait cycle).
SMOOTH_SECONDS = 1.0


def smooth(channels: np.ndarray, fps: float) -> np.ndarray:
    """Centred moving average of per-frame channels (T, C) over :data:`SMOOTH_SECONDS`, ends held."""
    win = max(1, int(round(SMOOTH_SECONDS * fps)))
    return uniform_filter1d(np.asarray(channels, dtype=np.float64), win, axis=0, mode="nearest")


def of_features(raw: np.ndarray, fps: float) -> np.ndarray:
    """The path control (T, 3) of a clip's features (T, 152), unnormalised."""
    return smooth(np.asarray(raw, dtype=np.float64)[:, feat.VEL_X:feat.YAW_RATE + 1], fps)


def of_track(xy: np.ndarray, facing: np.ndarray, fps: float) -> np.ndarray:
    """The path control (T, 3) of a pelvis ground track ``xy`` (T, 2; metres) with the body facing ``facing``
    (T,; radians counter-clockwise from +X), computed as :func:`mrgen_core.features.encode` computes the root
    channels of a clip, then smoothed."""
    xy = np.asarray(xy, dtype=np.float64)
    yaw = np.unwrap(np.asarray(facing, dtype=np.float64)) + np.pi / 2  # features' heading: 0 faces -Y
    t = len(xy)
    step = np.zeros((t, 2))
    dyaw = np.zeros(t)
    if t > 1:
        step[:-1] = np.diff(xy, axis=0)
        step[-1] = step[-2]
        dyaw[:-1] = np.diff(yaw)
        dyaw[-1] = dyaw[-2]
    local = rotate_heading(-yaw, step)  # into the heading frame
    return smooth(np.concatenate([local * fps, dyaw[:, None] * fps], axis=1), fps)


def clip_travel(model) -> list[np.ndarray]:
    """The path control (T_c, 3) of every training clip of a path-controlled model, unnormalised."""
    spec = model.control_spec
    k = len(spec.vocab)
    mean, std = np.asarray(spec.cont_mean), np.asarray(spec.cont_std)
    return [c[k:].T.detach().cpu().double().numpy() * std + mean for c in model.clip_controls]


def free_control(model, label_idx: np.ndarray | None, n: int, seed: int | None = None,
                 lanes: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """A path control (n, 3) for a request without a path: at every frame, the travel of that frame's label's
    training clips (their frames of that label, clip after clip, repeated), from their start -- or, with ``seed``,
    from a point drawn by it for each label (so samples of different seeds travel differently). ``lanes``: also
    return every label's own travel over all ``n`` frames (n, K * 3), for the crossfade at a label switch, where
    each label runs under its own travel (:mod:`mrgen_core.model.crossfade`)."""
    travel = clip_travel(model)
    labels = [None if clip.get("labels") is None else np.asarray(clip["labels"]) for clip in model.clips]
    rng = None if seed is None else np.random.default_rng(int(seed) & (2**63 - 1))

    def lane(label: int) -> np.ndarray:
        parts = [tr[lab == label] for tr, lab in zip(travel, labels) if lab is not None and label >= 0]
        seq = np.concatenate([p for p in parts if len(p)] or travel, axis=0)
        offset = 0 if rng is None else int(rng.integers(len(seq)))  # drawn for every label, in vocabulary order
        return seq[(offset + np.arange(n)) % len(seq)]

    k = len(model.labels)
    own = np.stack([lane(j) for j in range(k)]) if k else lane(-1)[None]
    idx = np.zeros(n, dtype=np.int64) if label_idx is None or not k else np.asarray(label_idx, dtype=np.int64)
    out = own[np.clip(idx, 0, len(own) - 1), np.arange(n)]
    if lanes:
        return out, np.concatenate(list(own), axis=1) if k else np.zeros((n, 0))
    return out
