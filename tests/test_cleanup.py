"""Foot cleanup: planted feet stop sliding, only the legs change, nothing pops, out-of-reach targets stay finite."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import data_path
from mrgen_core.cleanup import LEGS, MAX_PIN, MAX_STANCE_SPEED, _exact_reach, _two_bone_ik, cleanup_feet
from mrgen_core.contacts import foot_contacts, joint_speed
from mrgen_core.errors import MrgenError
from mrgen_core.metrics import foot_skating_joints, jitter_joints
from mrgen_core.motion import Motion
from mrgen_core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mrgen_core.geometry import forward_kinematics
from mrgen_core.skeleton import FOOT_JOINTS, PARENTS

FPS = 30.0
LEG_JOINTS = [1, 2, 4, 5, 7, 8]


def march(seconds: float = 5.0, drift: float = 0.05, fps: float = FPS) -> Motion:
    """Marching in place (knees slightly bent in stance) while the root wanders horizontally by up to ``drift`` m,
    so every planted foot slides with the root (up to about 10 cm/s per 5 cm of drift) - as a generator's output can.
    """
    t = np.arange(int(seconds * fps)) / fps
    poses = np.zeros((len(t), 24, 3))
    poses[:, 0, 0] = np.pi / 2  # Y-up template -> Z-up world
    phase = 2 * np.pi * 0.8 * t
    for (hip, knee, ankle, _), lift in zip(LEGS, (np.sin(phase), -np.sin(phase))):
        a = 0.7 * np.clip(lift, 0, None) ** 2
        poses[:, hip, 0] = -a - 0.15
        poses[:, knee, 0] = 1.6 * a + 0.3
        poses[:, ankle, 0] = -0.4 * a - 0.15
    poses[:, 16, 2], poses[:, 17, 2] = -1.2, 1.2  # arms down
    trans = np.zeros((len(t), 3))
    lowest = Motion(poses[:1], trans[:1], fps).joints()[0, list(FOOT_JOINTS), 2].min()
    trans[:, 2] = 0.02 - lowest
    trans[:, 0] = drift * np.sin(2 * np.pi * 0.3 * t)
    trans[:, 1] = 0.5 * drift * np.sin(2 * np.pi * 0.21 * t)
    return Motion(poses, trans, fps, name="march")


def acceleration(joints: np.ndarray, fps: float) -> np.ndarray:
    """(T - 2, J) joint acceleration magnitudes (m/s^2): the jitter metric is their mean, a pop shows in their peak."""
    return np.linalg.norm(joints[2:] - 2 * joints[1:-1] + joints[:-2], axis=-1) * fps * fps


def test_planted_feet_stop_sliding():
    m = march(drift=0.05)
    before = m.joints()
    contacts = foot_contacts(before, m.fps)
    assert contacts.mean() > 0.5  # the walk is planted most of the time
    after = cleanup_feet(m).joints()
    inner = contacts > 0.5
    inner[1:-1] &= inner[:-2] & inner[2:]  # contact frames whose neighbours are contacts too
    inner[[0, -1]] = False
    assert foot_skating_joints(before, m.fps, inner) > 5.0  # it really slid
    assert foot_skating_joints(after, m.fps, inner) < 0.2
    speed = joint_speed(after[:, list(FOOT_JOINTS), :2], m.fps)[inner] * 100.0  # horizontal foot speed, cm/s
    assert np.percentile(speed, 99) < 1.0, speed.max()


@pytest.mark.parametrize("drift", [0.02, 0.05, 0.1])
def test_skating_halved_without_raising_jitter_by_10_percent(drift):
    m = march(drift=drift)
    before = m.joints()
    after = cleanup_feet(m).joints()
    s0, s1 = foot_skating_joints(before, m.fps), foot_skating_joints(after, m.fps)
    j0, j1 = jitter_joints(before, m.fps), jitter_joints(after, m.fps)
    assert s1 < 0.5 * s0, (s0, s1)
    assert j1 < 1.10 * j0, (j0, j1)


def test_only_leg_rotations_change_and_only_near_contacts():
    m = march(drift=0.05)
    contacts = foot_contacts(m.joints(), m.fps)
    b = 5
    out = cleanup_feet(m, contacts, blend_frames=b, fill_gaps=0)
    assert out is not m and out.poses is not m.poses
    np.testing.assert_array_equal(out.trans, m.trans)
    others = [j for j in range(24) if j not in LEG_JOINTS]
    np.testing.assert_array_equal(out.poses[:, others], m.poses[:, others])
    assert np.abs(out.poses - m.poses).max() > 0.01  # it did something
    frames = np.arange(len(m))
    for side, (hip, knee, ankle, _) in enumerate(LEGS):
        planted = np.flatnonzero(contacts[:, 2 * side: 2 * side + 2].max(axis=1) > 0.5)
        dist = np.abs(frames[:, None] - planted[None]).min(axis=1)
        far = dist > b
        assert far.sum() > 10
        np.testing.assert_array_equal(out.poses[far][:, [hip, knee, ankle]], m.poses[far][:, [hip, knee, ankle]])


def test_bone_lengths_are_kept():
    m = march(drift=0.1)
    out = cleanup_feet(m).joints()
    before = m.joints()
    bones = lambda j: np.linalg.norm(j[:, 1:] - j[:, PARENTS[1:]], axis=-1)  # noqa: E731
    np.testing.assert_allclose(bones(out), bones(before), atol=1e-9)


def test_blending_avoids_pops():
    """The correction fades in and out: leg accelerations stay near the input's, unlike a hard (1-frame) switch."""
    m = march(drift=0.08)
    before = m.joints()
    smooth = cleanup_feet(m).joints()
    hard = cleanup_feet(m, blend_frames=1).joints()
    legs = [4, 5, 7, 8, 10, 11]
    a0, a_smooth, a_hard = (acceleration(j, m.fps)[:, legs].max() for j in (before, smooth, hard))
    assert a_smooth < 1.25 * a0, (a0, a_smooth)
    assert a_hard > a_smooth * 1.1, (a_hard, a_smooth)
    # frame-to-frame change of the edited joint rotations stays within 1.5x the input's largest step
    out = cleanup_feet(m)
    step = lambda p: np.linalg.norm(np.diff(p[:, LEG_JOINTS], axis=0), axis=-1).max()  # noqa: E731
    assert step(out.poses) < 1.5 * step(m.poses)


