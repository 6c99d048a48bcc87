"""Directing the motion on the tiny walk model (tests/conftest.py): seamless loops, key poses, kept frames, in-place
root motion, the loop preview, and their bad input."""
from __future__ import annotations

import numpy as np
import pytest

from mrgen_core import features as feat
from mrgen_core import loops, tasks
from mrgen_core.cli import main
from mrgen_core.blend_directed import blend as blend_directed
from mrgen_core.directing import label_period
from mrgen_core.motion_files import load_motion, save_motion
from mrgen_core.keys import KeyPoses, level_weights, parse_frame_ranges
from mrgen_core.root_motion import in_place
from mrgen_core.rotations import axis_angle_to_matrix
from mrgen_core.sampling import generate, load_model
from mrgen_core.skeleton import FOOT_JOINTS

from conftest import WALK, data_path

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model(tiny_model):
    return load_model(tiny_model)


@pytest.fixture(scope="module")
def walk():
    return load_motion(data_path(WALK))  # 120 fps, as the file is


def _steps(joints: np.ndarray) -> np.ndarray:
    """Mean joint position change from each frame to the next (T-1,)."""
    return np.linalg.norm(np.diff(joints, axis=0), axis=-1).mean(axis=1)


def _seam(motion) -> tuple[float, float, float, float]:
    """The loop's seam jump and seam acceleration (mean over joints), and the clip's own 95th percentile of
    frame-to-frame change and 99th of acceleration (three copies end to end, the middle one measured)."""
    t = motion.num_frames
    j = loops.repeat(motion, 3).joints()
    steps = np.linalg.norm(np.diff(j, axis=0), axis=-1).mean(axis=1)
    acc = np.linalg.norm(np.diff(j, 2, axis=0), axis=-1).mean(axis=1)
    own_steps, own_acc = _steps(motion.joints()), acc[t:2 * t - 2]
    return float(steps[2 * t - 1]), float(max(acc[2 * t - 2], acc[2 * t - 1])), \
        float(np.percentile(own_steps, 95)), float(np.percentile(own_acc, 99))


def _local(joints: np.ndarray, motion) -> np.ndarray:
    """Joints relative to the pelvis, in its heading frame (the pose without where it is and faces)."""
    from mrgen_core.geometry import rz

    yaw = feat.heading(axis_angle_to_matrix(motion.poses[:, 0]))
    return np.einsum("tji,tkj->tki", rz(yaw), joints - joints[:, :1])


# --- loops --------------------------------------------------------------------------------------------------------
def test_a_loop_runs_on_from_its_last_frame_into_its_first(model):
    looped = generate(model, 3.0, seed=4, labels="walk", loop=True)[0]
    plain = generate(model, 3.0, seed=4, labels="walk")[0]
    jump, acc, p95, p99 = _seam(looped)
    assert jump <= p95 and acc <= p99, (jump, p95, acc, p99)
    jump_plain, _, p95_plain, _ = _seam(plain)
    assert jump_plain > 3 * p95_plain  # without --loop the end does not lead into the start
    # the heading comes back each cycle; root velocity and pose continuous across the seam
    f = feat.encode(loops.repeat(looped, 2))
    t = looped.num_frames
    dv = np.abs(np.diff(f[:, feat.ROOT], axis=0))
    assert dv[t - 1].max() <= np.percentile(dv, 99.5, axis=0).max()
    h = feat.heading(axis_angle_to_matrix(loops.repeat(looped, 2).poses[[0, t], 0]))
    assert abs((h[1] - h[0] + np.pi) % (2 * np.pi) - np.pi) < 0.01


