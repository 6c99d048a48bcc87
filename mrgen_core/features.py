"""Motion <-> model features, and per-channel normalisation (numpy only, no torch).

Per frame (``NUM_FEATURES`` = 152 channels):

- ``ROT``     (0:144)   6D rotation of the 24 SMPL joints. The root's is *heading-free*: its rotation about the
  world vertical (Z) is taken out, so the model learns poses independent of where the body faces.
- ``ROOT``    (144:148) root motion: ground-plane velocity of the pelvis in the heading frame (x, y; m/s), heading
  rate (rad/s) and pelvis height above the floor (m). Velocities are per second, so every level of the pyramid
  (each its own frame rate) reads them alike, and the generator can walk and turn anywhere.
- ``CONTACT`` (148:152) foot contacts (0/1) of :func:`mrgen_core.contacts.foot_contacts`.

Heading: the twist about world Z of the root rotation with the template's Y-up -> Z-up fold taken out
(``R_root = Rz(heading) @ R_local``); 0 for a body facing -Y (the zero pose). Defined for any posture but upside
down, which keeps cartwheels and lying poses continuous, unlike the projected forward vector.

Decoding is exact: integrating the velocities from the clip's first pelvis position and heading gives back the
joint positions (float64 round trip ~1e-9 m).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import geometry
from ._backend import is_torch, ops
from .contacts import foot_contacts
from .errors import MrgenError
from .geometry import rz
from .motion import Motion
from .rotations import axis_angle_to_matrix, matrix_to_6d, matrix_to_quat, sixd_to_matrix, matrix_to_axis_angle
from .skeleton import FOOT_JOINTS, NUM_JOINTS, OFFSETS, PARENTS, Y_UP_TO_Z_UP

ROT = slice(0, NUM_JOINTS * 6)
ROOT = slice(ROT.stop, ROT.stop + 4)
CONTACT = slice(ROOT.stop, ROOT.stop + 4)
NUM_FEATURES = CONTACT.stop
#: Index of each root-motion channel within the feature vector.
VEL_X, VEL_Y, YAW_RATE, HEIGHT = range(ROOT.start, ROOT.stop)


@dataclass(frozen=True)
class Start:
    """Where a decoded motion starts: pelvis ground position (x, y) in metres and heading in radians."""

    x: float = 0.0
    y: float = 0.0
    heading: float = 0.0

    def as_list(self) -> list[float]:
        return [float(self.x), float(self.y), float(self.heading)]


def heading(root_rotmats: np.ndarray) -> np.ndarray:
    """Heading (T,) in radians: twist about world Z of ``R_root @ Y_UP_TO_Z_UP.T`` (0 = facing -Y)."""
    q = matrix_to_quat(np.asarray(root_rotmats) @ Y_UP_TO_Z_UP.T)
    return 2.0 * np.arctan2(q[..., 3], q[..., 0])


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


def encode(motion: Motion, joints: np.ndarray | None = None) -> np.ndarray:
    """Features (T, 152) float64 of a motion (see the module docstring). ``joints``: its world joints if known."""
    t = motion.num_frames
    rot = axis_angle_to_matrix(motion.poses)  # (T, 24, 3, 3)
    yaw = heading(rot[:, 0])
    rot[:, 0] = rz(-yaw) @ rot[:, 0]
    pelvis = motion.trans + motion.skeleton.offsets[0]
    step = np.zeros((t, 3))
    dyaw = np.zeros(t)
    if t > 1:
        step[:-1] = pelvis[1:] - pelvis[:-1]
        step[-1] = step[-2]
        dyaw[:-1] = _wrap(yaw[1:] - yaw[:-1])
        dyaw[-1] = dyaw[-2]
    local = np.einsum("tji,tj->ti", rz(yaw), step)  # Rz(yaw)^T @ step
    root = np.stack([local[:, 0] * motion.fps, local[:, 1] * motion.fps, dyaw * motion.fps, pelvis[:, 2]], axis=1)
    if joints is None:
        joints = motion.joints()
    contacts = foot_contacts(joints, motion.fps)
    return np.concatenate([matrix_to_6d(rot).reshape(t, -1), root, contacts], axis=1)


def start_of(motion: Motion) -> Start:
    """The first frame's pelvis ground position and heading (what :func:`decode` needs to put a clip back)."""
    pelvis = motion.trans[0] + motion.skeleton.offsets[0]
    yaw = heading(axis_angle_to_matrix(motion.poses[:1, 0]))[0]
    return Start(float(pelvis[0]), float(pelvis[1]), float(yaw))


def integrate_root(features, fps: float, start: Start | None = Start()):
    """Pelvis world positions (..., T, 3) and headings (..., T) from the root channels of features (..., T, C)
    (numpy, as float64, or torch), starting at ``start`` (None: at the origin, facing -Y, without adding it)."""
    f = features if is_torch(features) else np.asarray(features, dtype=np.float64)
    xy, yaw = geometry.integrate_root(f[..., VEL_X:VEL_Y + 1], f[..., YAW_RATE], fps,
                                      None if start is None else (start.x, start.y),
                                      None if start is None else start.heading)
    return ops(f).cat([xy, f[..., HEIGHT:HEIGHT + 1]], axis=-1), yaw


