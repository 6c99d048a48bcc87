"""Metrics: closed-form values on hand-built sequences, a brute-force reference implementation, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from mrgen_core import Motion, MrgenError
from mrgen_core.metrics import (FEATURE_SIZE, LITERAL_FEATURE_SIZE, coverage, evaluate, feature_metrics, foot_skating,
                                frame_distances, global_diversity, jitter, local_diversity, motion_features,
                                reconstruction_error, window_sums)
from mrgen_core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mrgen_core.skeleton import FOOT_JOINTS

from conftest import data_path


# --- brute force (plain loops, tiny sizes) ------------------------------------------------------------------------
def bf_dist(a, b):
    return np.array([[np.sqrt(sum((x - y) ** 2 for x, y in zip(fa, fb))) for fb in b] for fa in a])


def bf_window_cost(d, i, j, w):
    return sum(d[i + k, j + k] for k in range(w))


def bf_coverage(s, refs, w, thr):
    flags = []
    for r in refs:
        d = bf_dist(s, r)
        for j in range(len(r) - w + 1):
            best = min(bf_window_cost(d, i, j, w) / w for i in range(len(s) - w + 1))
            flags.append(best < thr)
    return float(np.mean(flags))


def bf_local(s, refs, w):
    ds = [bf_dist(s, r) for r in refs]
    vals = []
    for i in range(len(s) - w + 1):
        vals.append(min(bf_window_cost(d, i, j, w) / w for d, r in zip(ds, refs) for j in range(len(r) - w + 1)))
    return float(np.mean(vals))


def bf_global(s, refs, tmin):
    """GANimator's DP with segments of any length >= tmin (not capped at 2 * tmin)."""
    ds = [bf_dist(s, r) for r in refs]
    t = len(s)

    def seg(a, length):
        best = np.inf
        for d, r in zip(ds, refs):
            for j in range(len(r) - length + 1):
                best = min(best, bf_window_cost(d, a, j, length))
        return best

    g = [0.0] + [np.inf] * t
    for p in range(1, t + 1):
        for a in range(0, p - tmin + 1):
            g[p] = min(g[p], g[a] + seg(a, p - a))
    return g[t] / t


def separated(n, f=8, seed=0, scale=5.0):
    """Random features whose distinct frames are far apart (distance >> 2)."""
    return np.random.default_rng(seed).normal(size=(n, f)) * scale


# --- brute-force agreement -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_matches_brute_force_tiny(seed):
    rng = np.random.default_rng(seed)
    f = 3
    refs = [rng.normal(size=(int(rng.integers(12, 22)), f)) for _ in range(2)]
    if seed % 2:
        refs.append(rng.normal(size=(7, f)))  # a clip shorter than 2 * tmin
    # the sample mixes copied pieces, noise and fresh frames so that every metric is non-trivial
    s = np.concatenate([refs[0][3:10] + 0.3 * rng.normal(size=(7, f)), rng.normal(size=(9, f)), refs[1][:8]])
    w_cov, w_loc, tmin, thr = 6, 3, 5, 1.2
    fm = feature_metrics(s, refs, coverage_window=w_cov, coverage_threshold=thr, local_window=w_loc,
                         segment_min=tmin)
    assert fm["coverage"] == pytest.approx(bf_coverage(s, refs, w_cov, thr), abs=1e-12)
    assert fm["local_diversity"] == pytest.approx(bf_local(s, refs, w_loc), abs=1e-6)
    assert fm["global_diversity"] == pytest.approx(bf_global(s, refs, tmin), abs=1e-6)
    assert 0.0 < fm["coverage"] < 1.0 and fm["local_diversity"] > 0.1  # non-trivial cases
    assert coverage(s, refs, w_cov, thr) == fm["coverage"]
    assert local_diversity(s, refs, w_loc) == pytest.approx(fm["local_diversity"], abs=1e-9)
    assert global_diversity(s, refs, tmin) == pytest.approx(fm["global_diversity"], abs=1e-9)


