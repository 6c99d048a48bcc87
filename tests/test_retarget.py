"""Retargeting BVH -> SMPL on every real clip, twist transfer, rig detection, user mappings, round trips.

Per-clip figures are printed (run with ``-s`` to see them): bone-direction angles, standing-foot heights, rig, scale.

Bones compared (SMPL bone = parent(j) -> j; source bone = between the mapped source joints):
* chain bones, the bone each SMPL joint's rotation aims (hip->knee, knee->ankle, ankle->toe, spine1->spine2,
  spine2->spine3, spine3->neck, collar->shoulder, shoulder->elbow, elbow->wrist, wrist->hand): the angle
  between the SMPL bone (our FK) and the source bone (the BVH's own FK, same Z-up world) must be < 5 deg on average
  and < 10 deg at the 95th percentile;
* branch bones inside the rigid pelvis, chest and skull (pelvis->hips, pelvis->spine1, spine3->collars, neck->head):
  rigs place these joints differently (SMPL's head joint sits mid-skull, 38 deg forward of the neck; the rigs' head
  joint sits on top of the neck) (e.g. CMU's hip joints sit ~20 deg further forward of the root than SMPL's), so the angle is a
  constant of the two skeletons, printed as ``offset``; what must hold is that SMPL moves them rigidly with the source:
  the source bone, seen from the SMPL parent joint's frame, stays within 5 deg (mean) / 10 deg (p95) of its mean;
* skipped: bones whose source joints coincide (CMU pelvis->spine1: LowerBack sits on Hips; CMU spine3->collars:
  LeftShoulder/RightShoulder sit on Spine1) and bones to SMPL joints without a source (Bandai spine2 and hands,
  Second-Life toes).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import DATA, all_bvh, data_path
from mrgen_core.errors import MotionFormatError, RetargetError
from mrgen_core.io.bvh import BVH, read_bvh
from mrgen_core.retarget import bvh_to_motion, bvh_to_smpl, detect_rig, load_mapping
from mrgen_core.retarget.solve import AIM_UP, PRIMARY_CHILD
from mrgen_core.rotations import axis_angle_to_matrix, euler_to_matrix, matrix_to_euler
from mrgen_core.skeleton import JOINT_NAMES, OFFSETS, PARENTS

CLIPS = all_bvh()
CLIP_IDS = [str(p.relative_to(DATA)) for p in CLIPS]


def _globals(poses: np.ndarray) -> np.ndarray:
    loc = axis_angle_to_matrix(poses)
    g = np.empty_like(loc)
    for j in range(24):
        g[:, j] = loc[:, j] if PARENTS[j] < 0 else g[:, PARENTS[j]] @ loc[:, j]
    return g


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos = np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _standing(joints: np.ndarray, fps: float, speed: float = 0.2, window_s: float = 0.1) -> np.ndarray:
    """Frames where all four foot joints move slower than ``speed`` m/s throughout +-``window_s``."""
    feet = joints[:, [7, 10, 8, 11]]
    v = np.linalg.norm(np.gradient(feet, axis=0), axis=-1) * fps
    slow = (v < speed).all(axis=1)
    w = max(1, int(round(window_s * fps)))
    out = slow.copy()
    for k in range(1, w + 1):
        out[k:] &= slow[:-k]
        out[:-k] &= slow[k:]
    return out


@pytest.fixture(scope="module")
def figures():
    rows: list[str] = []
    yield rows
    print("\n\nclip | rig | rest | frames | scale (unit) | chain mean/p95 (worst bone) | branch residual mean/p95 | "
          "standing feet |h| median/p95 cm (frames) | planted foot |h| median cm (foot-frames)")
    print("(chain: bones each joint's rotation aims; branch: pelvis/chest bones, residual after the constant rig offset)")
    for r in rows:
        print(r)


@pytest.mark.parametrize("path", CLIPS, ids=CLIP_IDS)
def test_clip_imports_and_matches_source(path, figures):
    bvh = read_bvh(path)
    motion, info = bvh_to_smpl(bvh)
    assert motion.num_frames == len(info.frames) >= 0.9 * bvh.num_frames
    assert motion.name == path.stem and motion.source == str(path)
    assert abs(motion.fps - bvh.fps) < 0.01
    step = max(1, motion.num_frames // 600)  # subsample long clips
    sel = np.arange(0, motion.num_frames, step)
    joints = motion.joints()
    smpl = joints[sel]
    gsmpl = _globals(motion.poses[sel])
    pos, _ = bvh.fk(frames=info.frames[sel])
    pos = pos @ info.world.T
    src = info.source_index
    unit_len = np.median(np.linalg.norm(pos[:, src[4]] - pos[:, src[1]], axis=-1))

    chain, branch, worst = [], [], ("", 0.0, 0.0)
    offsets = {}
    for c in range(1, 24):
        j = PARENTS[c]
        if j not in src or c not in src:
            continue
        d_src = pos[:, src[c]] - pos[:, src[j]]
        if np.median(np.linalg.norm(d_src, axis=-1)) < 1e-3 * unit_len:
            continue  # source joints coincide
        if PRIMARY_CHILD.get(j) == c and j not in AIM_UP:
            a = _angle_deg(smpl[:, c] - smpl[:, j], d_src)
            chain.append(a)
            if a.mean() > worst[1]:
                worst = (JOINT_NAMES[c], a.mean(), np.percentile(a, 95))
        else:
            # source bone seen from the SMPL parent's frame: constant if SMPL moves the segment with the source
            local = np.einsum("tba,tb->ta", gsmpl[:, j], d_src)
            local /= np.linalg.norm(local, axis=-1, keepdims=True)
            mean_dir = local.mean(axis=0)
            branch.append(_angle_deg(local, mean_dir[None]))
            offsets[JOINT_NAMES[c]] = float(_angle_deg(mean_dir, OFFSETS["neutral"][c]))
    chain_all = np.concatenate(chain)
    chain_mean = max(a.mean() for a in chain)
    chain_p95 = max(np.percentile(a, 95) for a in chain)
    branch_mean = max(a.mean() for a in branch) if branch else 0.0
    branch_p95 = max(np.percentile(a, 95) for a in branch) if branch else 0.0

    # feet on the floor while standing: the lowest foot joint (ankles, toes) of each standing frame; and, for clips
    # without standing frames (walks, runs), each planted foot's lower joint
    stand = _standing(joints, motion.fps)
    h = joints[stand][:, [7, 8, 10, 11], 2].min(axis=1)
    foot = (np.median(np.abs(h)) * 100, np.percentile(np.abs(h), 95) * 100) if h.size else (np.nan, np.nan)
    planted = []
    for ank, toe in ((7, 10), (8, 11)):
        v = np.linalg.norm(np.gradient(joints[:, [ank, toe]], axis=0), axis=-1).max(axis=1) * motion.fps
        planted.append(joints[v < 0.2][:, [ank, toe], 2].min(axis=1))
    planted = np.concatenate(planted)

    figures.append(
        f"{path.name} | {info.rig} | {info.rest} | {motion.num_frames} (-{len(info.dropped)}) | "
        f"{info.scale:.4f} ({info.unit}) | {chain_mean:.2f}/{chain_p95:.2f} ({worst[0]}: {worst[1]:.2f}/{worst[2]:.2f}; "
        f"{len(chain)} bones, all {chain_all.mean():.2f}) | {branch_mean:.2f}/{branch_p95:.2f} "
        f"(offsets {', '.join(f'{k} {v:.0f}' for k, v in offsets.items())}) | {foot[0]:.1f}/{foot[1]:.1f} ({stand.sum()}) | "
        f"{np.median(np.abs(planted)) * 100 if planted.size else np.nan:.1f} ({planted.size})")

    assert len(chain) >= 12, f"only {len(chain)} comparable chain bones"
    assert chain_mean < 5.0 and chain_p95 < 10.0, f"chain bones off: {worst}"
    assert branch_mean < 5.0 and branch_p95 < 10.0, "pelvis/chest bones do not follow the source rigidly"

    # left stays left, in every frame: SMPL's left hip and shoulder lie on the side of the source's left ones, and
    # its hands too wherever the source's hands are more than 20 cm apart (crossed arms are fine, if both cross)
    scale = info.scale
    for l, r, min_gap in ((1, 2, 0.0), (16, 17, 0.0), (20, 21, 0.2)):
        s_lat = pos[:, src[l]] - pos[:, src[r]]
        m_lat = smpl[:, l] - smpl[:, r]
        apart = np.linalg.norm(s_lat, axis=-1) * scale > min_gap
        assert np.all(np.sum(s_lat * m_lat, -1)[apart] > 0), f"{JOINT_NAMES[l]} crossed to the right"
    # the SMPL body's own left (up x facing; SMPL faces -Y with left = +X) is the source's left-hip side
    up = np.array([0.0, 0.0, 1.0])
    fwd = np.cross(smpl[:, 1] - smpl[:, 2], up)  # facing from SMPL's hip line
    left = np.cross(up, fwd)
    assert np.all(np.sum(left * (pos[:, src[1]] - pos[:, src[2]]), -1) > 0), "SMPL's left is the source's right"
    # facing: while standing, the feet (summed, so a dancer's turn-out cancels) point the way the hips face
    stand_sel = _standing(joints, motion.fps)[sel]
    if 10 in src and stand_sel.sum() >= 10:
        toes = (smpl[:, 10] - smpl[:, 7]) + (smpl[:, 11] - smpl[:, 8])
        toes[:, 2] = 0
        facing_err = np.median(_angle_deg(toes[stand_sel], fwd[stand_sel]))
        assert facing_err < 45.0, f"standing feet point {facing_err:.0f} deg away from the hips' facing"

    # floor: the feet of a standing body within 3 cm of z = 0
    if h.size >= 10:
        assert np.percentile(np.abs(h), 95) < 0.03, f"standing feet {np.percentile(np.abs(h), 95) * 100:.1f} cm off"
    if planted.size >= 10:
        assert np.median(np.abs(planted)) < 0.03, f"planted feet {np.median(np.abs(planted)) * 100:.1f} cm off"


# --- twist ------------------------------------------------------------------------------------------------------
def _twist_about(rel: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation angle (deg) of relative rotations ``rel`` (T, 3, 3) and the |cos| between their axis and ``axis``."""
    from mrgen_core.rotations import matrix_to_axis_angle
    aa = matrix_to_axis_angle(rel)
    ang = np.linalg.norm(aa, axis=-1)
    cos = np.abs(aa @ (axis / np.linalg.norm(axis))) / np.maximum(ang, 1e-9)
    return np.degrees(ang), cos


