"""Retarget in Blender: the SMPL armature's motion onto armatures with other bone names, rest orientations (A-pose,
rolled bones) and object transforms (rotation, scale); checked through Blender's own pose evaluation."""
from __future__ import annotations

import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy", reason="needs Blender's bpy module (run with .venv-bpy)")

from mathutils import Matrix  # noqa: E402

from .support import DATA, REPO, addon_module  # noqa: E402
from mrgen_core.motion_files import load_motion  # noqa: E402
from mrgen_core.retarget.target import BONE_MAP_PRESETS, CHAIN_CHILD, smpl_rest_world  # noqa: E402
from mrgen_core.rotations import axis_angle_to_matrix  # noqa: E402
from mrgen_core.skeleton import JOINT_INDEX, JOINT_NAMES, PARENTS, Skeleton  # noqa: E402

MAX_DEG = 3.0


def _rot(axis, deg):
    v = np.zeros(3)
    v["xyz".index(axis)] = np.radians(deg)
    return axis_angle_to_matrix(v)


def build_character(name="Character", prefix="mixamorig:", a_pose=40.0, leg_scale=1.25, seed=0):
    """A Mixamo-named armature in A-pose with random bone rolls, built in centimetres with an FBX-style object
    transform (rotated +90 degrees about X, scale 0.01, moved), plus unmapped extra bones."""
    p = smpl_rest_world(Skeleton.smpl()).copy()
    for s in ("left", "right"):
        hip = p[JOINT_INDEX[f"{s}_hip"]].copy()
        for j in ("knee", "ankle", "foot"):
            p[JOINT_INDEX[f"{s}_{j}"]] = hip + leg_scale * (p[JOINT_INDEX[f"{s}_{j}"]] - hip)
    p[:, 2] -= p[:, 2].min()
    for s, sign in (("left", -1), ("right", 1)):
        sh = p[JOINT_INDEX[f"{s}_shoulder"]].copy()
        for j in ("elbow", "wrist", "hand"):
            i = JOINT_INDEX[f"{s}_{j}"]
            p[i] = sh + _rot("y", sign * a_pose) @ (p[i] - sh)
    world = np.eye(4)
    world[:3, :3] = _rot("x", 90.0) * 0.01
    world[:3, 3] = [1.5, 0.5, 0.0]
    winv = np.linalg.inv(world)
    to_arm = lambda v: winv[:3, :3] @ v + winv[:3, 3]  # noqa: E731
    arm = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, arm)
    bpy.context.collection.objects.link(obj)
    obj.matrix_world = Matrix(world.tolist())
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    rng = np.random.default_rng(seed)
    bmap = {j: prefix + b for j, b in BONE_MAP_PRESETS["mixamo"].items()}
    root = arm.edit_bones.new("Root")
    root.head, root.tail = to_arm(np.zeros(3)).tolist(), to_arm(np.array([0, 0.2, 0])).tolist()
    ebs = {}
    for i, j in enumerate(JOINT_NAMES):
        if j not in bmap:
            continue
        child = CHAIN_CHILD.get(j)
        tail = p[JOINT_INDEX[child]] if child else p[i] + 0.1 * (p[i] - p[PARENTS[i]]) / np.linalg.norm(
            p[i] - p[PARENTS[i]])
        if j == "head":
            tail = p[i] + np.array([0, 0, 0.2])
        eb = arm.edit_bones.new(bmap[j])
        eb.head, eb.tail = to_arm(p[i]).tolist(), to_arm(tail).tolist()
        eb.roll = float(rng.uniform(-np.pi, np.pi))
        eb.parent = ebs[JOINT_NAMES[PARENTS[i]]] if i else root
        ebs[j] = eb
    for s in ("Left", "Right"):  # twist bones nobody maps
        tw = arm.edit_bones.new(f"{prefix}{s}ArmTwist")
        up = ebs[f"{s.lower()}_shoulder"]
        tw.head, tw.tail, tw.parent = up.head.copy(), (up.head + up.tail) / 2, up
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj, bmap


def source_joints(src, frames):
    scene = bpy.context.scene
    out = np.empty((len(frames), 24, 3))
    for t, f in enumerate(frames):
        scene.frame_set(int(f))
        for j, n in enumerate(JOINT_NAMES):
            out[t, j] = src.matrix_world @ src.pose.bones[n].head
    return out


def target_pose(tgt, frames, bones):
    """World heads (T, B, 3) and +Y axes (T, B, 3) of ``bones`` through Blender's pose evaluation."""
    scene = bpy.context.scene
    heads = np.empty((len(frames), len(bones), 3))
    axes = np.empty_like(heads)
    for t, f in enumerate(frames):
        scene.frame_set(int(f))
        for b, n in enumerate(bones):
            m = tgt.matrix_world @ tgt.pose.bones[n].matrix
            heads[t, b] = m.translation
            axes[t, b] = np.array(m.to_3x3().col[1])
    return heads, axes


def _angle(a, b):
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.degrees(np.arccos(np.clip(np.sum(a * b, -1), -1, 1)))