def test_a_loop_starts_as_far_from_contact_changes_as_its_period_allows():
    # contacts change every 4 frames (a walk's four feet): no frame is a cleanup fade (6 frames) from every change;
    # the calmest stretch of the features lies on a change (frame 32), so the calmest frame alone would seam there
    t = 64
    x = np.random.default_rng(0).normal(size=(t, 5))
    x[29:36] = x[29]
    contacts = ((np.arange(t) // 4) % 2 == 0)[:, None].repeat(4, axis=1).astype(float)
    start = loops.loop_start(x, contacts, 30.0)
    assert min(start % 4, 4 - start % 4) == 2, start  # as far from a change as these contacts allow
    assert start in (30, 34)  # and the calmest of those frames
    contacts[:] = 1.0  # no change at all: the calmest frame
    assert loops.loop_start(x, contacts, 30.0) in (31, 32)


def test_an_in_place_loop_stays_put_and_cycles_follow_the_label_period(model, tiny_model, tmp_path):
    period = label_period(model, "walk")
    assert 0.9 < period < 1.3  # a CMU walk stride (02_01: 1.1 s)
    res = tasks.generate(str(tiny_model), [tmp_path / "cycle.npz"], labels="walk", loop=True, cycles=3,
                         root="in-place", seed=1)
    assert res.frames == [int(round(3 * period * model.fps))]
    m = load_motion(tmp_path / "cycle.npz")
    pelvis = m.trans + m.skeleton.offsets[0]
    assert np.abs(pelvis[:, :2] - pelvis[0, :2]).max() < 1e-3  # no horizontal root travel
    assert np.linalg.norm(loops.loop_offset(m)) < 1e-3
    assert np.ptp(pelvis[:, 2]) > 0.005  # the vertical motion stays
    jump, acc, p95, p99 = _seam(m)
    assert jump <= p95 and acc <= p99


def test_blend_loop_keeps_the_source_away_from_the_seam(model, walk):
    src = walk.resample(model.fps)
    out = blend_directed(model, walk, 2, loop=True, seed=0)[0]
    assert out.num_frames == src.num_frames
    jump, acc, p95, p99 = _seam(out)
    assert jump <= p95 and acc <= p99
    mid = slice(out.num_frames // 2 - 5, out.num_frames // 2 + 5)  # far from the seam: near the source's path
    gap = np.linalg.norm(out.joints()[mid, 0, :2] - src.joints()[mid, 0, :2], axis=-1).mean()
    assert gap < 0.5


def test_repeat_carries_each_copy_on(walk):
    m = walk.resample(30)
    three = loops.repeat(m, 3)
    assert three.num_frames == 3 * m.num_frames
    np.testing.assert_allclose(three.joints()[:m.num_frames], m.joints(), atol=1e-6)
    # the second copy starts one step on from where the first ends (a walk, not a jump back)
    pelvis = three.joints()[:, 0]
    assert np.linalg.norm(pelvis[m.num_frames] - pelvis[m.num_frames - 1]) < 0.1


# --- key poses and kept frames ------------------------------------------------------------------------------------
def test_key_poses_are_hit_without_popping(model, walk):
    keys = [0, 160, 320]  # frames of the 120 fps clip: 0, 40 and 80 at the model's 30 fps
    at = [0, 40, 80]
    speed = lambda m: np.linalg.norm(np.gradient(m.joints(), axis=0), axis=-1) * m.fps  # noqa: E731
    near = np.zeros(90, dtype=bool)
    for f in at:
        near[max(0, f - 15):f + 16] = True  # within 0.5 s of a key
    plain = speed(generate(model, 3.0, seed=2, labels="walk", cleanup=False)[0]).max()
    for with_root in (False, True):
        out = generate(model, 3.0, seed=2, labels="walk", keys=KeyPoses(walk, keys, with_root))[0]
        j, jk = out.joints(), walk.joints()
        err = np.linalg.norm(_local(j, out)[at] - _local(jk, walk)[keys], axis=-1).mean()
        assert err < 0.002, f"pose error at the keys {err * 100:.2f} cm"
        if with_root:
            assert np.linalg.norm(j[at] - jk[keys], axis=-1).mean() < 0.002
        raw = generate(model, 3.0, seed=2, labels="walk", keys=KeyPoses(walk, keys, with_root), cleanup=False)[0]
        # no pop: joints move near the keys no faster than the model moves them without keys (the tiny model's own
        # toes outrun the training clip's)
        assert speed(raw)[near].max() <= 1.1 * plain, (speed(raw)[near].max(), plain)


def test_kept_frames_come_back_exactly_and_the_rest_is_new(model, walk):
    src = walk.resample(model.fps)
    for k in (0, 2):
        out = blend_directed(model, walk, k, keep_frames="0-60,240-342", seed=1)[0]  # 0-15 and 60-85 at 30 fps
        assert out.num_frames == src.num_frames
        kept = np.r_[0:16, 60:86]
        err = np.linalg.norm(out.joints()[kept] - src.joints()[kept], axis=-1).max()
        assert err < 0.002, f"keep-levels {k}: kept frames {err * 100:.2f} cm off"
        between = np.linalg.norm(out.joints()[25:50] - src.joints()[25:50], axis=-1).mean()
        assert between > 0.005  # regenerated


def test_level_weights_pin_the_kept_frames_and_fade():
    w = level_weights([(10, 12)], 40, 40)
    assert np.all(w[10:13] == 1.0) and w[9] < 1.0 and w[8] > 0.0 and w[6] == 0.0
    coarse = level_weights([(10, 10)], 40, 10)
    assert coarse.max() > 0.9 and coarse.argmax() == 2
    seam = level_weights([(0, 1), (38, 39)], 40, 40, circular=True)
    assert seam[0] == seam[39] == 1.0 and seam[20] == 0.0
    assert parse_frame_ranges("0-30,50") == [(0, 30), (50, 50)]


# --- root motion --------------------------------------------------------------------------------------------------
def test_in_place_removes_travel_but_not_the_body_motion(model):
    keep = generate(model, 3.0, seed=3, labels="walk")[0]
    still = in_place(keep)
    pk, ps = keep.joints(), still.joints()
    assert np.abs(ps[:, 0, :2] - ps[0, 0, :2]).max() < 1e-3
    np.testing.assert_allclose(ps[:, 0, 2], pk[:, 0, 2])  # height kept
    np.testing.assert_allclose(still.poses, keep.poses)  # heading and pose kept
    rel = lambda j: j[:, list(FOOT_JOINTS), :2] - j[:, :1, :2]  # noqa: E731 - feet relative to the body
    np.testing.assert_allclose(rel(ps), rel(pk), atol=1e-9)


# --- the command line: previews and bad input ---------------------------------------------------------------------
def test_preview_repeat(model, tmp_path):
    m = generate(model, 2.0, seed=0, labels="walk", loop=True)[0]
    save_motion(m, tmp_path / "loop.npz")
    assert main(["preview", str(tmp_path / "loop.npz"), "--repeat", "3", "-o", str(tmp_path / "loop.png")]) == 0
    assert (tmp_path / "loop.png").stat().st_size > 1000


BAD = [
    (["--keys", "{walk}", "--key-frames", "0,40,9999"], "--key-frames: frame 9999 is outside the keys motion"),
    (["--keys", "{walk}", "--key-frames", "0,80,40"], "--key-frames: frames must be in increasing order"),
    (["--keys", "{walk}", "--key-frames", "0,40,40"], "--key-frames: frame 40 is given twice"),
    (["--keys", "{walk}", "--key-frames", "0,320", "--seconds", "2"],
     "--key-frames: frame 320 (80 at 30 fps) is after the end of the motion to generate (60 frames"),
    (["--keys", "{walk}", "--key-frames", "0,1"], "--key-frames: frames 0 and 1 (at 120 fps) fall on the same frame"),
    (["--loop", "--seconds", "0.3"], "--loop: 9 frames (0.30 s) is shorter than a loop of this model can be"),
    (["--keys", "{nomap}", "--key-frames", "0"], "{nomap}: unknown skeleton"),  # as import: needs --mapping
]


@pytest.mark.parametrize("args,needle", BAD, ids=[b[1].split(":")[0] + str(i) for i, b in enumerate(BAD)])
def test_generate_bad_input_is_one_line_exit_2_and_writes_nothing(args, needle, tiny_model, tmp_path, capsys):
    nomap = tmp_path / "odd_rig.bvh"
    nomap.write_text(data_path(WALK).read_text().replace("Hips", "Bassin").replace("LeftUpLeg", "CuisseG"))
    fill = {"walk": str(data_path(WALK)), "nomap": str(nomap)}
    out = tmp_path / "out.npz"
    argv = ["generate", "--model", str(tiny_model), "--labels", "walk"] + [a.format(**fill) for a in args]
    rc = main(argv + ["-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("mrgen: error: ") and err.count("\n") == 1, err
    assert needle.format(**fill) in err, err
    assert not out.exists() and not list(tmp_path.glob("*.npz"))


def test_blend_bad_input(tiny_model, tmp_path, capsys):
    out = tmp_path / "out.npz"
    for args, needle in ((["--keep-frames", "0-30,20-40"], "--keep-frames: ranges must be in increasing order"),
                         (["--keep-frames", "0-9999"], "--keep-frames: range 0-9999 is outside the source"),
                         (["--keep-frames", "0-30", "--loop"], "--loop and --keep-frames cannot be combined")):
        rc = main(["blend", "--model", str(tiny_model), "--source", str(data_path(WALK))] + args + ["-o", str(out)])
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and needle in err, err
        assert not out.exists()
