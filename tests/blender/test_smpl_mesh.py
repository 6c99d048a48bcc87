"""The skinned SMPL mesh from a user's model file (read by the worker), deformed by Blender's Armature modifier,
matches SMPL's own linear blend skinning. The real SMPL files are licensed: a synthetic file in the same format."""
from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy", reason="needs Blender's bpy module (run with .venv-bpy)")

from .support import DATA, addon_module  # noqa: E402
from mrgen_core.io.amass import write_npz  # noqa: E402
from mrgen_core.motion_files import load_motion  # noqa: E402
from mrgen_core.rotations import axis_angle_to_matrix  # noqa: E402
from mrgen_core.geometry import forward_kinematics  # noqa: E402
from mrgen_core.skeleton import PARENTS, Skeleton  # noqa: E402

CUBE = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float) * 0.1
CUBE_FACES = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]


def fake_smpl_model(path):
    """An SMPL-format model: a small cube at every joint (offset from it), rigidly weighted to that joint."""
    rest = Skeleton.smpl("neutral").rest_positions()
    centre = rest + np.array([0.02, -0.01, 0.03])
    v = (centre[:, None, :] + CUBE[None]).reshape(-1, 3)
    nv = len(v)
    weights = np.zeros((nv, 24))
    jreg = np.zeros((24, nv))
    for j in range(24):
        weights[8 * j: 8 * j + 8, j] = 1.0
        jreg[j, 8 * j: 8 * j + 8] = 1.0 / 8
    tris = [(8 * j + a, 8 * j + b, 8 * j + c) for j in range(24) for q in CUBE_FACES
            for a, b, c in ((q[0], q[1], q[2]), (q[0], q[2], q[3]))]
    jreg_offset = rest - jreg @ v  # make the regressed joints land exactly on the skeleton's joints
    v_shift = v + np.repeat(jreg_offset, 8, axis=0)
    np.savez(path, v_template=v_shift, shapedirs=np.zeros((nv, 3, 10)), posedirs=np.zeros((nv, 3, 207)),
             J_regressor=jreg, weights=weights, kintree_table=np.stack([np.r_[-1, np.zeros(23)], np.arange(24)]),
             f=np.array(tris))
    return v_shift


@pytest.mark.timeout(120)
def test_smpl_mesh_follows_smpl_skinning(prefs, tmp_path):
    v_rest = fake_smpl_model(tmp_path / "SMPL_NEUTRAL.npz")
    prefs.smpl_model_file = str(tmp_path / "SMPL_NEUTRAL.npz")
    bpy.context.scene.render.fps = 30
    walk = load_motion(DATA / "cmu_mocap/cgspeed_motionbuilder/02_01.bvh", fps=30)
    write_npz(walk, tmp_path / "walk.npz")
    assert bpy.ops.mrgen.import_motion(filepath=str(tmp_path / "walk.npz")) == {"FINISHED"}
    arm = bpy.context.active_object
    assert bpy.ops.mrgen.smpl_mesh(blocking=True) == {"FINISHED"}
    mesh = bpy.data.objects[arm.name + "_smpl"]
    assert mesh.parent == arm and len(mesh.data.vertices) == 24 * 8 and len(mesh.vertex_groups) == 24
    assert bpy.data.objects[arm.name + "_body"].hide_viewport  # the stand-in body gives way
    # SMPL skinning with these rigid weights: v(t) = P_j(t) + G_j(t) (v_rest - J_j)
    skel = Skeleton.smpl("neutral")
    pos, glob = forward_kinematics(axis_angle_to_matrix(walk.poses), walk.trans + skel.offsets[0], skel.offsets,
                                   PARENTS)
    rest_j = skel.rest_positions()
    owner = np.repeat(np.arange(24), 8)
    worst = 0.0
    for f in (1, 30, 60, walk.num_frames):
        bpy.context.scene.frame_set(f)
        dg = bpy.context.evaluated_depsgraph_get()
        ev = mesh.evaluated_get(dg)
        got = np.array([ev.matrix_world @ v.co for v in ev.data.vertices])
        t = f - 1
        want = pos[t, owner] + np.einsum("vij,vj->vi", glob[t, owner], v_rest - rest_j[owner])
        worst = max(worst, float(np.abs(got - want).max()))
    assert worst < 1e-3, f"mesh {worst * 1000:.3f} mm away from SMPL skinning"


@pytest.mark.timeout(60)
def test_smpl_mesh_errors(prefs, tmp_path):
    arm = addon_module("rig").build_smpl_armature(bpy.context, "SMPL")
    with pytest.raises(RuntimeError, match="set the SMPL model file"):
        bpy.ops.mrgen.smpl_mesh(blocking=True)
    bad = tmp_path / "SMPL_bad.npz"
    np.savez(bad, v_template=np.zeros((3, 3)))
    prefs.smpl_model_file = str(bad)
    with pytest.raises(RuntimeError, match="SMPL_bad.npz: not an SMPL model file: missing"):
        bpy.ops.mrgen.smpl_mesh(blocking=True)
    assert arm.name + "_smpl" not in bpy.data.objects
