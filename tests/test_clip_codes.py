"""Clip codes (``clip_codes``, on in ``default``): several unlabelled clips are learnt each under a label named after
the clip, a free sample visits every clip in turn, and ``mrgen eval`` scores such a model as an unlabelled one.

Real clips (CMU 02_01 walk, CMU 002_03 run) on the ``tiny`` test preset.
"""
from __future__ import annotations

import pytest
import torch
from conftest import data_path

from mrgen_core import tasks
from mrgen_core.clip_codes import code_names, tour, uses_clip_codes
from mrgen_core.motion_files import load_motion
from mrgen_core.sampling import generate, load_model
from training.train import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WALK, RUN = "cmu_mocap/cgspeed_motionbuilder/02_01.bvh", "cmu_mocap/iclone_cc_rig/002_03.bvh"


@pytest.fixture(scope="module")
def clips():
    return [load_motion(data_path(WALK), fps=30), load_motion(data_path(RUN), fps=30)]


@pytest.fixture(scope="module")
def coded(clips, tmp_path_factory):
    out = tmp_path_factory.mktemp("codes") / "coded.pt"
    return train(clips, out, preset="tiny", seed=2, quiet=True, overrides=dict(iterations=8, clip_codes=True))


def _same_weights(a, b) -> bool:
    return all(torch.equal(pa, pb) for pa, pb in zip(a.generators.parameters(), b.generators.parameters()))


def test_code_names_are_the_clips_names_made_unique():
    assert code_names(["walk", "run", "walk", "walk"]) == ["walk", "run", "walk (2)", "walk (3)"]
    assert code_names(["take:1,a", " "]) == ["take_1_a", "clip"]  # a name a schedule can hold


def test_a_coded_model_is_the_model_trained_with_a_label_per_clip(clips, coded, tmp_path):
    """Training with clip codes is, bit for bit, training with each clip's name as its label; the model file says
    so. One clip, or clips that carry labels, train exactly as without the setting."""
    model = load_model(coded)
    names = [c["name"] for c in model.clips]
    assert uses_clip_codes(model) and list(model.labels) == names == ["02_01", "002_03"]
    kw = dict(preset="tiny", seed=2, quiet=True)
    by_hand = load_model(train(clips, tmp_path / "hand.pt", label_per_clip=names, overrides=dict(iterations=8), **kw))
    assert not uses_clip_codes(by_hand) and _same_weights(model, by_hand)
    assert tasks.model_info(model, coded)["clip_codes"] and not tasks.model_info(by_hand, "x")["clip_codes"]
    one = [load_model(train(clips[:1], tmp_path / f"one{v}.pt", overrides=dict(iterations=4, clip_codes=v), **kw))
           for v in (False, True)]
    assert not uses_clip_codes(one[1]) and not one[1].labels and _same_weights(*one)
    labelled = load_model(train(clips, tmp_path / "lab.pt", label_per_clip=["walk", "run"],
                                overrides=dict(iterations=4, clip_codes=True), **kw))
    assert not uses_clip_codes(labelled) and list(labelled.labels) == ["walk", "run"]


def test_a_tour_visits_every_clip_once_a_round_for_its_length(coded):
    model = load_model(coded)
    seconds = {c["name"]: c["frames"] / c["fps"] for c in model.clips}
    total = sum(seconds.values())
    frames = int(2.5 * total * model.fps)
    plan = tour(model, frames, seed=5)
    assert plan[0][0] == 0.0 and plan[-1][1] == pytest.approx(frames / model.fps)
    assert all(a[1] == pytest.approx(b[0]) for a, b in zip(plan, plan[1:]))  # back to back
    rounds = [plan[i:i + 2] for i in range(0, len(plan), 2)]
    for r in rounds[:2]:  # two whole rounds, each clip once for its own length
        assert sorted(s[2] for s in r) == sorted(seconds)
        assert all(s[1] - s[0] == pytest.approx(seconds[s[2]]) for s in r)
    orders = {tuple(s[2] for s in tour(model, frames, seed=k)[:2]) for k in range(12)}
    assert len(orders) == 2  # the order is drawn: both orders turn up
    assert tour(model, frames, seed=5) == plan
    from types import SimpleNamespace

    bare = SimpleNamespace(fps=30.0, labels=("a", "b"), clips=[dict(frames=30, fps=30.0, labels=None)])
    assert tour(bare, 90, seed=0) == [(0.0, None, "a")]  # nothing to tour: the first label, never a hang


