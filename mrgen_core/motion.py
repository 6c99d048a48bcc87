"""The Motion container: SMPL pose parameters over time, plus what is known about them.

World convention (as AMASS): Z up, metres; the Y-up -> Z-up rotation is folded into the root orientation
(``poses[:, 0]``), and the pelvis world position is ``trans + J_0`` (see :mod:`mrgen_core.skeleton`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .errors import MotionFormatError
from .limits import MAX_ANGLE, MAX_FPS, MAX_FRAMES, MAX_TRANSLATION, MIN_FPS
from .rotations import axis_angle_to_quat, quat_to_axis_angle, slerp
from .skeleton import GENDERS, NUM_JOINTS, Skeleton


@dataclass
class Motion:
    """SMPL motion: ``poses`` (T, 24, 3) axis-angle, ``trans`` (T, 3) metres, ``fps``.

    Optional: ``betas`` (shape coefficients, kept and written, not used by the joint skeleton), ``gender``,
    per-frame ``labels`` (T,) int indices into ``vocab`` (-1 = none), and provenance: ``name``, ``source``
    (the file it came from) and ``credit`` (licence / acknowledgement string to keep with derived data); ``meta``:
    plain JSON values on how it was made (e.g. ``path_method`` of a path-following motion), kept in .npz files.
    """

    poses: np.ndarray
    trans: np.ndarray
    fps: float
    betas: np.ndarray = field(default_factory=lambda: np.zeros(10))
    gender: str = "neutral"
    labels: np.ndarray | None = None
    vocab: tuple[str, ...] = ()
    name: str = ""
    source: str = ""
    credit: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.poses = np.asarray(self.poses, dtype=np.float64)
        self.trans = np.asarray(self.trans, dtype=np.float64)
        self.betas = np.asarray(self.betas, dtype=np.float64).reshape(-1)
        self.fps = float(self.fps)
        self.vocab = tuple(str(v) for v in self.vocab)
        if self.labels is not None:
            self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`MotionFormatError` (naming ``source``) on wrong shapes or non-finite values."""
        where = self.source or self.name or None
        if self.poses.ndim != 3 or self.poses.shape[1:] != (NUM_JOINTS, 3):
            raise MotionFormatError(f"poses must have shape (frames, 24, 3), got {self.poses.shape}", where)
        t = self.poses.shape[0]
        if t < 1:
            raise MotionFormatError("motion has no frames", where)
        if self.trans.shape != (t, 3):
            raise MotionFormatError(f"trans must have shape ({t}, 3), got {self.trans.shape}", where)
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise MotionFormatError(f"fps must be a positive number, got {self.fps}", where)
        if not (MIN_FPS <= self.fps <= MAX_FPS):
            raise MotionFormatError(f"frame rate {self.fps:g} fps is outside {MIN_FPS:g}-{MAX_FPS:g} fps", where)
        if t > MAX_FRAMES:
            raise MotionFormatError(f"{t} frames; the limit is {MAX_FRAMES}", where)
        for nm, arr in (("poses", self.poses), ("trans", self.trans), ("betas", self.betas)):
            if not np.all(np.isfinite(arr)):
                raise MotionFormatError(f"{nm} contains NaN or infinite values", where)
        for nm, arr, limit, unit in (("poses", self.poses, MAX_ANGLE, "radians"),
                                     ("trans", self.trans, MAX_TRANSLATION, "m"), ("betas", self.betas, 1e3, "")):
            if arr.size and np.abs(arr).max() > limit:
                raise MotionFormatError(f"{nm} holds a value of {np.abs(arr).max():g}{' ' + unit if unit else ''}, "
                                        f"beyond +-{limit:g} (not a physical motion)", where)
        if self.gender not in GENDERS:
            raise MotionFormatError(f"unknown gender {self.gender!r}", where)
        if self.labels is not None:
            if self.labels.shape != (t,):
                raise MotionFormatError(f"labels must have one entry per frame ({t}), got {self.labels.shape}", where)
            if self.labels.size and (self.labels.max() >= len(self.vocab) or self.labels.min() < -1):
                raise MotionFormatError("labels index outside the label vocabulary", where)

    # --- basic facts -------------------------------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    def __len__(self) -> int:
        return self.num_frames

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame plus one frame (``T / fps``)."""
        return self.num_frames / self.fps

    @property
    def skeleton(self) -> Skeleton:
        return Skeleton.smpl(self.gender)

    def joints(self, skeleton: Skeleton | None = None) -> np.ndarray:
        """World joint positions (T, 24, 3), metres, Z up."""
        return (skeleton or self.skeleton).fk(self.poses, self.trans)

    def label_names(self) -> list[str | None]:
        """The label of every frame (None where unlabelled or no labels)."""
        if self.labels is None:
            return [None] * self.num_frames
        return [self.vocab[i] if i >= 0 else None for i in self.labels]

    def copy(self, **changes) -> "Motion":
        """A deep copy, with fields replaced by ``changes``."""
        base = replace(self, poses=self.poses.copy(), trans=self.trans.copy(), betas=self.betas.copy(),
                       labels=None if self.labels is None else self.labels.copy(), meta=dict(self.meta))
        return replace(base, **changes) if changes else base

    def slice(self, start: int, stop: int | None = None) -> "Motion":
        """Frames ``[start, stop)`` as a new Motion."""
        sl = slice(start, stop)
        return self.copy(poses=self.poses[sl].copy(), trans=self.trans[sl].copy(),
                         labels=None if self.labels is None else self.labels[sl].copy())

    # --- resampling --------------------------------------------------------------------------------------------
    def resample(self, fps: float, num_frames: int | None = None) -> "Motion":
        """Resample to ``fps`` by time: slerp for rotations, linear for translation, nearest for labels.

        Output frame k sits at time ``k / fps``; frames run while that time lies within the source's first and
        last frame times, so the motion keeps its speed and its length in seconds. ``num_frames``: exactly this
        many frames instead (the last source frame is held past the end).
        """
        fps = float(fps)
        if not (np.isfinite(fps) and MIN_FPS <= fps <= MAX_FPS):
            raise MotionFormatError(f"fps must be a number from {MIN_FPS:g} to {MAX_FPS:g}, got {fps:g}",
                                    self.source or None)
        t = self.num_frames
        if abs(fps - self.fps) < 1e-9 and num_frames in (None, t):
            return self.copy()
        n = int(np.floor((t - 1) * fps / self.fps + 1e-6)) + 1 if num_frames is None else int(num_frames)
        if n < 1:
            raise MotionFormatError(f"num_frames must be at least 1, got {n}", self.source or None)
        if n > MAX_FRAMES:  # checked before anything is allocated
            raise MotionFormatError(f"resampling to {fps:g} fps gives {n} frames; the limit is {MAX_FRAMES}",
                                    self.source or None)
        s = np.arange(n) * (self.fps / fps)  # position in source frames
        i0 = np.clip(np.floor(s).astype(int), 0, t - 1)
        i1 = np.clip(i0 + 1, 0, t - 1)
        w = (s - i0)[:, None]
        q = axis_angle_to_quat(self.poses)
        qi = slerp(q[i0], q[i1], np.broadcast_to(w, (n, NUM_JOINTS)))
        poses = quat_to_axis_angle(qi)
        trans = self.trans[i0] * (1 - w) + self.trans[i1] * w
        labels = None
        if self.labels is not None:
            labels = self.labels[np.clip(np.rint(s).astype(int), 0, t - 1)]
        return self.copy(poses=poses, trans=trans, fps=fps, labels=labels)
