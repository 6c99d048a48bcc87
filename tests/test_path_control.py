"""Path control (``mrgen train --path-control``): the control a model learns from its clips and the one a path gives
are the same numbers; free generation travels as the label's clips do; ``--path`` on such a model takes the trained
route (``path_method: "control"``) and reports how far the model got by itself; blends, the worker and bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mrgen_core import features as feat, path_control, tasks
from mrgen_core.blending import blend
from mrgen_core.cli import main
from mrgen_core.errors import MrgenError
from mrgen_core.motion_files import load_motion
from mrgen_core.path_follow import follow
from mrgen_core.paths import check_path
from mrgen_core.rotations import axis_angle_to_matrix
from mrgen_core.sampling import generate, load_model

from conftest import RUN, WALK, data_path

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _track(m):
    xy = m.trans[:, :2] + m.skeleton.offsets[0][:2]
    return xy, feat.heading(axis_angle_to_matrix(m.poses[:, 0])) - np.pi / 2


def test_a_clips_track_gives_the_control_it_was_trained_on():
    """What generation computes from a path (pelvis track + facing) equals what training computes from a clip."""
    m = load_motion(data_path(WALK), fps=30)
    xy, face = _track(m)
    trained = path_control.of_features(feat.encode(m), m.fps)
    assert np.abs(path_control.of_track(xy, face, m.fps) - trained).max() < 1e-9
    # a straight line walked at 1.5 m/s facing along it: 1.5 m/s forwards (-Y in the heading frame), no turning
    t = np.arange(90) / 30
    line = path_control.of_track(np.stack([1.5 * t, 0 * t], axis=1), np.zeros(90), 30)
    assert np.allclose(line, [[0.0, -1.5, 0.0]], atol=1e-9)
    # a left circle of radius 2 m at 1 m/s turns at +0.5 rad/s
    a = t * 0.5
    circle = path_control.of_track(np.stack([2 * np.sin(a), 2 - 2 * np.cos(a)], axis=1), a, 30)
    assert np.allclose(circle[15:-15], [[0.0, -1.0, 0.5]], atol=0.01)  # forward differences: half a step sideways


def test_a_path_controlled_model_says_so_and_generates_freely(tiny_path_model):
    model = load_model(tiny_path_model)
    spec = model.control_spec
    assert spec.source == "path" and spec.continuous == 3 and spec.vocab == ("walk", "run")
    info = tasks.model_info(model, tiny_path_model)
    assert info["path_control"] is True and info["audio"] == ""
    # no path: the control is the travel of the label's clips, one after the other from their start
    travel = path_control.clip_travel(model)
    walk = path_control.free_control(model, np.zeros(200, dtype=int), 200)
    n0 = len(travel[0])
    assert np.allclose(walk[:n0], travel[0], atol=1e-5) and np.allclose(walk[n0:2 * n0], travel[0][:200 - n0],
                                                                         atol=1e-5)
    mixed = path_control.free_control(model, np.r_[np.zeros(50, int), np.ones(50, int)], 100)
    r = len(travel[1])  # each label's own travel runs on under the whole schedule (the run clip's, repeated)
    assert np.allclose(mixed[50:], travel[1][np.arange(50, 100) % r], atol=1e-5)
    walk2, lanes = path_control.free_control(model, np.r_[np.zeros(50, int), np.ones(50, int)], 100, lanes=True)
    assert np.allclose(walk2, mixed) and lanes.shape == (100, 6)
    assert np.allclose(lanes[:, :3], walk[:100]) and np.allclose(lanes[:, 3:], travel[1][np.arange(100) % r])
    out = generate(model, seconds=3, labels="walk:0-1.5,run:1.5-3", seed=1)[0]
    assert out.num_frames == 90 and np.all(np.isfinite(out.poses))
    # each seed starts at its own point of the clips' travel; sample k still depends on seed + k alone
    seq = np.concatenate([travel[0]] * 3)
    for seed in (3, 4):
        drawn = path_control.free_control(model, np.zeros(30, dtype=int), 30, seed=seed)
        assert any(np.allclose(drawn, seq[o:o + 30], atol=1e-5) for o in range(n0))
    assert not np.allclose(path_control.free_control(model, np.zeros(30, dtype=int), 30, seed=3), drawn)
    two = generate(model, seconds=2, labels="walk", seed=3, num=2)
    assert np.allclose(two[1].poses, generate(model, seconds=2, labels="walk", seed=4)[0].poses)


def test_path_on_a_path_controlled_model_takes_the_trained_route(tmp_path, tiny_path_model):
    line = {"points": [[0, 0], [4, 0], [4, 4]], "times": [0, 4, 8]}
    res = tasks.generate(tiny_path_model, [tmp_path / "p.npz"], path=line, labels="walk", seed=0)
    m = load_motion(res.files[0])
    meta = m.meta
    assert meta["path_method"] == "control" and m.num_frames == 8 * 30 + 1
    for key in ("model_path_error_cm", "steered_path_error_cm", "nudge_cm"):
        assert set(meta[key]) == {"mean", "max"}
    # the corrections keep the pass that came closest: steered is never further off than the model alone
    assert meta["steered_path_error_cm"]["mean"] <= meta["model_path_error_cm"]["mean"]
    p = check_path(np.array(line["points"], float), np.array(line["times"], float))
    target = p.at_length(p.distance_at(np.arange(m.num_frames) / m.fps))
    err = np.linalg.norm(_track(m)[0] - target, axis=1)
    assert err.mean() < 0.10 and meta["path_error_cm"]["mean"] == pytest.approx(err.mean() * 100, abs=0.01)
    # the model's own figures: its output before the nudge, started on the path facing along it
    raw, _ = follow(load_model(tiny_path_model), p, labels="walk", seed=0, cleanup=False)
    assert raw[0].meta["model_path_error_cm"]["mean"] >= 0


def test_blends_of_a_path_controlled_model_travel_as_the_source(tiny_path_model):
    model = load_model(tiny_path_model)
    out = blend(model, model.clip_names[0], 2, seed=0)[0]
    assert out.num_frames == model.clip_lengths[0] and np.all(np.isfinite(out.trans))


def test_path_control_bad_input(tmp_path, tiny_path_model, capsys):
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF")
    clip = str(data_path(WALK))
    assert main(["train", clip, "--audio", str(wav), "--path-control", "-o", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--path-control" in err and "--audio" in err
    assert main(["train", "--resume", str(tiny_path_model), "--path-control", "-o", str(tmp_path / "m.pt")]) == 2
    assert "--path-control" in capsys.readouterr().err
    assert main(["generate", "--model", str(tiny_path_model), "--audio", str(wav), "-o", str(tmp_path / "o.npz")]) == 2
    assert "not audio" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.pt")) and not list(tmp_path.glob("*.npz"))
    with pytest.raises(MrgenError, match="other control features"):
        from training.train import train

        train([clip, str(data_path(RUN))], tmp_path / "x.pt", preset="tiny", controls=[np.zeros((10, 3))] * 2,
              control_source="path", procs=1, quiet=True)


def test_too_fast_paths_fall_behind_on_the_trained_route(tiny_path_model):
    """A path faster than the clips: a warning naming the ratio, and the body moves at most a little over the
    fastest clip's speed (behind the path), never dragged along at the path's speed."""
    model = load_model(tiny_path_model)
    motions, warnings = follow(model, check_path([[0, 0], [20, 0]], [0, 5]), labels="walk")
    assert any("x the fastest speed of the training clips" in w for w in warnings)
    assert any("falls up to" in w for w in warnings)
    from mrgen_core.path_follow import STEER_MAX_RATIO, GaitStats

    fastest = GaitStats.of(model, "walk").fastest
    second = np.diff(_track(motions[0])[0][::30, 0])  # metres per second along the line
    assert second.max() < STEER_MAX_RATIO * fastest * 1.15 and _track(motions[0])[0][-1, 0] < 20 - 5


def test_each_label_runs_under_its_own_travel_in_a_crossfade():
    """At a label switch every label's run of the generator takes that label's own travel (its lane), not the
    schedule's: a run does not brake for the punch that follows before the crossfade starts."""
    import torch

    from mrgen_core.model.crossfade import crossfade_step, label_weights

    vocab, n = 2, 10
    size = vocab + path_control.CHANNELS
    control = torch.zeros(1, size + vocab * path_control.CHANNELS, n)
    control[0, 0, :5], control[0, 1, 5:] = 1.0, 1.0  # label 0, then label 1
    control[0, vocab:size] = 9.0  # the schedule's travel: never seen by a label's run
    control[0, size:size + 3], control[0, size + 3:size + 6] = 1.0, 2.0  # lanes of label 0 and label 1
    seen = []

    def step(base, ctrl, noise):
        seen.append(ctrl.shape[1])
        return ctrl[:, vocab:vocab + 1].expand(-1, feat.NUM_FEATURES, -1).clone()

    out = crossfade_step(step, label_weights(control, vocab), None, control, None, torch.zeros(feat.NUM_FEATURES),
                         torch.ones(feat.NUM_FEATURES), size)
    assert seen == [size]
    assert torch.allclose(out[0, feat.VEL_X, :5], torch.tensor(1.0)) and torch.allclose(out[0, feat.VEL_X, 5:],
                                                                                         torch.tensor(2.0))