def test_free_samples_visit_every_clip_and_a_named_clip_is_a_label(coded):
    model = load_model(coded)
    n = 2 * sum(c["frames"] for c in model.clips)
    a, b = generate(model, frames=n, seed=3, num=2)
    for s, k in ((a, 3), (b, 4)):
        want = [seg[2] for seg in tour(model, n, seed=k)]  # the sample's own tour, frame by frame
        names = list(s.label_names())
        runs = [x for i, x in enumerate(names) if i == 0 or x != names[i - 1]]
        assert set(names) == set(model.labels) and runs == [w for i, w in enumerate(want) if i == 0 or w != want[i - 1]]
    assert generate(model, frames=n, seed=4)[0].label_names() == b.label_names()  # sample k does not depend on num
    assert generate(model, frames=n, seed=4, labels="")[0].label_names() == b.label_names()  # Blender's empty Label
    only = generate(model, frames=60, seed=0, labels="002_03")[0]
    assert set(only.label_names()) == {"002_03"}
    loops = generate(model, frames=60, seed=0, loop=True, num=len(model.labels))
    assert [set(m.label_names()) for m in loops] == [{c} for c in model.labels]  # a loop holds one clip, by seed


def test_eval_scores_a_coded_model_as_an_unlabelled_one(coded):
    res = tasks.evaluate(model=coded, samples=2, seed=0, frames=150)
    assert "per_label" not in res and "labels" not in res["protocol"]
    assert 0.0 <= res["coverage"] <= 1.0
    one = tasks.evaluate(model=coded, samples=2, seed=0, frames=150, label="02_01")
    assert one["protocol"]["labels"] == ["02_01"]


def test_a_blend_of_an_unlabelled_source_tours_the_clips(coded, clips):
    from mrgen_core.blending import blend

    model = load_model(coded)
    src = clips[1].copy(labels=None, vocab=())
    out = blend(model, src, 3, seed=7)[0]
    want = [seg[2] for seg in tour(model, src.num_frames, seed=7)]
    assert out.label_names()[0] == want[0] and set(out.label_names()) == set(want)
    own = blend(model, model.training_motions()[1], 3, seed=7)[0]  # a labelled source keeps its labels
    assert set(own.label_names()) == {"002_03"}


def test_codes_with_mirrored_clips_and_path_control(clips, tmp_path):
    """Mirrored copies share their clip's code and add no visit to a tour; a path-controlled coded model samples free
    tours and follows a path."""
    from mrgen_core import path_control

    out = train(clips, tmp_path / "pc.pt", preset="tiny", seed=0, quiet=True, control_source=path_control.SOURCE,
                overrides=dict(iterations=6, clip_codes=True, mirror=True))
    model = load_model(out)
    assert uses_clip_codes(model) and list(model.labels) == ["02_01", "002_03"] and len(model.clips) == 4
    plan = tour(model, 4 * sum(c["frames"] for c in model.clips[:2]), seed=1)
    assert sorted(s[2] for s in plan[:2]) == ["002_03", "02_01"]
    own = {c["name"]: c["frames"] / c["fps"] for c in model.clips if not c.get("mirrored")}
    assert all(b - a == pytest.approx(own[name]) for a, b, name in plan[:2])  # each for its own clip's length
    free = generate(model, frames=300, seed=1)[0]
    assert set(free.label_names()) <= set(model.labels) and len(set(free.label_names())) == 2
    res = tasks.generate(model=out, outputs=[tmp_path / "route.npz"], path=[[0, 0, 0], [2, 0, 4]], seed=0)
    assert (tmp_path / "route.npz").is_file() and res.frames
