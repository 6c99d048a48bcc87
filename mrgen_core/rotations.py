"""Rotation conversions and slerp, one implementation for numpy arrays and torch tensors.

Conventions: quaternions are ``(w, x, y, z)``; rotation matrices act on column vectors (``v' = R @ v``);
axis-angle is a 3-vector ``axis * angle`` (radians); 6D is the first two matrix columns (Zhou et al. 2019),
laid out as ``(c0x, c0y, c0z, c1x, c1y, c1z)``. All functions are batched over leading axes and accept either
numpy arrays or torch tensors (the result has the input's type); all are safe near 0 and near pi.
"""
from __future__ import annotations

import numpy as np

from ._backend import ops

_EPS = 1e-8


def unit(v, eps: float = 1e-12):
    """``v`` ``(..., n)`` scaled to unit length along the last axis (lengths below ``eps`` count as ``eps``)."""
    o = ops(v)
    return v / o.clip(o.norm(v, axis=-1, keepdims=True), eps, None)


def _half_angle(sq):
    """``cos(t/2)`` and ``sin(t/2)/t`` of rotation angles ``t`` given ``t**2``, with their Taylor series where ``t``
    is tiny (keeps gradients finite at 0)."""
    o = ops(sq)
    small = sq < 1e-12
    theta = o.sqrt(o.where(small, o.ones_like(sq), sq))
    half = 0.5 * theta
    return o.where(small, 1.0 - sq / 8.0, o.cos(half)), o.where(small, 0.5 - sq / 48.0, o.sin(half) / theta)


def axis_angle_to_quat(aa):
    """Axis-angle ``(..., 3)`` -> unit quaternion ``(..., 4)``."""
    o = ops(aa)
    w, k = _half_angle(o.sum(aa * aa, axis=-1, keepdims=True))
    return o.cat([w, aa * k], axis=-1)


def axis_angle_to_quat_parts(x, y, z):
    """:func:`axis_angle_to_quat` on components: the axis-angle's ``x, y, z`` (arrays of one shape) -> the
    quaternion's ``(w, x, y, z)``. Contiguous component rows make batched quaternion arithmetic fast in numpy."""
    w, k = _half_angle(x * x + y * y + z * z)
    return w, x * k, y * k, z * k


def quat_to_axis_angle(q):
    """Quaternion ``(..., 4)`` (any norm, either sign) -> axis-angle ``(..., 3)`` with angle in [0, pi]."""
    o = ops(q)
    q = unit(q)
    q = o.where(q[..., :1] < 0, -q, q)  # w >= 0 -> angle <= pi
    v = q[..., 1:]
    w = q[..., :1]
    sn = o.norm(v, axis=-1, keepdims=True)
    small = sn < 1e-6
    sn_safe = o.where(small, o.ones_like(sn), sn)
    angle = 2.0 * o.atan2(sn, w)
    k = o.where(small, 2.0 / o.clip(w, _EPS, None) * (1.0 - sn * sn / 6.0), angle / sn_safe)
    return v * k


def quat_to_matrix(q):
    """Quaternion ``(..., 4)`` -> rotation matrix ``(..., 3, 3)`` (normalises first)."""
    o = ops(q)
    q = unit(q)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz = x * y, x * z, y * z
    wx, wy, wz = w * x, w * y, w * z
    rows = [
        o.stack([1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy)], axis=-1),
        o.stack([2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx)], axis=-1),
        o.stack([2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy)], axis=-1),
    ]
    return o.stack(rows, axis=-2)


def matrix_to_quat(m):
    """Rotation matrix ``(..., 3, 3)`` -> unit quaternion ``(..., 4)`` with w >= 0 (Shepperd's method)."""
    o = ops(m)
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    tr4 = o.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], axis=-1)
    q_abs = o.sqrt(o.clip(tr4, 1e-12, None))  # = 2*|w|, 2*|x|, 2*|y|, 2*|z|
    cands = o.stack([
        o.stack([q_abs[..., 0] ** 2, m21 - m12, m02 - m20, m10 - m01], axis=-1),
        o.stack([m21 - m12, q_abs[..., 1] ** 2, m10 + m01, m02 + m20], axis=-1),
        o.stack([m02 - m20, m10 + m01, q_abs[..., 2] ** 2, m12 + m21], axis=-1),
        o.stack([m10 - m01, m20 + m02, m21 + m12, q_abs[..., 3] ** 2], axis=-1),
    ], axis=-2)
    cands = cands / (2.0 * o.clip(q_abs[..., None], 0.1, None))
    idx = o.argmax(q_abs, axis=-1)
    idx = o.broadcast_to(idx[..., None, None], tuple(idx.shape) + (1, 4))
    q = o.take_along_axis(cands, idx, axis=-2)[..., 0, :]
    q = unit(q)
    return o.where(q[..., :1] < 0, -q, q)