def test_out_of_reach_targets_give_no_nan():
    """Feet held planted while the body flies up and away: the legs straighten (clamped), nothing is NaN."""
    m = march(seconds=2.0, drift=0.0)
    t = np.arange(len(m)) / m.fps
    m.trans[:, 2] += 0.6 * t  # rises 1.2 m
    m.trans[:, 0] += 0.2 * t  # and moves 0.4 m: the feet stay within MAX_PIN of their place, so they are pinned
    out = cleanup_feet(m, contacts=np.ones((len(m), 4)))
    assert np.all(np.isfinite(out.poses))
    j = out.joints()
    assert np.all(np.isfinite(j))
    for hip, knee, ankle, _ in LEGS:
        reach = np.linalg.norm(j[:, ankle] - j[:, hip], axis=-1)
        full = np.linalg.norm(j[:, knee] - j[:, hip], axis=-1) + np.linalg.norm(j[:, ankle] - j[:, knee], axis=-1)
        assert np.all(reach <= full + 1e-9)
        assert reach[-1] > 0.97 * full[-1]  # stretched out towards the unreachable floor (the hinge is skewed)
        assert np.abs(np.diff(out.poses[:, knee], axis=0)).max() < 0.2  # eased into extension, no knee pop


def test_a_contact_run_that_travels_is_cut_to_its_stance():
    """A foot flagged planted while the body walks 2 m on (a mispredicted contact) is pinned only round its slowest
    frame, within MAX_PIN of that stance: pinning the whole run would drag the leg towards a place a metre behind.
    The same flags over a short stretch are pinned whole."""
    m = march(seconds=2.0, drift=0.0)
    t = np.arange(len(m)) / m.fps
    m.trans[:, 0] += 1.0 * t
    out = cleanup_feet(m, contacts=np.ones((len(m), 4)))
    moved = np.linalg.norm(out.joints()[:, list(FOOT_JOINTS), :2] - m.joints()[:, list(FOOT_JOINTS), :2], axis=-1)
    assert 0.05 < moved.max() <= MAX_PIN + 0.02  # some stretch pinned, no foot dragged further than MAX_PIN
    still = joint_speed(out.joints()[:, list(FOOT_JOINTS)], m.fps) < 0.05
    assert still.any(axis=1).sum() >= 10  # a stance of a third of a second or more, where it was 1 m/s
    assert (moved < 1e-9).any(axis=1).sum() > 0.1 * len(m)  # and the rest of the run left as generated
    short = np.zeros((len(m), 4))
    short[10:16] = 1.0  # 0.2 s: the feet travel 20 cm, within MAX_PIN (0.3 m) of their place
    out = cleanup_feet(m, contacts=short)
    assert np.abs(out.poses[10:16, LEG_JOINTS] - m.poses[10:16, LEG_JOINTS]).max() > 0.05
    feet = out.joints()[10:16, list(FOOT_JOINTS)]
    assert np.abs(feet[:, :, 0] - feet[:, :, 0].mean(axis=0)).max() < 0.01  # pinned


