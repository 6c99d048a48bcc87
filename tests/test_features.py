"""Model features (encode/decode, normalisation, skeleton groups) and control signals (labels, schedules)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import data_path

from mrgen_core import features as feat
from mrgen_core.control import (ControlSpec, frame_labels, onehot, parse_schedule, read_label_file,
                                resample_linear, schedule_onehot, segments_for, smooth)
from mrgen_core.errors import MrgenError
from mrgen_core.motion_files import load_motion
from mrgen_core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mrgen_core.skeleton import FOOT_JOINTS


@pytest.fixture(scope="module")
def dance():
    return load_motion(data_path("cmu_mocap/cgspeed_motionbuilder/05_06.bvh"), fps=30)


def _rotate_z(motion, angle, shift=(0.0, 0.0)):
    """The same motion turned by ``angle`` about world Z (around the origin) and moved by ``shift``."""
    c, s = np.cos(angle), np.sin(angle)
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    poses = motion.poses.copy()
    poses[:, 0] = matrix_to_axis_angle(rz @ axis_angle_to_matrix(poses[:, 0]))
    j0 = motion.skeleton.offsets[0]
    pelvis = (motion.trans + j0) @ rz.T + np.array([*shift, 0.0])
    return motion.copy(poses=poses, trans=pelvis - j0)


def test_layout():
    assert feat.NUM_FEATURES == 152
    assert (feat.ROT.stop, feat.ROOT.stop, feat.CONTACT.stop) == (144, 148, 152)


def test_round_trip_reproduces_joints(dance):
    f = feat.encode(dance)
    assert f.shape == (dance.num_frames, feat.NUM_FEATURES)
    back = feat.decode(f, dance.fps, start=feat.start_of(dance))
    err = np.abs(back.joints() - dance.joints()).max()
    assert err < 1e-5, err
    assert np.allclose(back.trans, dance.trans, atol=1e-6)


def test_features_ignore_where_the_body_faces(dance):
    """Turning and moving the whole motion changes only its start: the features are the same."""
    moved = _rotate_z(dance, 2.0, shift=(3.0, -1.0))
    a, b = feat.encode(dance), feat.encode(moved)
    assert np.allclose(a, b, atol=1e-6)
    assert abs(feat.start_of(moved).heading - feat.start_of(dance).heading - 2.0) < 1e-6 or \
        abs(abs(feat.start_of(moved).heading - feat.start_of(dance).heading - 2.0) - 2 * np.pi) < 1e-6


def test_root_channels_are_physical(dance):
    f = feat.encode(dance)
    pelvis = dance.trans + dance.skeleton.offsets[0]
    assert np.allclose(f[:, feat.HEIGHT], pelvis[:, 2])
    speed = np.linalg.norm(np.diff(pelvis[:, :2], axis=0), axis=1) * dance.fps
    assert np.allclose(np.hypot(f[:-1, feat.VEL_X], f[:-1, feat.VEL_Y]), speed, atol=1e-9)
    assert set(np.unique(f[:, feat.CONTACT])) <= {0.0, 1.0}
    assert f[:, feat.CONTACT].mean() > 0.1  # the dancer stands on the floor part of the time


def test_decode_from_another_start_moves_the_whole_motion(dance):
    f = feat.encode(dance)
    m = feat.decode(f, dance.fps, start=feat.Start(1.0, 2.0, 0.5))
    j = m.joints()
    assert np.allclose(j[0, 0, :2], [1.0, 2.0], atol=1e-9)
    # same shape of motion: pairwise joint distances within a frame are unchanged
    ref = dance.joints()
    assert np.allclose(np.linalg.norm(j[:, 10] - j[:, 15], axis=-1), np.linalg.norm(ref[:, 10] - ref[:, 15], axis=-1),
                       atol=1e-6)


def test_decode_rejects_wrong_shape():
    with pytest.raises(MrgenError, match="152"):
        feat.decode(np.zeros((10, 100)), 30.0)


def test_normalizer_round_trip_and_floor(dance):
    f = feat.encode(dance)
    n = feat.Normalizer.fit([f[:100], f[100:]])
    z = n(f)
    assert np.allclose(n.invert(z), f)
    assert np.allclose(feat.Normalizer.from_dict(n.to_dict()).mean, n.mean)
    # channels that move more than their block's average get unit variance; quieter ones keep their small scale
    for block in (feat.ROT, feat.ROOT):
        raw = f[:, block].std(axis=0)
        lively = raw >= raw.mean()
        assert np.allclose(z[:, block][:, lively].std(axis=0), 1.0, atol=1e-6)
        assert np.all(z[:, block][:, ~lively].std(axis=0) < 1.0)
        assert np.allclose(n.std[block][~lively], raw.mean())
    assert set(np.unique(z[:, feat.CONTACT])) <= {-1.0, 1.0}  # contacts 0/1 -> -1/1


def test_group_neighbours_follow_the_skeleton():
    adj = feat.group_neighbours(2)
    dist = feat.joint_distances()
    assert np.array_equal(adj[:24, :24], dist <= 2)
    assert adj[7, 15] == False  # noqa: E712  left ankle does not see the head
    for c, foot in zip(feat.CONTACT_GROUPS, FOOT_JOINTS):
        assert adj[c, foot] and adj[foot, c]
        assert adj[feat.ROOT_GROUP, c]
    assert adj[feat.ROOT_GROUP, 0] and adj[0, feat.ROOT_GROUP] and not adj[feat.ROOT_GROUP, 15]
    g = feat.channel_groups()
    assert np.bincount(g).tolist() == [6] * 24 + [4, 1, 1, 1, 1]


# --- control signals --------------------------------------------------------------------------------------------

def test_parse_schedule():
    assert parse_schedule("walk:0-4,jump:4-6") == [(0.0, 4.0, "walk"), (4.0, 6.0, "jump")]
    assert parse_schedule("walk") == [(0.0, None, "walk")]
    assert parse_schedule(" hop:2.5-3 , walk:0-2.5") == [(0.0, 2.5, "walk"), (2.5, 3.0, "hop")]
    for bad in ("walk:4", "walk:a-b", ":0-4", "walk:4-2", ""):
        with pytest.raises(MrgenError):
            parse_schedule(bad)


def test_schedule_onehot_and_unknown_label():
    oh = schedule_onehot(parse_schedule("walk:0-1,hop:1-2"), ("walk", "hop"), 60, 30.0)
    assert oh.shape == (60, 2)
    assert np.all(oh.sum(axis=1) == 1)
    assert oh[:30, 0].all() and oh[30:, 1].all()
    late = schedule_onehot(parse_schedule("walk:0-1"), ("walk", "hop"), 60, 30.0)
    assert late[:, 0].all()  # frames after the last segment keep its label
    with pytest.raises(MrgenError, match="knows: walk, hop"):
        schedule_onehot(parse_schedule("run:0-1"), ("walk", "hop"), 30, 30.0)


def test_label_files(tmp_path):
    j = tmp_path / "labels.json"
    j.write_text(json.dumps({"131_01.bvh": "walk", "131_03": [[0, 2, "walk"], [2, None, "hop"]]}))
    table = read_label_file(j)
    assert segments_for("131_01", table) == [(0.0, None, "walk")]
    vocab: list[str] = []
    lab = frame_labels(segments_for("/x/131_03.bvh", table), 90, 30.0, vocab)
    assert vocab == ["walk", "hop"]
    assert (lab[:60] == 0).all() and (lab[60:] == 1).all()
    c = tmp_path / "labels.csv"
    c.write_text("clip,start,end,label\n131_01,,,walk\n# comment\n131_03,0,2,walk\n131_03,2,,hop\n")
    assert read_label_file(c) == table
    rec = tmp_path / "records.json"
    rec.write_text(json.dumps([{"clip": "a", "start": 0, "end": 1, "label": "x"}]))
    assert read_label_file(rec) == {"a": [(0.0, 1.0, "x")]}
    for text in ("{not json", "clip,start,end\na,0,1\n", '{"a": [[0, 1]]}', '{"a": [[2, 1, "x"]]}'):
        bad = tmp_path / ("bad.json" if text.startswith("{") else "bad.csv")
        bad.write_text(text)
        with pytest.raises(MrgenError, match="bad"):
            read_label_file(bad)
    with pytest.raises(MrgenError, match="no such labels file"):
        read_label_file(tmp_path / "missing.json")


def test_control_at_level_blends_switches_smoothly():
    spec = ControlSpec(vocab=("walk", "hop"), transition_frames=4)
    oh = schedule_onehot(parse_schedule("walk:0-2,hop:2-4"), spec.vocab, 120, 30.0)
    full = spec.build(120, onehot_labels=oh)
    for n in (23, 51, 120):
        c = spec.at_level(full, n)
        assert c.shape == (n, 2)
        assert np.allclose(c.sum(axis=1), 1.0)
        step = np.abs(np.diff(c[:, 0])).max()
        assert 0 < step < 0.5  # a ramp over several frames, not a jump
        assert c[0, 0] == pytest.approx(1.0) and c[-1, 1] == pytest.approx(1.0)


def test_control_at_level_as_crossfade_weights():
    spec = ControlSpec(vocab=("walk", "hop"), continuous=1, cont_mean=[0.0], cont_std=[1.0], transition_frames=4)
    oh = schedule_onehot(parse_schedule("walk:0-2,hop:2-4"), spec.vocab, 120, 30.0)
    full = spec.build(120, onehot_labels=oh, continuous=np.linspace(-1, 1, 120)[:, None])
    for n in (120, 51, 23):
        c = spec.at_level(full, n, crossfade=10.0)  # a third of a second at 30 fps
        assert np.allclose(c[:, :2].sum(axis=1), 1.0)
        spacing = 120 / n  # full-rate frames per frame of the level
        ramp = ((c[:, 0] > 1e-9) & (c[:, 0] < 1 - 1e-9)).sum() * spacing
        assert 10 - spacing <= ramp <= 10 + 2 * spacing  # 10 full-rate frames at any level's rate
        assert np.all(np.diff(c[:, 0]) <= 1e-12)  # from walk to hop, never back
        np.testing.assert_array_equal(c[:, 2], spec.at_level(full, n)[:, 2])  # continuous channels as before


def test_control_continuous_channels():
    spec = ControlSpec(vocab=("a",), continuous=2, cont_mean=[1.0, 0.0], cont_std=[2.0, 1.0])
    c = spec.build(10, labels=np.zeros(10, int), continuous=np.ones((8, 2)))
    assert c.shape == (10, 3)
    assert np.allclose(c[:, 0], 1) and np.allclose(c[:, 1], 0) and np.allclose(c[:, 2], 1)
    with pytest.raises(MrgenError, match="shape"):
        spec.build(10, continuous=np.ones((10, 3)))
    assert ControlSpec.from_dict(spec.to_dict()) == spec


def test_resample_and_smooth():
    x = np.arange(12.0)[:, None]
    assert np.allclose(resample_linear(x, 12), x)
    up = resample_linear(x, 24)
    assert up.shape == (24, 1) and up[0, 0] == 0 and up[-1, 0] == 11
    assert np.allclose(smooth(np.ones((5, 2)), 3.5), 1.0)
    assert np.allclose(onehot(np.array([1, -1, 0]), 2), [[0, 1], [0, 0], [1, 0]])