def _synthetic_tpose_bvh(n: int = 40) -> str:
    """A Mixamo-named T-pose rig (Y up, facing +Z): the head turns 0 -> 60 deg about its bone (up) and the left
    forearm twists 0 -> 90 deg about its bone (+X), on top of a fixed arm pose (arm lowered 40 deg, elbow bent)."""
    joints = [  # name, parent, offset (cm)
        ("mixamorig:Hips", None, (0, 95, 0)), ("mixamorig:Spine", 0, (0, 10, 0)), ("mixamorig:Spine1", 1, (0, 12, 0)),
        ("mixamorig:Spine2", 2, (0, 12, 0)), ("mixamorig:Neck", 3, (0, 15, 0)), ("mixamorig:Head", 4, (0, 10, 2)),
        ("mixamorig:LeftShoulder", 3, (5, 10, 0)), ("mixamorig:LeftArm", 6, (12, 0, 0)),
        ("mixamorig:LeftForeArm", 7, (27, 0, 0)), ("mixamorig:LeftHand", 8, (25, 0, 0)),
        ("mixamorig:RightShoulder", 3, (-5, 10, 0)), ("mixamorig:RightArm", 10, (-12, 0, 0)),
        ("mixamorig:RightForeArm", 11, (-27, 0, 0)), ("mixamorig:RightHand", 12, (-25, 0, 0)),
        ("mixamorig:LeftUpLeg", 0, (9, -8, 0)), ("mixamorig:LeftLeg", 14, (0, -42, 0)),
        ("mixamorig:LeftFoot", 15, (0, -42, 0)), ("mixamorig:LeftToeBase", 16, (0, -6, 13)),
        ("mixamorig:RightUpLeg", 0, (-9, -8, 0)), ("mixamorig:RightLeg", 18, (0, -42, 0)),
        ("mixamorig:RightFoot", 19, (0, -42, 0)), ("mixamorig:RightToeBase", 20, (0, -6, 13)),
    ]
    lines = ["HIERARCHY"]

    def emit(i, depth):
        name, parent, off = joints[i]
        ind = "  " * depth
        lines.append(f"{ind}{'ROOT' if parent is None else 'JOINT'} {name}")
        lines.append(ind + "{")
        lines.append(f"{ind}  OFFSET {off[0]} {off[1]} {off[2]}")
        pos = "Xposition Yposition Zposition " if parent is None else ""
        lines.append(f"{ind}  CHANNELS {6 if parent is None else 3} {pos}Zrotation Xrotation Yrotation")
        kids = [k for k, j in enumerate(joints) if j[1] == i]
        for k in kids:
            emit(k, depth + 1)
        if not kids:
            lines.extend([ind + "  End Site", ind + "  {", ind + "    OFFSET 0 5 0", ind + "  }"])
        lines.append(ind + "}")

    emit(0, 0)
    lines.extend(["MOTION", f"Frames: {n}", "Frame Time: 0.0333333"])
    head_yaw = np.linspace(0, 60, n)
    fore_twist = np.linspace(0, 90, n)
    names = [j[0] for j in joints]
    for t in range(n):
        rows = {name: np.zeros(3) for name in names}
        rows["mixamorig:LeftArm"] = np.array([-40.0, 0, 0])  # arm lowered (about Z)
        # forearm: bend 30 deg about Y (forwards), then twist about its own +X
        r = euler_to_matrix(np.deg2rad([0, 0, -30.0]), "ZXY") @ euler_to_matrix(np.deg2rad([0, fore_twist[t], 0]), "ZXY")
        rows["mixamorig:LeftForeArm"] = np.rad2deg(matrix_to_euler(r, "ZXY"))
        rows["mixamorig:Head"] = np.array([0, 0, head_yaw[t]])  # about Y = the head bone
        vals = [0.0, 95.0, 0.01 * t] + [x for name in names for x in rows[name]]
        lines.append(" ".join(f"{v:.6f}" for v in vals))
    return "\n".join(lines) + "\n"


