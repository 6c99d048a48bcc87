"""Write and read bone keys in batch: one ``keyframe_points.add`` + ``foreach_set`` per F-curve.

Works with the legacy ``Action.fcurves`` (3.4 to 4.5, including the 4.4/4.5 trap where an action whose F-curves
were made after assignment gets an unassigned slot) and with Blender 5's slotted actions (channelbags).
"""
from __future__ import annotations

import bpy
import numpy as np

LINEAR = 1  # enum value of 'LINEAR' in keyframe interpolation


def _legacy(action) -> bool:
    return hasattr(action, "fcurves") and bpy.app.version < (5, 0, 0)


def _channelbag(obj, action, create: bool):
    """The channelbag of ``obj``'s slot in ``action`` (Blender 5+)."""
    from bpy_extras import anim_utils

    ad = obj.animation_data
    slot = ad.action_slot if ad is not None and ad.action == action else None
    if slot is None:
        slot = next((s for s in action.slots if s.target_id_type == "OBJECT"), None)
        if slot is None:
            if not create:
                return None
            slot = action.slots.new(id_type="OBJECT", name=obj.name)
    if create:
        return anim_utils.action_ensure_channelbag_for_slot(action, slot)
    return anim_utils.action_get_channelbag_for_slot(action, slot)


def fcurves_of(obj, action):
    """The F-curve collection that animates ``obj`` in ``action`` (may be None for an empty slotted action)."""
    if _legacy(action):
        return action.fcurves
    cb = _channelbag(obj, action, create=False)
    return cb.fcurves if cb is not None else None


def assign_action(obj, action) -> None:
    """Make ``action`` the active action of ``obj`` (assigning its slot where slots exist)."""
    if obj.animation_data is None:
        obj.animation_data_create()
    ad = obj.animation_data
    ad.action = action
    if hasattr(ad, "action_slot") and ad.action_slot is None and len(getattr(action, "slots", ())):
        ad.action_slot = action.slots[0]


def write_keys(obj, action, frames: np.ndarray, rotations: dict[str, np.ndarray],
               locations: dict[str, np.ndarray] | None = None) -> int:
    """Key ``rotation_quaternion`` (T, 4) and ``location`` (T, 3) of pose bones by name at ``frames`` (T,) into
    ``action`` (its F-curves for those channels are replaced). Returns the number of F-curves written.

    Bones are switched to quaternion rotation. The action is assigned to ``obj`` afterwards.
    """
    frames = np.asarray(frames, dtype=np.float32)
    n = len(frames)
    if _legacy(action):
        fcs = action.fcurves

        def new_fc(path, i, group):
            old = fcs.find(path, index=i)
            if old is not None:
                fcs.remove(old)
            return fcs.new(path, index=i, action_group=group)
    else:
        fcs = _channelbag(obj, action, create=True)

        def new_fc(path, i, group):
            old = fcs.fcurves.find(path, index=i)
            if old is not None:
                fcs.fcurves.remove(old)
            return fcs.fcurves.new(path, index=i, group_name=group)

    co = np.empty(2 * n, dtype=np.float32)
    co[0::2] = frames
    interp = np.full(n, LINEAR, dtype=np.int32)
    count = 0

    def put(path, index, group, values):
        nonlocal count
        fc = new_fc(path, index, group)
        fc.keyframe_points.add(n)
        co[1::2] = values
        fc.keyframe_points.foreach_set("co", co)
        fc.keyframe_points.foreach_set("interpolation", interp)
        fc.update()
        count += 1

    for name, q in rotations.items():
        pb = obj.pose.bones.get(name)
        if pb is None:
            raise KeyError(f"{obj.name} has no bone {name!r}")
        pb.rotation_mode = "QUATERNION"
        q = np.asarray(q, dtype=np.float64)
        path = f'pose.bones["{bpy.utils.escape_identifier(name)}"].rotation_quaternion'
        for c in range(4):
            put(path, c, name, q[:, c])
    for name, loc in (locations or {}).items():
        loc = np.asarray(loc, dtype=np.float64)
        path = f'pose.bones["{bpy.utils.escape_identifier(name)}"].location'
        for c in range(3):
            put(path, c, name, loc[:, c])
    assign_action(obj, action)
    return count


def frame_range(obj, action) -> tuple[int, int]:
    lo, hi = action.frame_range
    return int(round(lo)), int(round(hi))


def read_keys(obj, action, bones: list[str], frames: np.ndarray, root: str | None = None
              ) -> tuple[np.ndarray, np.ndarray | None]:
    """Evaluate ``action`` at ``frames``: quaternions (T, B, 4) of ``bones`` (identity where a channel has no
    F-curve) and the location (T, 3) of ``root`` (or None)."""
    fcs = fcurves_of(obj, action)
    frames = [float(f) for f in frames]
    t = len(frames)
    quats = np.zeros((t, len(bones), 4))
    quats[..., 0] = 1.0

    def curve(path, i):
        return fcs.find(path, index=i) if fcs is not None else None

    def sample(fc) -> np.ndarray:
        kp = fc.keyframe_points
        if len(kp) == t:  # keys on exactly these frames: read them in one go
            co = np.empty(2 * t, dtype=np.float32)
            kp.foreach_get("co", co)
            if np.allclose(co[0::2], frames):
                return co[1::2].astype(np.float64)
        return np.array([fc.evaluate(f) for f in frames])

    for b, name in enumerate(bones):
        path = f'pose.bones["{bpy.utils.escape_identifier(name)}"].rotation_quaternion'
        for c in range(4):
            fc = curve(path, c)
            if fc is not None:
                quats[:, b, c] = sample(fc)
    loc = None
    if root is not None:
        loc = np.zeros((t, 3))
        path = f'pose.bones["{bpy.utils.escape_identifier(root)}"].location'
        for c in range(3):
            fc = curve(path, c)
            if fc is not None:
                loc[:, c] = sample(fc)
    norm = np.linalg.norm(quats, axis=-1, keepdims=True)
    return quats / np.where(norm > 0, norm, 1.0), loc
