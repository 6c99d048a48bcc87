"""Retarget a BVH source skeleton onto SMPL: global-rotation transfer with a per-joint rest correction.

For every mapped SMPL joint ``j`` with source joint ``k`` (the last of its chain) the SMPL global rotation is
``G_smpl[j](t) = S_j(t) @ G_src[k](t) @ C_j``:

* ``G_src`` are the source's global rotations in the Z-up world (the file's up axis turned to +Z);
* ``C_j`` is a constant rest correction, so that the SMPL rest bone of ``j`` maps onto the source's bone and the
  joint's twist matches. Where the source's zero-rotation pose resembles a human rest pose (CMU, Second Life,
  Mixamo, mrgen's own export) ``C_j`` comes from that pose (minimal swing from the SMPL rest bone onto the source's
  rest bone). Where it does not (Bandai Namco, Reallusion CC: every bone laid along one local axis) ``C_j`` is
  estimated from the clip (the bone direction; the twist from the knee and elbow hinge axes, the hip and shoulder
  lines, else a zero mean twist) and then snapped to the rig's axis-aligned convention, so that every clip of a rig
  gets the same correction; leaves (head, toes, hands) take their mapped parent's convention;
* ``S_j(t)`` is a per-frame minimal swing that lays the SMPL bone exactly along the source bone (from the source's
  joint positions). It never changes twist, so a turning head or a forearm twist survives.

The neck aims no bone: SMPL's head joint sits mid-skull, 38 degrees forward of the neck, where every rig's head joint
sits on top of the neck, so aiming that "bone" would bend the SMPL neck back by ~40 degrees; the neck keeps its
rest-corrected source rotation instead (the head still turns and tilts with the source). Reallusion CC's spine is
split at other heights than SMPL's, so its ``spine2`` is left unmapped (interpolated) rather than zig-zagged.

Joints without a source keep an identity local rotation, or take half of the rotation between their mapped parent
and child (e.g. Bandai's missing ``spine2``). The root translation follows the source's mid-hip, scaled by the ratio
of leg lengths; the floor (the median height of the planted feet) is put at z = 0; calibration frames at the ends
(a T-pose frame, a blend-in) are dropped. A file that already has an SMPL skeleton in metres (mrgen's own export)
keeps its gender, scale and floor, so export -> import gives back the same joints.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from ..errors import RetargetError
from ..geometry import nearest_rotation, rotation_between
from ..io.bvh import BVH, KNOWN_UNITS, read_bvh
from ..motion import Motion
from ..rotations import axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_quat, quat_to_matrix, slerp
from ..skeleton import FOOT_JOINTS, JOINT_INDEX, NUM_JOINTS, OFFSETS, PARENTS, Y_UP_TO_Z_UP, Skeleton
from .rigs import detect_rig, load_mapping, normalize_mapping

__all__ = ["bvh_to_motion", "bvh_to_smpl", "RetargetInfo", "PRIMARY_CHILD", "AIM_UP", "foot_heights"]

_J = JOINT_INDEX
#: The child whose bone each SMPL joint's rotation aims (the pelvis aims the hip line, see ``_primary_vectors``).
PRIMARY_CHILD = {
    _J["pelvis"]: None, _J["left_hip"]: _J["left_knee"], _J["right_hip"]: _J["right_knee"],
    _J["spine1"]: _J["spine2"], _J["left_knee"]: _J["left_ankle"], _J["right_knee"]: _J["right_ankle"],
    _J["spine2"]: _J["spine3"], _J["left_ankle"]: _J["left_foot"], _J["right_ankle"]: _J["right_foot"],
    _J["spine3"]: _J["neck"], _J["left_foot"]: None, _J["right_foot"]: None, _J["neck"]: _J["head"],
    _J["left_collar"]: _J["left_shoulder"], _J["right_collar"]: _J["right_shoulder"], _J["head"]: None,
    _J["left_shoulder"]: _J["left_elbow"], _J["right_shoulder"]: _J["right_elbow"],
    _J["left_elbow"]: _J["left_wrist"], _J["right_elbow"]: _J["right_wrist"],
    _J["left_wrist"]: _J["left_hand"], _J["right_wrist"]: _J["right_hand"], _J["left_hand"]: None,
    _J["right_hand"]: None,
}

#: Joints that aim the template's up axis, not the bone to their child, along the source bone: SMPL's head joint sits
#: mid-skull, 38 degrees forward of the neck, while every rig's head joint sits on top of the neck.
AIM_UP = frozenset({_J["neck"]})


@dataclass
class RetargetInfo:
    """What :func:`bvh_to_smpl` decided: the rig, units, frames kept, how the rest pose was found."""

    rig: str
    mapping: dict[str, tuple[str, ...]]
    source_index: dict[int, int]            # SMPL joint -> source joint index (position and rotation)
    frames: np.ndarray                      # source frame indices kept (calibration frames dropped)
    scale: float                            # metres per source unit (from leg lengths)
    unit: str                               # nearest known unit name, or "arbitrary"
    file_unit: tuple[float, str]            # the BVH reader's guess from the skeleton's span
    world: np.ndarray                       # 3x3 rotation from file axes to the Z-up world
    rest: str                               # "zero pose" or "estimated"
    floor_shift: float                      # metres subtracted from z to put the floor at 0
    dropped: list[int] = field(default_factory=list)
    corrections: dict[int, np.ndarray] = field(default_factory=dict)  # SMPL joint -> rest correction C (3x3)


def bvh_to_motion(path: str | os.PathLike, mapping: Mapping | str | os.PathLike | None = None,
                  fps: float | None = None, credit: str = "") -> Motion:
    """Read a BVH file and retarget it onto SMPL (Z-up world, metres, floor at 0, source fps unless ``fps``).

    ``mapping``: None (auto-detect the rig from joint names), a dict, or a JSON file path (SMPL joint -> source
    joint or list of joints). Raises :class:`MotionFormatError` / :class:`RetargetError` naming the file.
    """
    bvh = read_bvh(path)
    motion, _ = bvh_to_smpl(bvh, mapping)
    motion = motion.copy(credit=credit)
    if fps is not None:
        motion = motion.resample(fps)
    return motion


def bvh_to_smpl(bvh: BVH, mapping: Mapping | str | os.PathLike | None = None, rest: str = "auto"
                ) -> tuple[Motion, RetargetInfo]:
    """Retarget a parsed BVH onto SMPL; returns the Motion and a :class:`RetargetInfo`.

    ``rest``: where the rest correction comes from: ``"auto"`` (the zero pose when it looks like a rest pose, else
    estimated from the clip), ``"zero"`` or ``"estimate"``.
    """
    if rest not in ("auto", "zero", "estimate"):
        raise ValueError(f"rest must be 'auto', 'zero' or 'estimate', not {rest!r}")
    path = bvh.path or None
    if mapping is None:
        found = detect_rig(bvh.names)
        if found is None:
            raise RetargetError("unknown skeleton (joint names match no known rig: CMU, Bandai Namco, Reallusion CC, "
                                "Second Life, Mixamo, SMPL); pass --mapping with a JSON file {smpl_joint: "
                                "bvh_joint}", path)
        rig, mp = found
    elif isinstance(mapping, (str, os.PathLike)):
        rig, mp = f"mapping {Path(mapping).name}", load_mapping(mapping, bvh.names)
    else:
        rig, mp = "user mapping", normalize_mapping(mapping, bvh.names, path)
    src = {JOINT_INDEX[k]: bvh.index(chain[-1]) for k, chain in mp.items()}

    gender = _smpl_gender(bvh, src)  # an SMPL skeleton already (mrgen's own export): keep its world as it is
    skel = Skeleton.smpl(gender or "neutral")
    pos, glob = bvh.fk()
    world = _world_rotation(pos, src, path)
    pos = pos @ world.T
    glob = world @ glob
    scale, unit = _leg_scale(pos, src, skel, path)
    if gender:
        scale = 1.0
    frames = np.arange(bvh.num_frames)
    dropped = _calibration_frames(pos, src, scale, bvh.fps)
    if dropped:
        frames = np.setdiff1d(frames, dropped)
        pos, glob = pos[frames], glob[frames]

    rest_pos, rest_glob = bvh.fk(frames=slice(0, 1), zero_rotations=True)
    rest_pos, rest_glob = rest_pos[0] @ world.T, world @ rest_glob[0]
    zero_ok = rest == "zero" or (rest == "auto" and _zero_pose_is_rest(rest_pos, src, skel.offsets))
    corrections: dict[int, np.ndarray] = {}
    aim_up = frozenset() if gender else AIM_UP  # an SMPL source's neck bone is SMPL's own
    g_smpl = _solve_rotations(pos, glob, rest_pos, rest_glob, src, skel.offsets, zero_ok, world, corrections, aim_up)

    local = np.empty_like(g_smpl)
    local[:, 0] = g_smpl[:, 0]
    for j in range(1, NUM_JOINTS):
        local[:, j] = np.swapaxes(g_smpl[:, PARENTS[j]], -1, -2) @ g_smpl[:, j]
    poses = matrix_to_axis_angle(local)

    # root translation: the SMPL mid-hip follows the source's mid-hip, scaled by leg length
    offs = skel.offsets
    mid_src = 0.5 * (pos[:, src[1]] + pos[:, src[2]]) * scale
    mid_off = 0.5 * (offs[1] + offs[2])
    trans = mid_src - g_smpl[:, 0] @ mid_off - offs[0]
    fps = _clean_fps(bvh.fps)
    floor = 0.0 if gender else _floor_height(skel.fk(poses, trans), fps)
    trans[:, 2] -= floor

    name = Path(bvh.path).stem if bvh.path else "bvh"
    motion = Motion(poses, trans, fps, gender=skel.gender, name=name, source=bvh.path)
    info = RetargetInfo(rig, mp, src, frames, scale, unit, bvh.detect_scale(), world,
                        "zero pose" if zero_ok else "estimated", floor, dropped, corrections)
    return motion, info


# --- helpers -----------------------------------------------------------------------------------------------------
def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12), n[..., 0]


def _axis_angle_rot(axis: np.ndarray, angle: float) -> np.ndarray:
    return axis_angle_to_matrix(np.asarray(axis, dtype=float) * angle)


def _world_rotation(pos: np.ndarray, src: dict[int, int], path) -> np.ndarray:
    """File axes -> Z-up world: the axis the body's head points along (usually +Y) becomes +Z."""
    up = np.mean(pos[:, src[_J["head"]]] - pos[:, src[0]], axis=0)
    if not np.all(np.isfinite(up)) or np.linalg.norm(up) < 1e-9:
        raise RetargetError("cannot tell the up axis: head and pelvis coincide", path)
    axis = int(np.argmax(np.abs(up)))
    sign = np.sign(up[axis])
    if axis == 1 and sign > 0:
        return Y_UP_TO_Z_UP.copy()
    e = np.zeros(3)
    e[axis] = sign
    return rotation_between(e, np.array([0.0, 0.0, 1.0]))


