"""The fair features keep the turning (yaw rate) while ignoring the heading; GANimator's literal features keep the
heading; ``evaluate`` reports both. Closed-form values on synthetic walks, and the baselines on a real clip."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from mrgen_core import MrgenError
from mrgen_core.metrics import (FEATURE_SIZE, YAW_RATE_SECONDS, evaluate, feature_metrics, motion_features,
                                yaw_rate)
from mrgen_core.rotations import axis_angle_to_matrix

from conftest import data_path
from test_metrics import rotate_about_z, synthetic_walk


def _baselines():
    """benchmarks/baselines.py (turn, straighten, join): the helpers the benchmark tables use."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "baselines.py"
    spec = importlib.util.spec_from_file_location("mrgen_baselines", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


baselines = _baselines()


def turning_walk(rate: float, frames: int = 150, fps: float = 30.0):
    """The synthetic walk turning steadily at ``rate`` rad/s (counter-clockwise seen from above)."""
    walk = synthetic_walk(frames, fps)
    return baselines.turn(walk, rate * np.arange(frames) / fps)


@pytest.mark.parametrize("rate", [2.0, -3.0])
def test_yaw_rate_of_a_steady_turn(rate):
    m = turning_walk(rate)
    got = yaw_rate(axis_angle_to_matrix(m.poses[:, 0]), m.fps)
    assert got.mean() == pytest.approx(rate, abs=0.02)
    np.testing.assert_allclose(got, rate, atol=0.2)  # the walk's root has 0.01 rad of noise per frame
    f = motion_features(m)
    assert f.shape == (150, FEATURE_SIZE)
    np.testing.assert_allclose(f[:, -1], got * YAW_RATE_SECONDS)
    # the same rate at another frame rate: a rate in rad/s, not per frame
    m60 = m.resample(60.0)
    assert yaw_rate(axis_angle_to_matrix(m60.poses[:, 0]), 60.0).mean() == pytest.approx(rate, abs=0.02)


@pytest.mark.parametrize("rate", [17.5, -20.0])
def test_yaw_rate_of_a_fast_spin_is_not_aliased(rate):
    """A spin of more than half a turn over the 0.2 s span (900 deg/s; the CMU salsa follower's reach 1,100) is
    measured as the spin it is: each frame's heading change is unwrapped before they are summed, where wrapping the
    change over the whole span turned it into a spin the other way (17.5 rad/s came out as about -13.9)."""
    m = turning_walk(rate)
    got = yaw_rate(axis_angle_to_matrix(m.poses[:, 0]), m.fps)
    assert got.mean() == pytest.approx(rate, abs=0.05)
    np.testing.assert_allclose(got, rate, atol=0.3)


def test_fair_features_ignore_the_heading_but_see_the_turning():
    walk = synthetic_walk(150)
    straight = motion_features(walk)
    assert np.abs(straight[:, -1]).max() < 0.15  # a walk that does not turn
    np.testing.assert_allclose(motion_features(rotate_about_z(walk, 2.0)), straight, atol=1e-9)
    turning = motion_features(turning_walk(2.0))
    np.testing.assert_allclose(turning[:, :144], straight[:, :144], atol=1e-6)  # the same poses
    assert np.abs(turning[:, -1] - straight[:, -1]).min() > 0.9  # 2 rad/s * 0.5 s


def test_a_sample_that_never_turns_no_longer_matches_a_spinning_clip():
    spin = turning_walk(6.0)  # about 340 deg/s: 3.0 on the yaw channel, above the coverage threshold alone
    straight = synthetic_walk(150)
    fair = feature_metrics(motion_features(straight), [motion_features(spin)])
    pose_only = feature_metrics(motion_features(straight, turning=False), [motion_features(spin, turning=False)])
    assert pose_only["coverage"] == 1.0 and pose_only["local_diversity"] < 0.05  # blind to the turn
    assert fair["coverage"] == 0.0
    assert fair["local_diversity"] == pytest.approx(3.0, abs=0.05)
    # the spinning walk against itself, turned: still a perfect copy on the fair features
    res = evaluate([rotate_about_z(spin, 1.0)], [spin])
    assert res["fair"]["coverage"] == 1.0 and res["fair"]["local_diversity"] < 1e-5


def test_literal_and_fair_on_a_turned_copy():
    walk = synthetic_walk(150)
    res = evaluate([rotate_about_z(walk, 2.0)], [walk])
    assert res["fair"]["coverage"] == 1.0 and res["fair"]["local_diversity"] < 1e-5
    # literal: the root's sideways axis is 2 sin(1) away on every frame, the rest identical
    assert res["literal"]["local_diversity"] == pytest.approx(2 * np.sin(1.0), abs=0.02)
    assert res["literal"]["global_diversity"] == pytest.approx(2 * np.sin(1.0), abs=0.02)
    assert res["literal"]["coverage"] == 1.0  # 1.68 < 2.0: the literal coverage forgives a 115 deg offset


def test_evaluate_reports_both_feature_sets():
    walk = synthetic_walk(150)
    res = evaluate([turning_walk(1.0), walk], [walk])
    assert res["features"] == ["fair", "literal"]
    for key in ("coverage", "global_diversity", "local_diversity"):
        assert res[key] == res["fair"][key]
        assert isinstance(res["literal"][key], float)
        assert res["per_sample"][0][key] == res["per_sample"][0]["fair"][key]
    assert res["per_sample"][0]["literal"]["windows"] == res["per_sample"][0]["fair"]["windows"]
    lit = evaluate([turning_walk(1.0), walk], [walk], features=["literal"])
    assert lit["coverage"] == res["literal"]["coverage"] and "fair" not in lit
    with pytest.raises(MrgenError, match="features"):
        evaluate([walk], [walk], features=["pose"])


def test_real_clip_no_turning_baseline():
    from mrgen_core.motion_files import load_motion

    clip = load_motion(data_path("cmu_mocap/cgspeed_motionbuilder/05_06.bvh"), fps=30)  # a dance with spins
    flat = baselines.straighten(clip)
    np.testing.assert_allclose(motion_features(flat, turning=False)[:, :144],
                               motion_features(clip, turning=False)[:, :144], atol=1e-6)
    assert np.abs(motion_features(flat)[:, -1]).max() < 1e-6
    res = evaluate([flat], [clip])
    assert res["fair"]["coverage"] < 0.6  # the spins are not covered any more
    assert res["fair"]["local_diversity"] > 1.5
    pose_only = feature_metrics(motion_features(flat, turning=False), [motion_features(clip, turning=False)])
    assert pose_only["coverage"] == 1.0