def axis_angle_to_matrix(aa):
    """Axis-angle ``(..., 3)`` -> rotation matrix ``(..., 3, 3)`` (Rodrigues, safe at 0)."""
    o = ops(aa)
    x, y, z = aa[..., 0], aa[..., 1], aa[..., 2]
    xx, yy, zz = x * x, y * y, z * z
    sq = xx + yy + zz
    small = sq < 1e-12
    sq_safe = o.where(small, o.ones_like(sq), sq)
    theta = o.sqrt(sq_safe)
    a = o.where(small, 1.0 - sq / 6.0, o.sin(theta) / theta)  # sin(t)/t
    b = o.where(small, 0.5 - sq / 24.0, (1.0 - o.cos(theta)) / sq_safe)  # (1-cos t)/t^2
    bxy, bxz, byz = b * x * y, b * x * z, b * y * z
    ax, ay, az = a * x, a * y, a * z
    m = o.stack([1.0 - b * (yy + zz), bxy - az, bxz + ay,
                 bxy + az, 1.0 - b * (xx + zz), byz - ax,
                 bxz - ay, byz + ax, 1.0 - b * (xx + yy)], axis=-1)
    return m.reshape(tuple(m.shape[:-1]) + (3, 3))


def matrix_to_axis_angle(m):
    """Rotation matrix ``(..., 3, 3)`` -> axis-angle ``(..., 3)``."""
    return quat_to_axis_angle(matrix_to_quat(m))


def matrix_to_6d(m):
    """Rotation matrix ``(..., 3, 3)`` -> 6D ``(..., 6)``: first column then second column."""
    o = ops(m)
    return o.cat([m[..., :, 0], m[..., :, 1]], axis=-1)


def sixd_to_matrix(d6):
    """6D ``(..., 6)`` -> rotation matrix ``(..., 3, 3)`` by Gram-Schmidt (any non-degenerate input)."""
    o = ops(d6)
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = unit(a1)
    b2 = unit(a2 - o.sum(b1 * a2, axis=-1, keepdims=True) * b1)
    b3 = o.cross(b1, b2)
    return o.stack([b1, b2, b3], axis=-1)


def axis_angle_to_6d(aa):
    return matrix_to_6d(axis_angle_to_matrix(aa))


def sixd_to_axis_angle(d6):
    return matrix_to_axis_angle(sixd_to_matrix(d6))


def _parts(x) -> tuple:
    """The components along the last axis."""
    return tuple(x[..., i] for i in range(x.shape[-1]))


