"""Key poses and kept frames (numpy): what to pin, where, and how the pins fade in at every level of the pyramid.

A :class:`Pins` is a full-rate target (raw features), the frames that must come out exactly as the target (inclusive
ranges: single frames for key poses, spans for ``blend --keep-frames``), the feature channels pinned there, and
optionally the world path (pelvis ground position and heading) to pass through at those frames. Sampling applies it
at every level (:func:`mrgen_core.directing.constraint`): each level's output is pulled onto the target, downsampled
to that level, with :func:`level_weights` (1 on the kept frames, fading to 0 over :data:`FADE_FRAMES` frames of the
level's own rate), so the convolutions of the finer levels harmonise the boundary; the finest level keeps the kept
frames exactly. :func:`pin_path` then bends the root path between kept frames (never on them) so they land on the
target's world positions and headings, and :func:`restore` keeps the foot cleanup off the kept frames.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from . import features as feat
from .errors import MrgenError
from .geometry import ground_path, rotate_heading
from .motion import Motion

#: Frames of a level's own rate over which a pin fades out on either side of a kept frame.
FADE_FRAMES = 2
#: Seconds over which the foot cleanup fades back in next to a kept frame.
RESTORE_SECONDS = 0.2
#: Channels a key pose pins: joint rotations (the root's without heading), pelvis height, foot contacts.
POSE_CHANNELS = np.zeros(feat.NUM_FEATURES, dtype=bool)
POSE_CHANNELS[feat.ROT] = True
POSE_CHANNELS[feat.HEIGHT] = True
POSE_CHANNELS[feat.CONTACT] = False

Interval = tuple[int, int]


# --- parsing ------------------------------------------------------------------------------------------------------
def parse_key_frames(text: str | list, option: str = "--key-frames") -> list[int]:
    """``"0,120,240"`` (or a list of ints) -> frames, each a whole number >= 0, strictly increasing."""
    items = [str(x).strip() for x in (text.split(",") if isinstance(text, str) else text)]
    if not items or any(not x for x in items):
        raise MrgenError(f"{option}: give frames separated by commas, e.g. 0,120,240 (got {text!r})")
    frames = []
    for x in items:
        try:
            f = int(x)
        except ValueError:
            raise MrgenError(f"{option}: {x!r} is not a whole frame number") from None
        if f < 0:
            raise MrgenError(f"{option}: frame {f} is negative")
        frames.append(f)
    _check_order(frames, option)
    return frames


def parse_frame_ranges(text: str | list, option: str = "--keep-frames") -> list[Interval]:
    """``"0-30,200-240"`` (a single ``"50"`` is ``50-50``; or a list of pairs) -> inclusive ranges, each
    ``start <= end``, in increasing order without overlap."""
    if not isinstance(text, str):  # a list of [start, end] pairs or frames (the worker's JSON)
        text = ",".join("-".join(str(x) for x in r) if isinstance(r, (list, tuple)) else str(r) for r in text)
    out = []
    for item in text.split(","):
        item = item.strip()
        a, sep, b = item.partition("-")
        try:
            lo, hi = int(a), int(b if sep else a)
        except ValueError:
            raise MrgenError(f"{option}: {item!r} is not a frame range like 0-30 (whole frames, comma-separated)"
                             ) from None
        if lo < 0 or hi < lo:
            raise MrgenError(f"{option}: range {item!r} must run forwards from frame 0 or later")
        out.append((lo, hi))
    for (a0, b0), (a1, b1) in zip(out, out[1:]):
        if a1 <= b0:
            raise MrgenError(f"{option}: ranges must be in increasing order without overlap ({a0}-{b0} then "
                             f"{a1}-{b1})")
    return out


def _check_order(frames: list[int], option: str) -> None:
    for a, b in zip(frames, frames[1:]):
        if b == a:
            raise MrgenError(f"{option}: frame {a} is given twice")
        if b < a:
            raise MrgenError(f"{option}: frames must be in increasing order ({a} then {b})")


def rescale_frames(frames: list[int], src_fps: float, fps: float, option: str) -> list[int]:
    """Frames at ``src_fps`` -> the nearest frames at ``fps`` (still strictly increasing, else an error)."""
    if abs(src_fps - fps) < 1e-9:
        return list(frames)
    out = [int(round(f * fps / src_fps)) for f in frames]
    for (a, b), (x, y) in zip(zip(frames, frames[1:]), zip(out, out[1:])):
        if x == y:
            raise MrgenError(f"{option}: frames {a} and {b} (at {src_fps:g} fps) fall on the same frame at the "
                             f"model's {fps:g} fps")
    return out


def check_inside(intervals: list[Interval], frames: int, option: str, what: str) -> None:
    for a, b in intervals:
        if b >= frames:
            at = f"frame {b}" if a == b else f"range {a}-{b}"
            raise MrgenError(f"{option}: {at} is outside {what} ({frames} frames, 0-{frames - 1})")


# --- key poses of a motion ----------------------------------------------------------------------------------------
@dataclass
class KeyPoses:
    """Poses of ``motion`` at ``frames`` (its own frames and rate) to hit at the same times (or at the frames ``at``
    of its rate, in the same order); ``with_root``: also its pelvis ground position and heading there."""

    motion: Motion
    frames: list[int]
    with_root: bool = False
    at: list[int] | None = None

    @classmethod
    def load(cls, path: str | os.PathLike, frames: str | list, with_root: bool = False,
             mapping: str | os.PathLike | None = None) -> "KeyPoses":
        """Key poses from a motion file (.npz / .bvh; a BVH rig without a preset needs ``mapping``, as import)."""
        from .motion_files import load_motion

        parsed = parse_key_frames(frames)
        if not os.path.isfile(path):
            raise MrgenError("no such keys file", path)
        motion = load_motion(path, mapping=mapping)
        keys = cls(motion, parsed, with_root)
        check_inside([(f, f) for f in parsed], motion.num_frames, "--key-frames", f"the keys motion {path}")
        return keys

    def default_frames(self, fps: float) -> int:
        """Frames at ``fps`` of a motion as long as the keys motion (and reaching its last key)."""
        m = self.motion
        last = max(self.frames if self.at is None else self.at)
        return max(int(np.floor((m.num_frames - 1) * fps / m.fps + 1e-6)) + 1,
                   int(round(last * fps / m.fps)) + 1)

    def pins(self, frames: int, fps: float) -> "Pins":
        """The pins of a motion of ``frames`` frames at ``fps``: each key pose at its time (a frame of the keys
        motion at its own rate lands on the nearest frame at ``fps``)."""
        when = self.frames if self.at is None else self.at
        if len(when) != len(self.frames):
            raise MrgenError(f"{len(self.frames)} key frames but {len(when)} times to place them at")
        _check_order(list(when), "--key-frames")
        at = rescale_frames(list(when), self.motion.fps, fps, "--key-frames")
        for f, a in zip(when, at):
            if a >= frames:
                where = f"frame {f}" if a == f else f"frame {f} ({a} at {fps:g} fps)"
                raise MrgenError(f"--key-frames: {where} is after the end of the motion to generate ({frames} "
                                 f"frames at {fps:g} fps); give longer --seconds")
        src = feat.encode(self.motion)
        nearest = np.searchsorted((np.asarray(at[:-1]) + np.asarray(at[1:])) / 2.0, np.arange(frames))
        raw = src[np.asarray(self.frames)[nearest]]  # every frame holds its nearest key (the target between keys)
        xy = yaw = None
        if self.with_root:
            pos, heading = feat.integrate_root(src, self.motion.fps, feat.start_of(self.motion))
            xy = np.full((frames, 2), np.nan)
            yaw = np.full(frames, np.nan)
            xy[at] = pos[self.frames, :2]
            yaw[at] = heading[self.frames]
        return Pins(raw, [(f, f) for f in at], POSE_CHANNELS.copy(), xy, yaw)


# --- pins ---------------------------------------------------------------------------------------------------------
@dataclass
class Pins:
    """Full-rate target ``raw`` (T, C) features; ``intervals``: frames kept exactly (inclusive ranges);
    ``channels`` (C,) the channels pinned; ``xy`` (T, 2) / ``yaw`` (T,): the world pelvis ground position and
    heading to pass through (NaN where free; None: the path is free)."""

    raw: np.ndarray
    intervals: list[Interval]
    channels: np.ndarray
    xy: np.ndarray | None = None
    yaw: np.ndarray | None = None

    @property
    def frames(self) -> int:
        return len(self.raw)

    def kept(self) -> np.ndarray:
        k = np.zeros(self.frames, dtype=bool)
        for a, b in self.intervals:
            k[a:b + 1] = True
        return k


def range_pins(raw: np.ndarray, intervals: list[Interval], fps: float, start: feat.Start) -> Pins:
    """Keep the frames ``intervals`` of a source (raw features (T, C), placed at ``start``) exactly: every channel,
    and the world path there."""
    pos, heading = feat.integrate_root(raw, fps, start)
    xy = np.full((len(raw), 2), np.nan)
    yaw = np.full(len(raw), np.nan)
    pins = Pins(np.asarray(raw, dtype=np.float64), list(intervals), np.ones(feat.NUM_FEATURES, dtype=bool), xy, yaw)
    k = pins.kept()
    xy[k], yaw[k] = pos[k, :2], heading[k]
    return pins


def level_weights(intervals: list[Interval], frames: int, n: int, fade: float = FADE_FRAMES,
                  circular: bool = False) -> np.ndarray:
    """How much each of a level's ``n`` frames is pinned (0..1) for full-rate ``intervals`` of a ``frames``-frame
    motion: 1 within an interval (at the level's rate), easing to 0 over ``fade`` level frames on either side."""
    j = np.arange(n, dtype=np.float64)
    w = np.zeros(n)
    scale = n / frames
    for a, b in intervals:
        pa, pb = (a + 0.5) * scale - 0.5, (b + 0.5) * scale - 0.5
        shifts = (-n, 0, n) if circular else (0,)
        d = np.min([np.maximum(np.maximum(pa - (j + s), (j + s) - pb), 0.0) for s in shifts], axis=0)
        w = np.maximum(w, _smoothstep(1.0 - d / (fade + 1.0)))
    return w


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


# --- the root path ------------------------------------------------------------------------------------------------
def _fill(err: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``err`` (T, D) known at ``known`` frames, eased (smoothstep, so velocities stay continuous) across the gaps
    between them and held before the first and after the last."""
    idx = np.flatnonzero(known)
    out = np.empty_like(err)
    t = np.arange(len(err))
    for d in range(err.shape[1]):
        out[:, d] = np.interp(t, idx, err[idx, d])
    for a, b in zip(idx, idx[1:]):
        if b - a > 1:
            s = _smoothstep((t[a:b + 1] - a) / (b - a))
            out[a:b + 1] = err[a] + s[:, None] * (err[b] - err[a])
    return out


def pin_path(raw: np.ndarray, fps: float, start: feat.Start, xy: np.ndarray, yaw: np.ndarray
             ) -> tuple[np.ndarray, feat.Start]:
    """Raw features (T, C) whose root path, integrated from ``start``, passes through the world ground positions
    ``xy`` (T, 2) and headings ``yaw`` (T,) where those are finite: the differences are eased across the gaps
    between such frames (the heading first, then the position), so velocities stay continuous; returns the
    features and the start to decode them from."""
    known = np.isfinite(yaw)
    if not known.any():
        return raw, start
    out = np.array(raw, dtype=np.float64, copy=True)
    _, heading = feat.integrate_root(out, fps, start)
    miss = np.unwrap(np.where(known, yaw - heading, 0.0)[known])
    err = np.zeros((len(out), 1))
    err[known, 0] = miss
    heading = heading + _fill(err, known)[:, 0]
    if len(out) > 1:
        out[:-1, feat.YAW_RATE] = np.diff(heading) * fps
    path = ground_path(out[:, feat.VEL_X:feat.VEL_Y + 1], heading, fps, (start.x, start.y))
    err = np.zeros((len(out), 2))
    err[known] = xy[known] - path[known]
    path = path + _fill(err, known)
    if len(out) > 1:
        out[:-1, feat.VEL_X:feat.VEL_Y + 1] = rotate_heading(-heading[:-1], np.diff(path, axis=0)) * fps
    return out, feat.Start(float(path[0, 0]), float(path[0, 1]), float(heading[0]))


# --- the foot cleanup next to kept frames -------------------------------------------------------------------------
def restore(original: Motion, cleaned: Motion, intervals: list[Interval]) -> Motion:
    """``cleaned`` with the kept frames back as in ``original`` (joint rotations), easing into the cleanup over
    :data:`RESTORE_SECONDS` on either side."""
    from .rotations import axis_angle_to_quat, quat_to_axis_angle, slerp

    t = original.num_frames
    w = level_weights(intervals, t, t, fade=max(1, round(RESTORE_SECONDS * original.fps)))
    if not w.any():
        return cleaned
    qa, qb = axis_angle_to_quat(cleaned.poses), axis_angle_to_quat(original.poses)
    poses = quat_to_axis_angle(slerp(qa, qb, np.broadcast_to(w[:, None], qa.shape[:2])))
    poses[w >= 1.0] = original.poses[w >= 1.0]
    return cleaned.copy(poses=poses)