def _smpl_gender(bvh: BVH, src: dict[int, int]) -> str | None:
    """The SMPL gender whose skeleton (metres, Y up) a file already has, as in mrgen's own export; else None."""
    if sorted(src) != list(range(24)):
        return None
    offs = bvh.offsets[[src[j] for j in range(24)]]
    for gender, ref in OFFSETS.items():
        if np.abs(offs[1:] - ref[1:]).max() < 1e-5:
            return gender
    return None


def _leg_scale(pos: np.ndarray, src: dict[int, int], skel: Skeleton, path) -> tuple[float, str]:
    """Metres per source unit: SMPL leg length (hip-knee-ankle) over the source's."""
    legs = []
    for h, k, a in ((1, 4, 7), (2, 5, 8)):
        legs.append(np.linalg.norm(pos[:, src[k]] - pos[:, src[h]], axis=-1)
                    + np.linalg.norm(pos[:, src[a]] - pos[:, src[k]], axis=-1))
    src_leg = float(np.median(np.concatenate(legs)))
    if not np.isfinite(src_leg) or src_leg <= 1e-9:
        raise RetargetError("the legs have zero length (hip, knee and ankle coincide)", path)
    scale = skel.leg_length() / src_leg
    name, unit = min(KNOWN_UNITS, key=lambda u: abs(np.log(scale / u[1])))
    return scale, (name if abs(np.log(scale / unit)) < np.log(1.2) else "arbitrary")