def test_matches_brute_force_default_windows():
    rng = np.random.default_rng(7)
    ref = rng.normal(size=(75, 4))
    s = np.concatenate([ref[40:75] + 0.2 * rng.normal(size=(35, 4)), rng.normal(size=(31, 4)), ref[:35]])
    fm = feature_metrics(s, [ref])
    d = bf_dist(s, ref)
    # coverage / local with the default 30 / 15 windows
    cov = []
    for j in range(len(ref) - 29):
        cov.append(min(bf_window_cost(d, i, j, 30) / 30 for i in range(len(s) - 29)) < 2.0)
    loc = [min(bf_window_cost(d, i, j, 15) / 15 for j in range(len(ref) - 14)) for i in range(len(s) - 14)]
    assert fm["coverage"] == pytest.approx(np.mean(cov), abs=1e-12)
    assert fm["local_diversity"] == pytest.approx(np.mean(loc), abs=1e-6)
    assert fm["global_diversity"] == pytest.approx(bf_global(s, [ref], 30), abs=1e-6)


def test_window_sums_and_distances_match_loops():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(23, 5)), rng.normal(size=(17, 5))
    d = frame_distances(a, b)
    np.testing.assert_allclose(d, bf_dist(a, b), atol=1e-6)
    for w in (1, 2, 5, 7, 8, 13, 17):
        s = window_sums(d, w)
        assert s.shape == (23 - w + 1, 17 - w + 1)
        ref = np.array([[bf_window_cost(d, i, j, w) for j in range(17 - w + 1)] for i in range(23 - w + 1)])
        np.testing.assert_allclose(s, ref, atol=1e-5)


def test_row_blocks_give_the_same_figures(monkeypatch):
    """Long samples are processed in overlapping row blocks; the figures must not depend on the block size."""
    from mrgen_core.metrics import distance

    rng = np.random.default_rng(11)
    refs = [rng.normal(size=(90, 6)), rng.normal(size=(70, 6))]
    s = np.concatenate([refs[0][10:50] + 0.1 * rng.normal(size=(40, 6)), rng.normal(size=(50, 6)), refs[1],
                        refs[0][:40]])
    whole = feature_metrics(s, refs)
    single = (coverage(s, refs), local_diversity(s, refs), global_diversity(s, refs))
    monkeypatch.setattr(distance, "MAX_BLOCK_CELLS", 60 * 90)  # blocks of ~60-90 rows, many of them
    assert sum(1 for _ in distance.row_blocks(s, refs[0], 58)) > 3
    blocked = feature_metrics(s, refs)
    for k in ("coverage", "local_diversity", "global_diversity", "covered_windows"):
        assert blocked[k] == pytest.approx(whole[k], abs=1e-9)
    assert (coverage(s, refs), local_diversity(s, refs), global_diversity(s, refs)) == pytest.approx(single, abs=1e-9)
    assert 0 < whole["coverage"] < 1 and whole["global_diversity"] > 0.1


# --- closed-form values --------------------------------------------------------------------------------------------
def test_sample_equal_to_reference():
    r = separated(120)
    fm = feature_metrics(r, [r])
    assert fm["coverage"] == 1.0
    assert fm["local_diversity"] == pytest.approx(0.0, abs=1e-6)
    assert fm["global_diversity"] == pytest.approx(0.0, abs=1e-6)


def test_time_shifted_copy():
    r = separated(150)
    s = r[40:110]  # a 70-frame copy shifted by 40 frames
    fm = feature_metrics(s, [r])
    assert fm["local_diversity"] == pytest.approx(0.0, abs=1e-6)
    assert fm["global_diversity"] == pytest.approx(0.0, abs=1e-6)
    # exactly the reference windows inside [40, 110) are covered (other frames are far apart)
    assert fm["covered_windows"] == 70 - 29
    assert fm["coverage"] == pytest.approx((70 - 29) / (150 - 29))


@pytest.mark.parametrize("dist", [0.5, 1.9, 2.1, 3.0])
def test_constant_offset_copy(dist):
    r = separated(100, f=12)
    v = np.random.default_rng(1).normal(size=12)
    s = r + v * (dist / np.linalg.norm(v))
    fm = feature_metrics(s, [r])
    assert fm["local_diversity"] == pytest.approx(dist, abs=1e-5)
    assert fm["global_diversity"] == pytest.approx(dist, abs=1e-5)
    assert fm["coverage"] == (1.0 if dist < 2.0 else 0.0)


