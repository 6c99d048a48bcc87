"""The SMPL armature, batched keys, import/export operators, in real Blender (bpy module)."""
from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy", reason="needs Blender's bpy module (run with .venv-bpy)")

from .support import DATA, REPO, addon_module  # noqa: E402
from mrgen_core.io.amass import read_npz, write_npz  # noqa: E402
from mrgen_core.motion_files import load_motion  # noqa: E402
from mrgen_core.skeleton import JOINT_NAMES, Y_UP_TO_Z_UP  # noqa: E402

WALK = "cmu_mocap/cgspeed_motionbuilder/02_01.bvh"
DANCE = "cmu_mocap/cgspeed_motionbuilder/05_06.bvh"


def blender_joints(obj, frames) -> np.ndarray:
    """World joint positions (T, 24, 3) through Blender's own pose evaluation."""
    scene = bpy.context.scene
    out = np.empty((len(frames), 24, 3))
    mw = obj.matrix_world
    for t, f in enumerate(frames):
        scene.frame_set(int(f))
        for j, name in enumerate(JOINT_NAMES):
            out[t, j] = mw @ obj.pose.bones[name].head
    return out


@pytest.fixture(scope="module")
def walk():
    return load_motion(DATA / WALK, fps=30)


@pytest.mark.timeout(60)
def test_smpl_armature_layout(prefs):
    rig = addon_module("rig")
    obj = rig.build_smpl_armature(bpy.context, "SMPL")
    assert rig.is_smpl_armature(obj)
    assert sorted(b.name for b in obj.data.bones) == sorted(JOINT_NAMES)
    for b in obj.data.bones:  # every bone shares the rest orientation: SMPL's frame turned Z-up
        np.testing.assert_allclose(np.array(b.matrix_local)[:3, :3], Y_UP_TO_Z_UP, atol=1e-6)
    heads = np.array([np.array(b.head_local) for b in obj.data.bones])
    assert heads[:, 2].min() == pytest.approx(0.0, abs=1e-6)  # stands on the floor, metres
    assert 1.3 < heads[:, 2].max() < 1.7
    assert heads[JOINT_NAMES.index("left_hip"), 0] > 0  # subject's left is +X, facing -Y
    body = bpy.data.objects["SMPL_body"]
    assert body.parent == obj and body.modifiers["Armature"].object == obj
    assert {vg.name for vg in body.vertex_groups} <= set(JOINT_NAMES) and len(body.data.vertices) > 300


@pytest.mark.timeout(60)
def test_keys_reproduce_fk_within_1mm(prefs, walk):
    rig = addon_module("rig")
    keyframes = addon_module("keyframes")
    bpy.context.scene.render.fps = 30
    obj = rig.build_smpl_armature(bpy.context, "SMPL")
    action = rig.apply_motion(obj, walk, "walk", frame_start=1, props={"mrgen": {"kind": "test"}})
    assert obj.animation_data.action == action
    if hasattr(obj.animation_data, "action_slot"):
        assert obj.animation_data.action_slot is not None  # the 4.4/4.5 legacy-slot trap
    fcs = keyframes.fcurves_of(obj, action)
    assert len(fcs) == 24 * 4 + 3
    assert all(len(fc.keyframe_points) == walk.num_frames for fc in fcs)
    assert keyframes.frame_range(obj, action) == (1, walk.num_frames)
    assert action["mrgen"]["kind"] == "test" and action["mrgen_fps"] == 30.0
    frames = np.arange(1, walk.num_frames + 1)
    err = np.abs(blender_joints(obj, frames) - walk.joints()).max()
    assert err < 1e-3, f"Blender's joints differ from mrgen_core FK by {err * 1000:.3f} mm"
    q = np.stack([np.stack([fcs.find(f'pose.bones["{n}"].rotation_quaternion', index=c).keyframe_points
                            [k].co[1] for c in range(4)]) for n in ("left_knee",) for k in range(walk.num_frames)])
    assert np.all(np.sum(q[1:] * q[:-1], axis=-1) > 0)  # sign-continuous
    back = rig.motion_from_action(obj, action)
    assert back.num_frames == walk.num_frames and back.fps == 30.0
    assert np.abs(back.joints() - walk.joints()).max() < 1e-4  # float32 keys