def decode(features: np.ndarray, fps: float, *, gender: str = "neutral", start: Start = Start(),
           name: str = "", source: str = "", credit: str = "") -> Motion:
    """The Motion of features (T, 152) (unnormalised), its root integrated from ``start``.

    Rotations go through Gram-Schmidt, so any (non-degenerate) generator output decodes to valid rotations.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[1] != NUM_FEATURES:
        raise MrgenError(f"features must have shape (frames, {NUM_FEATURES}), got {f.shape}")
    t = len(f)
    rot = sixd_to_matrix(f[:, ROT].reshape(t, NUM_JOINTS, 6))
    pelvis, yaw = integrate_root(f, fps, start)
    rot[:, 0] = rz(yaw) @ rot[:, 0]
    poses = matrix_to_axis_angle(rot)
    trans = pelvis - OFFSETS[gender][0]
    return Motion(poses, trans, fps, gender=gender, name=name, source=source, credit=credit)


def contacts_of(features: np.ndarray) -> np.ndarray:
    """Predicted foot contacts (T, 4) as 0/1 floats (left ankle, left toe, right ankle, right toe)."""
    return (np.asarray(features)[:, CONTACT] > 0.5).astype(np.float64)


# --- skeleton-aware channel groups --------------------------------------------------------------------------------

#: Group of the root-motion channels and of each contact channel (after the 24 joint groups).
ROOT_GROUP = NUM_JOINTS
CONTACT_GROUPS = tuple(range(NUM_JOINTS + 1, NUM_JOINTS + 5))
NUM_GROUPS = NUM_JOINTS + 5


def channel_groups() -> np.ndarray:
    """The group (0..28) of every feature channel: joint j's 6D -> j, root motion -> 24, contact k -> 25 + k."""
    g = np.empty(NUM_FEATURES, dtype=np.int64)
    g[ROT] = np.repeat(np.arange(NUM_JOINTS), 6)
    g[ROOT] = ROOT_GROUP
    g[CONTACT] = CONTACT_GROUPS
    return g


def joint_distances(parents=PARENTS) -> np.ndarray:
    """Graph distances (J, J) between joints on the kinematic tree."""
    n = len(parents)
    d = np.full((n, n), n + 1, dtype=np.int64)
    np.fill_diagonal(d, 0)
    for j, p in enumerate(parents):
        if p >= 0:
            d[j, p] = d[p, j] = 1
    for k in range(n):  # Floyd-Warshall; 24 joints
        d = np.minimum(d, d[:, k:k + 1] + d[k:k + 1, :])
    return d


def group_neighbours(max_distance: int = 2) -> np.ndarray:
    """Boolean (G, G) adjacency of the channel groups for skeleton-aware convolutions (GANimator's rule).

    Joints see joints within ``max_distance`` on the tree. Each contact group sees, and is seen by, its foot joint's
    neighbourhood; the root-motion group sees, and is seen by, the root joint's neighbourhood and the contacts.
    """
    dist = joint_distances()
    adj = np.zeros((NUM_GROUPS, NUM_GROUPS), dtype=bool)
    adj[:NUM_JOINTS, :NUM_JOINTS] = dist <= max_distance
    for c, foot in zip(CONTACT_GROUPS, FOOT_JOINTS):
        near = np.flatnonzero(adj[foot, :NUM_JOINTS])
        adj[c, near] = True
        adj[c, c] = True
        adj[foot, c] = True
    root_near = list(np.flatnonzero(adj[0, :NUM_JOINTS])) + list(CONTACT_GROUPS)
    adj[ROOT_GROUP, root_near] = True
    adj[root_near, ROOT_GROUP] = True
    adj[ROOT_GROUP, ROOT_GROUP] = True
    return adj


# --- normalisation ------------------------------------------------------------------------------------------------

@dataclass
class Normalizer:
    """Per-channel ``(x - mean) / std``, fitted on training features."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, arrays: list[np.ndarray], min_std: float = 0.02, block_floor: float = 1.0) -> "Normalizer":
        """Mean and std per channel over all frames of ``arrays`` (each (T, C) features).

        A channel's std is floored at ``block_floor`` times the mean std of its block (rotations, root motion) and
        at ``min_std``: nearly still joints keep their small scale instead of being blown up into noise the model
        would have to reproduce (the metrics, like the eye, weigh all rotation channels alike). Contacts map
        0/1 to -1/1.
        """
        x = np.concatenate([np.asarray(a, dtype=np.float64) for a in arrays], axis=0)
        mean, std = x.mean(axis=0), x.std(axis=0)
        if x.shape[1] == NUM_FEATURES:
            for block in (ROT, ROOT):
                std[block] = np.maximum(std[block], block_floor * std[block].mean())
            mean[CONTACT], std[CONTACT] = 0.5, 0.5
        return cls(mean, np.maximum(std, min_std))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x) - self.mean) / self.std

    def invert(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x) * self.std + self.mean

    def to_dict(self) -> dict:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_dict(cls, d: dict) -> "Normalizer":
        return cls(np.asarray(d["mean"], dtype=np.float64), np.asarray(d["std"], dtype=np.float64))
