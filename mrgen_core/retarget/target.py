"""SMPL motion -> any armature (a user's rigged character): bone-map presets, auto-detection, the retarget maths.

numpy only, no Blender: the add-on reads the target's bones into a :class:`TargetRig`, calls
:func:`retarget_to_rig` and writes the returned local rotations as keys. The method is the one retargeting add-ons
share (Rokoko, Expy Kit, Keemap): each SMPL joint's world-space rotation delta from its rest to its pose is applied
on the mapped target bone's own rest orientation, then turned into local rotations top-down. Rest-pose differences
are handled first:

* the target's rest is turned to face like SMPL's rest (body frame from its hips and spine), so object rotations and
  rigs modelled facing +Y work;
* every mapped bone is aligned so that its rest direction (its head to the head of the bone mapped to the SMPL child
  joint) matches SMPL's T-pose direction: A-pose arms, splayed legs and different bone rolls all map correctly;
* object transforms (rotation, uniform scale) of both armatures are taken into account;
* the hips motion is scaled by the ratio of leg lengths.

Conventions: matrices act on column vectors; bone rest matrices are Blender's ``bone.matrix_local`` (armature space,
head at the translation, the bone along its local +Y); quaternions are ``(w, x, y, z)``.

This module also holds the layout of mrgen's SMPL armature in Blender (:func:`smpl_rig_rest`,
:func:`motion_to_smpl_rig`, :func:`smpl_rig_to_motion`): every bone shares the rest orientation ``F`` (the SMPL
template frame turned Z-up), so SMPL's local axis-angle goes straight into each bone's quaternion; only the root
carries the Y-up -> Z-up fold that :class:`~mrgen_core.motion.Motion` keeps in ``poses[:, 0]``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..atomic import writing
from ..errors import RetargetError
from ..geometry import forward_kinematics, nearest_rotation, rotation_between
from ..motion import Motion
from ..rotations import (axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_quat, quat_continuous, quat_to_matrix,
                         unit)
from ..skeleton import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, PARENTS, Y_UP_TO_Z_UP, Skeleton
from .naming import NameLookup, read_mapping_file, smpl_joint_items

F = Y_UP_TO_Z_UP
#: The child that gives each SMPL joint its bone direction (the main chain; None for end joints).
CHAIN_CHILD: dict[str, str | None] = {
    "pelvis": "spine1", "spine1": "spine2", "spine2": "spine3", "spine3": "neck", "neck": "head", "head": None,
    **{f"{s}_{a}": (f"{s}_{b}" if b else None) for s in ("left", "right") for a, b in (
        ("hip", "knee"), ("knee", "ankle"), ("ankle", "foot"), ("foot", None), ("collar", "shoulder"),
        ("shoulder", "elbow"), ("elbow", "wrist"), ("wrist", "hand"), ("hand", None))},
}


# --- bone-map presets ---------------------------------------------------------------------------------------------
def _sides(template: dict[str, str]) -> dict[str, str]:
    """Expand ``{s}`` (left/right joint side) and ``{L}``/``{l}``/``{Left}`` (the rig's spelling) in a template."""
    out = {}
    for k, v in template.items():
        if "{s}" not in k:
            out[k] = v
            continue
        for s, L, l, Left in (("left", "L", "l", "Left"), ("right", "R", "r", "Right")):
            out[k.format(s=s)] = v.format(L=L, l=l, Left=Left)
    return out


#: Preset name -> {SMPL joint: target bone}. Names are matched ignoring case and namespace prefixes (``mixamorig:``).
BONE_MAP_PRESETS: dict[str, dict[str, str]] = {
    "smpl": {n: n for n in JOINT_NAMES},
    "mixamo": _sides({
        "pelvis": "Hips", "{s}_hip": "{Left}UpLeg", "spine1": "Spine", "{s}_knee": "{Left}Leg", "spine2": "Spine1",
        "{s}_ankle": "{Left}Foot", "spine3": "Spine2", "{s}_foot": "{Left}ToeBase", "neck": "Neck",
        "{s}_collar": "{Left}Shoulder", "head": "Head", "{s}_shoulder": "{Left}Arm", "{s}_elbow": "{Left}ForeArm",
        "{s}_wrist": "{Left}Hand"}),
    "rigify": _sides({  # the FK controls of a generated Rigify rig (switch the limbs to FK)
        "pelvis": "torso", "spine1": "spine_fk.001", "spine2": "spine_fk.002", "spine3": "spine_fk.003",
        "neck": "neck", "head": "head", "{s}_hip": "thigh_fk.{L}", "{s}_knee": "shin_fk.{L}",
        "{s}_ankle": "foot_fk.{L}", "{s}_foot": "toe_fk.{L}", "{s}_collar": "shoulder.{L}",
        "{s}_shoulder": "upper_arm_fk.{L}", "{s}_elbow": "forearm_fk.{L}", "{s}_wrist": "hand_fk.{L}"}),
    "rigify_metarig": _sides({  # Rigify's human metarig (and rigs built from its bone names)
        "pelvis": "spine", "spine1": "spine.001", "spine2": "spine.002", "spine3": "spine.003", "neck": "spine.004",
        "head": "spine.006", "{s}_hip": "thigh.{L}", "{s}_knee": "shin.{L}", "{s}_ankle": "foot.{L}",
        "{s}_foot": "toe.{L}", "{s}_collar": "shoulder.{L}", "{s}_shoulder": "upper_arm.{L}",
        "{s}_elbow": "forearm.{L}", "{s}_wrist": "hand.{L}"}),
    "unreal": _sides({  # UE4 Mannequin; UE5 Manny/Quinn share these names (spine_04/05 stay unmapped)
        "pelvis": "pelvis", "spine1": "spine_01", "spine2": "spine_02", "spine3": "spine_03", "neck": "neck_01",
        "head": "head", "{s}_hip": "thigh_{l}", "{s}_knee": "calf_{l}", "{s}_ankle": "foot_{l}",
        "{s}_foot": "ball_{l}", "{s}_collar": "clavicle_{l}", "{s}_shoulder": "upperarm_{l}",
        "{s}_elbow": "lowerarm_{l}", "{s}_wrist": "hand_{l}"}),
    "cmu": _sides({  # CMU BVH (cgspeed MotionBuilder release), e.g. imported with Blender's BVH importer
        "pelvis": "Hips", "{s}_hip": "{Left}UpLeg", "spine1": "LowerBack", "{s}_knee": "{Left}Leg",
        "spine2": "Spine", "{s}_ankle": "{Left}Foot", "spine3": "Spine1", "{s}_foot": "{Left}ToeBase",
        "neck": "Neck1", "{s}_collar": "{Left}Shoulder", "head": "Head", "{s}_shoulder": "{Left}Arm",
        "{s}_elbow": "{Left}ForeArm", "{s}_wrist": "{Left}Hand"}),
}
#: A detection must match at least this many joints (of the preset's entries).
MIN_DETECTED = 10


def _resolve(names: Sequence[str], preset: Mapping[str, str]) -> dict[str, str]:
    lookup = NameLookup(names)
    return {joint: hit for joint, bone in preset.items() if (hit := lookup.find(bone)) is not None}


def detect_bone_map(names: Sequence[str]) -> tuple[str, dict[str, str]]:
    """Find the preset that fits an armature's bone ``names``: ``(preset name, {SMPL joint: bone})`` using the
    armature's own spelling. Also tries the BVH rig presets of :mod:`mrgen_core.retarget.rigs` (Bandai, iClone,
    Second Life, ...; the last bone of each chain is driven). Raises :class:`RetargetError` when nothing fits."""
    best: tuple[int, str, dict[str, str]] | None = None
    for name, preset in BONE_MAP_PRESETS.items():
        found = _resolve(names, preset)
        if len(found) >= MIN_DETECTED and (best is None or len(found) > best[0]):
            best = (len(found), name, found)
    try:
        from .rigs import detect_rig

        other = detect_rig(list(names))
    except Exception:  # noqa: BLE001 - the BVH presets are an optional extra
        other = None
    if other is not None:
        found = {j: chain[-1] for j, chain in other[1].items()}
        if len(found) >= MIN_DETECTED and (best is None or len(found) > best[0]):
            best = (len(found), other[0], found)
    if best is None:
        raise RetargetError(f"no bone-map preset fits this armature ({len(names)} bones, e.g. "
                            f"{', '.join(list(names)[:5])}); map the bones by hand or load a JSON preset")
    return best[1], best[2]


def validate_bone_map(mapping: Mapping[str, str], names: Sequence[str] | None = None,
                      where: str | None = None) -> dict[str, str]:
    """Check a {SMPL joint: target bone} map (known joints, string bones, bones present in ``names``, pelvis mapped,
    no bone used twice); empty entries are dropped. Raises :class:`RetargetError` naming ``where``."""
    out: dict[str, str] = {}
    for joint, bone in smpl_joint_items(mapping, "bone map", "a bone map must be a JSON object {smpl_joint: "
                                        "target_bone}", where):
        if bone in (None, ""):
            continue
        if not isinstance(bone, str):
            raise RetargetError(f"bone for {joint!r} must be a name, got {bone!r}", where)
        if names is not None and bone not in names:
            raise RetargetError(f"bone {bone!r} (mapped from {joint!r}) is not in the target armature", where)
        out[joint] = bone
    if "pelvis" not in out:
        raise RetargetError("the bone map must map 'pelvis' (the hips bone that carries the root motion)", where)
    seen: dict[str, str] = {}
    for joint, bone in out.items():
        if bone in seen:
            raise RetargetError(f"bone {bone!r} is mapped twice ({seen[bone]!r} and {joint!r})", where)
        seen[bone] = joint
    return out


def save_bone_map(mapping: Mapping[str, str], path: str | os.PathLike, preset: str = "") -> None:
    """Write a bone map as a JSON preset ``{"preset": ..., "bones": {smpl_joint: bone}}`` (atomic)."""
    data = {"format": "mrgen-bone-map", "version": 1, "preset": preset,
            "bones": {j: mapping[j] for j in JOINT_NAMES if mapping.get(j)}}
    with writing(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def load_bone_map(path: str | os.PathLike, names: Sequence[str] | None = None) -> dict[str, str]:
    """Read a JSON bone map written by :func:`save_bone_map` (or a plain ``{smpl_joint: bone}`` object)."""
    data, p = read_mapping_file(path, "bone map")
    if isinstance(data, dict) and "bones" in data:
        data = data["bones"]
    return validate_bone_map(data, names, p)


# --- the target armature ------------------------------------------------------------------------------------------
@dataclass
class TargetRig:
    """An armature as the retargeter sees it.

    ``names`` bone names, ``parents`` parent index per bone (-1 for roots; parents come before children),
    ``rest`` (B, 4, 4) rest matrices in armature space (Blender's ``bone.matrix_local``), ``world`` (4, 4) the
    armature object's world matrix, ``inherit_rotation`` (B,) bools (Blender's ``bone.use_inherit_rotation``),
    ``lengths`` (B,) bone lengths in armature units (the tails; without them only heads count as foot points).
    """

    names: tuple[str, ...]
    parents: np.ndarray
    rest: np.ndarray
    world: np.ndarray = field(default_factory=lambda: np.eye(4))
    inherit_rotation: np.ndarray | None = None
    lengths: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.names = tuple(self.names)
        self.parents = np.asarray(self.parents, dtype=int).reshape(-1)
        self.rest = np.asarray(self.rest, dtype=float)
        self.world = np.asarray(self.world, dtype=float)
        b = len(self.names)
        if self.parents.shape != (b,) or self.rest.shape != (b, 4, 4) or self.world.shape != (4, 4):
            raise RetargetError(f"inconsistent target rig: {b} names, parents {self.parents.shape}, rest "
                                f"{self.rest.shape}, world {self.world.shape}")
        if any(p >= i for i, p in enumerate(self.parents)):
            raise RetargetError("target rig bones must be listed parents first")
        self.inherit_rotation = (np.ones(b, bool) if self.inherit_rotation is None
                                 else np.asarray(self.inherit_rotation, bool).reshape(b))
        self.lengths = np.zeros(b) if self.lengths is None else np.asarray(self.lengths, float).reshape(b)
        self.index = {n: i for i, n in enumerate(self.names)}

    def rest_heads_world(self) -> np.ndarray:
        """Bone heads at rest in world space (B, 3)."""
        return self.rest[:, :3, 3] @ self.world[:3, :3].T + self.world[:3, 3]


@dataclass
class Retargeted:
    """The keys to write on the target: ``bones`` (names), ``quats`` (T, len(bones), 4) pose-space local rotations
    (Blender's ``rotation_quaternion``; sign-continuous), ``root_bone`` and ``root_location`` (T, 3) its pose
    location, ``fps``, ``hips_scale`` (the leg-length ratio applied to the hips motion), and with grounding
    ``floor_shift`` (world units the hips were moved up to put the feet on the floor) and ``feet_height`` (T,) the
    height of the lowest foot contact above the floor per frame (0 where a foot is planted)."""

    bones: tuple[str, ...]
    quats: np.ndarray
    root_bone: str
    root_location: np.ndarray
    fps: float
    hips_scale: float
    floor_shift: float = 0.0
    feet_height: np.ndarray | None = None
    rotations: np.ndarray | None = None  #: (T, len(bones), 3, 3) wanted armature-space rotations of ``bones``


def _frame(up: np.ndarray, lateral: np.ndarray) -> np.ndarray:
    """Orthonormal body frame (columns: lateral, forward, up) from an up vector and a left-right vector."""
    z = up / np.linalg.norm(up)
    x = lateral - np.dot(lateral, z) * z
    x = x / np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z], axis=1)


