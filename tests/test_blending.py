"""Blending (keep a source's coarse levels, regenerate the rest) and control mixing across levels, on a tiny model
trained on two real clips (walk, run)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mrgen_core.blending import blend, generate_mixed, source_padding
from mrgen_core.cli import main
from mrgen_core.errors import MrgenError
from mrgen_core.metrics import evaluate
from mrgen_core.motion_files import load_motion, save_motion
from mrgen_core.sampling import load_model

from conftest import data_path


@pytest.fixture(scope="module")
def model_file(tiny_labelled_model):
    """The tiny model on the walk and the run, labelled (tests/conftest.py)."""
    return tiny_labelled_model


@pytest.fixture(scope="module")
def model(model_file):
    return load_model(model_file)


@pytest.fixture(scope="module")
def walk(model):
    return model.training_motions()[model.clip_names.index("02_01")]


def test_keep_all_levels_gives_the_source_back(model, walk):
    out = blend(model, walk, "all", seed=3)[0]
    assert out.num_frames == walk.num_frames
    err = np.linalg.norm(out.joints() - walk.joints(), axis=-1)
    assert err.max() < 0.01  # within 1 cm
    same = blend(model, walk, model.num_levels, seed=9)[0]
    np.testing.assert_allclose(same.joints(), out.joints(), atol=1e-6)


def test_keep_two_levels_keeps_the_path_and_changes_the_detail(model, walk):
    outs = blend(model, walk, 2, seed=1, num=2, cleanup=False)
    src_path = walk.joints()[:, 0, :2]
    length = np.linalg.norm(np.diff(src_path, axis=0), axis=-1).sum()
    assert length > 2.0  # the walk covers ground
    for out in outs:
        dist = np.linalg.norm(out.joints()[:, 0, :2] - src_path, axis=-1).mean()
        assert dist < 0.2 * length, f"root path moved {dist:.2f} m of {length:.2f} m"
        assert evaluate([out], [walk])["local_diversity"] > 0.3
    assert not np.allclose(outs[0].poses, outs[1].poses)  # the seed varies the detail
    again = blend(model, walk, 2, seed=2, cleanup=False)[0]  # variation k uses seed + k
    np.testing.assert_allclose(again.poses, outs[1].poses, atol=1e-6)


def test_a_drifting_heading_does_not_bend_the_kept_path(model, walk):
    """The path is kept in world space: regenerated detail whose turning rate is biased (a heading that drifts, as
    on a dance clip full of turns) and whose steps are too long still lands on the source's path."""
    from mrgen_core import features as feat
    from mrgen_core.blending import _keep_path

    src = feat.encode(walk)
    bent = src.copy()
    fast = 1.5 * np.sin(2 * np.pi * 2.5 * np.arange(len(src)) / walk.fps)  # quick turns, 2.5 Hz
    bent[:, feat.YAW_RATE] += 0.4 + fast  # rad/s
    bent[:, [feat.VEL_X, feat.VEL_Y]] *= 1.2
    path = feat.integrate_root(src, walk.fps)[0][:, :2]
    length = np.linalg.norm(np.diff(path, axis=0), axis=-1).sum()
    norm = (bent - model.mean.numpy()) / model.std.numpy()
    out = torch.as_tensor(norm.T[None], dtype=torch.float32)
    kept = model.denormalize(_keep_path(model, out, src, cutoff=20.0)[0]).T.double().numpy()

    def off(f):
        return np.linalg.norm(feat.integrate_root(f, walk.fps)[0][:, :2] - path, axis=-1).mean() / length

    assert off(bent) > 0.15 and off(kept) < 0.03, (off(bent), off(kept))
    # detail faster than the cutoff (20 frames) stays: the quick turns are still there
    assert np.corrcoef(kept[:-1, feat.YAW_RATE] - src[:-1, feat.YAW_RATE], fast[:-1])[0, 1] > 0.9