def test_a_contact_run_that_never_slows_down_is_not_pinned():
    """A foot flagged planted while it slides on at 2.5 m/s throughout (a mispredicted contact) is left as generated,
    a long run and a short one alike: pinning any stretch of it would hold the foot back and hand it back in a fast
    swing. The same flags at 1.2 m/s (a foot that slows to a stance speed) are still pinned."""
    m = march(seconds=2.0, drift=0.0)
    t = np.arange(len(m)) / m.fps
    fast = m.copy()
    fast.trans[:, 0] += 2.5 * t
    assert joint_speed(fast.joints()[:, list(FOOT_JOINTS), :2], m.fps).min() > MAX_STANCE_SPEED
    short = np.zeros((len(m), 4))
    short[10:16] = 1.0  # 0.2 s, 0.5 m of travel: within MAX_PIN of its place, so only its speed gives it away
    for flags in (np.ones((len(m), 4)), short):
        np.testing.assert_array_equal(cleanup_feet(fast, contacts=flags).poses, fast.poses)
    slower = m.copy()
    slower.trans[:, 0] += 1.2 * t
    out = cleanup_feet(slower, contacts=short)
    feet = out.joints()[10:16, list(FOOT_JOINTS)]
    assert np.abs(feet[:, :, 0] - feet[:, :, 0].mean(axis=0)).max() < 0.01  # pinned


def test_contacts_default_and_soft_probabilities():
    m = march(drift=0.05)
    flags = foot_contacts(m.joints(), m.fps)
    default = cleanup_feet(m)
    np.testing.assert_array_equal(default.poses, cleanup_feet(m, flags).poses)
    rng = np.random.default_rng(0)
    probs = np.clip(flags * 0.8 + 0.1 + rng.uniform(-0.05, 0.05, flags.shape), 0, 1)  # a model's soft output
    np.testing.assert_allclose(cleanup_feet(m, probs).poses, default.poses, atol=1e-12)
    none = cleanup_feet(m, np.zeros_like(flags))
    np.testing.assert_array_equal(none.poses, m.poses)


def test_bad_contacts_and_tiny_motions():
    m = march(seconds=1.0)
    with pytest.raises(MrgenError, match="contacts must have shape"):
        cleanup_feet(m, np.ones((len(m), 2)))
    with pytest.raises(MrgenError, match="blend_frames"):
        cleanup_feet(m, blend_frames=0)
    one = m.slice(0, 1)
    np.testing.assert_array_equal(cleanup_feet(one).poses, one.poses)