def test_twist_survives_synthetic_tpose_rig(tmp_path):
    p = tmp_path / "twist.bvh"
    p.write_text(_synthetic_tpose_bvh())
    motion, info = bvh_to_smpl(read_bvh(p))
    assert info.rig == "mixamo" and info.rest == "zero pose"
    g = _globals(motion.poses)
    n = motion.num_frames
    # head: its rotation relative to the neck turns by the source's yaw, about the SMPL up axis (template Y)
    head_local = axis_angle_to_matrix(motion.poses[:, 15])
    d_head = np.swapaxes(head_local[0], -1, -2)[None] @ head_local
    ang, cos = _twist_about(d_head, np.array([0.0, 1.0, 0.0]))
    print(f"head: source yaw 60.0 deg -> SMPL {ang[-1]:.2f} deg, axis |cos| to up {cos[-1]:.4f}")
    np.testing.assert_allclose(ang, np.linspace(0, 60, n), atol=0.5)
    assert cos[1:].min() > 0.99
    # left forearm: the SMPL elbow's global rotation twists by the source's 90 deg about the SMPL forearm bone
    d_elbow = np.swapaxes(g[0, 18], -1, -2)[None] @ g[:, 18]
    ang, cos = _twist_about(d_elbow, OFFSETS["neutral"][20])
    print(f"left forearm: source twist 90.0 deg -> SMPL {ang[-1]:.2f} deg, axis |cos| to the forearm {cos[-1]:.4f}")
    np.testing.assert_allclose(ang, np.linspace(0, 90, n), atol=1.0)
    assert cos[1:].min() > 0.99
    # and the bones still point where the source's do
    joints = motion.joints()
    src_pos, _ = read_bvh(p).fk()
    src_pos = src_pos @ info.world.T
    for j, c in ((18, 20), (16, 18)):
        a = _angle_deg(joints[:, c] - joints[:, j], src_pos[:, info.source_index[c]] - src_pos[:, info.source_index[j]])
        assert a.max() < 0.5


