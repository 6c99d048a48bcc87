"""Skeleton geometry, one implementation for numpy arrays and torch tensors: forward kinematics, the smallest
rotation between two directions, rotations about the vertical and root integration.

Conventions as in :mod:`mrgen_core.rotations` (quaternions ``(w, x, y, z)``, matrices acting on column vectors).
A kinematic tree is ``parents`` (``-1`` for the root, every parent before its children) and ``offsets``: each joint's
position in its parent's frame. Root motion is a ground-plane velocity in the heading frame plus a heading rate
(see :mod:`mrgen_core.features`); headings turn about +Z, the vertical of the Z-up world.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ._backend import ops
from .rotations import axis_angle_to_quat_parts, axis_rotation_matrix, quat_mul_parts, quat_rotate_parts, quat_to_matrix

__all__ = ["forward_kinematics", "forward_kinematics_axis_angle", "rotation_between", "nearest_rotation", "rz",
           "rotate_heading", "integrate_root", "ground_path"]


# --- forward kinematics ----------------------------------------------------------------------------------------

def forward_kinematics(local_rots, root_pos, offsets, parents, joints: Sequence[int] | None = None):
    """World positions ``(..., n, 3)`` and rotations of the joints of a kinematic tree.

    ``local_rots``: each joint's rotation relative to its parent (the root's: its world rotation), as matrices
    ``(..., n, 3, 3)`` or unit quaternions ``(..., n, 4)``; the world rotations come back in the same form.
    ``root_pos``: the root joint's world position ``(..., 3)``. ``offsets``: ``(J, 3)``, or ``(..., J, 3)`` where they
    change per frame (a BVH's position channels); the root's row is not used. ``parents``: ``(J,)``. ``joints``: the
    ``n`` joints ``local_rots`` holds (default all ``J``), the root first, each after its parent (e.g. one leg chain).
    Vectorised over the leading axes; numpy arrays or torch tensors (autograd flows through).
    """
    if tuple(local_rots.shape[-2:]) == (3, 3):
        o = ops(local_rots)
        offsets = _like(offsets, local_rots)
        root_pos = _like(root_pos, local_rots)
        lead = tuple(local_rots.shape[:-3]) + (3,)
        if tuple(root_pos.shape) != lead:
            root_pos = o.broadcast_to(root_pos, lead)
        pos, glob = _chain(local_rots[..., 0, :, :], root_pos, lambda k: local_rots[..., k, :, :],
                           _offset_getter(offsets), parents, joints, _place_matrix, lambda g, r: g @ r,
                           local_rots.shape[-3])
        return o.stack(pos, axis=-2), o.stack(glob, axis=-3)
    if local_rots.shape[-1] != 4:
        raise ValueError(f"local rotations must be (..., n, 3, 3) or (..., n, 4), got {tuple(local_rots.shape)}")
    o = ops(local_rots)
    lead, n = tuple(local_rots.shape[:-2]), local_rots.shape[-2]
    q = _rows(local_rots, n)  # (n, 4, N): contiguous component rows
    pos, glob = _fk_quat_rows(q, root_pos, offsets, parents, joints, lead, like=local_rots)
    return _unrows(pos, lead, o), _unrows(glob, lead, o)


def forward_kinematics_axis_angle(poses, root_pos, offsets, parents, joints: Sequence[int] | None = None):
    """World joint positions ``(..., n, 3)`` from axis-angle local rotations ``poses`` ``(..., n, 3)``; the rest as
    :func:`forward_kinematics`. Works on component rows throughout, the fastest FK in numpy."""
    o = ops(poses)
    lead, n = tuple(poses.shape[:-2]), poses.shape[-2]
    a = _rows(poses, n)  # (n, 3, N)
    q = list(zip(*axis_angle_to_quat_parts(a[:, 0], a[:, 1], a[:, 2])))
    pos, _ = _fk_quat_rows(q, root_pos, offsets, parents, joints, lead, like=poses)
    return _unrows(pos, lead, o)


def _chain(root_rot, root_pos, local, offset, parents, joints, place, compose, n):
    """The one tree walk: ``pos_j = place(pos_parent, rot_parent, offset_j)``, ``rot_j = compose(rot_parent,
    local_j)``, in the order of ``joints``. Returns lists of per-joint positions and rotations."""
    joints = range(n) if joints is None else [int(j) for j in joints]
    if len(joints) != n:
        raise ValueError(f"{len(joints)} joints named for {n} local rotations")
    index = {j: k for k, j in enumerate(joints)}
    pos, glob = [root_pos], [root_rot]
    for k in range(1, n):
        j = joints[k]
        p = index.get(int(parents[j]))
        if p is None or p >= k:
            raise ValueError(f"joint {j}'s parent {int(parents[j])} must come before it in the joints evaluated")
        pos.append(place(pos[p], glob[p], offset(j)))
        glob.append(compose(glob[p], local(k)))
    return pos, glob


def _place_matrix(pos_p, rot_p, v):
    return pos_p + (rot_p @ v if v.ndim == 1 else (rot_p @ v[..., None])[..., 0])


def _fk_quat_rows(q, root_pos, offsets, parents, joints, lead, like):
    """Quaternion FK on component rows: ``q[k]`` the ``(w, x, y, z)`` rows of joint ``k``, each ``(N,)``."""
    o = ops(like)
    offsets = _like(offsets, like)
    if offsets.ndim > 2:  # per frame: (..., J, 3) -> (J, 3, N) rows
        offsets = _rows(o.broadcast_to(offsets, lead + tuple(offsets.shape[-2:])), offsets.shape[-2])
    root = _like(root_pos, like)
    root = o.contiguous(o.moveaxis(o.broadcast_to(root, lead + (3,)).reshape(-1, 3), 0, -1))
    return _chain(tuple(q[0]), tuple(root), lambda k: q[k], lambda j: offsets[j], parents, joints,
                  lambda x, g, v: quat_rotate_parts(g, v, base=x), quat_mul_parts, len(q))


def _offset_getter(offsets):
    return (lambda j: offsets[j]) if offsets.ndim == 2 else (lambda j: offsets[..., j, :])


def _like(x, like):
    """``x`` as an array of ``like``'s library (a tensor also of its dtype and device)."""
    o = ops(like)
    if hasattr(x, "shape") and ops(x) is o and (o.name == "numpy" or (x.dtype, x.device) == (like.dtype, like.device)):
        return x
    return o.asarray_like(x, like)


def _rows(x, n: int):
    """``(..., n, c)`` -> contiguous component rows ``(n, c, N)``, ``N`` the product of the leading axes."""
    o = ops(x)
    return o.contiguous(o.moveaxis(x.reshape(-1, n, x.shape[-1]), 0, -1))


def _unrows(parts, lead: tuple, o):
    """Per-joint component rows (a list of tuples of ``(N,)`` rows) -> ``(..., n, c)``."""
    n, c = len(parts), len(parts[0])
    return o.stack([r for p in parts for r in p], axis=-1).reshape(lead + (n, c))


# --- rotations between directions ------------------------------------------------------------------------------

def rotation_between(a, b):
    """Smallest rotations ``(..., 3, 3)`` turning unit vectors ``a`` onto unit vectors ``b`` (``(..., 3)``,
    broadcast; :func:`mrgen_core.rotations.unit` makes them). The identity where they agree; at 180 degrees a half
    turn about an axis perpendicular to ``a``."""
    o = ops(a)
    if ops(b) is not o:
        b = o.asarray_like(b, a)
    a, b = o.broadcast_arrays(a, b)
    c = o.cross(a, b)
    w = 1.0 + o.sum(a * b, axis=-1)
    # the quaternion (1 + a.b, a x b), normalised; near 180 degrees (1 + a.b ~ 0) any axis perpendicular to a
    opposite = w < 1e-8
    if bool(opposite.any()):
        perp = o.cross(a, o.broadcast_to(o.asarray_like([1.0, 0.0, 0.0], a), tuple(a.shape)))
        perp2 = o.cross(a, o.broadcast_to(o.asarray_like([0.0, 1.0, 0.0], a), tuple(a.shape)))
        perp = o.where(o.norm(perp, axis=-1, keepdims=True) < 1e-6, perp2, perp)
        c = o.where(opposite[..., None], perp, c)
        w = o.where(opposite, o.zeros_like(w), w)
    return quat_to_matrix(o.cat([w[..., None], c], axis=-1))


def nearest_rotation(m: np.ndarray) -> np.ndarray:
    """The rotation ``(3, 3)`` nearest to a 3x3 matrix ``m`` (polar decomposition / Kabsch: maximises
    ``trace(R^T m)``); a mirroring ``m`` gives a proper rotation all the same. numpy."""
    u, _, vt = np.linalg.svd(m)
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    return u @ np.diag([1.0, 1.0, d]) @ vt


# --- headings and root motion ----------------------------------------------------------------------------------

def rz(angle):
    """Rotations ``(..., 3, 3)`` by ``angle`` ``(...)`` radians about +Z, the vertical of the Z-up world."""
    return axis_rotation_matrix("Z", angle)


def rotate_heading(yaw, v):
    """Ground-plane vectors ``v`` ``(..., 2)`` turned by headings ``yaw`` ``(...)`` about the vertical (from the
    heading frame to the world; ``-yaw`` turns back)."""
    o = ops(v)
    c, s = o.cos(yaw), o.sin(yaw)
    vx, vy = v[..., 0], v[..., 1]
    return o.stack([c * vx - s * vy, s * vx + c * vy], axis=-1)


def integrate_root(velocity, yaw_rate, fps: float, start_xy=None, start_heading=None):
    """Ground positions ``(..., T, 2)`` and headings ``(..., T)`` of a root moving with ``velocity`` ``(..., T, 2)``
    (m/s, in its heading frame) and ``yaw_rate`` ``(..., T)`` (rad/s), frame ``t``'s motion carrying it to frame
    ``t + 1``; it starts at ``start_xy`` ``(2,)`` with heading ``start_heading`` (the origin and 0 when None)."""
    o = ops(velocity)
    yaw = o.cumsum(yaw_rate, axis=-1) / fps
    yaw = o.cat([o.zeros_like(yaw[..., :1]), yaw[..., :-1]], axis=-1)
    if start_heading is not None:
        yaw = start_heading + yaw
    return ground_path(velocity, yaw, fps, start_xy), yaw


def ground_path(velocity, yaw, fps: float, start_xy=None):
    """Ground positions ``(..., T, 2)`` of a root moving with ``velocity`` ``(..., T, 2)`` (m/s) in its heading frame,
    the headings ``yaw`` ``(..., T)`` given, from ``start_xy`` (the origin when None): the world steps summed."""
    o = ops(velocity)
    xy = o.exclusive_cumsum(rotate_heading(yaw, velocity / fps), axis=-2)
    return xy if start_xy is None else o.asarray_like(start_xy, xy) + xy
