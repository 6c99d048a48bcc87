"""SMPL -> arbitrary target rig (mrgen_core.retarget.target), without Blender: synthetic rigs with other bone names,
A-pose rest, rolled bones, extra unmapped bones, object rotation and scale; motion from a real CMU clip."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import data_path
from mrgen_core.errors import RetargetError
from mrgen_core.motion import Motion
from mrgen_core.motion_files import load_motion
from mrgen_core.retarget.target import (BONE_MAP_PRESETS, CHAIN_CHILD, F, TargetRig, contact_level, detect_bone_map,
                                        foot_clearance, helper_bones, load_bone_map, rest_reference,
                                        motion_to_smpl_rig, pose_rig, retarget_to_rig, save_bone_map,
                                        smpl_rest_world, smpl_rig_rest, smpl_rig_to_motion, validate_bone_map)
from mrgen_core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mrgen_core.skeleton import JOINT_INDEX, JOINT_NAMES, PARENTS, Skeleton

MAX_DEG = 3.0


@pytest.fixture(scope="module")
def walk() -> Motion:
    """A real walk (CMU 02_01), 30 fps, through the BVH retargeter."""
    return load_motion(data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh"), fps=30)


@pytest.fixture(scope="module")
def dance() -> Motion:
    """Arms and turns: CMU modern dance (05_06), first 4 s at 30 fps."""
    m = load_motion(data_path("cmu_mocap/cgspeed_motionbuilder/05_06.bvh"), fps=30)
    return m.slice(0, 120)


def _rot(axis, deg):
    v = np.zeros(3)
    v["xyz".index(axis)] = np.radians(deg)
    return axis_angle_to_matrix(v)


def _orient(y_axis: np.ndarray, roll: float) -> np.ndarray:
    """A bone orientation whose +Y is ``y_axis``, rolled by ``roll`` radians about it."""
    y = y_axis / np.linalg.norm(y_axis)
    helper = np.array([0.0, 0.0, 1.0]) if abs(y[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(y, helper)
    x /= np.linalg.norm(x)
    z = np.cross(x, y)
    base = np.stack([x, y, z], axis=1)
    return axis_angle_to_matrix(y * roll) @ base


def synthetic_rig(preset: str = "mixamo", prefix: str = "mixamorig:", a_pose: float = 45.0, leg_scale: float = 1.2,
                  body_scale: float = 1.05, roll_seed: int | None = 0, world: np.ndarray | None = None,
                  face_plus_y: bool = False, extras: bool = True):
    """A humanoid armature built from SMPL's rest with another naming, proportions, rest pose and orientations.

    Returns (TargetRig, bone map {SMPL joint: bone}, world rest heads by SMPL joint)."""
    p = smpl_rest_world(Skeleton.smpl()).copy()
    p *= body_scale
    legs = [JOINT_INDEX[f"{s}_{j}"] for s in ("left", "right") for j in ("knee", "ankle", "foot")]
    for s in ("left", "right"):  # longer legs: scale hip -> knee -> ankle -> foot about the hip
        hip = p[JOINT_INDEX[f"{s}_hip"]].copy()
        for j in ("knee", "ankle", "foot"):
            p[JOINT_INDEX[f"{s}_{j}"]] = hip + leg_scale * (p[JOINT_INDEX[f"{s}_{j}"]] - hip)
    p[:, 2] -= p[legs, 2].min()
    for s, sign in (("left", -1), ("right", 1)):  # A-pose: arms rotated down about the forward axis
        sh = p[JOINT_INDEX[f"{s}_shoulder"]].copy()
        r = _rot("y", sign * a_pose)
        for j in ("elbow", "wrist", "hand"):
            i = JOINT_INDEX[f"{s}_{j}"]
            p[i] = sh + r @ (p[i] - sh)
    if face_plus_y:
        p = p @ _rot("z", 180.0).T
    rng = np.random.default_rng(roll_seed)
    bmap = {j: prefix + b for j, b in BONE_MAP_PRESETS[preset].items()}
    names, parents, rots, heads = [], [], [], []
    if extras:
        names.append("Root"), parents.append(-1), rots.append(np.eye(3)), heads.append(np.zeros(3))
    for i, j in enumerate(JOINT_NAMES):
        if j not in bmap:
            continue
        child = CHAIN_CHILD.get(j)
        y = p[JOINT_INDEX[child]] - p[i] if child else p[i] - p[PARENTS[i]]
        if j == "head":
            y = np.array([0, 0, 1.0])
        roll = rng.uniform(-np.pi, np.pi) if roll_seed is not None else 0.0
        par = JOINT_NAMES[PARENTS[i]] if i else None
        pname = bmap[par] if par else ("Root" if extras else None)
        if extras and j == "spine3":  # an unmapped bone between spine2 and spine3
            mid = 0.5 * (p[i] + p[JOINT_INDEX["spine2"]])
            names.append("SpineExtra"), parents.append(names.index(bmap["spine2"]))
            rots.append(_orient(p[i] - mid, 0.3)), heads.append(mid)
            pname = "SpineExtra"
        names.append(bmap[j])
        parents.append(names.index(pname) if pname else -1)
        rots.append(_orient(y, roll))
        heads.append(p[i])
        if extras and j in ("left_shoulder", "right_shoulder"):  # an unmapped leaf (twist bone)
            names.append(bmap[j] + "Twist"), parents.append(len(names) - 2)
            rots.append(_orient(y, 0.0)), heads.append(0.5 * (p[i] + p[JOINT_INDEX[CHAIN_CHILD[j]]]))
    w = np.eye(4) if world is None else world
    winv = np.linalg.inv(w)
    rest = np.tile(np.eye(4), (len(names), 1, 1))
    wr = w[:3, :3] / np.cbrt(np.linalg.det(w[:3, :3]))
    for k, (r, h) in enumerate(zip(rots, heads)):
        rest[k, :3, :3] = wr.T @ r
        rest[k, :3, 3] = winv[:3, :3] @ h + winv[:3, 3]
    rig = TargetRig(names, parents, rest, w)
    return rig, bmap, {j: p[JOINT_INDEX[j]] for j in bmap}


def fbx_world() -> np.ndarray:
    """An FBX-import style object transform: Y-up data turned Z-up, centimetres (scale 0.01), moved away."""
    w = np.eye(4)
    w[:3, :3] = _rot("x", 90.0) * 0.01
    w[:3, 3] = [2.0, -1.0, 0.0]
    return w


def _angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.degrees(np.arccos(np.clip(np.sum(a * b, axis=-1), -1, 1)))


def _check_directions(motion: Motion, rig: TargetRig, bmap: dict, res, source_world=None):
    """Every mapped SMPL bone (joint -> chain child) points the same way in the world on source and target."""
    heads, rots = pose_rig(rig, {b: res.quats[:, i] for i, b in enumerate(res.bones)}, res.root_bone,
                           res.root_location)
    src = motion.joints()
    if source_world is not None:
        src = src @ source_world[:3, :3].T + source_world[:3, 3]
    worst = {}
    for j, c in CHAIN_CHILD.items():
        if c is None or j not in bmap or c not in bmap:
            continue
        tj, tc = rig.index[bmap[j]], rig.index[bmap[c]]
        ang = _angles(heads[:, tc] - heads[:, tj], src[:, JOINT_INDEX[c]] - src[:, JOINT_INDEX[j]])
        worst[j] = float(ang.max())
    for s in ("left", "right"):  # hands: end bones, checked along their own +Y axis
        b = rig.index[bmap[f"{s}_wrist"]]
        ang = _angles(rots[:, b, :, 1], src[:, JOINT_INDEX[f"{s}_hand"]] - src[:, JOINT_INDEX[f"{s}_wrist"]])
        worst[f"{s}_wrist"] = float(ang.max())
    assert len(worst) == 19  # 17 chains + 2 hands
    bad = {j: round(a, 2) for j, a in worst.items() if a > MAX_DEG}
    assert not bad, f"bones off by more than {MAX_DEG} degrees: {bad}"
    return heads, rots, worst


# --- the maths -----------------------------------------------------------------------------------------------------
def test_smpl_rig_layout_reproduces_fk(walk):
    quats, loc = motion_to_smpl_rig(walk)
    heads, f = smpl_rig_rest()
    assert np.allclose(f, F) and heads[:, 2].min() == pytest.approx(0.0)
    rest = np.tile(np.eye(4), (24, 1, 1))
    rest[:, :3, :3] = f
    rest[:, :3, 3] = heads
    rig = TargetRig(JOINT_NAMES, PARENTS, rest)
    pos, _ = pose_rig(rig, {n: quats[:, i] for i, n in enumerate(JOINT_NAMES)}, "pelvis", loc)
    assert np.abs(pos - walk.joints()).max() < 1e-9
    assert np.all(np.sum(quats[1:] * quats[:-1], axis=-1) >= 0)  # sign-continuous
    back = smpl_rig_to_motion(quats, loc, walk.fps)
    assert np.abs(back.joints() - walk.joints()).max() < 1e-9
    # non-root joints: SMPL's axis-angle is the bone quaternion as is
    np.testing.assert_allclose(matrix_to_axis_angle(axis_angle_to_matrix(back.poses[:, 1:])),
                               matrix_to_axis_angle(axis_angle_to_matrix(walk.poses[:, 1:])), atol=1e-9)


def test_identity_retarget_onto_smpl_rig(walk):
    heads, f = smpl_rig_rest()
    rest = np.tile(np.eye(4), (24, 1, 1))
    rest[:, :3, :3] = f
    rest[:, :3, 3] = heads
    rig = TargetRig(JOINT_NAMES, PARENTS, rest)
    res = retarget_to_rig(walk, rig, BONE_MAP_PRESETS["smpl"])
    pos, _ = pose_rig(rig, {b: res.quats[:, i] for i, b in enumerate(res.bones)}, res.root_bone, res.root_location)
    assert res.hips_scale == pytest.approx(1.0)
    assert np.abs(pos - walk.joints()).max() < 1e-6


@pytest.mark.parametrize("case", ["plain", "a_pose_rolled", "fbx_scaled", "faces_plus_y", "rigify_metarig"])
def test_bone_directions_match_source(walk, dance, case):
    kw = dict(plain=dict(a_pose=0.0, roll_seed=None, leg_scale=1.0, body_scale=1.0, extras=False),
              a_pose_rolled=dict(),
              fbx_scaled=dict(world=fbx_world()),
              faces_plus_y=dict(face_plus_y=True, a_pose=30.0, roll_seed=3),
              rigify_metarig=dict(preset="rigify_metarig", prefix="", roll_seed=7, a_pose=50.0))[case]
    rig, bmap, _ = synthetic_rig(**kw)
    for motion in (walk, dance):
        res = retarget_to_rig(motion, rig, bmap)
        assert set(res.bones) == set(bmap.values())
        assert "Root" not in res.bones and "SpineExtra" not in res.bones
        _check_directions(motion, rig, bmap, res)
        assert np.all(np.sum(res.quats[1:] * res.quats[:-1], axis=-1) >= 0)


def test_hips_motion_scaled_by_leg_length(walk):
    rig, bmap, rest = synthetic_rig(leg_scale=1.3, body_scale=1.0, world=fbx_world())
    res = retarget_to_rig(walk, rig, bmap)
    heads, _ = pose_rig(rig, {b: res.quats[:, i] for i, b in enumerate(res.bones)}, res.root_bone,
                        res.root_location)
    assert res.hips_scale == pytest.approx(1.3, rel=1e-6)
    src = walk.joints()[:, 0]
    src_rest = smpl_rest_world(walk.skeleton)[0]
    hips = heads[:, rig.index[bmap["pelvis"]]]
    np.testing.assert_allclose(hips - rest["pelvis"], 1.3 * (src - src_rest), atol=1e-6)
    travelled = np.linalg.norm(hips[-1, :2] - hips[0, :2])
    assert travelled == pytest.approx(1.3 * np.linalg.norm(src[-1, :2] - src[0, :2]), rel=1e-6)
    assert travelled > 0.5  # the clip walks
    res1 = retarget_to_rig(walk, rig, bmap, scale_hips=False)
    assert res1.hips_scale == 1.0


def test_source_object_transform_is_applied(walk):
    sw = np.eye(4)
    sw[:3, :3] = _rot("z", 90.0) * 2.0
    sw[:3, 3] = [1.0, 2.0, 0.0]
    rig, bmap, _ = synthetic_rig(body_scale=2.0)
    res = retarget_to_rig(walk.slice(0, 40), rig, bmap, source_world=sw)
    _check_directions(walk.slice(0, 40), rig, bmap, res, source_world=sw)


def test_partial_map_and_inherit_rotation_off(walk):
    rig, bmap, _ = synthetic_rig(roll_seed=5)
    part = {j: b for j, b in bmap.items() if "collar" not in j}  # the clavicles stay at rest
    inherit = np.ones(len(rig.names), bool)
    inherit[rig.index[bmap["head"]]] = False
    rig2 = TargetRig(rig.names, rig.parents, rig.rest, rig.world, inherit)
    res = retarget_to_rig(walk, rig2, part)
    assert bmap["left_collar"] not in res.bones
    heads, rots = pose_rig(rig2, {b: res.quats[:, i] for i, b in enumerate(res.bones)}, res.root_bone,
                           res.root_location)
    src = walk.joints()
    for j, c in (("left_shoulder", "left_elbow"), ("right_elbow", "right_wrist"), ("neck", "head")):
        ang = _angles(heads[:, rig.index[bmap[c]]] - heads[:, rig.index[bmap[j]]],
                      src[:, JOINT_INDEX[c]] - src[:, JOINT_INDEX[j]])
        assert ang.max() < MAX_DEG
    full = retarget_to_rig(walk, rig, bmap)  # the head's world rotation is the same whether or not it inherits
    _, rots_full = pose_rig(rig, {b: full.quats[:, i] for i, b in enumerate(full.bones)}, full.root_bone,
                            full.root_location)
    hb = rig.index[bmap["head"]]
    assert np.abs(rots[:, hb] - rots_full[:, hb]).max() < 1e-6


# --- presets, detection, JSON ------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset,prefix", [("mixamo", "mixamorig:"), ("mixamo", "mixamorig1:"), ("mixamo", ""),
                                           ("rigify", ""), ("rigify_metarig", ""), ("unreal", ""), ("cmu", ""),
                                           ("smpl", "")])
def test_detect_bone_map(preset, prefix):
    names = ["root", "extra_bone"] + [prefix + b for b in BONE_MAP_PRESETS[preset].values()]
    if preset == "cmu":
        names += ["LHipJoint", "RHipJoint", "Neck", "LThumb"]
    name, mapping = detect_bone_map(names)
    assert name == preset
    assert mapping["pelvis"] == prefix + BONE_MAP_PRESETS[preset]["pelvis"]
    assert mapping["left_shoulder"] == prefix + BONE_MAP_PRESETS[preset]["left_shoulder"]
    assert len(mapping) >= 20


def test_detect_bone_map_other_bvh_rigs():
    bandai = ["joint_Root", "Hips", "Spine", "Chest", "Neck", "Head"] + [
        f"{b}_{s}" for s in "LR" for b in ("Shoulder", "UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg",
                                            "Foot", "Toes")]
    name, mapping = detect_bone_map(bandai)
    assert name == "bandai_namco" and mapping["left_elbow"] == "LowerArm_L"


def test_detect_bone_map_refuses_unknown_rigs():
    with pytest.raises(RetargetError, match="no bone-map preset fits"):
        detect_bone_map(["Bone", "Bone.001", "Bone.002"])


def test_validate_bone_map_errors():
    names = ["hips", "leg", "arm"]
    assert validate_bone_map({"pelvis": "hips", "left_hip": "leg", "left_knee": ""}, names) == {
        "pelvis": "hips", "left_hip": "leg"}
    with pytest.raises(RetargetError, match="unknown SMPL joint 'tail'"):
        validate_bone_map({"pelvis": "hips", "tail": "leg"}, names)
    with pytest.raises(RetargetError, match="must map 'pelvis'"):
        validate_bone_map({"left_hip": "leg"}, names)
    with pytest.raises(RetargetError, match="'foot' .* not in the target armature"):
        validate_bone_map({"pelvis": "hips", "left_ankle": "foot"}, names)
    with pytest.raises(RetargetError, match="mapped twice"):
        validate_bone_map({"pelvis": "hips", "left_hip": "leg", "right_hip": "leg"}, names)


def test_bone_map_json_round_trip(tmp_path):
    rig, bmap, _ = synthetic_rig()
    path = tmp_path / "presets" / "my_char.json"
    save_bone_map(bmap, path, preset="mixamo")
    data = json.loads(path.read_text())
    assert data["format"] == "mrgen-bone-map" and data["preset"] == "mixamo"
    assert load_bone_map(path, rig.names) == bmap
    assert list(tmp_path.joinpath("presets").iterdir()) == [path]  # no temp files left
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(RetargetError) as ei:
        load_bone_map(bad)
    assert str(bad) in str(ei.value) and "not valid JSON" in str(ei.value)
    with pytest.raises(RetargetError, match="not found"):
        load_bone_map(tmp_path / "missing.json")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"bones": {"pelvis": "NoSuchBone"}}))
    with pytest.raises(RetargetError, match="NoSuchBone"):
        load_bone_map(wrong, rig.names)


def test_bad_rig_is_refused():
    with pytest.raises(RetargetError, match="parents first"):
        TargetRig(["a", "b"], [1, -1], np.tile(np.eye(4), (2, 1, 1)))
    with pytest.raises(RetargetError, match="inconsistent"):
        TargetRig(["a", "b"], [-1, 0], np.tile(np.eye(4), (3, 1, 1)))


# --- feet on the floor ---------------------------------------------------------------------------------------------
def test_contact_level_follows_drift_and_keeps_short_jumps():
    t = np.arange(300)
    steps = 0.03 * np.abs(np.sin(t * np.pi / 15))  # a foot touches down every 15 frames
    drift = 0.05 * t / 300
    jump = np.where((t > 100) & (t < 110), 0.3, 0.0)  # 1/3 s in the air
    level = contact_level(steps + drift + jump, 30)
    assert np.abs(level - drift).max() < 0.012  # the drift is followed ...
    assert level[100:110].max() < 0.05  # ... a short jump is not flattened


@pytest.mark.parametrize("floor", [0.0, 0.15, -0.4])
def test_feet_land_on_the_floor(walk, floor):
    """On an FBX-style armature (scale 0.01), the lowest foot contact of each step touches ``floor``; without
    ``floor`` the hips keep the rest height plus the scaled source motion."""
    rig, bmap, _ = synthetic_rig(world=fbx_world())  # no bone lengths: the heads are the foot points
    res = retarget_to_rig(walk, rig, bmap, floor=floor)
    assert res.feet_height.min() == pytest.approx(0.0, abs=1e-6)
    clear = foot_clearance(rig, bmap, res)
    np.testing.assert_allclose(clear - floor, res.feet_height, atol=1e-9)
    heads, _ = pose_rig(rig, {b: res.quats[:, i] for i, b in enumerate(res.bones)}, res.root_bone,
                        res.root_location)
    feet = [rig.index[bmap[j]] for j in ("left_ankle", "left_foot", "right_ankle", "right_foot")]
    low = heads[:, feet, 2].min(axis=1) - floor
    assert -0.005 < low.min() < 0.03 and np.median(low) < 0.05
    plain = retarget_to_rig(walk, rig, bmap)
    assert plain.feet_height is None and plain.floor_shift == 0.0


def test_rigify_controls_use_the_org_bones_rest():
    names = ["root", "torso", "ORG-spine", "spine_fk", "spine_fk.001"]
    rig = TargetRig(names, [-1, 0, 1, 1, 1], np.tile(np.eye(4), (5, 1, 1)))
    bmap = {"pelvis": "torso", "spine1": "spine_fk.001"}
    assert rest_reference(rig, bmap) == {"pelvis": 2, "spine1": 4}
    assert helper_bones(rig, bmap) == {"pelvis": (3,)}
    assert helper_bones(rig, {"pelvis": "root"}) == {}