def check_directions(src, tgt, bmap, frames):
    src_j = source_joints(src, frames)
    names = list(bmap.values())
    heads, axes = target_pose(tgt, frames, names)
    col = {j: names.index(b) for j, b in bmap.items()}
    worst = {}
    for j, c in CHAIN_CHILD.items():
        if c and j in bmap and c in bmap:
            worst[j] = _angle(heads[:, col[c]] - heads[:, col[j]],
                              src_j[:, JOINT_INDEX[c]] - src_j[:, JOINT_INDEX[j]]).max()
    bad = {j: round(float(a), 2) for j, a in worst.items() if a > MAX_DEG}
    assert len(worst) >= 15 and not bad, f"bones more than {MAX_DEG} degrees off: {bad}"
    return src_j, heads, col


@pytest.fixture
def smpl_walk(prefs):
    bpy.context.scene.render.fps = 30
    path = DATA / "cmu_mocap/cgspeed_motionbuilder/05_06.bvh"
    assert bpy.ops.mrgen.import_motion(filepath=str(path)) == {"FINISHED"}
    src = bpy.context.active_object
    src.location = (-1.0, 2.0, 0.0)  # the source may sit anywhere, turned
    src.rotation_euler = (0.0, 0.0, 0.6)
    return src


@pytest.mark.timeout(120)
def test_retarget_onto_mixamo_style_character(smpl_walk):
    src = smpl_walk
    tgt, bmap = build_character()
    for o in bpy.context.view_layer.objects:
        o.select_set(False)
    bpy.context.view_layer.objects.active = src
    src.data.mrgen.retarget_target = tgt
    src.data.mrgen.ground_feet = False  # the hips follow the scaled source exactly (grounding: test_retarget_floor)
    assert bpy.ops.mrgen.retarget(blocking=True) == {"FINISHED"}
    act = tgt.animation_data.action
    assert act.name == f"{src.animation_data.action.name} -> {tgt.name}"
    assert tgt.data.mrgen.bone_map_preset == "mixamo"  # auto-detected, shown in the editable list
    assert {i.name: i.bone for i in tgt.data.mrgen.bone_map if i.bone} == bmap
    lo, hi = addon_module("keyframes").frame_range(tgt, act)
    assert (lo, hi) == addon_module("keyframes").frame_range(src, src.animation_data.action)
    frames = np.arange(lo, hi + 1, 6)
    src_j, heads, col = check_directions(src, tgt, bmap, frames)
    # hips: displacement scaled by the leg-length ratio (1.25), in world space
    k = act["mrgen"]["hips_scale"]
    assert k == pytest.approx(1.25, rel=1e-3)
    d_src = src_j[:, 0] - src_j[0, 0]
    d_tgt = heads[:, col["pelvis"]] - heads[0, col["pelvis"]]
    np.testing.assert_allclose(d_tgt, k * d_src, atol=2e-3)
    assert "mixamorig:LeftArmTwist" not in {fc.data_path.split('"')[1] for fc in
                                             addon_module("keyframes").fcurves_of(tgt, act)}


@pytest.mark.timeout(120)
def test_retarget_onto_rigify_metarig_with_saved_preset(smpl_walk, tmp_path):
    import addon_utils

    addon_utils.enable("rigify", default_set=True)
    src = smpl_walk
    bpy.ops.object.armature_human_metarig_add()
    meta = bpy.context.active_object
    meta.scale = (0.9, 0.9, 0.9)
    bpy.context.view_layer.update()
    bpy.context.view_layer.objects.active = src
    src.data.mrgen.retarget_target = meta
    assert bpy.ops.mrgen.bone_map_detect() == {"FINISHED"}
    assert meta.data.mrgen.bone_map_preset == "rigify_metarig"
    preset = tmp_path / "metarig.json"
    assert bpy.ops.mrgen.bone_map_save(filepath=str(preset)) == {"FINISHED"}
    data = json.loads(preset.read_text())
    assert data["bones"]["left_elbow"] == "forearm.L"
    for item in meta.data.mrgen.bone_map:  # edit the list, then load the preset back
        item.bone = ""
    assert bpy.ops.mrgen.bone_map_load(filepath=str(preset)) == {"FINISHED"}
    bmap = {i.name: i.bone for i in meta.data.mrgen.bone_map if i.bone}
    assert bmap == data["bones"]
    assert bpy.ops.mrgen.retarget() == {"FINISHED"}
    lo, hi = addon_module("keyframes").frame_range(meta, meta.animation_data.action)
    check_directions(src, meta, bmap, np.arange(lo, hi + 1, 10))


@pytest.mark.timeout(60)
def test_retarget_errors(smpl_walk):
    with pytest.raises(RuntimeError, match="choose the target armature"):
        bpy.ops.mrgen.retarget()
    arm = bpy.data.armatures.new("Blob")
    blob = bpy.data.objects.new("Blob", arm)
    bpy.context.collection.objects.link(blob)
    bpy.context.view_layer.objects.active = blob
    bpy.ops.object.mode_set(mode="EDIT")
    for k in range(3):
        b = arm.edit_bones.new(f"Bone.{k:03d}")
        b.head, b.tail = (0, 0, k), (0, 0, k + 1)
    bpy.ops.object.mode_set(mode="OBJECT")
    bpy.context.view_layer.objects.active = smpl_walk
    smpl_walk.data.mrgen.retarget_target = blob
    with pytest.raises(RuntimeError, match="no bone-map preset fits"):
        bpy.ops.mrgen.retarget()
