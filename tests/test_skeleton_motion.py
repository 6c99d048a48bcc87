"""The SMPL skeleton (names, offsets, FK in numpy and torch) and the Motion container (validation, resampling)."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mrgen_core import JOINT_NAMES, PARENTS, Motion, Skeleton
from mrgen_core.errors import MotionFormatError, MrgenError
from mrgen_core.geometry import forward_kinematics
from mrgen_core.rotations import axis_angle_to_matrix
from mrgen_core.skeleton import OFFSETS, Y_UP_TO_Z_UP


def test_import_does_not_pull_torch():
    import subprocess

    code = "import mrgen_core, mrgen_core.motion, mrgen_core.contacts, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_names_and_parents_follow_smplx():
    assert len(JOINT_NAMES) == 24 and JOINT_NAMES[0] == "pelvis" and JOINT_NAMES[23] == "right_hand"
    assert JOINT_NAMES[16] == "left_shoulder" and JOINT_NAMES[13] == "left_collar"
    assert all(PARENTS[j] < j for j in range(1, 24)) and PARENTS[0] == -1


@pytest.mark.parametrize("gender,pelvis,head_to_toe", [("neutral", -0.22333345, 1.496), ("male", -0.24078917, 1.575),
                                                      ("female", -0.21141872, 1.442)])
def test_rest_pose_matches_reference(gender, pelvis, head_to_toe):
    rest = Skeleton.smpl(gender).rest_positions()
    assert rest[0, 1] == pytest.approx(pelvis)
    # head-joint to toe-joint height from shared/docs/smpl_skeleton.md ("key proportions")
    assert rest[15, 1] - min(rest[10, 1], rest[11, 1]) == pytest.approx(head_to_toe, abs=2e-3)
    assert rest[1, 0] > 0 > rest[2, 0]  # subject's left is +X
    assert rest[10, 2] > rest[7, 2]  # toes point +Z


def test_unknown_gender_is_a_clear_error():
    with pytest.raises(MrgenError, match="unknown gender"):
        Skeleton.smpl("robot")


def test_fk_agrees_with_scipy_chain_and_torch():
    rng = np.random.default_rng(3)
    poses = rng.normal(scale=0.4, size=(50, 24, 3))
    trans = rng.normal(size=(50, 3))
    sk = Skeleton.smpl("male")
    pos = sk.fk(poses, trans)
    # independent chain with scipy rotations
    ref = np.zeros_like(pos)
    for t in range(50):
        glob = [None] * 24
        for j in range(24):
            r = Rotation.from_rotvec(poses[t, j])
            if j == 0:
                glob[0], ref[t, 0] = r, trans[t] + OFFSETS["male"][0]
            else:
                p = PARENTS[j]
                ref[t, j] = ref[t, p] + glob[p].apply(OFFSETS["male"][j])
                glob[j] = glob[p] * r
    np.testing.assert_allclose(pos, ref, atol=1e-12)
    np.testing.assert_allclose(sk.fk(torch.tensor(poses), torch.tensor(trans)).numpy(), ref, atol=1e-12)
    mpos, mrot = forward_kinematics(axis_angle_to_matrix(poses), trans + sk.offsets[0], sk.offsets, PARENTS)
    np.testing.assert_allclose(mpos, ref, atol=1e-12)
    assert mrot.shape == (50, 24, 3, 3)


def test_fk_preserves_bone_lengths_and_is_batched():
    rng = np.random.default_rng(4)
    poses = rng.normal(scale=1.0, size=(2, 3, 24, 3))
    pos = Skeleton.smpl().fk(poses, np.zeros((2, 3, 3)))
    assert pos.shape == (2, 3, 24, 3)
    lengths = np.linalg.norm(pos[..., 1:, :] - pos[..., PARENTS[1:], :], axis=-1)
    np.testing.assert_allclose(lengths, np.broadcast_to(Skeleton.smpl().bone_lengths()[1:], lengths.shape), atol=1e-12)


def test_y_up_to_z_up_fold():
    poses = np.zeros((1, 24, 3))
    poses[0, 0] = Rotation.from_matrix(Y_UP_TO_Z_UP).as_rotvec()
    pos = Skeleton.smpl().fk(poses, np.zeros((1, 3)))[0]
    assert pos[15, 2] > pos[0, 2] > pos[10, 2]  # head above pelvis above toes: Z is up
    assert pos[10, 1] < pos[7, 1]  # toes ahead of ankles along -Y: the body faces -Y


def _motion(t=100, fps=120.0, seed=0) -> Motion:
    rng = np.random.default_rng(seed)
    # smooth motion like mocap: random sinusoids of 0.2-1.2 Hz per joint axis, amplitudes up to 0.6 rad
    time = np.arange(t)[:, None, None] / fps
    freq, phase = rng.uniform(0.2, 1.2, size=(24, 3)), rng.uniform(0, 2 * np.pi, size=(24, 3))
    poses = rng.uniform(0.1, 0.6, size=(24, 3)) * np.sin(2 * np.pi * freq * time + phase)
    trans = np.stack([np.linspace(0, 3, t), 0.1 * np.sin(np.arange(t) / fps * 4), np.full(t, 0.9)], axis=-1)
    return Motion(poses, trans, fps, labels=np.zeros(t, int), vocab=("walk",), name="x", source="x.npz")


def test_motion_validation_names_the_source():
    m = _motion()
    bad = m.poses.copy()
    bad[3, 4, 1] = np.nan
    with pytest.raises(MotionFormatError, match=r"x\.npz: poses contains NaN"):
        Motion(bad, m.trans, 30, source="x.npz")
    with pytest.raises(MotionFormatError, match="shape"):
        Motion(np.zeros((10, 23, 3)), np.zeros((10, 3)), 30)
    with pytest.raises(MotionFormatError, match="fps"):
        Motion(m.poses, m.trans, 0)
    with pytest.raises(MotionFormatError, match="vocabulary"):
        Motion(m.poses, m.trans, 30, labels=np.ones(len(m), int), vocab=("walk",))


def test_resample_by_time_keeps_duration_and_speed():
    m = _motion(t=241, fps=120.0)
    r = m.resample(30.0)
    assert r.fps == 30.0 and len(r) == 61  # 2 s at 30 fps, frame times 0..2 s
    # frame k of the 30 fps motion is frame 4k of the source (exact, no interpolation needed)
    np.testing.assert_allclose(r.joints(), m.joints()[::4], atol=1e-9)
    # non-integer ratio: 120 -> 50 fps, frame 5 lies at source frame 12 exactly
    f = m.resample(50.0)
    np.testing.assert_allclose(f.joints()[5], m.joints()[12], atol=1e-9)
    assert f.labels is not None and len(f.labels) == len(f)


def test_resample_round_trip_is_close():
    m = _motion(t=600, fps=120.0)
    back = m.resample(30).resample(120)
    n = len(back)
    err = np.linalg.norm(back.joints() - m.joints()[:n], axis=-1)
    assert err.max() < 0.01


def test_copy_and_slice_are_independent():
    m = _motion()
    c = m.slice(10, 20)
    c.poses[:] = 0
    assert len(c) == 10 and np.abs(m.poses[10:20]).sum() > 0
    assert m.label_names()[0] == "walk"


def test_resample_to_a_given_frame_count():
    """24 -> 30 -> 24 fps loses a frame by time alone; ``num_frames`` keeps the source's length (Blend)."""
    rng = np.random.default_rng(0)
    m = Motion(rng.normal(0, 0.2, (240, 24, 3)), rng.normal(0, 0.1, (240, 3)), 24.0)
    back = m.resample(30).resample(24)
    assert back.num_frames == 239
    m30 = m.resample(30)
    exact = m30.resample(24, num_frames=240)
    assert exact.num_frames == 240 and exact.fps == 24.0
    np.testing.assert_allclose(exact.trans[:239], back.trans, atol=1e-9)
    np.testing.assert_allclose(exact.trans[-1], m30.trans[-1], atol=1e-9)  # past the end: the last frame held
    assert m.resample(24, num_frames=10).num_frames == 10