def _calibration_frames(pos: np.ndarray, src: dict[int, int], scale: float, fps: float, max_drop: int = 3
                        ) -> list[int]:
    """Frames at either end that jump away from the rest of the clip: a T-pose calibration frame (CMU 01_01) or a
    blend-in from one (the Second-Life files). A jump is a mean root-relative joint speed above 4 m/s and above 8
    times the clip's median."""
    t = len(pos)
    if t < 8:
        return []
    idx = np.array(sorted(set(src.values())))
    rel = (pos[:, idx] - pos[:, src[0]][:, None]) * scale  # root-relative pose, metres
    step = np.linalg.norm(rel[1:] - rel[:-1], axis=-1).mean(axis=1)  # (T-1,)
    typical = float(np.median(step))
    limit = max(4.0 / fps, 8.0 * typical)
    dropped = []
    for k in range(min(max_drop, t // 4)):
        if step[k] > limit:
            dropped = list(range(k + 1))
    end = []
    for k in range(min(max_drop, t // 4)):
        if step[t - 2 - k] > limit:
            end = list(range(t - 1 - k, t))
    return dropped + end


def foot_heights(joints: np.ndarray) -> np.ndarray:
    """Height of each foot (T, 2: left, right) from SMPL ``joints`` (T, 24, 3), Z up: its lower joint (ankle or
    toe)."""
    return np.stack([joints[:, [7, 10], 2].min(axis=1), joints[:, [8, 11], 2].min(axis=1)], axis=1)


def _floor_height(joints: np.ndarray, fps: float, speed: float = 0.2) -> float:
    """Height of the floor under SMPL ``joints`` (T, 24, 3): the median foot height (:func:`foot_heights`) over the
    frames where that foot is planted (ankle and toe slower than ``speed`` m/s); with too few planted frames, the 5th
    percentile of the lowest foot joint."""
    heights = []
    soles = foot_heights(joints)
    for i, (ank, toe) in enumerate(((7, 10), (8, 11))):
        foot = joints[:, [ank, toe]]
        h = soles[:, i]
        if len(joints) > 2:
            v = np.linalg.norm(np.gradient(foot, axis=0), axis=-1).max(axis=1) * fps
            heights.append(h[v < speed])
    planted = np.concatenate(heights) if heights else np.zeros(0)
    if planted.size >= max(5, 0.05 * len(joints)):
        return float(np.median(planted))
    return float(np.percentile(joints[:, list(FOOT_JOINTS), 2].min(axis=1), 5))


def _zero_pose_is_rest(rest_pos: np.ndarray, src: dict[int, int], offsets: np.ndarray) -> bool:
    """Does the source's zero-rotation pose look like SMPL's rest pose (legs down, spine up, arms out or down)?"""
    checks = []
    for j, c in PRIMARY_CHILD.items():
        if c is None or j not in src or c not in src:
            continue
        d, n = _unit(rest_pos[src[c]] - rest_pos[src[j]])
        if n < 1e-9:
            continue
        v, _ = _unit(Y_UP_TO_Z_UP @ offsets[c])
        checks.append((j, float(np.degrees(np.arccos(np.clip(d @ v, -1, 1))))))
    legs_spine = [a for j, a in checks if j in (1, 2, 4, 5, 3, 6, 9, 12)]
    return bool(legs_spine) and max(legs_spine) < 45.0


def _primary_vectors(j: int, pos: np.ndarray, src: dict[int, int], offsets: np.ndarray,
                     aim_up: frozenset = frozenset()) -> tuple[np.ndarray, np.ndarray] | None:
    """(SMPL rest vector in the template frame (3,), source world vectors per frame (T, 3)) for the bone that joint
    ``j`` aims (the pelvis: the line from the right to the left hip). A primary child without a source is skipped
    for its own (Bandai: spine1 aims at spine3 over the missing spine2)."""
    if j == 0:
        if 1 in src and 2 in src:
            return offsets[1] - offsets[2], pos[:, src[1]] - pos[:, src[2]]
        return None
    if j not in src:
        return None
    c, v = PRIMARY_CHILD[j], np.zeros(3)
    while c is not None and c not in src:
        v = v + offsets[c]
        c = PRIMARY_CHILD[c]
    if c is None:
        return None
    rest = np.array([0.0, 1.0, 0.0]) if j in aim_up else v + offsets[c]
    return rest, pos[:, src[c]] - pos[:, src[j]]


def _solve_rotations(pos, glob, rest_pos, rest_glob, src, offsets, zero_ok: bool, world: np.ndarray,
                     corrections: dict[int, np.ndarray], aim_up: frozenset = frozenset()) -> np.ndarray:
    """SMPL global rotations (T, 24, 3, 3) in the Z-up world; fills ``corrections`` (SMPL joint -> C)."""
    t = len(pos)
    a = Y_UP_TO_Z_UP
    g = np.zeros((t, NUM_JOINTS, 3, 3))
    have = np.zeros(NUM_JOINTS, dtype=bool)
    rest_smpl = Skeleton(offsets).rest_positions()
    axis_frames: dict[int, np.ndarray] = {}  # SMPL joint -> its source joint's axis-aligned rest frame (file axes)
    for j in range(NUM_JOINTS):  # parents first
        if j not in src:
            continue
        k = src[j]
        prim = _primary_vectors(j, pos, src, offsets, aim_up)
        if zero_ok:
            c = rest_glob[k].T @ _rest_swing(j, rest_pos, src, offsets, aim_up) @ a
        else:
            anc = PARENTS[j]
            while anc >= 0 and anc not in src:
                anc = PARENTS[anc]
            if prim is None and anc in axis_frames:
                # a leaf (head, toes, hands) of a rig with axis-aligned frames: at rest it shares its mapped parent's
                # frame (the parent's axis convention before any swing onto SMPL's bone), as at a rig's bind pose
                c = (world @ axis_frames[anc]).T @ a
            else:
                c, bone = _estimate_correction(j, k, pos, glob, src, offsets, rest_smpl, g, have, prim)
                # rigs built with axis-aligned joint frames (Bandai, Reallusion): snap the source joint's frame at
                # the SMPL rest pose (file axes) to that convention, so every clip of a rig gets the same correction
                snapped, cube = _snap_to_axes(world.T @ a @ c.T, bone)
                if cube is not None:
                    axis_frames[j] = cube
                c = (world @ snapped).T @ a
        corrections[j] = c
        gj = glob[:, k] @ c
        if prim is not None:
            v, d = prim
            d_u, n = _unit(d)
            ok = n > 1e-6 * max(1.0, float(np.median(n)))
            cur, _ = _unit(gj @ v)
            s = rotation_between(cur, np.where(ok[:, None], d_u, cur))
            gj = s @ gj
        g[:, j] = gj
        have[j] = True
    # joints without a source: identity local, or half the rotation between mapped parent and child
    for j in range(NUM_JOINTS):
        if have[j]:
            continue
        p = PARENTS[j]
        kids = [c for c in range(NUM_JOINTS) if PARENTS[c] == j]
        gp = g[:, p] if p >= 0 else np.broadcast_to(a, (t, 3, 3))
        if len(kids) == 1 and have[kids[0]]:
            rel = np.swapaxes(gp, -1, -2) @ g[:, kids[0]]
            q = matrix_to_quat(rel)
            qi = np.broadcast_to(np.array([1.0, 0.0, 0.0, 0.0]), q.shape)
            g[:, j] = gp @ quat_to_matrix(slerp(qi, q, np.full(t, 0.5)))
        else:
            g[:, j] = gp
        have[j] = True
    return g


def _rest_swing(j: int, rest_pos, src, offsets, aim_up: frozenset = frozenset()) -> np.ndarray:
    """Minimal rotation taking the SMPL rest bone of ``j`` onto the source's zero-pose bone (identity if none)."""
    prim = _primary_vectors(j, rest_pos[None], src, offsets, aim_up)
    if prim is None:
        return np.eye(3)
    v, d = prim
    d_u, n = _unit(d[0])
    if n < 1e-9:
        return np.eye(3)
    v_u, _ = _unit(Y_UP_TO_Z_UP @ v)
    return rotation_between(v_u, d_u)


def _hinge_pairs(j: int, pos, src, rest_smpl):
    """Anatomical twist cues for ``j``: list of (SMPL rest vector in the template frame (3,), matching source world
    vectors (T, 3), weights (T,)). ``rest_smpl``: SMPL rest joint positions, template frame."""
    out = []

    def p(i):
        return pos[:, src[i]]

    def have(*ids):
        return all(i in src for i in ids)

    def hinge(a, b, c, rest_axis=None):
        u1, _ = _unit(p(b) - p(a))
        u2, _ = _unit(p(c) - p(b))
        n = np.cross(u1, u2)
        nn = np.linalg.norm(n, axis=-1)
        r1, _ = _unit(rest_smpl[b] - rest_smpl[a])
        r2, _ = _unit(rest_smpl[c] - rest_smpl[b])
        if rest_axis is None:
            rest_axis, _ = _unit(np.cross(r1, r2))
        return rest_axis, n / np.maximum(nn, 1e-12)[:, None], nn ** 2

    x_axis = np.array([1.0, 0.0, 0.0])  # template frame: the knees' hinge
    y_axis = np.array([0.0, 1.0, 0.0])  # the elbows' hinge (arms out, palms down)
    if j in (1, 4) and have(1, 4, 7):
        out.append(hinge(1, 4, 7, x_axis))
    if j in (2, 5) and have(2, 5, 8):
        out.append(hinge(2, 5, 8, x_axis))
    if j in (16, 18) and have(16, 18, 20):
        out.append(hinge(16, 18, 20, -y_axis))
    if j in (17, 19) and have(17, 19, 21):
        out.append(hinge(17, 19, 21, y_axis))
    lateral = []
    if j in (3, 6, 0) and have(1, 2):
        lateral.append((1, 2))
    if j in (6, 9, 12) and have(16, 17):
        lateral.append((16, 17))
    for l, r in lateral:
        v, _ = _unit(rest_smpl[l] - rest_smpl[r])
        d, _ = _unit(p(l) - p(r))
        out.append((v, d, np.ones(len(pos))))
    top = 9 if 9 in src else 3
    if j == 0 and have(0, top):
        v, _ = _unit(rest_smpl[top] - rest_smpl[0])
        d, _ = _unit(p(top) - p(0))
        out.append((v, d, np.ones(len(pos))))
    return out


def _estimate_correction(j, k, pos, glob, src, offsets, rest_smpl, g, have, prim
                         ) -> tuple[np.ndarray, np.ndarray | None]:
    """Rest correction ``C`` for a source whose zero pose is not a rest pose, estimated from the clip; also the
    source bone's direction in the joint's own frame (None for joints without a bone).

    The bone fixes ``C`` up to a twist about it: the weighted mode of per-frame votes from anatomical cues (hinge
    axes of knees and elbows, hip and shoulder lines for the spine and neck) where they carry weight (a bent limb),
    else the twist that zeroes the mean local twist relative to the nearest mapped ancestor (the head looks to the
    chest, as the SMPL neck leans forward far more than most rigs' necks). Leaves: the mean rotation relative to
    that ancestor.
    """
    t = len(pos)
    gt = np.swapaxes(glob[:, k], -1, -2)  # world -> source-joint local
    anc = PARENTS[PARENTS[j]] if j == _J["head"] else PARENTS[j]
    while anc >= 0 and not have[anc]:
        anc = PARENTS[anc]
    if prim is None:  # a leaf: mean rotation relative to the ancestor's frame
        if anc < 0:
            return gt[0] @ Y_UP_TO_Z_UP, None
        rel = gt @ g[:, anc]  # (T, 3, 3): ancestor frame in source-joint local coordinates
        return nearest_rotation(rel.sum(axis=0)), None
    v, d = prim
    v_u, _ = _unit(v)
    d_u, n = _unit(d)
    ok = n > 1e-9
    b = np.einsum("tab,tb->ta", gt[ok], d_u[ok]).mean(axis=0) if ok.any() else v_u
    b, _ = _unit(b)
    c_swing = rotation_between(v_u, b)
    votes, weights = [], []
    for u0, a_t, w in _hinge_pairs(j, pos, src, rest_smpl):
        u1 = c_swing @ u0
        u1p = u1 - (u1 @ b) * b
        a_loc = np.einsum("tab,tb->ta", gt, a_t)
        a_p = a_loc - (a_loc @ b)[:, None] * b
        ok_t = np.linalg.norm(a_p, axis=-1) > 1e-6
        if np.linalg.norm(u1p) < 1e-6 or not ok_t.any():
            continue
        votes.append(np.arctan2(np.cross(u1p, a_p[ok_t]) @ b, a_p[ok_t] @ u1p))
        weights.append(w[ok_t] * np.linalg.norm(a_p[ok_t], axis=-1) / np.linalg.norm(u1p))
    hinge_weight = float(sum(w.sum() for w in weights))
    if votes and hinge_weight > 0.05 * t:
        # anatomical cues: the weighted circular mean of the votes within 120 degrees of their mode (a hinge axis
        # flips sign in the odd frame, e.g. a pointed foot; a twisting forearm spreads the votes around the truth)
        ang, w = np.concatenate(votes), np.concatenate(weights)
        mode = _circular_mode(ang, w)
        near = np.cos(ang - mode) > -0.5
        theta = float(np.arctan2((w * np.sin(ang))[near].sum(), (w * np.cos(ang))[near].sum()))
    elif anc >= 0:
        # no usable cue: zero the mean twist (about the SMPL rest bone v) of the local rotation relative to the
        # ancestor; with C = c_swing @ R_v(theta) the twist grows by theta
        loc = np.swapaxes(g[:, anc], -1, -2) @ glob[:, k] @ c_swing
        q = matrix_to_quat(loc)
        twist = 2.0 * np.arctan2(q[:, 1:] @ v_u, q[:, 0])
        theta = float(-np.arctan2(np.sin(twist).mean(), np.cos(twist).mean()))
    else:
        theta = 0.0
    return c_swing @ _axis_angle_rot(v_u, theta), b


def _circular_mode(angles: np.ndarray, weights: np.ndarray, bins: int = 360, width_deg: float = 15.0) -> float:
    """Angle (radians) where the weighted histogram of ``angles``, smoothed by a von Mises kernel, peaks."""
    if weights.sum() <= 0:
        return 0.0
    idx = np.floor((np.mod(angles + np.pi, 2 * np.pi)) / (2 * np.pi) * bins).astype(int) % bins
    hist = np.bincount(idx, weights=weights, minlength=bins)
    grid = (np.arange(bins) + 0.5) * (2 * np.pi / bins) - np.pi
    kernel = np.exp((np.cos(grid - grid[0]) - 1.0) / np.radians(width_deg) ** 2)
    smooth = np.real(np.fft.ifft(np.fft.fft(hist) * np.fft.fft(kernel)))
    return float(grid[int(np.argmax(smooth))])  # kernel[d] weighs a distance of d bins: the peak is at its bin


def _cube_rotations() -> np.ndarray:
    """The 24 rotations that permute the coordinate axes (signed permutation matrices, det +1)."""
    out = []
    for perm in ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)):
        for signs in np.ndindex(2, 2, 2):
            m = np.zeros((3, 3))
            for r, c in enumerate(perm):
                m[r, c] = 1.0 if signs[r] else -1.0
            if np.linalg.det(m) > 0:
                out.append(m)
    return np.array(out)


_CUBE = _cube_rotations()


def _angle(r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Angle (degrees) of the rotation between ``r1`` and ``r2`` (batched over leading axes)."""
    c = (np.einsum("...ab,...ab->...", r1, r2) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def _snap_to_axes(r: np.ndarray, bone: np.ndarray | None, max_twist_deg: float = 40.0
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """Snap a source joint's rest frame ``r`` (file axes) to the rig's axis-aligned convention.

    With ``bone`` (the bone's direction in the joint's own frame) only the twist about the bone snaps: the nearest
    axis-permuting rotation is laid onto ``r``'s bone direction by a minimal swing, and replaces ``r`` when its twist
    is within ``max_twist_deg``. Without a bone (leaf joints) the nearest axis permutation replaces ``r`` when within
    45 degrees. Returns the snapped frame and the axis permutation it came from (None if not snapped).
    """
    if bone is None:
        d = _angle(_CUBE, r)
        i = int(np.argmin(d))
        return (_CUBE[i], _CUBE[i]) if d[i] < 45.0 else (r, None)
    b_rest = r @ bone
    b_cand = _CUBE @ bone  # (24, 3)
    q = rotation_between(b_cand, np.broadcast_to(b_rest, b_cand.shape))
    cand = q @ _CUBE
    swing = np.degrees(np.arccos(np.clip(b_cand @ b_rest, -1.0, 1.0)))
    twist = _angle(cand, r)
    # candidates differing only by a turn about the swing axis all land near r: among those whose twist is within
    # 20 degrees of the best, the smallest swing (the bone's nearest axis) wins
    twist = np.where(swing < 70.0, twist, np.inf)
    eligible = twist < twist.min() + 20.0
    i = int(np.argmin(np.where(eligible, swing, np.inf)))
    return (cand[i], _CUBE[i]) if twist[i] < max_twist_deg else (r, None)


def _clean_fps(fps: float) -> float:
    """Frame rates written with few digits (0.0083333 s) come back as the whole number they stand for."""
    r = round(fps)
    return float(r) if r > 0 and abs(fps - r) < 0.01 else float(fps)
