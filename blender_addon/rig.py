"""mrgen's SMPL armature in Blender (and its stand-in body), motions on it, and reading any armature for retargeting.

The layout comes from :mod:`mrgen_core.retarget.target`: bones named after the SMPL joints, Z-up, metres, standing
on z = 0, every bone with the same rest orientation so SMPL's axis-angle goes straight into the bone quaternions.
"""
from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix

from . import keyframes
from .core import JOINT_NAMES, PARENTS, Motion
from .core import target as _target

TargetRig = _target.TargetRig
motion_to_smpl_rig = _target.motion_to_smpl_rig
smpl_rig_rest = _target.smpl_rig_rest
smpl_rig_to_motion = _target.smpl_rig_to_motion

SMPL_TAG = "mrgen_smpl"
BONE_LENGTH = 0.08
#: Radius (m) of the stand-in body's capsule for the segment ending at each joint.
_RADII = {"hip": 0.075, "knee": 0.06, "ankle": 0.045, "foot": 0.035, "spine1": 0.11, "spine2": 0.12, "spine3": 0.12,
          "neck": 0.05, "collar": 0.045, "shoulder": 0.05, "elbow": 0.042, "wrist": 0.035, "hand": 0.03,
          "head": 0.05}


def is_smpl_armature(obj) -> bool:
    return obj is not None and obj.type == "ARMATURE" and bool(obj.get(SMPL_TAG))


def _ensure_object_mode(context) -> None:
    if context.object is not None and context.object.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")


def build_smpl_armature(context, name: str = "SMPL", gender: str = "neutral", body: bool = True):
    """A new SMPL armature object (linked to the active collection, made active) with an optional stand-in body."""
    _ensure_object_mode(context)
    heads, f = smpl_rig_rest(gender)
    arm = bpy.data.armatures.new(name)
    arm.display_type = "OCTAHEDRAL"
    obj = bpy.data.objects.new(name, arm)
    obj[SMPL_TAG] = 1
    obj["mrgen_gender"] = gender
    obj.show_in_front = True
    context.collection.objects.link(obj)
    for o in context.view_layer.objects:
        o.select_set(False)
    obj.select_set(True)
    context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    ebs = []
    for j, jn in enumerate(JOINT_NAMES):
        eb = arm.edit_bones.new(jn)
        eb.head = heads[j].tolist()
        eb.tail = (heads[j] + f[:, 1] * BONE_LENGTH).tolist()
        m = np.eye(4)
        m[:3, :3] = f
        m[:3, 3] = heads[j]
        eb.matrix = Matrix(m.tolist())
        eb.length = BONE_LENGTH
        if j:
            eb.parent = ebs[PARENTS[j]]
            eb.use_connect = False
        ebs.append(eb)
    bpy.ops.object.mode_set(mode="OBJECT")
    for pb in obj.pose.bones:
        pb.rotation_mode = "QUATERNION"
    if body:
        build_stand_in_body(context, obj, heads)
    return obj


def _capsule(a: np.ndarray, b: np.ndarray, r: float, sides: int = 8):
    """Vertices and quad faces of an octagonal prism from ``a`` to ``b`` with pointed caps."""
    axis = b - a
    length = np.linalg.norm(axis)
    z = axis / length if length > 1e-9 else np.array([0, 0, 1.0])
    helper = np.array([1.0, 0, 0]) if abs(z[0]) < 0.9 else np.array([0, 1.0, 0])
    x = np.cross(z, helper)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    ang = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    ring = np.cos(ang)[:, None] * x + np.sin(ang)[:, None] * y
    verts = np.concatenate([a + r * ring, b + r * ring, [a - r * 0.6 * z], [b + r * 0.6 * z]])
    faces = [(i, (i + 1) % sides, sides + (i + 1) % sides, sides + i) for i in range(sides)]
    faces += [((i + 1) % sides, i, 2 * sides) for i in range(sides)]
    faces += [(sides + i, sides + (i + 1) % sides, 2 * sides + 1) for i in range(sides)]
    return verts, faces


def build_stand_in_body(context, arm_obj, heads: np.ndarray):
    """A capsule per bone segment, skinned rigidly (one vertex group per SMPL joint) with an Armature modifier."""
    verts, faces, groups = [], [], []
    for j in range(1, len(JOINT_NAMES)):
        p = PARENTS[j]
        key = JOINT_NAMES[j].split("_")[-1]
        r = _RADII.get(key, _RADII.get(JOINT_NAMES[j], 0.04))
        a, b = heads[p], heads[j]
        if JOINT_NAMES[j] in ("left_hip", "right_hip"):
            r = 0.09
        if key == "foot":  # the sole on the joints, not a radius below them: feet on the floor stand on it
            a, b = a + np.array([0.0, 0.0, r]), b + np.array([0.0, 0.0, r])
        v, f = _capsule(a, b, r)
        base = len(verts)
        verts.extend(v.tolist())
        faces.extend([tuple(base + i for i in face) for face in f])
        groups.append((JOINT_NAMES[p], list(range(base, base + len(v)))))
    for jn, (dz, r) in (("head", (0.09, 0.1)), ("left_hand", (0.0, 0.035)), ("right_hand", (0.0, 0.035)),
                        ("left_foot", (0.035, 0.035)), ("right_foot", (0.035, 0.035))):
        j = JOINT_NAMES.index(jn)
        c = heads[j] + np.array([0, 0, dz])
        off = np.array([0, 0, r]) if jn == "head" else (heads[j] - heads[PARENTS[j]]) * 0.4
        end = c + off
        if jn.endswith("_foot"):  # the sole level with the toe joint and ending there: a foot pitched forward
            off[2], end = 0.0, c  # (push-off) must not push its tip through the floor
        v, f = _capsule(c - off, end, r)
        base = len(verts)
        verts.extend(v.tolist())
        faces.extend([tuple(base + i for i in face) for face in f])
        groups.append((jn, list(range(base, base + len(v)))))
    mesh = bpy.data.meshes.new(arm_obj.name + "_body")
    mesh.from_pydata(verts, [], faces)
    mesh.update()
    body = bpy.data.objects.new(arm_obj.name + "_body", mesh)
    context.collection.objects.link(body)
    for jn, idx in groups:
        vg = body.vertex_groups.get(jn) or body.vertex_groups.new(name=jn)
        vg.add(idx, 1.0, "REPLACE")
    mod = body.modifiers.new("Armature", "ARMATURE")
    mod.object = arm_obj
    body.parent = arm_obj
    body.hide_select = True
    return body