def _add_twist(bvh: BVH, joint: str, angles_deg: np.ndarray) -> BVH:
    """A copy of ``bvh`` whose ``joint`` turns by ``angles_deg`` (per frame) about its own local X (its bone axis in
    the Bandai rig), on top of its recorded rotation."""
    out = BVH(list(bvh.names), bvh.parents.copy(), bvh.offsets.copy(), list(bvh.channels), bvh.values.copy(),
              bvh.frame_time, dict(bvh.end_sites), bvh.path)
    k = bvh.index(joint)
    start = int(bvh.channel_offsets()[k])
    cols = [start + i for i, c in enumerate(bvh.channels[k]) if c.endswith("rotation")]
    order = "".join(bvh.channels[k][i - start][0] for i in cols)
    r = euler_to_matrix(np.deg2rad(bvh.values[:, cols]), order)
    twist = euler_to_matrix(np.deg2rad(np.stack([np.zeros_like(angles_deg)] * 2 + [angles_deg], -1)), "ZYX")
    out.values[:, cols] = np.rad2deg(matrix_to_euler(r @ twist, order))
    return out


def test_twist_survives_estimated_rest_rig():
    """Bandai (rest estimated from the clip): adding a forearm twist and a head turn (+-50 deg, zero on average) in
    the source adds the same twist, about the same bones, in SMPL. (The estimate takes a clip's mean twist as
    neutral, to the nearest 90 deg of the rig's axis convention.)"""
    bvh = read_bvh(data_path("bandai_namco_motion/dataset-1/dataset-1_walk_normal_001.bvh"))
    t = bvh.num_frames
    twist = 50.0 * np.sin(np.linspace(0, 2 * np.pi, t))
    base, info = bvh_to_smpl(bvh)
    assert info.rest == "estimated"
    mod, info_mod = bvh_to_smpl(_add_twist(_add_twist(bvh, "LowerArm_L", twist), "Head", twist))
    for j in info.corrections:  # the same rest (to within the small spread of the clip's bone directions)
        ang, _ = _twist_about((info.corrections[j].T @ info_mod.corrections[j])[None], np.array([1.0, 0.0, 0.0]))
        assert ang[0] < 0.5, JOINT_NAMES[j]
    g0, g1 = _globals(base.poses), _globals(mod.poses)
    for j, axis, name in ((18, OFFSETS["neutral"][20], "left forearm"), (15, None, "head")):
        d = np.swapaxes(g0[:, j], -1, -2) @ g1[:, j]  # change in SMPL global rotation, in the joint's own frame
        if axis is None:  # head: about the source head bone, expressed in SMPL's head frame
            axis = np.mean(np.einsum("tba,tb->ta", g0[:, j], np.diff(
                retarget_positions(bvh, info, ("Neck", "Head")), axis=1)[:, 0]), axis=0)
        ang, cos = _twist_about(d, axis)
        big = np.abs(twist) > 20
        print(f"{name}: added +-{np.abs(twist).max():.0f} deg twist -> SMPL max {ang.max():.1f} deg, mean error "
              f"{np.abs(ang - np.abs(twist)).mean():.2f} deg, axis |cos| min {cos[big].min():.3f}")
        assert np.abs(ang - np.abs(twist)).max() < 2.0
        assert cos[big].min() > 0.98
    # no joint with a source moved (Bandai has no hand joints: SMPL's hand tips turn with the twisted wrist)
    np.testing.assert_allclose(mod.joints()[:, :22], base.joints()[:, :22], atol=1e-6)