def test_a_path_the_model_cannot_steer_along_falls_back_to_the_warp(tiny_path_model, monkeypatch):
    """Where the steered model still faces far from the path (more than MAX_NUDGE_DEGREES on average), its own gait
    is warped onto the path instead, said in a warning and in the metadata (with the steered figures kept)."""
    from mrgen_core import path_follow

    model, line = load_model(tiny_path_model), check_path([[0, 0], [6, 0]], [0, 6])
    monkeypatch.setattr(path_follow, "MAX_NUDGE_DEGREES", -1.0)  # every steered result counts as too far off
    motions, warnings = follow(model, line, labels="walk", seed=0)
    meta = motions[0].meta
    assert meta["path_method"] == "warp" and "nudge_deg" in meta["steered"]
    assert any("was warped onto the path instead" in w for w in warnings)
    monkeypatch.setattr(path_follow, "MAX_NUDGE_DEGREES", 1e9)
    assert follow(model, line, labels="walk", seed=0)[0][0].meta["path_method"] == "control"


def test_limbs_faster_than_the_clips_hand_over_to_the_warp_only_where_it_keeps_the_path(tiny_path_model,
                                                                                         monkeypatch):
    """A steered result whose limbs move more than FAST_SHARE times as fast as the clips' is replaced by the warp
    where the warp keeps the path (mean path error at most WARP_KEEPS_CM); where it would trail, the steered result
    stays, with a warning that says so."""
    from mrgen_core import path_follow

    model, line = load_model(tiny_path_model), check_path([[0, 0], [6, 0]], [0, 6])
    monkeypatch.setattr(path_follow, "MAX_NUDGE_DEGREES", 1e9)
    monkeypatch.setattr(path_follow, "GLIDE_SHARE", 0.0)
    monkeypatch.setattr(path_follow, "FAST_SHARE", 0.0)  # every steered result counts as too fast
    monkeypatch.setattr(path_follow, "WARP_KEEPS_CM", 1e9)
    motions, warnings = follow(model, line, labels="walk", seed=0)
    assert motions[0].meta["path_method"] == "warp" and "nudge_deg" in motions[0].meta["steered"]
    assert any("moved its limbs" in w and "warped onto the path instead" in w for w in warnings)
    monkeypatch.setattr(path_follow, "WARP_KEEPS_CM", -1.0)  # the warp would trail: the steered result stays
    motions, warnings = follow(model, line, labels="walk", seed=0)
    assert motions[0].meta["path_method"] == "control"
    assert any("moved its limbs" in w and "so it stays" in w for w in motions[0].meta["warnings"])
    monkeypatch.setattr(path_follow, "FAST_SHARE", 1e9)
    assert not any("moved its limbs" in w for w in follow(model, line, labels="walk", seed=0)[1])