def _body_frame(pos: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """Body frame from joint positions (by SMPL name): up = pelvis -> neck/spine, lateral = right -> left."""
    top = next((pos[j] for j in ("neck", "spine3", "head", "spine2", "spine1") if j in pos), None)
    pair = next(((pos[a], pos[b]) for a, b in (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder"),
                                                ("left_knee", "right_knee"), ("left_collar", "right_collar"))
                 if a in pos and b in pos), None)
    if top is None or pair is None or "pelvis" not in pos:
        return None
    up, lateral = top - pos["pelvis"], pair[0] - pair[1]
    if np.linalg.norm(up) < 1e-9 or np.linalg.norm(np.cross(up, lateral)) < 1e-9:
        return None
    return _frame(up, lateral)


def smpl_rest_world(skeleton: Skeleton) -> np.ndarray:
    """Joint positions (24, 3) of SMPL's rest (T-)pose in the Z-up world, facing -Y, lowest joint at z = 0."""
    p = skeleton.rest_positions() @ F.T
    p[:, 2] -= p[:, 2].min()
    return p


def rest_reference(rig: TargetRig, bone_map: Mapping[str, str]) -> dict[str, int]:
    """{SMPL joint: index of the bone whose rest pose stands for it}: the mapped bone itself, except on a generated
    Rigify rig, whose FK controls (``torso``, ``spine_fk.001``, ...) do not sit on the joints: there the ``ORG-``
    bones (the metarig's anatomy) give the rest positions and directions."""
    controls, meta = BONE_MAP_PRESETS["rigify"], BONE_MAP_PRESETS["rigify_metarig"]
    out = {}
    for j, b in bone_map.items():
        org = "ORG-" + meta.get(j, "")
        out[j] = rig.index[org] if controls.get(j) == b and org in rig.index else rig.index[b]
    return out


#: Unmapped bones of a generated Rigify rig that must turn with an SMPL joint: the FK spine's lowest bone
#: (``spine_fk``, pointing down from the waist) carries the pelvis segment and hangs under ``spine_fk.001``.
RIGIFY_HELPERS: dict[str, tuple[str, ...]] = {"pelvis": ("spine_fk",)}


def helper_bones(rig: TargetRig, bone_map: Mapping[str, str]) -> dict[str, tuple[int, ...]]:
    """{SMPL joint: indices of extra bones that take that joint's world rotation} (Rigify's ``spine_fk`` when
    the pelvis is mapped to ``torso``; nothing on other rigs)."""
    controls, used = BONE_MAP_PRESETS["rigify"], set(bone_map.values())
    return {j: tuple(rig.index[b] for b in bones if b in rig.index and b not in used)
            for j, bones in RIGIFY_HELPERS.items() if bone_map.get(j) == controls[j]}


def _leg_length(pos: Mapping[str, np.ndarray]) -> float | None:
    legs = []
    for s in ("left", "right"):
        chain = [pos.get(f"{s}_hip"), pos.get(f"{s}_knee"), pos.get(f"{s}_ankle")]
        if all(c is not None for c in chain):
            legs.append(np.linalg.norm(chain[1] - chain[0]) + np.linalg.norm(chain[2] - chain[1]))
    return float(np.mean(legs)) if legs else None


def retarget_to_rig(motion: Motion, rig: TargetRig, bone_map: Mapping[str, str], *,
                    source_world: np.ndarray | None = None, scale_hips: bool = True,
                    floor: float | None = None, contact_window: float = 1.0) -> Retargeted:
    """Retarget an SMPL ``motion`` onto ``rig`` with ``bone_map`` ({SMPL joint: target bone}).

    ``source_world``: the SMPL armature's object matrix (4, 4) when it is not at the origin (its rotation and scale
    apply to the motion). ``scale_hips``: scale the hips displacement by target / source leg length.
    ``floor``: world height (Z) of the floor to stand on; the hips are moved up or down so that the feet's lowest
    contact (see :func:`foot_clearance`) within every ``contact_window`` seconds touches it, smoothly over time:
    the target's rest pose sets where its soles are, a source that drifts up or sinks is brought back to the floor,
    and jumps shorter than the window keep their height. None keeps the hips at the target's rest height plus the
    scaled source motion.
    """
    bmap = validate_bone_map(bone_map, rig.names)
    skel = motion.skeleton
    t = motion.num_frames
    sw = np.eye(4) if source_world is None else np.asarray(source_world, float)
    rs = nearest_rotation(sw[:3, :3])  # a mirrored object keeps a proper rotation
    rt = nearest_rotation(rig.world[:3, :3])

    # source: world rotations and positions of the posed and the rest SMPL body
    pos, glob = forward_kinematics(axis_angle_to_matrix(motion.poses), motion.trans + skel.offsets[0], skel.offsets,
                                   PARENTS)
    glob = rs @ glob  # (T, 24, 3, 3)
    pos = pos @ sw[:3, :3].T + sw[:3, 3]
    rest_src = smpl_rest_world(skel) @ sw[:3, :3].T + sw[:3, 3]
    rest_rot = rs @ F  # world rest rotation of every SMPL joint
    delta = glob @ rest_rot.T  # (T, 24, 3, 3) world rotation from rest to pose

    # target rest, turned to face like the source
    heads = rig.rest_heads_world()
    w_rest = rt @ rig.rest[:, :3, :3]  # (B, 3, 3) world rest orientations
    ref = rest_reference(rig, bmap)
    helpers = helper_bones(rig, bmap)
    tpos = {j: heads[ref[j]] for j in bmap}
    spos = {j: rest_src[JOINT_INDEX[j]] for j in bmap}
    f_t, f_s = _body_frame(tpos), _body_frame(spos)
    turn = np.eye(3) if f_t is None or f_s is None else f_s @ f_t.T

    # desired world rotation of each mapped bone over time; a bone whose chain child is not mapped keeps the rest
    # alignment of its parent joint (a hand follows its forearm's A -> T correction)
    desired: dict[int, np.ndarray] = {}
    aligns: dict[str, np.ndarray] = {}
    for joint in JOINT_NAMES:
        parent = JOINT_NAMES[PARENTS[JOINT_INDEX[joint]]] if joint != "pelvis" else None
        align = aligns.get(parent, np.eye(3))
        child = CHAIN_CHILD.get(joint)
        if joint in bmap and child is not None:
            # the rest direction: to the mapped child, else (a hand) along the bone itself
            u = turn @ (tpos[child] - tpos[joint] if child in bmap else w_rest[ref[joint]][:, 1])
            s = rest_src[JOINT_INDEX[child]] - rest_src[JOINT_INDEX[joint]]
            if np.linalg.norm(u) > 1e-9 and np.linalg.norm(s) > 1e-9:
                align = rotation_between(unit(u), unit(s))
        aligns[joint] = align
        if joint in bmap:
            for b in (rig.index[bmap[joint]], *helpers.get(joint, ())):
                desired[b] = delta[:, JOINT_INDEX[joint]] @ (align @ turn @ w_rest[b])

    # top-down: local (pose basis) rotations in armature space
    nb = len(rig.names)
    arm_rot = np.empty((t, nb, 3, 3))
    basis = {}
    rest_r = rig.rest[:, :3, :3]
    for b in range(nb):
        p = rig.parents[b]
        if b in desired:
            a = rt.T @ desired[b]  # armature space
            if p < 0 or not rig.inherit_rotation[b]:
                basis[b] = rest_r[b].T @ a
            else:
                basis[b] = rest_r[b].T @ rest_r[p] @ np.swapaxes(arm_rot[:, p], -1, -2) @ a
            arm_rot[:, b] = a
        elif p < 0 or not rig.inherit_rotation[b]:
            arm_rot[:, b] = rest_r[b]
        else:
            arm_rot[:, b] = arm_rot[:, p] @ (rest_r[p].T @ rest_r[b])

    # hips: target rest head + scaled source pelvis displacement, as the root bone's pose location
    root = rig.index[bmap["pelvis"]]
    k = 1.0
    if scale_hips:
        lt, ls = _leg_length(tpos), _leg_length(spos)
        if lt and ls:
            k = lt / ls
    target_head = heads[root] + k * (pos[:, 0] - rest_src[0])
    winv = np.linalg.inv(rig.world[:3, :3])
    loc = _root_location(rig, root, arm_rot, (target_head - rig.world[:3, 3]) @ winv.T)

    bones = tuple(rig.names[b] for b in sorted(desired))
    quats = np.stack([matrix_to_quat(basis[b]) for b in sorted(desired)], axis=1)
    quats = quat_continuous(quats, axis=0)
    res = Retargeted(bones, quats, rig.names[root], loc, motion.fps, float(k))
    res.rotations = np.stack([arm_rot[:, b] for b in sorted(desired)], axis=1)
    if floor is not None:
        clear = foot_clearance(rig, bmap, res)
        if clear is not None:
            shift = floor - contact_level(clear, max(1, int(round(contact_window * motion.fps))))
            target_head[:, 2] += shift
            res.root_location = _root_location(rig, root, arm_rot, (target_head - rig.world[:3, 3]) @ winv.T)
            res.floor_shift, res.feet_height = float(shift.mean()), clear + shift - floor
    return res


def contact_level(clearance: np.ndarray, window: int) -> np.ndarray:
    """The floor the feet stand on over time (T,): the lowest ``clearance`` within ``window`` frames around each
    frame, then averaged over the same window (a smooth lower envelope; numpy only)."""
    c = np.asarray(clearance, float)
    h = window // 2
    pad = np.pad(c, h, mode="edge")
    low = np.lib.stride_tricks.sliding_window_view(pad, 2 * h + 1).min(axis=1)
    pad = np.pad(low, h, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(pad, 2 * h + 1).mean(axis=1)


#: SMPL joints whose mapped bones make the feet (their heads and tails are the contact points).
FOOT_JOINTS = ("left_ankle", "left_foot", "right_ankle", "right_foot")


def foot_points(rig: TargetRig, bone_map: Mapping[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The points that touch the floor: bone indices (P,), local points (P, 4) (a head ``(0, 0, 0, 1)`` or a tail
    ``(0, L, 0, 1)`` of the bones mapped to the ankles and toes) and each point's lift (P,): its rest height above
    its own foot's sole (the lowest point of that foot in the rest pose, world Z). A rest pose that is not standing
    (bones laid out flat, as some BVH files have) gives no lift. None when no ankle is mapped."""
    if not any(j in bone_map for j in ("left_ankle", "right_ankle")):
        return None
    idx, pts, side = [], [], []
    for j in FOOT_JOINTS:
        if j in bone_map:
            b = rig.index[bone_map[j]]
            for y in ((0.0, float(rig.lengths[b])) if rig.lengths[b] > 0 else (0.0,)):
                idx.append(b)
                pts.append((0.0, y, 0.0, 1.0))
                side.append(j.startswith("left"))
    idx, pts, side = np.array(idx), np.array(pts), np.array(side)
    rest_z = np.einsum("pij,pj->pi", rig.rest[idx], pts) @ rig.world[2, :]
    lift = rest_z - np.array([rest_z[side == s].min() for s in side])
    return idx, pts, lift


def foot_clearance(rig: TargetRig, bone_map: Mapping[str, str], res: Retargeted) -> np.ndarray | None:
    """Per frame (T,), the world height of the feet's lowest contact: every foot point (:func:`foot_points`) is
    lowered by its rest lift and the lowest counts, so a flat foot, a heel or a tiptoe on the floor all give the
    floor's height. None when no ankle is mapped."""
    found = foot_points(rig, bone_map)
    if found is None:
        return None
    idx, pts, lift = found
    mats = _pose_mats(rig, {b: res.quats[:, i] for i, b in enumerate(res.bones)}, res.root_bone, res.root_location)
    z = np.einsum("tpij,pj->tpi", mats[:, idx], pts) @ rig.world[2, :]
    return (z - lift).min(axis=1)


def _root_location(rig: TargetRig, b: int, arm_rot: np.ndarray, head_arm: np.ndarray) -> np.ndarray:
    """Pose location of bone ``b`` that puts its head at ``head_arm`` (T, 3), armature space."""
    p = rig.parents[b]
    if p < 0:
        base_rot, base_pos = rig.rest[b, :3, :3], rig.rest[b, :3, 3]
        return (head_arm - base_pos) @ base_rot  # R^T (x - p)
    # parent posed; its head position follows from its own ancestors (all at their pose)
    parent_mat = _pose_matrix(rig, p, arm_rot)  # (T, 4, 4)
    rel = np.linalg.inv(rig.rest[p]) @ rig.rest[b]
    base = parent_mat @ rel
    return np.einsum("tji,tj->ti", base[:, :3, :3], head_arm - base[:, :3, 3])


def _pose_matrix(rig: TargetRig, b: int, arm_rot: np.ndarray) -> np.ndarray:
    """Armature-space pose matrices (T, 4, 4) of bone ``b`` from all bones' armature rotations (no pose locations
    on ``b``'s ancestors)."""
    t = arm_rot.shape[0]
    chain = []
    i = b
    while i >= 0:
        chain.append(i)
        i = rig.parents[i]
    m = None
    for i in reversed(chain):
        p = rig.parents[i]
        mi = np.tile(np.eye(4), (t, 1, 1))
        mi[:, :3, :3] = arm_rot[:, i]
        if p < 0:
            mi[:, :3, 3] = rig.rest[i, :3, 3]
        else:
            rel = np.linalg.inv(rig.rest[p]) @ rig.rest[i]
            mi[:, :3, 3] = (m @ rel)[:, :3, 3]
        m = mi
    return m


def pose_rig(rig: TargetRig, basis_quats: Mapping[str, np.ndarray], root_bone: str | None = None,
             root_location: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate the target rig like Blender does: world bone heads (T, B, 3) and world rotations (T, B, 3, 3) from
    pose-basis quaternions per bone name ((T, 4) each; unlisted bones at rest) and an optional root location."""
    mats = _pose_mats(rig, basis_quats, root_bone, root_location)
    world = rig.world @ mats
    rot = nearest_rotation(rig.world[:3, :3])
    return world[:, :, :3, 3], rot @ mats[:, :, :3, :3]


def _pose_mats(rig: TargetRig, basis_quats: Mapping[str, np.ndarray], root_bone: str | None = None,
               root_location: np.ndarray | None = None) -> np.ndarray:
    """Armature-space pose matrices (T, B, 4, 4) (see :func:`pose_rig`)."""
    t = len(next(iter(basis_quats.values())))
    nb = len(rig.names)
    mats = np.empty((t, nb, 4, 4))
    for b in range(nb):
        basis = np.tile(np.eye(4), (t, 1, 1))
        name = rig.names[b]
        if name in basis_quats:
            basis[:, :3, :3] = quat_to_matrix(np.asarray(basis_quats[name], float))
        if root_location is not None and name == root_bone:
            basis[:, :3, 3] = root_location
        p = rig.parents[b]
        if p < 0:
            mats[:, b] = rig.rest[b] @ basis
        else:
            m = mats[:, p] @ (np.linalg.inv(rig.rest[p]) @ rig.rest[b]) @ basis
            if not rig.inherit_rotation[b]:
                m[:, :3, :3] = (rig.rest[b, :3, :3] @ basis[:, :3, :3])
            mats[:, b] = m
    return mats


# --- mrgen's SMPL armature in Blender -----------------------------------------------------------------------------
def smpl_rig_rest(gender: str = "neutral") -> tuple[np.ndarray, np.ndarray]:
    """Bone heads (24, 3) and the shared rest rotation ``F`` (3, 3) of mrgen's SMPL armature: Z-up, metres, facing
    -Y, standing on z = 0; every bone points along ``F``'s +Y (world +Z)."""
    return smpl_rest_world(Skeleton.smpl(gender)), F.copy()


def motion_to_smpl_rig(motion: Motion) -> tuple[np.ndarray, np.ndarray]:
    """Pose of mrgen's SMPL armature for ``motion``: bone quaternions (T, 24, 4) (sign-continuous over time) and
    the root bone's pose location (T, 3). Bones 1..23 take SMPL's axis-angle as is; the root's rotation is
    ``F^T R_0`` (the Z-up fold taken out) and its location puts the pelvis at ``trans + J_0``."""
    heads, f = smpl_rig_rest(motion.gender)
    rot = axis_angle_to_matrix(motion.poses)
    rot[:, 0] = f.T @ rot[:, 0]
    quats = quat_continuous(matrix_to_quat(rot), axis=0)
    j0 = motion.skeleton.offsets[0]
    loc = (motion.trans + j0 - heads[0]) @ f  # F^T (trans + J_0 - h_0)
    return quats, loc


def smpl_rig_to_motion(quats: np.ndarray, root_location: np.ndarray, fps: float, gender: str = "neutral",
                       **fields) -> Motion:
    """Inverse of :func:`motion_to_smpl_rig`: a :class:`Motion` from the SMPL armature's keys."""
    heads, f = smpl_rig_rest(gender)
    rot = quat_to_matrix(np.asarray(quats, float))
    rot[:, 0] = f @ rot[:, 0]
    poses = matrix_to_axis_angle(rot)
    j0 = Skeleton.smpl(gender).offsets[0]
    trans = np.asarray(root_location, float) @ f.T + heads[0] - j0
    return Motion(poses, trans, fps, gender=gender, **fields)


__all__ = ["BONE_MAP_PRESETS", "CHAIN_CHILD", "TargetRig", "Retargeted", "detect_bone_map", "validate_bone_map",
           "save_bone_map", "load_bone_map", "retarget_to_rig", "pose_rig", "foot_points", "foot_clearance", "contact_level", "smpl_rest_world", "smpl_rig_rest",
           "motion_to_smpl_rig", "smpl_rig_to_motion", "NUM_JOINTS", "PARENTS"]
