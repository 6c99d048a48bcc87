"""mrgen_core.geometry: one forward kinematics (matrices, quaternions, axis-angle; numpy and torch; per-frame offsets;
a joint subset), the smallest rotation between directions (incl. 180 degrees), root integration in numpy and torch,
against straightforward reference loops written here."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mrgen_core import features as feat
from mrgen_core.geometry import (forward_kinematics, forward_kinematics_axis_angle, ground_path, integrate_root,
                                 nearest_rotation, rotate_heading, rotation_between, rz)
from mrgen_core.rotations import axis_angle_to_matrix, axis_angle_to_quat, matrix_to_quat, quat_to_matrix, unit
from mrgen_core.skeleton import OFFSETS, PARENTS, Skeleton

RNG = np.random.default_rng(14)


def _reference_fk(rots: np.ndarray, root: np.ndarray, offsets: np.ndarray, parents) -> tuple[np.ndarray, np.ndarray]:
    """Frame by frame with 4x4 homogeneous transforms: ``G_j = G_parent [R_j | offset_j]``."""
    t, n = rots.shape[:2]
    pos, glob = np.zeros((t, n, 3)), np.zeros((t, n, 3, 3))
    for f in range(t):
        g = [None] * n
        for j in range(n):
            m = np.eye(4)
            m[:3, :3] = rots[f, j]
            off = offsets[f, j] if offsets.ndim == 3 else offsets[j]
            m[:3, 3] = root[f] if j == 0 else off
            g[j] = m if j == 0 else g[parents[j]] @ m
            pos[f, j], glob[f, j] = g[j][:3, 3], g[j][:3, :3]
    return pos, glob


def _poses(t: int = 40, scale: float = 0.7) -> np.ndarray:
    p = RNG.normal(scale=scale, size=(t, 24, 3))
    p[0] = 0.0  # the zero pose and tiny angles (the Taylor branch) are in every batch
    p[1] *= 1e-8
    return p


def test_fk_matches_reference_in_every_form():
    poses, trans = _poses(), RNG.normal(size=(40, 3))
    off = OFFSETS["female"]
    root = trans + off[0]
    mats = axis_angle_to_matrix(poses)
    ref_pos, ref_rot = _reference_fk(mats, root, off, PARENTS)
    pos, rot = forward_kinematics(mats, root, off, PARENTS)
    np.testing.assert_allclose(pos, ref_pos, atol=1e-12)
    np.testing.assert_allclose(rot, ref_rot, atol=1e-12)
    qpos, qrot = forward_kinematics(axis_angle_to_quat(poses), root, off, PARENTS)
    np.testing.assert_allclose(qpos, ref_pos, atol=1e-12)
    np.testing.assert_allclose(quat_to_matrix(qrot), ref_rot, atol=1e-12)
    np.testing.assert_allclose(forward_kinematics_axis_angle(poses, root, off, PARENTS), ref_pos, atol=1e-12)
    np.testing.assert_allclose(Skeleton.smpl("female").fk(poses, trans), ref_pos, atol=1e-12)
    # the axis-angle path is the quaternion path on component rows: the same numbers to the bit
    np.testing.assert_array_equal(forward_kinematics_axis_angle(poses, root, off, PARENTS), qpos)


@pytest.mark.parametrize("form", ["matrix", "quat", "axis_angle"])
def test_fk_numpy_and_torch_agree_and_torch_has_gradients(form):
    poses, root = _poses(2 * 5), RNG.normal(size=(2, 5, 3))
    poses = poses.reshape(2, 5, 24, 3)
    convert = {"matrix": axis_angle_to_matrix, "quat": axis_angle_to_quat, "axis_angle": lambda a: a}[form]
    run = (lambda r, x: forward_kinematics_axis_angle(r, x, OFFSETS["male"], PARENTS)) if form == "axis_angle" \
        else (lambda r, x: forward_kinematics(r, x, OFFSETS["male"], PARENTS)[0])
    want = run(convert(poses), root)
    assert want.shape == (2, 5, 24, 3)
    tp = torch.tensor(poses, requires_grad=True)
    got = run(convert(tp), torch.tensor(root))
    np.testing.assert_allclose(got.detach().numpy(), want, atol=1e-12)
    got[..., 10, :].sum().backward()  # the left toe hangs on the pelvis, hip, knee and ankle
    moved = tp.grad.abs().sum(dim=(0, 1, 3)).numpy() > 0
    assert moved[[0, 1, 4, 7]].all() and not moved[[2, 5, 8, 11, 12, 15, 23]].any()


def test_fk_float32_tensors_and_broadcast_root():
    poses = _poses(8)
    tp = torch.tensor(poses, dtype=torch.float32)
    got = forward_kinematics(axis_angle_to_matrix(tp), torch.zeros(3), torch.tensor(OFFSETS["neutral"]), PARENTS)[0]
    assert got.dtype == torch.float32
    want = forward_kinematics(axis_angle_to_matrix(poses), np.zeros(3), OFFSETS["neutral"], PARENTS)[0]
    np.testing.assert_allclose(got.numpy(), want, atol=1e-5)


def test_fk_per_frame_offsets_like_bvh_position_channels():
    t, n = 12, 6
    parents = np.array([-1, 0, 1, 2, 1, 4])
    offsets = RNG.normal(size=(t, n, 3))  # every joint translated per frame
    rots = axis_angle_to_matrix(RNG.normal(size=(t, n, 3)))
    ref_pos, ref_rot = _reference_fk(rots, offsets[:, 0], offsets, parents)
    pos, rot = forward_kinematics(rots, offsets[:, 0], offsets, parents)
    np.testing.assert_allclose(pos, ref_pos, atol=1e-12)
    np.testing.assert_allclose(rot, ref_rot, atol=1e-12)
    qpos, _ = forward_kinematics(matrix_to_quat(rots), offsets[:, 0], offsets, parents)
    np.testing.assert_allclose(qpos, ref_pos, atol=1e-12)


def test_fk_on_a_joint_subset_equals_the_full_chain():
    legs = (0, 1, 4, 7, 10, 2, 5, 8, 11)
    mats, root = axis_angle_to_matrix(_poses(10)), RNG.normal(size=(10, 3))
    full, full_rot = forward_kinematics(mats, root, OFFSETS["neutral"], PARENTS)
    part, part_rot = forward_kinematics(mats[:, list(legs)], root, OFFSETS["neutral"], PARENTS, joints=legs)
    np.testing.assert_array_equal(part, full[:, list(legs)])
    np.testing.assert_array_equal(part_rot, full_rot[:, list(legs)])
    with pytest.raises(ValueError, match="must come before"):
        forward_kinematics(mats[:, [0, 4, 1]], root, OFFSETS["neutral"], PARENTS, joints=(0, 4, 1))
    with pytest.raises(ValueError, match="local rotations must be"):
        forward_kinematics(np.zeros((3, 24, 5)), root[:3], OFFSETS["neutral"], PARENTS)


def test_rest_pose_is_the_summed_offsets():
    off = OFFSETS["male"]
    summed = np.zeros((24, 3))
    summed[0] = off[0]
    for j in range(1, 24):
        summed[j] = summed[PARENTS[j]] + off[j]
    np.testing.assert_array_equal(Skeleton(off).rest_positions(), summed)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_rotation_between_general_identical_and_opposite(backend):
    a = unit(RNG.normal(size=(500, 3)))
    b = unit(RNG.normal(size=(500, 3)))
    b[:5] = a[:5]  # identical
    b[5:10] = -a[5:10]  # opposite
    a[10], b[10] = [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]  # opposite along the axis the perpendicular is first taken from
    a[11], b[11] = [0.0, 0.0, 1.0], [0.0, 0.0, -1.0]
    r = rotation_between(*((torch.tensor(a), torch.tensor(b)) if backend == "torch" else (a, b)))
    r = r.numpy() if backend == "torch" else r
    np.testing.assert_allclose(np.einsum("nij,nj->ni", r, a), b, atol=1e-12)
    np.testing.assert_allclose(r @ np.swapaxes(r, -1, -2), np.broadcast_to(np.eye(3), r.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-12)
    np.testing.assert_allclose(r[:5], np.broadcast_to(np.eye(3), (5, 3, 3)), atol=1e-15)
    # smallest: it turns by exactly the angle between the directions, about their common normal
    angle = np.linalg.norm(Rotation.from_matrix(r).as_rotvec(), axis=-1)
    np.testing.assert_allclose(angle, np.arccos(np.clip(np.sum(a * b, axis=-1), -1, 1)), atol=1e-7)
    # one direction against many
    np.testing.assert_array_equal(rotation_between(a[12], b[12:20]),
                                  rotation_between(np.broadcast_to(a[12], (8, 3)), b[12:20]))


def test_nearest_rotation_of_scaled_and_mirrored_matrices():
    r = Rotation.random(random_state=1).as_matrix()
    np.testing.assert_allclose(nearest_rotation(2.5 * r), r, atol=1e-12)
    mirrored = nearest_rotation(r @ np.diag([1.0, 1.0, -1.0]))
    np.testing.assert_allclose(np.linalg.det(mirrored), 1.0, atol=1e-12)
    np.testing.assert_allclose(mirrored @ mirrored.T, np.eye(3), atol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_rz_and_rotate_heading(backend):
    yaw = RNG.uniform(-4, 4, size=(7, 3))
    arg = torch.tensor(yaw) if backend == "torch" else yaw
    m = rz(arg)
    m = m.numpy() if backend == "torch" else m
    np.testing.assert_allclose(m, axis_angle_to_matrix(yaw[..., None] * np.array([0.0, 0.0, 1.0])), atol=1e-12)
    v = RNG.normal(size=(7, 3, 2))
    np.testing.assert_allclose(rotate_heading(yaw, v), np.einsum("...ij,...j->...i", m[..., :2, :2], v), atol=1e-12)
    np.testing.assert_allclose(rotate_heading(-yaw, rotate_heading(yaw, v)), v, atol=1e-12)
    assert rz(0.5).shape == (3, 3)


def _reference_integration(vel, yaw_rate, fps, x0, y0, h0):
    t = len(vel)
    xy, yaw = np.zeros((t, 2)), np.zeros(t)
    xy[0], yaw[0] = (x0, y0), h0
    for i in range(1, t):
        c, s = np.cos(yaw[i - 1]), np.sin(yaw[i - 1])
        xy[i] = xy[i - 1] + np.array([[c, -s], [s, c]]) @ vel[i - 1] / fps
        yaw[i] = yaw[i - 1] + yaw_rate[i - 1] / fps
    return xy, yaw


def test_root_integration_numpy_torch_and_reference():
    t, fps = 90, 30.0
    vel, yaw_rate = RNG.normal(size=(3, t, 2)), RNG.normal(size=(3, t))
    xy, yaw = integrate_root(vel, yaw_rate, fps, (0.5, -1.0), 0.3)
    for k in range(3):
        ref_xy, ref_yaw = _reference_integration(vel[k], yaw_rate[k], fps, 0.5, -1.0, 0.3)
        np.testing.assert_allclose(xy[k], ref_xy, atol=1e-12)
        np.testing.assert_allclose(yaw[k], ref_yaw, atol=1e-12)
    txy, tyaw = integrate_root(torch.tensor(vel), torch.tensor(yaw_rate), fps, (0.5, -1.0), 0.3)
    np.testing.assert_allclose(txy.numpy(), xy, atol=1e-12)
    np.testing.assert_allclose(tyaw.numpy(), yaw, atol=1e-12)
    np.testing.assert_array_equal(ground_path(vel, yaw, fps, (0.5, -1.0)), xy)
    # without a start: from the origin, facing -Y (heading 0)
    xy0, yaw0 = integrate_root(vel, yaw_rate, fps)
    np.testing.assert_array_equal(xy0[:, 0], 0.0)
    np.testing.assert_array_equal(yaw0[:, 0], 0.0)


def test_feature_root_integration_numpy_and_torch():
    f = RNG.normal(size=(2, 50, feat.NUM_FEATURES))
    pos, yaw = feat.integrate_root(f[0], 30.0, feat.Start(1.0, 2.0, 0.5))
    assert pos.shape == (50, 3) and yaw.shape == (50,)
    np.testing.assert_array_equal(pos[:, 2], f[0, :, feat.HEIGHT])
    np.testing.assert_array_equal(pos[0, :2], [1.0, 2.0])
    tpos, tyaw = feat.integrate_root(torch.tensor(f), 30.0, start=None)
    npos, nyaw = feat.integrate_root(f, 30.0)
    np.testing.assert_allclose(tpos.numpy(), npos, atol=1e-12)
    np.testing.assert_allclose(tyaw.numpy(), nyaw, atol=1e-12)