def test_swapped_halves():
    r = separated(100)
    s = np.concatenate([r[60:], r[:60]])  # halves of 40 and 60 frames, both >= 30
    value, segs = global_diversity(s, [r], return_segments=True)
    assert value == pytest.approx(0.0, abs=1e-6)
    assert sum(sg.length for sg in segs) == 100 and all(sg.length >= 30 for sg in segs)
    for sg in segs:  # each segment copies the reference frames it came from
        assert sg.ref_start == (sg.start + 60) % 100
    # windows that straddle the seam are not copies
    assert local_diversity(s, [r]) > 0.5
    # a piece shorter than 30 frames cannot be matched on its own
    s2 = np.concatenate([r[80:], r[:80]])
    assert global_diversity(s2, [r]) > 0.5


def test_several_clips_windows_do_not_straddle():
    a, b = separated(50, seed=1), separated(45, seed=2)
    s = np.concatenate([a, b])
    fm = feature_metrics(s, [a, b])
    assert fm["coverage"] == 1.0
    assert fm["global_diversity"] == pytest.approx(0.0, abs=1e-6)
    # the sample's windows across the a|b seam exist in no clip ...
    assert fm["local_diversity"] > 0.5
    assert fm["local_diversity"] == pytest.approx(bf_local(s, [a, b], 15), abs=1e-6)
    # ... but they would in one concatenated clip
    assert local_diversity(s, [s]) == pytest.approx(0.0, abs=1e-6)
    # coverage counts the windows of every clip (and only within clips)
    fm_a = feature_metrics(a[:40], [a, b])
    assert fm_a["windows"] == (50 - 29) + (45 - 29)
    assert fm_a["covered_windows"] == 40 - 29


def test_global_diversity_unsplittable_is_an_error():
    r = separated(30)
    with pytest.raises(MrgenError, match="cannot be split"):
        global_diversity(separated(45, seed=3), [r])


# --- bad input ------------------------------------------------------------------------------------------------------
def test_bad_feature_arrays():
    r = separated(60)
    with pytest.raises(MrgenError, match="channels"):
        feature_metrics(separated(60, f=9), [r])
    with pytest.raises(MrgenError, match="at least 30"):
        feature_metrics(r[:29], [r])
    with pytest.raises(MrgenError, match="reference clip 1 has 20 frames"):
        feature_metrics(r, [r, r[:20]])
    bad = r.copy()
    bad[5, 2] = np.nan
    with pytest.raises(MrgenError, match="NaN"):
        feature_metrics(bad, [r])
    with pytest.raises(MrgenError, match="NaN"):
        coverage(r, [bad])
    with pytest.raises(MrgenError, match="shape"):
        local_diversity(r[:, 0], [r])
    with pytest.raises(MrgenError, match="no reference"):
        global_diversity(r, [])