def apply_motion(obj, motion: Motion, action_name: str, frame_start: int = 1, props: dict | None = None):
    """Key ``motion`` (at its own fps, one key per frame from ``frame_start``) on the SMPL armature ``obj`` into a
    new Action named ``action_name``; ``props`` are stored on the Action as custom properties."""
    quats, loc = motion_to_smpl_rig(motion)
    action = bpy.data.actions.new(action_name)
    action.use_fake_user = True
    frames = frame_start + np.arange(motion.num_frames)
    keyframes.write_keys(obj, action, frames, {n: quats[:, i] for i, n in enumerate(JOINT_NAMES)},
                         {"pelvis": loc})
    action["mrgen_fps"] = float(motion.fps)
    action["mrgen_gender"] = motion.gender
    if motion.vocab:
        action["mrgen_vocab"] = list(motion.vocab)
    if motion.credit:
        action["mrgen_credit"] = motion.credit
    for k, v in (props or {}).items():
        action[k] = v
    return action


def motion_from_action(obj, action=None, fps: float | None = None) -> Motion:
    """Read an SMPL armature's Action (default: its current one) back into a :class:`Motion`, one frame per
    integer frame of the action's range."""
    action = action or (obj.animation_data.action if obj.animation_data else None)
    if action is None:
        raise ValueError(f"{obj.name} has no action to read")
    lo, hi = keyframes.frame_range(obj, action)
    frames = np.arange(lo, hi + 1)
    quats, loc = keyframes.read_keys(obj, action, list(JOINT_NAMES), frames, root="pelvis")
    gender = str(action.get("mrgen_gender", obj.get("mrgen_gender", "neutral")))
    fps = float(fps or action.get("mrgen_fps", 0) or bpy.context.scene.render.fps / bpy.context.scene.render.fps_base)
    return smpl_rig_to_motion(quats, loc, fps, gender, name=action.name, source=f"Blender action {action.name}",
                              credit=str(action.get("mrgen_credit", "")))


def target_rig(obj) -> TargetRig:
    """Read any armature object as a :class:`TargetRig` (bones parents-first, rest in armature space)."""
    bones = list(obj.data.bones)
    order, seen = [], set()

    def visit(b):
        if b.name in seen:
            return
        if b.parent is not None:
            visit(b.parent)
        seen.add(b.name)
        order.append(b)

    for b in bones:
        visit(b)
    index = {b.name: i for i, b in enumerate(order)}
    parents = [index[b.parent.name] if b.parent is not None else -1 for b in order]
    rest = np.array([np.array(b.matrix_local) for b in order])
    inherit = [b.use_inherit_rotation for b in order]
    return TargetRig([b.name for b in order], parents, rest, np.array(obj.matrix_world), inherit,
                     [b.length for b in order])


def build_smpl_mesh(context, arm_obj, vertices: np.ndarray, faces: np.ndarray, weights: np.ndarray,
                    joints: np.ndarray):
    """The SMPL body from the user's model file (rest ``vertices`` in the template frame, ``faces``, ``weights``
    (V, 24), regressed ``joints``), laid out like the armature and skinned to it (linear blend skinning); the
    stand-in body, if any, is hidden."""
    heads, f = smpl_rig_rest(str(arm_obj.get("mrgen_gender", "neutral")))
    verts = vertices @ f.T + (heads[0] - f @ joints[0])
    name = arm_obj.name + "_smpl"
    old = bpy.data.objects.get(name)
    if old is not None:
        bpy.data.objects.remove(old)
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts.tolist(), [], faces.tolist())
    mesh.update()
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), dtype=bool))
    obj = bpy.data.objects.new(name, mesh)
    context.collection.objects.link(obj)
    for j, jn in enumerate(JOINT_NAMES):
        vg = obj.vertex_groups.new(name=jn)
        idx = np.nonzero(weights[:, j] > 1e-5)[0]
        for w in np.unique(np.round(weights[idx, j], 4)):  # one add() per distinct weight
            sel = idx[np.round(weights[idx, j], 4) == w]
            vg.add(sel.tolist(), float(w), "REPLACE")
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = arm_obj
    obj.parent = arm_obj
    obj.hide_select = True
    body = bpy.data.objects.get(arm_obj.name + "_body")
    if body is not None:
        body.hide_viewport = body.hide_render = True
    return obj