def test_two_bone_ik_reaches_and_keeps_the_knee_hinge():
    rng = np.random.default_rng(3)
    n = 200
    poses = np.zeros((n, 24, 3))
    poses[:, 0] = rng.normal(0, 0.5, (n, 3))
    poses[:, 1] = rng.normal(0, 0.4, (n, 3))
    poses[:, 4, 0] = rng.uniform(0.1, 1.5, n)  # bent knees
    m = Motion(poses, np.zeros((n, 3)), FPS)
    local = axis_angle_to_matrix(m.poses[:, :12])
    pos, glob = forward_kinematics(local, m.trans + m.skeleton.offsets[0], m.skeleton.offsets[:12], PARENTS[:12])
    hip, knee, ankle = pos[:, 1], pos[:, 4], pos[:, 7]
    target = ankle + rng.normal(0, 0.08, (n, 3))
    l1 = np.linalg.norm(knee - hip, axis=-1)
    l2 = np.linalg.norm(ankle - knee, axis=-1)
    reach = np.linalg.norm(target - hip, axis=-1)
    ok = (reach < _exact_reach(hip, knee, ankle) - 1e-3) & (reach > np.abs(l1 - l2) + 0.02)
    assert ok.mean() > 0.5
    g_hip, g_knee = _two_bone_ik(hip, knee, ankle, glob[:, 1], glob[:, 4], target)
    new_knee = hip + np.einsum("nij,j->ni", g_hip, m.skeleton.offsets[4])
    new_ankle = new_knee + np.einsum("nij,j->ni", g_knee, m.skeleton.offsets[7])
    np.testing.assert_allclose(new_ankle[ok], target[ok], atol=1e-6)
    # the knee's local rotation changes only about its own x axis (its hinge): the bend plane is kept
    old_local = np.swapaxes(glob[:, 1], -1, -2) @ glob[:, 4]
    new_local = np.swapaxes(g_hip, -1, -2) @ g_knee
    change = matrix_to_axis_angle(np.swapaxes(old_local, -1, -2) @ new_local)
    np.testing.assert_allclose(change[:, 1:], 0, atol=1e-7)
    # and the knee ends up flexed (positive x), never flipped backwards
    assert np.all(matrix_to_axis_angle(new_local)[ok, 0] > 0)


def _leg(knee_bend: np.ndarray) -> tuple[np.ndarray, ...]:
    """Hip, knee, ankle positions and the hip's and knee's global rotations of a standing left leg whose knee bends
    by ``knee_bend`` (radians about SMPL's knee x axis; negative = backwards)."""
    n = len(knee_bend)
    poses = np.zeros((n, 24, 3))
    poses[:, 0, 0] = np.pi / 2
    poses[:, 4, 0] = knee_bend
    m = Motion(poses, np.zeros((n, 3)), FPS)
    local = axis_angle_to_matrix(m.poses[:, :12])
    pos, glob = forward_kinematics(local, m.trans + m.skeleton.offsets[0], m.skeleton.offsets[:12], PARENTS[:12])
    return pos[:, 1], pos[:, 4], pos[:, 7], glob[:, 1], glob[:, 4], m.skeleton.offsets


def _knee_after(hip, g_hip, offsets):
    return hip + np.einsum("nij,j->ni", g_hip, offsets[4])


def test_two_bone_ik_flexes_a_knee_bent_backwards():
    """A planted foot pulled towards the hip of a leg whose knee bends backwards (as generated legs can) flexes the
    knee forwards; bending it further back moved the knee 20 cm and made it the fastest joint (7 m/s)."""
    hip, knee, ankle, g_hip, g_knee, offsets = _leg(np.full(5, -0.15))
    target = ankle + (hip - ankle) * 0.08  # about 6 cm closer to the hip
    g_hip2, g_knee2 = _two_bone_ik(hip, knee, ankle, g_hip, g_knee, target)
    new_local = np.swapaxes(g_hip2, -1, -2) @ g_knee2
    assert np.all(matrix_to_axis_angle(new_local)[:, 0] > 0.2)  # flexed forwards, clearly
    new_knee = _knee_after(hip, g_hip2, offsets)
    new_ankle = new_knee + np.einsum("nij,j->ni", g_knee2, offsets[7])
    np.testing.assert_allclose(new_ankle, target, atol=1e-6)


