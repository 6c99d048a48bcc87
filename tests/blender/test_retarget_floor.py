"""Retarget as an animator meets it, on armatures made by Blender's own BVH importer (CMU, Bandai Namco): the feet
land on the floor at any armature scale, and the rig's own animation and rotation modes survive."""
from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy", reason="needs Blender's bpy module (run with .venv-bpy)")

from .support import DATA, addon_module  # noqa: E402

CMU = DATA / "cmu_mocap/cgspeed_motionbuilder/01_01.bvh"
BANDAI = DATA / "bandai_namco_motion/dataset-2/dataset-2_walk_normal_001.bvh"
FEET = {"cmu": ("LeftFoot", "LeftToeBase", "RightFoot", "RightToeBase"),
        "bandai": ("Foot_L", "Toes_L", "Foot_R", "Toes_R")}


@pytest.fixture
def source(prefs):
    """mrgen's SMPL armature with a walk (CMU 02_01, 30 fps), made active."""
    bpy.context.scene.render.fps = 30
    assert bpy.ops.mrgen.import_motion(filepath=str(DATA / "cmu_mocap/cgspeed_motionbuilder/02_01.bvh")) == {
        "FINISHED"}
    return bpy.context.active_object


def import_bvh_rig(path, scale):
    """An armature made by Blender's BVH importer (bones in the file's Euler order, the file's own Action)."""
    assert bpy.ops.import_anim.bvh(filepath=str(path), global_scale=scale) == {"FINISHED"}
    return bpy.context.active_object


def retarget(src, tgt, **settings):
    for k, v in settings.items():
        setattr(src.data.mrgen, k, v)
    bpy.context.view_layer.objects.active = src
    src.data.mrgen.retarget_target = tgt
    assert bpy.ops.mrgen.retarget(blocking=True) == {"FINISHED"}
    return tgt.animation_data.action


def lowest_foot_point(obj, bones, frames) -> np.ndarray:
    """World height of the lowest foot bone head or tail per frame, through Blender's own evaluation."""
    out = []
    for f in frames:
        bpy.context.scene.frame_set(int(f))
        m = obj.matrix_world
        out.append(min(min((m @ obj.pose.bones[b].head).z, (m @ obj.pose.bones[b].tail).z) for b in bones))
    return np.array(out)


def leg_length(obj) -> float:
    """Rest thigh + shin length in world units (the yardstick for tolerances at any scale)."""
    b = obj.data.bones
    names = ("LeftUpLeg", "LeftLeg", "LeftFoot") if "LeftUpLeg" in b else ("UpperLeg_L", "LowerLeg_L", "Foot_L")
    p = [obj.matrix_world @ b[n].head_local for n in names]
    return (p[1] - p[0]).length + (p[2] - p[1]).length


@pytest.mark.timeout(120)
@pytest.mark.parametrize("rig,scale,floor", [("cmu", 1.0, 0.0), ("cmu", 0.01, 0.0), ("bandai", 0.01, 0.0),
                                             ("bandai", 0.01, 0.25)])
def test_feet_land_on_the_floor(source, rig, scale, floor):
    tgt = import_bvh_rig(CMU if rig == "cmu" else BANDAI, scale)
    tgt.animation_data.action = None  # stand in the rest pose: the retarget must not lean on the file's animation
    act = retarget(source, tgt, floor_offset=floor)
    leg = leg_length(tgt)
    lo, hi = addon_module("keyframes").frame_range(tgt, act)
    low = lowest_foot_point(tgt, FEET[rig], np.arange(lo, hi + 1, 2)) - floor
    tol = 0.03 * leg  # about 2.5 cm on a 0.85 m leg
    assert abs(low.min()) < tol, (low.min(), leg)  # touches, never sinks
    assert np.median(low) < 2 * tol, (np.median(low), leg)  # a walk keeps a foot down most of the time
    assert act["mrgen"]["floor_shift"] != 0.0


