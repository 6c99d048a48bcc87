"""Label codes (training setting ``label_codes``): where several clips share a label, each clip is learnt under a
code of its own (``label/clip``) and the label is played as a tour of its clips; users still see and ask for the
labels. Real clips (CMU 02_01 and 131_01 walks, CMU 002_03 run) on the ``tiny`` test preset."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import data_path

from mrgen_core import tasks
from mrgen_core.blending import blend
from mrgen_core.clip_codes import groups_of, label_codes, loop_code, public_labels, resolve
from mrgen_core.errors import MrgenError
from mrgen_core.motion_files import load_motion
from mrgen_core.sampling import generate, load_model
from training.train import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CLIPS = ["cmu_mocap/cgspeed_motionbuilder/02_01.bvh", "cmu_mocap/cgspeed_3dsmax/131_01.bvh",
         "cmu_mocap/iclone_cc_rig/002_03.bvh"]
LABELS = ["walk", "walk", "run"]


@pytest.fixture(scope="module")
def clips():
    return [load_motion(data_path(c), fps=30) for c in CLIPS]


@pytest.fixture(scope="module")
def coded(clips, tmp_path_factory):
    out = tmp_path_factory.mktemp("labelcodes") / "coded.pt"
    return train(clips, out, preset="tiny", seed=3, quiet=True, label_per_clip=LABELS,
                 overrides=dict(iterations=6, label_codes=True))


def test_label_codes_are_a_code_per_clip_of_a_shared_label():
    assert label_codes(["walk", "walk", "run"], ["02_01", "131_01", "002_03"]) == (
        {"walk": ["walk/02_01", "walk/131_01"], "run": ["run"]}, ["walk/02_01", "walk/131_01", "run"])
    assert label_codes(["walk", "run"], ["a", "b"]) is None  # no label has two clips: nothing to do
    assert label_codes(["walk", None], ["a", "b"]) is None  # a clip with several labels: left as it is


def test_a_coded_model_is_trained_on_codes_and_shows_its_labels(clips, coded, tmp_path):
    model = load_model(coded)
    assert list(model.labels) == ["walk/02_01", "walk/131_01", "run"]
    assert groups_of(model) == {"walk": ["walk/02_01", "walk/131_01"], "run": ["run"]}
    assert public_labels(model) == ("walk", "run") and tasks.model_info(model, coded)["labels"] == ["walk", "run"]
    assert [m.label_names()[0] for m in model.training_motions()] == LABELS
    by_hand = load_model(train(clips, tmp_path / "hand.pt", preset="tiny", seed=3, quiet=True,
                               label_per_clip=list(model.labels), overrides=dict(iterations=6)))
    assert all(torch.equal(a, b) for a, b in zip(model.generators.parameters(), by_hand.generators.parameters()))
    plain = load_model(train(clips, tmp_path / "plain.pt", preset="tiny", seed=3, quiet=True,
                             label_per_clip=LABELS, overrides=dict(iterations=2)))
    assert groups_of(plain) is None and list(plain.labels) == ["walk", "run"]  # off by default


def test_a_label_plays_a_tour_of_its_clips(coded):
    model = load_model(coded)
    n = int(20 * model.fps)
    sched = resolve(model, [(0.0, 10.0, "walk"), (10.0, None, "run")], n, seed=4)
    walk = [s for s in sched if s[1] is not None and s[1] <= 10.0]
    assert {s[2] for s in walk} == {"walk/02_01", "walk/131_01"} and sched[-1] == (10.0, None, "run")
    assert walk[0][0] == 0.0 and walk[-1][1] == 10.0 and all(a[1] == b[0] for a, b in zip(walk, walk[1:]))
    tours = {tuple(resolve(model, [(0.0, 10.0, "walk")], n, s)) for s in range(6)}
    assert len(tours) > 1 and resolve(model, sched, n, 9) == sched  # the order varies by seed; codes stay codes
    a, b = generate(model, labels="walk:0-6,run:6-8", seed=1, num=2, cleanup=False)
    assert a.vocab == ("walk", "run") and a.label_names()[0] == "walk" and a.label_names()[-1] == "run"
    again = generate(model, labels="walk:0-6,run:6-8", seed=2, num=1, cleanup=False)[0]
    np.testing.assert_array_equal(b.poses, again.poses)  # sample k does not depend on num
    one = generate(model, labels="walk/131_01", seconds=2, seed=0, cleanup=False)[0]
    assert set(one.label_names()) == {"walk"}  # a clip's code can be asked for, and reads as its label
    with pytest.raises(MrgenError, match="the model knows: walk, run"):
        generate(model, labels="hop", seconds=2)


def test_eval_loops_and_blends_use_the_labels(coded):
    model = load_model(coded)
    res = tasks.evaluate(model=coded, samples=2, frames=120)
    assert set(res["per_label"]) == {"walk", "run"}
    loops = generate(model, labels="walk", seconds=2, loop=True, cleanup=False, seed=4, num=2)
    assert all(set(loop.label_names()) == {"walk"} for loop in loops)
    assert [loop_code(model, "walk", s) for s in (4, 5, 6)] == ["walk/02_01", "walk/131_01", "walk/02_01"]
    assert loop_code(model, "run", 5) == "run"
    for k, code in enumerate(["walk/02_01", "walk/131_01"]):  # a loop follows one clip, picked by its seed
        alone = generate(model, labels=code, seconds=2, loop=True, cleanup=False, seed=4 + k)[0]
        np.testing.assert_array_equal(loops[k].poses, alone.poses)
    src = generate(model, labels="walk:0-3,run:3-5", seed=3, cleanup=False)[0]
    out = blend(model, src, keep_levels=2, seed=1)[0]
    assert out.vocab == ("walk", "run") and out.label_names()[0] == "walk" and out.label_names()[-1] == "run"


def test_label_codes_with_mirrored_clips_and_path_control(clips, tmp_path):
    """Mirrored copies keep their clip's code; a path-controlled coded model walks a path under a label, and a free
    sample of the label travels."""
    from mrgen_core import path_control

    out = train(clips, tmp_path / "pc.pt", preset="tiny", seed=0, quiet=True, control_source=path_control.SOURCE,
                label_per_clip=LABELS, overrides=dict(iterations=6, label_codes=True, mirror=True))
    model = load_model(out)
    assert list(model.labels) == ["walk/02_01", "walk/131_01", "run"] and len(model.clips) == 6
    free = generate(model, labels="walk", seconds=8, seed=1)[0]
    assert set(free.label_names()) == {"walk"}
    res = tasks.generate(model=out, outputs=[tmp_path / "route.npz"], path=[[0, 0, 0], [2, 0, 4]], labels="walk",
                         seed=0)
    walked = load_motion(tmp_path / "route.npz")
    assert res.frames and set(walked.label_names()) == {"walk"}