def test_blend_under_a_label_schedule(model, walk):
    """A schedule drives the regenerated levels (crossfaded at the switch) and the source's path is still kept."""
    n = walk.num_frames
    half = n / walk.fps / 2
    out = blend(model, walk, 2, labels=f"walk:0-{half:.2f},run:{half:.2f}-{2 * half:.2f}", seed=1, cleanup=False)[0]
    names = out.label_names()
    assert names[0] == "walk" and names[-1] == "run" and out.num_frames == n
    as_walk = blend(model, walk, 2, labels="walk", seed=1, cleanup=False)[0]
    gap = np.linalg.norm(out.joints() - as_walk.joints(), axis=-1).mean(axis=1)
    assert gap[-n // 4:].mean() > gap[:n // 4].mean()  # the run half differs more from an all-walk blend
    path = walk.joints()[:, 0, :2]
    length = np.linalg.norm(np.diff(path, axis=0), axis=-1).sum()
    assert np.linalg.norm(out.joints()[:, 0, :2] - path, axis=-1).mean() < 0.2 * length


def test_more_kept_levels_stay_closer_to_the_source(model, walk):
    err = [np.linalg.norm(blend(model, walk, k, seed=4, cleanup=False)[0].joints() - walk.joints(), axis=-1).mean()
           for k in (1, model.num_levels - 1, model.num_levels)]
    assert err[0] > err[1] > err[2]


def test_source_by_clip_name_and_file(model, walk, tmp_path):
    by_name = blend(model, "02_01", 3, seed=0)[0]
    path = tmp_path / "walk.npz"
    save_motion(walk, path)
    by_file = blend(model, path, 3, seed=0)[0]
    np.testing.assert_allclose(by_name.joints(), by_file.joints(), atol=1e-4)
    assert by_name.label_names()[0] == "walk"  # the source's own label drives the regenerated levels


def test_control_mixing_across_levels(model):
    n = 60
    mixed = generate_mixed(model, frames=n, coarse_labels="walk", fine_labels="run", switch_level=2, seed=0,
                           cleanup=False)[0]
    walk = generate_mixed(model, frames=n, coarse_labels="walk", fine_labels="walk", switch_level=2, seed=0,
                          cleanup=False)[0]
    run = generate_mixed(model, frames=n, coarse_labels="run", fine_labels="run", switch_level=2, seed=0,
                         cleanup=False)[0]
    assert mixed.num_frames == n and mixed.label_names()[0] == "run"
    # the fine control changes the result, and the coarse control matters too
    assert not np.allclose(mixed.poses, walk.poses, atol=1e-4)
    assert not np.allclose(mixed.poses, run.poses, atol=1e-4)


def test_bad_requests_are_clear_errors(model, walk):
    with pytest.raises(MrgenError, match="unknown label 'jump'; the model knows: walk, run"):
        blend(model, walk, 2, labels="jump")
    with pytest.raises(MrgenError, match="--keep-levels must be from 1 to"):
        blend(model, walk, model.num_levels + 1)
    with pytest.raises(MrgenError, match="--keep-levels must be a number"):
        blend(model, walk, "most")
    with pytest.raises(MrgenError, match="--switch-level must be from 1 to"):
        generate_mixed(model, frames=60, coarse_labels="walk", fine_labels="run", switch_level=model.num_levels)
    with pytest.raises(MrgenError, match="neither a motion file nor a training clip"):
        blend(model, "no_such_clip", 2)


def test_a_short_source_is_padded_and_cut_back(model, walk):
    """A source shorter than its kept levels need is mirrored to their length, blended and cut back: the result has
    the source's frames, and keeping every level still gives the source back."""
    short = walk.slice(20, 32)
    left, right = source_padding(model, 12, 1)
    assert left > 0 and right > 0 and source_padding(model, walk.num_frames, model.num_levels) == (0, 0)
    out = blend(model, short, 1, seed=0)[0]
    assert out.num_frames == 12 and np.isfinite(out.poses).all()
    back = blend(model, short, "all")[0]
    assert back.num_frames == 12
    assert np.linalg.norm(back.joints() - short.joints(), axis=-1).max() < 0.01  # within 1 cm, in place


def test_cli_blend_of_a_3_second_clip_with_the_shipped_model(tmp_path, capsys):
    """`mrgen blend --source <3 s clip> -o out.bvh` (the shipped model, whose kept levels at the default
    --keep-levels 2 need 5.5 s): exactly the source's frames, its path kept, and no pop where the padding was cut
    off (joints no faster in the first and last frames than in the middle)."""
    src = load_motion(data_path("cmu_mocap/cgspeed_3dsmax/131_01.bvh"), fps=30).slice(60, 150)  # a walk, 2.3 m
    source = tmp_path / "walk_3s.npz"
    save_motion(src, source)
    out = tmp_path / "out.bvh"
    assert main(["blend", "--source", str(source), "-o", str(out)]) == 0
    assert "90 frames at 30 fps (3.00 s)" in capsys.readouterr().out
    res = load_motion(out, fps=30)
    assert res.num_frames == src.num_frames == 90
    path = src.joints()[:, 0, :2]
    length = np.linalg.norm(np.diff(path, axis=0), axis=-1).sum()
    err = np.linalg.norm(res.joints()[:, 0, :2] - path, axis=-1)
    assert err.mean() < 0.04 * length and err.max() < 0.08 * length, (err.mean(), err.max(), length)
    speed = (np.linalg.norm(np.diff(res.joints(), axis=0), axis=-1) * 30).max(axis=1)
    ends, middle = max(speed[:5].max(), speed[-5:].max()), speed[5:-5].max()
    assert ends <= middle, (ends, middle)
    assert not np.allclose(res.poses, src.poses, atol=1e-2)  # new detail


def test_cli_blend_and_its_errors(model_file, tmp_path, capsys):
    out = tmp_path / "var.bvh"
    assert main(["blend", "--model", str(model_file), "--source", "02_01", "--keep-levels", "2", "--num", "2",
                 "--seed", "5", "-o", str(out)]) == 0
    files = sorted(tmp_path.glob("var_*.bvh"))
    assert len(files) == 2 and load_motion(files[0]).num_frames > 60
    mix = tmp_path / "mix.npz"
    assert main(["blend", "--model", str(model_file), "--coarse-labels", "walk", "--fine-labels", "run",
                 "--switch-level", "2", "--seconds", "2", "-o", str(mix)]) == 0
    assert load_motion(mix).num_frames == 60
    capsys.readouterr()
    bad = tmp_path / "bad.npz"
    for argv, needle in (
        (["--source", "02_01", "--labels", "jump"], "the model knows: walk, run"),
        (["--coarse-labels", "walk", "--fine-labels", "run", "--switch-level", "99"], "--switch-level must be"),
        (["--source", "02_01", "--keep-levels", "0"], "--keep-levels must be from 1"),
        ([], "give --source"),
    ):
        assert main(["blend", "--model", str(model_file), *argv, "-o", str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("mrgen: error: ") and err.count("\n") == 1 and needle in err, err
        assert not bad.exists()
