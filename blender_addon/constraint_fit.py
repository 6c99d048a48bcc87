"""Make retargeted keys hold through the rig's own constraints (Rigify's helper bones), measured by Blender.

The retarget maths treats every unmapped bone as rigidly parented. On rigs whose mapped controls hang under
constrained helper bones (a generated Rigify rig: the FK spine and limbs sit under ``MCH-spine*`` bones that copy the
``hips``/``chest`` controls half-way) that is not what Blender evaluates. This pass evaluates the rig at every frame
and corrects each mapped bone's key so that its evaluated armature-space rotation is the wanted one
(``B' = B C^T D``: key ``B`` gave rotation ``C``, ``D`` is wanted), repeated until the worst bone is within
:data:`TOLERANCE_DEG` (each pass fixes the next level of the hierarchy exactly). The feet are then measured the same
way and the root moved so that they stand on the floor.
"""
from __future__ import annotations

import bpy
import numpy as np

from . import keyframes
from .core import target as _target

TOLERANCE_DEG = 0.05
MAX_PASSES = 10


def needs_fit(obj, bones) -> bool:
    """True when a mapped bone or one of its ancestors has an active constraint."""
    for name in bones:
        pb = obj.pose.bones[name]
        while pb is not None:
            if any(not c.mute and c.influence > 0 for c in pb.constraints):
                return True
            pb = pb.parent
    return False


def _evaluate(obj, frames, bones, points=()):
    """Armature-space rotations (T, B, 3, 3) of ``bones`` and world Z (T, P) of ``points`` ((bone, is_tail)) as
    Blender evaluates them at ``frames``."""
    scene = bpy.context.scene
    rot = np.empty((len(frames), len(bones), 3, 3))
    z = np.empty((len(frames), len(points)))
    pbs = [obj.pose.bones[b] for b in bones]
    pts = [(obj.pose.bones[b], tail) for b, tail in points]
    mw = obj.matrix_world
    for t, f in enumerate(frames):
        scene.frame_set(int(f))
        for i, pb in enumerate(pbs):
            m = np.array(pb.matrix.to_3x3())
            rot[t, i] = m / np.linalg.norm(m, axis=0, keepdims=True)
        for i, (pb, tail) in enumerate(pts):
            z[t, i] = (mw @ (pb.tail if tail else pb.head)).z
    return rot, z


def _write(obj, action, frames, res, quats):
    keyframes.write_keys(obj, action, frames, {b: quats[:, i] for i, b in enumerate(res.bones)},
                         {res.root_bone: res.root_location})


def fit_through_constraints(obj, action, frames, res, bone_map, floor: float | None,
                            contact_window: float = 1.0) -> dict:
    """Correct the keys of ``res`` (a :class:`Retargeted`, already written to ``action`` on ``obj``) so that Blender's
    evaluation with constraints gives the wanted rotations, then ground the feet as evaluated. Returns figures:
    ``passes``, ``residual_deg`` (worst bone after the last pass), ``floor_shift`` (extra mean shift)."""
    quats = np.asarray(res.quats, float).copy()
    want = res.rotations
    frames = np.asarray(frames)
    passes, worst = 0, np.inf
    rig = None
    foot = None
    if floor is not None:
        from . import rig as _rig

        rig = _rig.target_rig(obj)
        foot = _target.foot_points(rig, bone_map)
    points = [] if foot is None else [(rig.names[b], p[1] > 0) for b, p in zip(foot[0], foot[1])]
    while passes < MAX_PASSES:
        cur, z = _evaluate(obj, frames, res.bones, points)
        err = np.einsum("tbij,tbik->tbjk", cur, want)  # C^T D
        cos = np.clip((np.trace(err, axis1=-2, axis2=-1) - 1) / 2, -1, 1)
        worst = float(np.degrees(np.arccos(cos)).max())
        if worst <= TOLERANCE_DEG:
            break
        basis = _target.quat_to_matrix(quats)
        quats = _target.quat_continuous(_target.matrix_to_quat(basis @ err), axis=0)
        _write(obj, action, frames, res, quats)
        passes += 1
    extra = 0.0
    if foot is not None and len(points):
        clear = (z - foot[2]).min(axis=1)
        shift = floor - _target.contact_level(clear, max(1, int(round(contact_window * res.fps))))
        if np.abs(shift).max() > 1e-6:
            extra = float(shift.mean())
            res.root_location = _root_shift(obj, res, frames, shift)
            _write(obj, action, frames, res, quats)
    res.quats = quats
    return {"passes": passes, "residual_deg": worst, "floor_shift": extra}


def _root_shift(obj, res, frames, shift):
    """Root pose locations moved so that its head goes up by ``shift`` (T,) world units (through the evaluated
    parent space of the root bone)."""
    from mathutils import Vector

    pb = obj.pose.bones[res.root_bone]
    inv = obj.matrix_world.to_3x3().inverted()
    loc = np.array(res.root_location, float).copy()
    scene = bpy.context.scene
    for t, f in enumerate(frames):
        scene.frame_set(int(f))
        k = (pb.matrix @ pb.matrix_basis.inverted()).to_3x3()  # armature space of the bone's location
        loc[t] += np.array(k.inverted() @ (inv @ Vector((0.0, 0.0, float(shift[t])))))
    return loc
