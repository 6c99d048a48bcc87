"""Mirroring a motion left to right (mrgen_core.mirror) and training on mirrored clips (``mrgen train --mirror``)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import DANCE, WALK, data_path
from mrgen_core import features as feat
from mrgen_core import path_control
from mrgen_core.motion_files import load_motion
from mrgen_core.mirror import MIRROR_JOINTS, mirror_motion
from mrgen_core.skeleton import OFFSETS, Skeleton

REFLECT = np.array([-1.0, 1.0, 1.0])


def symmetric_skeleton() -> Skeleton:
    """The neutral SMPL skeleton made exactly left-right symmetric (the pelvis row, not a bone, kept)."""
    o = OFFSETS["neutral"]
    sym = 0.5 * (o + o[MIRROR_JOINTS] * REFLECT)
    sym[0] = o[0]
    return Skeleton(sym, "neutral")


@pytest.fixture(scope="module")
def dance():
    return load_motion(data_path(DANCE)).slice(0, 150)


def test_mirrored_joints_are_the_reflected_joints_on_a_symmetric_skeleton(dance):
    sk = symmetric_skeleton()
    mir = mirror_motion(dance)
    expected = sk.fk(dance.poses, dance.trans)[:, MIRROR_JOINTS] * REFLECT
    np.testing.assert_allclose(sk.fk(mir.poses, mir.trans), expected, atol=1e-9)


def test_real_skeleton_lands_within_two_centimetres(dance):
    mir = mirror_motion(dance)
    err = np.linalg.norm(mir.joints() - dance.joints()[:, MIRROR_JOINTS] * REFLECT, axis=-1)
    assert err.max() < 0.02
    assert err.max() > 1e-4  # the SMPL mean shape is not exactly symmetric: this is a real bound, not zero


def test_mirroring_twice_gives_the_motion_back_and_keeps_what_it_carries(dance):
    m = dance.copy(labels=np.zeros(dance.num_frames, dtype=np.int64), vocab=("dance",))
    mir = mirror_motion(m)
    assert mir.name == f"{m.name}_mirrored" and mir.fps == m.fps and mir.vocab == ("dance",)
    np.testing.assert_array_equal(mir.labels, m.labels)
    back = mirror_motion(mir)
    np.testing.assert_allclose(back.poses, m.poses, atol=1e-12)
    np.testing.assert_allclose(back.trans, m.trans, atol=1e-12)
    assert not np.allclose(mir.poses, m.poses)


def test_a_left_turn_becomes_a_right_turn(dance):
    travel = path_control.of_features(feat.encode(dance), dance.fps)
    mirrored = path_control.of_features(feat.encode(mirror_motion(dance)), dance.fps)
    assert np.abs(travel[:, 2]).max() > 1.0  # the dance turns
    # heading frame: forward speed kept, sideways speed and turning rate reversed
    np.testing.assert_allclose(mirrored, travel * np.array([-1.0, 1.0, -1.0]), atol=1e-6)


def test_training_with_mirror_adds_every_clip_mirrored_with_its_label():
    from training.data import prepare
    from training.presets import get_preset

    walk = data_path(WALK)
    kw = dict(label_per_clip=["walk"], generator=torch.Generator().manual_seed(0),
              control_source=path_control.SOURCE)
    plain = prepare([walk], get_preset("tiny"), **kw)
    kw["generator"] = torch.Generator().manual_seed(0)
    both = prepare([walk], get_preset("tiny", mirror=True), **kw)
    assert [c["name"] for c in both.clips] == ["02_01", "02_01_mirrored"]
    assert [c["labels"] for c in both.clips][0] == [c["labels"] for c in both.clips][1]
    assert len(both.clip_features) == len(both.clip_controls) == 2
    travel = path_control.clip_travel(both)
    np.testing.assert_allclose(travel[1], travel[0] * np.array([-1.0, 1.0, -1.0]), atol=1e-4)
    assert len(plain.clips) == 1


def test_mirror_cannot_change_a_resumed_run(tmp_path):
    from mrgen_core.errors import MrgenError
    from mrgen_core.tasks import train

    with pytest.raises(MrgenError, match="--mirror cannot change a run being resumed"):
        train([], tmp_path / "m.pt", resume=tmp_path / "m.pt", mirror=True)


def test_a_mirrored_model_knows_its_copies_and_is_scored_on_all_it_learned(tmp_path):
    """The mirrored copies are marked in the model file; ``mrgen eval --model`` scores against every clip the model
    learned, the mirrored copies included (GANimator's protocol on the training set: samples twice its length)."""
    from mrgen_core import sampling
    from mrgen_core.tasks import evaluate, train

    out = tmp_path / "m.pt"
    train([data_path(WALK)], out, preset="tiny", seed=0, quiet=True, procs=1, mirror=True)
    model = sampling.load_model(out)
    assert [c.get("mirrored", False) for c in model.clips] == [False, True]
    assert [m.name for m in model.training_motions()] == ["02_01", "02_01_mirrored"]
    res = evaluate(model=out, samples=2, seed=0)
    assert res["protocol"]["references"] == [str(data_path(WALK))] * 2
    assert res["protocol"]["frames"] == 4 * model.clips[0]["frames"]