@pytest.mark.timeout(120)
def test_retarget_keeps_the_rigs_own_animation(source, tmp_path):
    tgt = import_bvh_rig(CMU, 1.0)
    own = tgt.animation_data.action
    modes = {pb.name: pb.rotation_mode for pb in tgt.pose.bones}
    assert set(modes.values()) - {"QUATERNION"}  # the importer's Euler orders
    frames = [1, 40, 80]

    def heads():
        out = []
        for f in frames:
            bpy.context.scene.frame_set(f)
            out.append([np.array(tgt.matrix_world @ pb.head) for pb in tgt.pose.bones])
        return np.array(out)

    before = heads()
    act = retarget(source, tgt)
    assert act != own and act["mrgen"]["previous_action"] == own.name
    assert {pb.name: pb.rotation_mode for pb in tgt.pose.bones} == modes
    kf = addon_module("keyframes")
    paths = {fc.data_path.rsplit(".", 1)[1] for fc in kf.fcurves_of(tgt, act)}
    assert "rotation_euler" in paths and "rotation_quaternion" not in paths
    stash = [t for t in tgt.animation_data.nla_tracks if t.name == kf.STASH_TRACK]
    assert len(stash) == 1 and stash[0].mute and stash[0].strips[0].action == own
    assert own.users >= 1
    # retargeting again stashes the first result, not the rig's own action twice
    act2 = retarget(source, tgt)
    assert len([t for t in tgt.animation_data.nla_tracks if t.name == kf.STASH_TRACK]) == 2 and act2 != act
    # kept through save and reload, and it still plays as before
    path = tmp_path / "rig.blend"
    names = tgt.name, own.name
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.open_mainfile(filepath=str(path))
    tgt, own = bpy.data.objects[names[0]], bpy.data.actions[names[1]]
    kf.assign_action(tgt, own)
    np.testing.assert_allclose(heads(), before, atol=1e-4)


def deform_errors(src, rig, frames) -> np.ndarray:
    """Angles (deg) between every deform bone segment of a generated Rigify rig (``DEF-`` bones of the metarig's
    joints, head to head; the hands along their own axis) and the source's SMPL segment, constraints evaluated."""
    from mrgen_core.retarget.target import BONE_MAP_PRESETS, CHAIN_CHILD

    meta = BONE_MAP_PRESETS["rigify_metarig"]
    out = []
    for f in frames:
        bpy.context.scene.frame_set(int(f))
        smpl = {j: np.array(src.matrix_world @ src.pose.bones[j].head) for j in CHAIN_CHILD}
        dfm = {j: rig.matrix_world @ rig.pose.bones["DEF-" + b].matrix for j, b in meta.items()}
        for j, c in CHAIN_CHILD.items():
            if j not in meta or c is None:
                continue
            a = (np.array(dfm[c].translation) - np.array(dfm[j].translation) if c in meta
                 else np.array(dfm[j].to_3x3().col[1]))
            b = smpl[c] - smpl[j]
            out.append(np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))
    return np.array(out)


@pytest.mark.timeout(200)
def test_generated_rigify_rig_follows(source):
    import addon_utils

    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    bpy.ops.pose.rigify_generate()
    rig = bpy.context.active_object
    assert rig.name == "rig" and rig.pose.bones["thigh_parent.L"]["IK_FK"] == 0.0  # generated in IK
    act = retarget(source, rig)
    assert rig.data.mrgen.bone_map_preset == "rigify"
    assert act["mrgen"]["fk_switches"] >= 6 and act["mrgen"]["constraint_passes"] >= 1
    lo, hi = addon_module("keyframes").frame_range(rig, act)
    frames = np.arange(lo, hi + 1, 3)
    err = deform_errors(source, rig, frames)
    assert err.mean() < 5.0 and np.percentile(err, 95) < 10.0, (err.mean(), np.percentile(err, 95))
    low = lowest_foot_point(rig, ("DEF-foot.L", "DEF-toe.L", "DEF-foot.R", "DEF-toe.R"), frames)
    assert abs(low.min()) < 0.025 and np.median(low) < 0.05, (low.min(), np.median(low))
    # the switches are keys of this action, not new static values of the rig
    assert rig.pose.bones["thigh_parent.L"].get("IK_FK") is not None
    paths = {fc.data_path for fc in addon_module("keyframes").fcurves_of(rig, act)}
    assert 'pose.bones["thigh_parent.L"]["IK_FK"]' in paths and 'pose.bones["torso"]["head_follow"]' in paths
