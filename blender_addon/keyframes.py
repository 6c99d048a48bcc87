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


STASH_TRACK = "[Action Stash]"  # Blender's own name for the muted NLA tracks that keep unused actions


def stash_action(obj, action) -> bool:
    """Keep ``action`` on ``obj`` in a muted NLA track (as Blender's "Stash" does) unless an NLA strip of ``obj``
    already holds it; the action then has a real user and survives saving. Returns True when a strip was added."""
    ad = obj.animation_data
    if action is None or ad is None:
        return False
    if any(strip.action == action for track in ad.nla_tracks for strip in track.strips):
        return False
    track = ad.nla_tracks.new()
    track.name = STASH_TRACK
    start = int(round(action.frame_range[0]))
    strip = track.strips.new(action.name, start, action)
    if hasattr(strip, "action_slot") and strip.action_slot is None and len(getattr(action, "slots", ())):
        strip.action_slot = action.slots[0]
    track.mute = True
    track.lock = True
    return True


def _fcurve_maker(obj, action):
    """``new_fc(path, index, group)``: a fresh F-curve in ``action`` for ``obj`` (an old one on that channel is
    removed)."""
    if _legacy(action):
        fcs = action.fcurves

        def new_fc(path, i, group):
            old = fcs.find(path, index=i)
            if old is not None:
                fcs.remove(old)
            return fcs.new(path, index=i, action_group=group)
    else:
        cb = _channelbag(obj, action, create=True)

        def new_fc(path, i, group):
            old = cb.fcurves.find(path, index=i)
            if old is not None:
                cb.fcurves.remove(old)
            return cb.fcurves.new(path, index=i, group_name=group)
    return new_fc


def key_constants(obj, action, values: dict[tuple[str, str], float], frame: float) -> None:
    """Key custom properties ``{(pose bone, property): value}`` once at ``frame`` (held for the whole action)."""
    new_fc = _fcurve_maker(obj, action)
    for (bone, prop), value in values.items():
        fc = new_fc(f'pose.bones["{bpy.utils.escape_identifier(bone)}"]["{bpy.utils.escape_identifier(prop)}"]', 0,
                    bone)
        fc.keyframe_points.insert(frame, float(value))
        fc.update()
    obj.update_tag()


def write_keys(obj, action, frames: np.ndarray, rotations: dict[str, np.ndarray],
               locations: dict[str, np.ndarray] | None = None) -> int:
    """Key rotations (T, 4) quaternions and ``location`` (T, 3) of pose bones by name at ``frames`` (T,) into
    ``action`` (its F-curves for those channels are replaced). Returns the number of F-curves written.

    Each bone is keyed in its own rotation mode (quaternion, Euler of any order, axis-angle; Euler angles are kept
    continuous), so its mode and any other Action of the rig stay valid. The action is assigned to ``obj``
    afterwards.
    """
    frames = np.asarray(frames, dtype=np.float32)
    n = len(frames)
    new_fc = _fcurve_maker(obj, action)
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
        channel, values = rotation_channel(pb.rotation_mode, np.asarray(q, dtype=np.float64))
        path = f'pose.bones["{bpy.utils.escape_identifier(name)}"].{channel}'
        for c in range(values.shape[1]):
            put(path, c, name, values[:, c])
    for name, loc in (locations or {}).items():
        loc = np.asarray(loc, dtype=np.float64)
        path = f'pose.bones["{bpy.utils.escape_identifier(name)}"].location'
        for c in range(3):
            put(path, c, name, loc[:, c])
    assign_action(obj, action)
    return count


def rotation_channel(mode: str, quats: np.ndarray) -> tuple[str, np.ndarray]:
    """The F-curve property and values (T, 3 or 4) that give rotations ``quats`` (T, 4) in rotation ``mode``."""
    if mode == "QUATERNION":
        return "rotation_quaternion", quats
    from mathutils import Euler, Quaternion

    if mode == "AXIS_ANGLE":
        out = np.empty((len(quats), 4))
        for t, q in enumerate(quats):
            axis, angle = Quaternion(q).to_axis_angle()
            out[t] = (angle, *axis)
        return "rotation_axis_angle", out
    out = np.empty((len(quats), 3))
    prev = Euler((0.0, 0.0, 0.0), mode)
    for t, q in enumerate(quats):
        prev = Quaternion(q).to_euler(mode, prev)  # compatible with the previous frame: no 360-degree jumps
        out[t] = prev
    return "rotation_euler", out


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