def test_two_bone_ik_is_continuous_where_a_backward_knee_straightens():
    """The knee sweeps from bent backwards to flexed while the pinning fades in: the knee never jumps, and where the
    weight is 0 the leg keeps its own pose."""
    n = 90
    bend = np.linspace(-0.25, 0.25, n)
    hip, knee, ankle, g_hip, g_knee, offsets = _leg(bend)
    x = np.clip(np.linspace(-0.2, 1.2, n), 0, 1)
    weight = x * x * (3 - 2 * x)
    target = ankle + (hip - ankle) * (0.06 * weight)[:, None]
    g_hip2, g_knee2 = _two_bone_ik(hip, knee, ankle, g_hip, g_knee, target, weight)
    new_knee = _knee_after(hip, g_hip2, offsets)
    step = np.linalg.norm(np.diff(new_knee, axis=0), axis=-1)
    assert step.max() < 0.01  # 0.3 m/s at most (the raw knee stays put: only the shin swings)
    np.testing.assert_allclose(new_knee[weight == 0], knee[weight == 0], atol=1e-9)


@pytest.mark.parametrize("clip", ["cmu_mocap/cgspeed_motionbuilder/02_01.bvh",
                                  "bandai_namco_motion/dataset-1/dataset-1_walk_normal_001.bvh"])
def test_real_walk_with_added_sliding(clip):
    """Issue 5's target on real walks: skating at least halved, jitter up by less than 10 %. Mocap barely slides,
    so the root is made to wander by up to 5 cm (as a generated root that does not match its steps)."""
    from mrgen_core.retarget import bvh_to_motion

    m = bvh_to_motion(data_path(clip), fps=FPS)
    t = np.arange(len(m)) / m.fps
    trans = m.trans.copy()
    trans[:, 0] += 0.05 * np.sin(2 * np.pi * 0.35 * t)
    trans[:, 1] += 0.05 * np.sin(2 * np.pi * 0.23 * t + 1.0)
    for motion, max_ratio in ((m, 0.75), (m.copy(trans=trans), 0.5)):
        before = motion.joints()
        after = cleanup_feet(motion).joints()
        s0, s1 = foot_skating_joints(before, FPS), foot_skating_joints(after, FPS)
        j0, j1 = jitter_joints(before, FPS), jitter_joints(after, FPS)
        assert s1 < max_ratio * s0, (s0, s1)
        assert j1 < 1.10 * j0, (j0, j1)


def test_toes_below_the_floor_are_raised_onto_it():
    """A march lowered 4 cm dips its toes under the floor: after the cleanup no toe is below it (the foot pitched
    about the ankle) and the feet keep their length."""
    m = march(drift=0.0)
    m = m.copy(trans=m.trans - [0.0, 0.0, 0.04])
    before = m.joints()
    toes = [FOOT_JOINTS[1], FOOT_JOINTS[3]]
    assert before[:, toes, 2].min() < -0.01
    after = cleanup_feet(m).joints()
    assert after[:, toes, 2].min() > -1e-6
    ankles = [FOOT_JOINTS[0], FOOT_JOINTS[2]]
    lifted = np.flatnonzero(before[:, toes, 2].min(axis=1) < -0.005)
    assert len(lifted) > 10
    foot = np.linalg.norm(after[:, toes] - after[:, ankles], axis=-1)
    np.testing.assert_allclose(foot, np.linalg.norm(before[:, toes] - before[:, ankles], axis=-1), atol=1e-9)