def quat_mul_parts(a, b) -> tuple:
    """:func:`quat_mul` on components: ``a``, ``b`` are ``(w, x, y, z)`` sequences of arrays."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw)


def quat_mul(a, b):
    """Hamilton product ``a * b`` of ``(..., 4)`` quaternions (apply b first, then a)."""
    return ops(a).stack(quat_mul_parts(_parts(a), _parts(b)), axis=-1)


def quat_conj(q):
    """Conjugate (the inverse of a unit quaternion)."""
    o = ops(q)
    return o.cat([q[..., :1], -q[..., 1:]], axis=-1)


def quat_rotate_parts(q, v, base=None) -> tuple:
    """:func:`quat_rotate` on components: ``q`` a ``(w, x, y, z)`` sequence, ``v`` an ``(x, y, z)`` one; with
    ``base`` (an ``(x, y, z)`` sequence), ``base + q v`` (summed as ``base + v`` first: forward kinematics)."""
    w, x, y, z = q
    vx, vy, vz = v
    tx, ty, tz = 2 * (y * vz - z * vy), 2 * (z * vx - x * vz), 2 * (x * vy - y * vx)
    if base is not None:
        vx, vy, vz = base[0] + vx, base[1] + vy, base[2] + vz
    return vx + w * tx + (y * tz - z * ty), vy + w * ty + (z * tx - x * tz), vz + w * tz + (x * ty - y * tx)


def quat_rotate(q, v):
    """Rotate vectors ``(..., 3)`` by unit quaternions ``(..., 4)``."""
    return ops(q).stack(quat_rotate_parts(_parts(q), _parts(v)), axis=-1)


def slerp(q0, q1, t):
    """Spherical interpolation between unit quaternions ``q0``, ``q1`` (``(..., 4)``) at ``t`` (broadcast to ``(...)``).

    Takes the short path (flips ``q1`` where the dot product is negative); falls back to a normalised lerp when
    the quaternions are nearly equal.
    """
    o = ops(q0)
    t = o.asarray_like(t, q0) if not hasattr(t, "shape") else t
    t = t[..., None]
    dot = o.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = o.where(dot < 0, -q1, q1)
    dot = o.abs(dot)
    close = dot > 0.9995
    theta = o.atan2(o.sqrt(o.clip(1.0 - dot * dot, 0.0, None)), dot)
    s = o.sin(theta)
    s_safe = o.where(close, o.ones_like(s), s)
    w0 = o.where(close, 1.0 - t, o.sin((1.0 - t) * theta) / s_safe)
    w1 = o.where(close, t, o.sin(t * theta) / s_safe)
    return unit(w0 * q0 + w1 * q1)


def quat_continuous(q, axis: int = 0):
    """Flip signs along ``axis`` (time) so consecutive quaternions have a non-negative dot product (numpy)."""
    q = np.array(q, dtype=float, copy=True)
    q = np.moveaxis(q, axis, 0)
    if len(q) > 1:
        d = np.sum(q[1:] * q[:-1], axis=-1)
        flips = np.cumsum(d < 0, axis=0) % 2
        q[1:] = np.where(flips[..., None] == 1, -q[1:], q[1:])
    return np.moveaxis(q, 0, axis)


_AXES = {"X": 0, "Y": 1, "Z": 2}


def axis_rotation_matrix(axis: str, angle):
    """Rotation about a principal axis ``'X'|'Y'|'Z'`` by ``angle`` radians ``(...)`` -> ``(..., 3, 3)``."""
    o = ops(angle)
    c, s = o.cos(angle), o.sin(angle)
    i = _AXES[axis.upper()]
    j, k = (i + 1) % 3, (i + 2) % 3
    m = [o.zeros_like(c)] * 9
    m[3 * i + i], m[3 * j + j], m[3 * k + k], m[3 * j + k], m[3 * k + j] = o.ones_like(c), c, c, -s, s
    return o.stack(m, axis=-1).reshape(tuple(c.shape) + (3, 3))


def euler_to_matrix(angles, order: str):
    """Intrinsic Euler angles ``(..., 3)`` in radians, applied in ``order`` (e.g. ``"ZYX"`` means
    ``R = Rz(a0) @ Ry(a1) @ Rx(a2)``, the BVH convention for channels listed Z, Y, X)."""
    r = None
    for i, ax in enumerate(order):
        m = axis_rotation_matrix(ax, angles[..., i])
        r = m if r is None else r @ m
    return r


def matrix_to_euler(m, order: str):
    """Inverse of :func:`euler_to_matrix` for the six Tait-Bryan orders (numpy). Angles in radians."""
    m = np.asarray(m, dtype=float)
    i, j, k = (_AXES[a] for a in order.upper())
    # R = R_i(a) R_j(b) R_k(c); parity of the permutation decides the signs
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    b = np.arcsin(np.clip(sign * m[..., i, k], -1.0, 1.0))
    cb = np.cos(b)
    ok = np.abs(cb) > 1e-7
    a = np.where(ok, np.arctan2(-sign * m[..., j, k], m[..., k, k]), np.arctan2(sign * m[..., k, j], m[..., j, j]))
    c = np.where(ok, np.arctan2(-sign * m[..., i, j], m[..., i, i]), 0.0)
    return np.stack([a, b, c], axis=-1)