# --- motions ---------------------------------------------------------------------------------------------------------
def synthetic_walk(frames=120, fps=30.0, speed=1.2, seed=0, heading=0.0) -> Motion:
    """A crude periodic walk: swinging hips and knees, the body moving forward (-Y rotated by ``heading``)."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / fps
    ph = 2 * np.pi * 1.0 * t
    poses = np.zeros((frames, 24, 3))
    poses[:, 0, 0] = np.pi / 2
    poses[:, 1, 0] = 0.4 * np.sin(ph)
    poses[:, 2, 0] = -0.4 * np.sin(ph)
    poses[:, 4, 0] = 0.5 * np.maximum(0, np.sin(ph + 1))
    poses[:, 5, 0] = 0.5 * np.maximum(0, -np.sin(ph + 1))
    poses[:, 16, 2] = -1.2 + 0.1 * np.sin(ph)
    poses[:, 17, 2] = 1.2 + 0.1 * np.sin(ph)
    poses += 0.01 * rng.normal(size=poses.shape)
    trans = np.zeros((frames, 3))
    trans[:, 1] = -speed * t
    m = Motion(poses, trans, fps, name=f"walk{seed}")
    j = m.joints()
    trans[:, 2] -= j[:, list(FOOT_JOINTS), 2].min()  # lowest foot on the floor
    m = Motion(poses, trans, fps, name=f"walk{seed}")
    return rotate_about_z(m, heading) if heading else m


def rotate_about_z(m: Motion, angle: float) -> Motion:
    c, s = np.cos(angle), np.sin(angle)
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    root = rz @ axis_angle_to_matrix(m.poses[:, 0])
    poses = m.poses.copy()
    poses[:, 0] = matrix_to_axis_angle(root)
    # rotate the pelvis world position (trans + J_0 rotated) about the origin: FK puts pelvis at trans + J0
    j0 = m.joints()[:, 0]
    trans = m.trans + (j0 @ rz.T - j0)
    return m.copy(poses=poses, trans=trans)


def test_motion_features_shape_and_heading():
    m = synthetic_walk()
    f = motion_features(m)
    assert f.shape == (120, FEATURE_SIZE) == (120, 149)
    assert motion_features(m, heading_invariant=False).shape == (120, LITERAL_FEATURE_SIZE) == (120, 148)
    assert set(np.unique(f[:, -5:-1])) <= {0.0, 1.0}
    turned = rotate_about_z(m, 1.1)
    np.testing.assert_allclose(turned.joints()[:, :, 2], m.joints()[:, :, 2], atol=1e-9)
    np.testing.assert_allclose(motion_features(turned), f, atol=1e-9)
    assert np.abs(motion_features(turned, heading_invariant=False) - motion_features(m, heading_invariant=False)
                  ).max() > 0.5
    # a zero-pose body already faces the default direction: heading removal leaves it alone
    np.testing.assert_allclose(motion_features(m)[:, :6], motion_features(m, heading_invariant=False)[:, :6],
                               atol=0.05)


def test_evaluate_identity_and_turned_copy():
    ref = synthetic_walk(150)
    res = evaluate([ref, rotate_about_z(ref, 2.0)], [ref])
    assert res["coverage"] == 1.0
    assert res["local_diversity"] == pytest.approx(0.0, abs=1e-5)
    assert res["global_diversity"] == pytest.approx(0.0, abs=1e-5)
    assert res["foot_skating"] == pytest.approx(res["reference"]["foot_skating"], rel=1e-6)
    assert res["jitter"] == pytest.approx(res["reference"]["jitter"], rel=1e-6)
    assert res["num_samples"] == 2 and len(res["per_sample"]) == 2
    for key in ("coverage", "global_diversity", "local_diversity", "foot_skating", "jitter"):
        assert isinstance(res[key], float)


def test_evaluate_perturbed_sample_scores_worse():
    ref = synthetic_walk(150)
    noisy = ref.copy(poses=ref.poses + np.random.default_rng(5).normal(scale=0.08, size=ref.poses.shape))
    res = evaluate([noisy], [ref])
    assert res["local_diversity"] > 0.1 and res["global_diversity"] > 0.1
    assert res["jitter"] > 2 * res["reference"]["jitter"]


def test_evaluate_bad_input():
    ref = synthetic_walk(90)
    with pytest.raises(MrgenError, match="fps"):
        evaluate([synthetic_walk(90, fps=60.0)], [ref])
    short = ref.slice(0, 20).copy(source="short.npz")
    with pytest.raises(MrgenError, match="short.npz: sample has 20 frames"):
        evaluate([short], [ref])
    broken = ref.copy(source="broken.npz")
    broken.poses[3, 2, 1] = np.nan  # corrupted after construction
    with pytest.raises(MrgenError, match="broken.npz: motion contains NaN"):
        evaluate([broken], [ref])
    with pytest.raises(MrgenError, match="no samples"):
        evaluate([], [ref])
    with pytest.raises(MrgenError, match="Motion"):
        evaluate([np.zeros((40, 148))], [ref])


# --- realism closed forms ---------------------------------------------------------------------------------------------
def sliding_still_pose(frames=60, fps=30.0, vx=0.2, accel=0.0) -> Motion:
    """A rest pose whose feet sit on the floor while the whole body slides along +X."""
    poses = np.zeros((frames, 24, 3))
    poses[:, 0, 0] = np.pi / 2
    t = np.arange(frames) / fps
    trans = np.zeros((frames, 3))
    m = Motion(poses, trans, fps)
    trans[:, 2] = 0.01 - m.joints()[0, list(FOOT_JOINTS), 2].min()
    trans[:, 0] = vx * t + 0.5 * accel * t * t
    return Motion(poses, trans, fps)


def test_foot_skating_closed_form():
    m = sliding_still_pose(vx=0.2)
    assert foot_skating(m) == pytest.approx(20.0, rel=1e-9)  # 0.2 m/s -> 20 cm/s, every foot in contact
    assert foot_skating(sliding_still_pose(vx=0.0)) == pytest.approx(0.0, abs=1e-9)
    flying = m.copy(trans=m.trans + [0, 0, 1.0])
    assert foot_skating(flying) is None  # no contact: undefined, not 0


def test_jitter_closed_form():
    assert jitter(sliding_still_pose(vx=0.7)) == pytest.approx(0.0, abs=1e-9)
    assert jitter(sliding_still_pose(vx=0.0, accel=0.3)) == pytest.approx(0.3, rel=1e-6)


def test_reconstruction_error():
    m = synthetic_walk(60)
    shifted = m.copy(trans=m.trans + [0.0, 0.03, 0.04])
    assert reconstruction_error(shifted, m) == pytest.approx(5.0, rel=1e-9)
    assert reconstruction_error(shifted, m, root_relative=True) == pytest.approx(0.0, abs=1e-9)
    bent = m.copy(poses=m.poses.copy())
    bent.poses[:, 18, 2] += 0.3  # left elbow: only the forearm and hand move
    err = reconstruction_error(bent, m, root_relative=True)
    assert err == pytest.approx(reconstruction_error(bent, m)) and 0.5 < err < 10
    res = evaluate([m], [m], reconstructions=[shifted])
    assert res["reconstruction_error"] == pytest.approx(5.0) and res["reconstruction_pose_error"] < 1e-9
    with pytest.raises(MrgenError, match="frames"):
        reconstruction_error(m.slice(0, 50), m)


# --- a real clip ---------------------------------------------------------------------------------------------------
def test_real_clip_baselines():
    from mrgen_core.retarget import bvh_to_motion

    clip = bvh_to_motion(data_path("cmu_mocap/cgspeed_motionbuilder/05_06.bvh"), fps=30)
    assert clip.num_frames > 150
    same = evaluate([clip], [clip])
    assert same["coverage"] == 1.0 and same["global_diversity"] < 1e-5 and same["local_diversity"] < 1e-5
    # 1-second chunks in reverse order: every 30-frame chunk is a copy (literal global diversity ~0: only the
    # contact flags at the seams differ), the 15-frame windows across seams are not (local diversity clearly > 0);
    # the fair features also see the heading jump at each seam (the yaw rate)
    n = clip.num_frames // 30 * 30
    chunks = [clip.slice(k, k + 30) for k in range(0, n, 30)][::-1]
    shuffled = clip.copy(poses=np.concatenate([c.poses for c in chunks]),
                         trans=np.concatenate([c.trans for c in chunks]))
    res = evaluate([shuffled], [clip])
    assert res["coverage"] > 0.6 and res["literal"]["coverage"] > 0.6
    assert res["literal"]["global_diversity"] < 0.1 < res["fair"]["global_diversity"]
    assert res["local_diversity"] > 0.2 and res["literal"]["local_diversity"] > 0.2
    assert res["jitter"] > res["reference"]["jitter"]  # the seams jump


def test_plausible_is_coverage_with_the_roles_swapped():
    """The share of a sample's windows near some window of the clips: a sample made of a clip's frames is all
    plausible (while covering only part of the clip), one half made of far-off frames half plausible."""
    from mrgen_core.metrics import plausible

    rng = np.random.default_rng(0)
    clip = np.cumsum(rng.normal(0, 0.5, (200, 8)), axis=0)
    part = clip[50:110]
    assert plausible(part, [clip]) == 1.0 and coverage(part, [clip]) < 0.5
    odd = np.concatenate([part, part[-1] + 50.0 + rng.normal(0, 0.05, (61, 8))])
    assert 0.2 < plausible(odd, [clip]) < 0.6
    # another clip holds the far-off part: all windows but the 29 that straddle the jump
    assert plausible(odd, [clip, odd[60:]]) == pytest.approx(1 - 29 / 92)
    assert np.isnan(plausible(part[:20], [clip]))