def test_a_foot_swinging_through_the_floor_does_not_flip():
    """A low ankle (5 cm) whose foot pitches from toe-back through straight down to toe-forward, the toe under the
    floor all the way: raising the toe by the smallest turn would flip the foot from behind the ankle to in front of
    it in one frame (a 25 cm jump). The toe moves at most 4x as far per frame as it did, and is raised onto the floor
    where the foot is well away from vertical."""
    from mrgen_core.cleanup import _toes_above_floor
    from mrgen_core.rotations import unit

    n = 61
    lateral = unit(np.cross(Motion(np.zeros((1, 24, 3)), np.zeros((1, 3)), FPS).skeleton.offsets[10], [0, 1.0, 0]))
    poses = np.zeros((n, 24, 3))
    poses[:, 0, 0] = np.pi / 2
    poses[:, 7] = np.linspace(-2.6, -0.3, n)[:, None] * lateral  # left foot: back, down, forward (pitch only)
    m = Motion(poses, np.zeros((n, 3)), FPS)
    m = m.copy(trans=np.c_[np.zeros((n, 2)), 0.05 - m.joints()[:, 7, 2]])
    before = m.joints()
    foot = before[:, 10] - before[:, 7]
    assert before[8:, 10, 2].max() < 0 and (foot[0] @ foot[-1]) < 0  # under the floor, from behind to in front
    after = _toes_above_floor(m).joints()
    step = lambda j: np.linalg.norm(np.diff(j[:, 10], axis=0), axis=-1)  # noqa: E731
    assert step(after).max() < 4 * step(before).max(), (step(after).max(), step(before).max())
    level = (np.linalg.norm(foot[:, :2], axis=-1) / np.linalg.norm(foot, axis=-1) >= 0.6) & (before[:, 10, 2] < 0)
    assert level.sum() > 10
    assert after[:, 10, 2].min() > before[:, 10, 2].min() - 1e-9  # never pushed deeper
    assert np.abs(after[level, 10, 2]).max() < 1e-6
    np.testing.assert_allclose(np.linalg.norm(after[:, 10] - after[:, 7], axis=-1), np.linalg.norm(foot, axis=-1),
                               atol=1e-9)


def test_a_planted_toe_nearer_than_the_foot_length_is_not_pushed_under_the_floor():
    """The toe flagged planted throughout and the ankle in two runs while the body slides 25 cm (as the shipped
    model's walk did in a slow step): their pinned places lie closer together than the foot is long. Aiming the foot
    from the ankle's place at the toe's pointed it down and put the toe 6 cm under the floor; the planted toe holds
    the foot and the heel rises instead (the ankle on the foot-length sphere round the toe)."""
    n = 60
    poses = np.zeros((n, 24, 3))
    poses[:, 0, 0] = np.pi / 2
    poses[:, 16, 2], poses[:, 17, 2] = -1.2, 1.2
    poses[:, 7, 0] = 0.9 * np.clip(np.linspace(-0.3, 1.3, n), 0, 1)  # the left foot pitches
    trans = np.zeros((n, 3))
    trans[:, 1] = np.linspace(0, 0.25, n)  # while the body slides forward
    m = Motion(poses, trans, FPS)
    m = m.copy(trans=trans - [0, 0, m.joints()[0, 10, 2]])
    contacts = np.ones((n, 4))
    contacts[20:30, 0] = 0  # the left ankle's contact breaks once
    before, after = m.joints(), cleanup_feet(m, contacts=contacts).joints()
    assert after[:, 10, 2].min() > -0.005, after[:, 10, 2].min()
    np.testing.assert_allclose(np.linalg.norm(after[:, 10] - after[:, 7], axis=-1),
                               np.linalg.norm(before[:, 10] - before[:, 7], axis=-1), atol=1e-9)
    assert np.ptp(after[:, 10, :2], axis=0).max() < 0.02  # the toe stays at its place (raw: it slid 32 cm)