def retarget_positions(bvh: BVH, info, names: tuple[str, ...]) -> np.ndarray:
    pos, _ = bvh.fk(frames=info.frames)
    return (pos @ info.world.T)[:, [bvh.index(n) for n in names]]


def test_estimated_rest_agrees_with_zero_pose_on_cmu():
    """The clip-based rest estimate (used for Bandai / Reallusion) reproduces, on a CMU walk whose zero pose is a
    T-pose, the zero-pose rest correction: SMPL global rotations within 10 deg for every joint."""
    bvh = read_bvh(data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh"))
    a, ia = bvh_to_smpl(bvh, rest="zero")
    b, ib = bvh_to_smpl(bvh, rest="estimate")
    assert (ia.rest, ib.rest) == ("zero pose", "estimated")
    ga, gb = _globals(a.poses), _globals(b.poses)
    ang, _ = _twist_about(np.swapaxes(ga, -1, -2) @ gb, np.array([1.0, 0.0, 0.0]))
    per_joint = ang.mean(axis=0)
    print("estimated vs zero-pose rest, mean deg per joint:", np.round(per_joint, 1).tolist())
    assert per_joint.max() < 10.0


@pytest.mark.parametrize("folder", ["iclone_cc_rig", "bandai_namco_motion"])
def test_estimated_rest_is_the_same_for_every_clip_of_a_rig(folder):
    """Every clip of a rig whose rest is estimated (Reallusion: 4 clips; Bandai: 35 clips of walks, runs, dances,
    gestures) yields the very same rest corrections, snapped to the rig's axis convention."""
    paths = [p for p in CLIPS if folder in str(p)]
    assert len(paths) >= 4
    infos = [bvh_to_smpl(read_bvh(p))[1] for p in paths]
    assert all(i.rest == "estimated" for i in infos)
    ref = infos[0].corrections
    worst = 0.0
    for p, info in zip(paths[1:], infos[1:]):
        assert set(info.corrections) == set(ref)
        for j, c in ref.items():
            ang, _ = _twist_about((c.T @ info.corrections[j])[None], np.array([1.0, 0.0, 0.0]))
            # (a few degrees of swing may differ where an unmapped joint bends the bone, e.g. Reallusion's
            # NeckTwist01 between Spine02 and NeckTwist02; the per-frame swing absorbs that, the twist must agree)
            assert ang[0] < 3.0, f"{p.name}: {JOINT_NAMES[j]} rest differs by {ang[0]:.1f} deg from {paths[0].name}'s"
            worst = max(worst, float(ang[0]))
    print(f"{folder}: {len(paths)} clips, rest corrections agree within {worst:.3f} deg")


# --- rig detection and user mappings ---------------------------------------------------------------------------
@pytest.mark.parametrize("folder,rig", [
    ("cmu_mocap/cgspeed_motionbuilder", "cmu_motionbuilder"), ("cmu_mocap/cgspeed_3dsmax", "cmu_3dsmax"),
    ("cmu_mocap/iclone_cc_rig", "iclone_cc"), ("cmu_mocap/secondlife_salsa_pair", "second_life"),
    ("bandai_namco_motion", "bandai_namco")])
def test_detect_rig_on_every_folder(folder, rig):
    paths = [p for p in CLIPS if str(p.relative_to(DATA)).startswith(folder)]
    assert paths
    for p in paths:
        found = detect_rig(read_bvh(p).names)
        assert found is not None and found[0] == rig, p.name


def test_detect_rig_mixamo_smpl_and_unknown():
    mixamo = ["Hips", "Spine", "Spine1", "Spine2", "Neck", "Head", "LeftShoulder", "LeftArm", "LeftForeArm",
              "LeftHand", "RightShoulder", "RightArm", "RightForeArm", "RightHand", "LeftUpLeg", "LeftLeg",
              "LeftFoot", "LeftToeBase", "RightUpLeg", "RightLeg", "RightFoot", "RightToeBase"]
    for prefix in ("", "mixamorig:", "mixamorig1:", "mixamorig_"):
        rig, mp = detect_rig([prefix + n for n in mixamo])
        assert rig == "mixamo" and mp["spine3"] == (prefix + "Spine2",)
    assert detect_rig(list(JOINT_NAMES))[0] == "smpl"
    assert detect_rig(["root", "a", "b", "c"]) is None


def _renamed(bvh: BVH, prefix: str = "bone_") -> BVH:
    return BVH([prefix + n for n in bvh.names], bvh.parents, bvh.offsets, bvh.channels, bvh.values, bvh.frame_time,
               bvh.end_sites, bvh.path)


def test_unknown_skeleton_needs_a_mapping_and_a_mapping_file_overrides(tmp_path):
    src = data_path("bandai_namco_motion/dataset-1/dataset-1_walk_normal_001.bvh")
    bvh = read_bvh(src)
    weird = _renamed(bvh)
    with pytest.raises(RetargetError, match="--mapping") as e:
        bvh_to_smpl(weird)
    assert str(src) in str(e.value) and "\n" not in str(e.value)
    _, mp = detect_rig(bvh.names)
    mapping = {k: ["bone_" + c for c in v] for k, v in mp.items()}
    mfile = tmp_path / "map.json"
    mfile.write_text(json.dumps(mapping))
    expected, _ = bvh_to_smpl(bvh)
    got, info = bvh_to_smpl(weird, str(mfile))
    assert info.rig == "mapping map.json"
    np.testing.assert_allclose(got.joints(), expected.joints(), atol=1e-9)
    got2, _ = bvh_to_smpl(weird, mapping)  # a dict works too
    np.testing.assert_allclose(got2.joints(), expected.joints(), atol=1e-9)


def test_mapping_overrides_detection():
    """A mapping that sends SMPL's neck to CMU's Neck1 only (instead of the preset's Neck + Neck1 chain, same last
    joint) and leaves the hands out changes only what it says."""
    bvh = read_bvh(data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh"))
    _, mp = detect_rig(bvh.names)
    custom = {k: list(v) for k, v in mp.items() if k not in ("left_hand", "right_hand")}
    m_auto, _ = bvh_to_smpl(bvh)
    m_user, info = bvh_to_smpl(bvh, custom)
    assert 22 not in info.source_index
    # hands without a source keep an identity local rotation
    np.testing.assert_allclose(m_user.poses[:, 22], 0.0, atol=1e-9)
    # legs are untouched
    np.testing.assert_allclose(m_user.joints()[:, [4, 7, 10]], m_auto.joints()[:, [4, 7, 10]], atol=1e-9)


@pytest.mark.parametrize("content,match", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    (json.dumps({"pelvis": "Hips", "tail": "Tail"}), "unknown SMPL joint 'tail'"),
    (json.dumps({"pelvis": 3}), "must be a joint name"),
    (json.dumps({"pelvis": "Hips"}), "lacks SMPL joints"),
])
def test_bad_mapping_files(tmp_path, content, match):
    p = tmp_path / "bad_map.json"
    p.write_text(content)
    with pytest.raises(RetargetError, match=match) as e:
        load_mapping(p)
    assert str(p) in str(e.value)


def test_mapping_naming_joints_the_file_lacks(tmp_path):
    bvh = read_bvh(data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh"))
    _, mp = detect_rig(bvh.names)
    mapping = {k: list(v) for k, v in mp.items()}
    mapping["head"] = ["Skull"]
    p = tmp_path / "map.json"
    p.write_text(json.dumps(mapping))
    with pytest.raises(RetargetError, match="'Skull'") as e:
        bvh_to_motion(data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh"), mapping=str(p))
    assert str(p) in str(e.value)
    with pytest.raises(RetargetError, match="mapping file not found"):
        bvh_to_motion(data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh"), mapping=str(tmp_path / "none.json"))


def test_bvh_to_motion_errors_name_the_file(tmp_path):
    with pytest.raises(MotionFormatError, match="not found") as e:
        bvh_to_motion(tmp_path / "missing.bvh")
    assert "missing.bvh" in str(e.value)


# --- provenance, fps, calibration frames, resampling ------------------------------------------------------------
def test_bvh_to_motion_fps_credit_and_calibration_frame():
    p = data_path("cmu_mocap/cgspeed_motionbuilder/01_01.bvh")
    bvh = read_bvh(p)
    m, info = bvh_to_smpl(bvh)
    assert info.dropped == [0]  # the T-pose calibration frame
    assert m.num_frames == 2751 and m.fps == 120.0
    m30 = bvh_to_motion(p, fps=30, credit="CMU")
    assert m30.fps == 30.0 and m30.credit == "CMU" and m30.name == "01_01" and m30.source == str(p)
    assert abs(m30.duration - m.duration) < 2 / 30
    # no jump left at the start: the first steps are as small as the clip's typical step
    j = m.joints() - m.joints()[:, :1]
    steps = np.linalg.norm(np.diff(j, axis=0), axis=-1).mean(axis=1)
    assert steps[:5].max() < 5 * np.median(steps) + 1e-3


CMU_CLIPS = [p for p in CLIPS if "cmu_mocap" in str(p)]


@pytest.mark.parametrize("path", CMU_CLIPS, ids=[p.name for p in CMU_CLIPS])
def test_resample_down_and_up_keeps_positions(path):
    m = bvh_to_motion(path)
    fps = m.fps
    low = m.resample(30)
    back = low.resample(fps)
    k = int(round(fps / 30))
    j0, jl, jb = m.joints(), low.joints(), back.joints()
    n = min(len(jl), (len(j0) - 1) // k + 1)
    at_30 = np.linalg.norm(jl[:n] - j0[::k][:n], axis=-1).max()
    n_back = min(len(jb), len(j0))
    at_matching = np.linalg.norm(jb[:n_back:k] - j0[:n_back:k], axis=-1).max()
    between = np.linalg.norm(jb[:n_back] - j0[:n_back], axis=-1)
    print(f"{path.name}: {fps:.0f} -> 30 -> {fps:.0f} fps: max error at matching times {at_matching * 1000:.3f} mm "
          f"(30 fps frames {at_30 * 1000:.3f} mm); between them median {np.median(between) * 100:.2f} cm, "
          f"max {between.max() * 100:.1f} cm")
    assert at_matching < 0.01 and at_30 < 0.01
    assert len(back) >= len(m) - k