def test_a_fast_glide_is_told_by_the_limbs_own_speed():
    """A body that travels fast without moving its limbs glides, though its joints move as fast as the travel: the
    glide check also compares the fastest joint relative to the pelvis with the clips' (the shipped model's run,
    steered along a line at 2.4 m/s: 0.3x its clip's own limb speed, 0.6x in the world)."""
    from mrgen_core.motion import Motion
    from mrgen_core.path_follow import GaitStats, _cannot_steer

    t = np.arange(60)
    glide = Motion(poses=np.zeros((60, 24, 3)), trans=np.stack([2.4 * t / 30, np.full(60, 0.9), 0 * t], 1), fps=30)
    figures = {"nudge_deg": {"mean": 0.0}}
    stats = GaitStats(natural=2.4, slowest=2.0, fastest=2.6, turn=0.5, period=0.7, limbs=5.5, own_limbs=3.0)
    why, needs_path = _cannot_steer(glide, figures, stats)
    assert "glided" in why and "relative to the pelvis" in why and not needs_path
    assert _cannot_steer(glide, figures, GaitStats(natural=2.4, slowest=2.0, fastest=2.6, turn=0.5, period=0.7,
                                                   limbs=5.5)) is None  # the world speed alone: 2.4 m/s, no glide


def test_path_controlled_models_sample_with_noise_at_every_level(tiny_path_model, tiny_model):
    """``noise="auto"`` (the default): every level for a path-controlled model (its steps come from the finer
    levels' noise; a steady path gives them nothing else to step by), the coarsest only for other models."""
    from mrgen_core.sampling import noise_mode

    path_model, other = load_model(tiny_path_model), load_model(tiny_model)
    assert noise_mode(path_model) == "all" and noise_mode(other) == "coarsest"
    assert noise_mode(path_model, "coarsest") == "coarsest" and noise_mode(other, "all") == "all"
    with pytest.raises(MrgenError, match="noise must be"):
        noise_mode(other, "some")
    a = generate(path_model, seconds=2, labels="walk", seed=0)[0]
    b = generate(path_model, seconds=2, labels="walk", seed=0, noise="all")[0]
    assert np.allclose(a.poses, b.poses)