@pytest.mark.timeout(60)
def test_import_and_export_operators(prefs, tmp_path, walk):
    bpy.context.scene.render.fps = 30
    npz = tmp_path / "walk.npz"
    write_npz(walk, npz)
    assert bpy.ops.mrgen.import_motion(filepath=str(npz), blocking=True) == {"FINISHED"}
    obj = bpy.context.active_object
    assert obj.name == "walk" and obj.animation_data.action.name == "walk"
    assert (bpy.context.scene.frame_start, bpy.context.scene.frame_end) == (1, walk.num_frames)
    frames = np.arange(1, walk.num_frames + 1, 7)
    assert np.abs(blender_joints(obj, frames) - walk.joints()[frames - 1]).max() < 1e-3

    out_npz, out_bvh = tmp_path / "out.npz", tmp_path / "out.bvh"
    assert bpy.ops.mrgen.export_motion(filepath=str(out_npz)) == {"FINISHED"}
    assert bpy.ops.mrgen.export_motion(filepath=str(out_bvh), file_format="BVH") == {"FINISHED"}
    back = read_npz(out_npz)
    assert back.num_frames == walk.num_frames and np.abs(back.joints() - walk.joints()).max() < 1e-4
    bvh = load_motion(out_bvh)
    assert bvh.num_frames == walk.num_frames
    assert np.abs(bvh.joints() - walk.joints()).max() < 0.02
    # FBX through Blender's own exporter, read back by its importer
    fbx = tmp_path / "walk.fbx"
    assert bpy.ops.export_scene.fbx(filepath=str(fbx), use_selection=True, object_types={"ARMATURE"},
                                    add_leaf_bones=False, bake_anim=True) == {"FINISHED"}
    assert bpy.ops.import_scene.fbx(filepath=str(fbx)) == {"FINISHED"}
    imported = [o for o in bpy.context.selected_objects if o.type == "ARMATURE"]
    assert len(imported) == 1 and sorted(b.name for b in imported[0].data.bones) == sorted(JOINT_NAMES)
    assert imported[0].animation_data.action.frame_range[1] - imported[0].animation_data.action.frame_range[0] \
        == walk.num_frames - 1
    bpy.context.view_layer.objects.active = obj

    # a BVH straight from the shared data (through the BVH retargeter), resampled to the scene's 24 fps
    bpy.context.scene.render.fps = 24
    assert bpy.ops.mrgen.import_motion(filepath=str(DATA / DANCE)) == {"FINISHED"}
    dance = bpy.context.active_object
    ref = load_motion(DATA / DANCE, fps=24)
    lo, hi = addon_module("keyframes").frame_range(dance, dance.animation_data.action)
    assert hi - lo + 1 == ref.num_frames
    frames = np.arange(lo, hi + 1, 25)
    assert np.abs(blender_joints(dance, frames) - ref.joints()[frames - lo]).max() < 1e-3


@pytest.mark.timeout(60)
def test_import_errors_are_reported(prefs, tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(RuntimeError, match="broken.npz: not an .npz file"):
        bpy.ops.mrgen.import_motion(filepath=str(bad))
    (tmp_path / "x.fbx").write_bytes(b"")
    with pytest.raises(RuntimeError, match="x.fbx: unsupported file type"):
        bpy.ops.mrgen.import_motion(filepath=str(tmp_path / "x.fbx"))
    with pytest.raises(RuntimeError, match="missing.bvh: file not found"):
        bpy.ops.mrgen.import_motion(filepath=str(tmp_path / "missing.bvh"))
    assert len(bpy.data.objects) == 0  # nothing half-made
