"""Following a floor path (generate --path): reading and checking paths, the warp fallback on the tiny walk model
(tests/conftest.py), labels with a path, the preview's path, and bad input (one line, exit 2, nothing written)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mrgen_core import tasks
from mrgen_core.cli import main
from mrgen_core.errors import MrgenError
from mrgen_core.metrics.realism import foot_skating
from mrgen_core.motion_files import load_motion, save_motion
from mrgen_core.path_follow import GaitStats, follow, plan
from mrgen_core.paths import check_path, parse_facing, read_path
from mrgen_core.sampling import load_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _circle(radius=2.0, seconds=10.0, n=41):
    a = np.linspace(0, 2 * np.pi, n)
    return np.stack([radius * np.cos(a), radius * np.sin(a), np.linspace(0, seconds, n)], axis=1)


# --- reading paths ------------------------------------------------------------------------------------------------
def test_every_path_format_reads_the_same_points(tmp_path):
    rows = _circle(n=9)
    (tmp_path / "a.json").write_text(json.dumps(rows.tolist()))
    (tmp_path / "b.json").write_text(json.dumps({"points": rows[:, :2].tolist(), "times": rows[:, 2].tolist()}))
    (tmp_path / "c.json").write_text(json.dumps([{"x": x, "y": y, "t": t} for x, y, t in rows]))
    (tmp_path / "d.csv").write_text("x,y,t\n" + "\n".join(",".join(f"{v:.17g}" for v in r) for r in rows) + "\n")
    np.savez(tmp_path / "e.npz", points=rows[:, :2], times=rows[:, 2])
    for name in "a.json", "b.json", "c.json", "d.csv", "e.npz":
        p = read_path(tmp_path / name)
        np.testing.assert_allclose(p.xy, rows[:, :2], err_msg=name)
        np.testing.assert_allclose(p.times, rows[:, 2], err_msg=name)
    untimed = read_path(rows[:, :2].tolist())
    assert untimed.times is None and untimed.length == pytest.approx(read_path(tmp_path / "a.json").length)
    assert untimed.timed(5.0).duration == pytest.approx(5.0)


def test_a_motion_file_gives_its_pelvis_path(tmp_path, tiny_model):
    from mrgen_core.sampling import generate

    m = generate(load_model(tiny_model), seconds=3, seed=1)[0]
    save_motion(m, tmp_path / "m.npz")
    p = read_path(tmp_path / "m.npz")
    np.testing.assert_allclose(p.xy, m.trans[:, :2] + m.skeleton.offsets[0][:2])
    np.testing.assert_allclose(p.times, np.arange(m.num_frames) / m.fps)


@pytest.mark.parametrize("content, message", [
    ("[]", "the path is empty"),
    ("[[0, 0]]", "at least 2 points, got 1"),
    ('[[0, 0], [1, "a"]]', "must be numbers"),
    ("[[0, 0, 0], [1, 0, 1], [2, 0, 1]]", "path times must increase"),
    ("[[0, 0], [1, 0, 1]]", "same number of values"),
    ("[[0, 0], [0, 0.001]]", "does not move"),
    ('{"pts": []}', "needs 'points'"),
    ("[[0, 0], [1e9, 0]]", "km long"),
])
def test_bad_paths_are_refused_in_one_line(tmp_path, content, message):
    f = tmp_path / "p.json"
    f.write_text(content)
    with pytest.raises(MrgenError, match=message) as e:
        read_path(f)
    assert "\n" not in str(e.value) and str(f) in str(e.value)


def test_bad_path_values_and_files(tmp_path):
    with pytest.raises(MrgenError, match="NaN or infinite"):
        check_path([[0, 0], [np.nan, 1]])
    with pytest.raises(MrgenError, match="unsupported path file type"):
        read_path(tmp_path / "p.txt")
    with pytest.raises(MrgenError, match="no such path file"):
        read_path(tmp_path / "missing.csv")
    (tmp_path / "p.csv").write_text("x,y\n0,0\n1,zero\n")
    with pytest.raises(MrgenError, match="line 3: not numbers"):
        read_path(tmp_path / "p.csv")
    (tmp_path / "p.json").write_text("{not json")
    with pytest.raises(MrgenError, match="not valid JSON"):
        read_path(tmp_path / "p.json")


def test_facing():
    assert parse_facing(None).mode == "path" and parse_facing("path").mode == "path"
    assert parse_facing("90").angle == pytest.approx(math.pi / 2)
    assert parse_facing("1,-2").point == (1.0, -2.0)
    for bad in ("up", "1,2,3", "nan"):
        with pytest.raises(MrgenError, match="--facing"):
            parse_facing(bad)


# --- following ----------------------------------------------------------------------------------------------------
def _pelvis(m):
    return m.trans[:, :2] + m.skeleton.offsets[0][:2]


def test_a_timed_circle_is_followed_with_planted_feet(tmp_path, tiny_model):
    """The tiny walk (about 1.1 m/s) on a circle of radius 2 m walked in 12 s: the pelvis stays near the path point of
    the same time, faces along it, the feet skate little, and the output says how it was made."""
    rows = _circle(seconds=12.0)
    (tmp_path / "circle.json").write_text(json.dumps(rows.tolist()))
    res = tasks.generate(tiny_model, [tmp_path / "c.npz"], path=tmp_path / "circle.json", seed=0)
    m = load_motion(res.files[0])
    assert m.num_frames == 12 * 30 + 1 and res.warnings == []
    meta = m.meta
    assert meta["path_method"] == "warp" and meta["facing"] == "path"
    p = check_path(rows[:, :2], rows[:, 2])
    target = p.at_length(p.distance_at(np.arange(m.num_frames) / m.fps))
    err = np.linalg.norm(_pelvis(m) - target, axis=1)
    assert err.mean() < 0.10 and err.max() < 0.30
    assert meta["path_error_cm"]["mean"] == pytest.approx(err.mean() * 100, abs=0.01)
    assert meta["heading_error_deg"] < 20
    raw = follow(load_model(tiny_model), p, seed=0, cleanup=False)[0][0]
    assert foot_skating(m) < foot_skating(raw)  # the cleanup pins what the re-placing slides


def test_untimed_points_take_speed_or_seconds_or_the_gaits_own(tiny_model):
    model = load_model(tiny_model)
    line = check_path([[0, 0], [6, 0]])
    fast = follow(model, line, speed=1.0)[0][0]
    assert fast.num_frames == 6 * 30 + 1
    timed = follow(model, line, seconds=8.0)[0][0]
    assert timed.num_frames == 8 * 30 + 1
    own = follow(model, line)[0][0]
    speed = 6.0 / own.duration
    assert 0.8 < speed < 1.5  # the tiny walk's own speed (its clip walks at about 1.2 m/s)
    end = _pelvis(own)[-1]
    assert abs(end[0] - 6.0) < 0.3 and abs(end[1]) < 0.3


def test_too_fast_paths_warn_and_fall_behind_absurd_ones_are_refused(tiny_model):
    model = load_model(tiny_model)
    motions, warnings = follow(model, check_path([[0, 0], [12, 0]], [0, 4]))  # 3 m/s, the clip walks 1.2
    assert any("x the fastest speed of the training clips" in w for w in warnings)
    assert any("falls up to" in w for w in warnings)
    m = motions[0]
    assert np.all(np.isfinite(m.poses)) and _pelvis(m)[-1, 0] < 12 - 1.0  # behind, not skating to keep up
    second = np.diff(_pelvis(m)[::30, 0])  # metres per second
    assert second.max() < 1.6 * 1.3  # never faster than the capped gait (1.6x its own speed, about 1.1 m/s)
    with pytest.raises(MrgenError, match="refusing above"):
        follow(model, check_path([[0, 0], [100, 0]], [0, 4]))


def test_a_stop_is_warned_where_the_clips_never_stand_still():
    """A path that stands still for a second: warned for a gait whose clips always walk (as the Bandai walks, whose
    models flail their arms at a stop), not for one whose clips stand too (as CMU 131's)."""
    path = check_path([[0, 0], [3, 0], [3, 0], [6, 0]], [0, 3, 4.5, 7.5])
    walks = GaitStats(natural=1.0, slowest=0.9, fastest=1.2, turn=0.5, period=1.0)
    stands = GaitStats(natural=1.0, slowest=0.05, fastest=1.2, turn=0.5, period=1.0)
    warned = [w for w in plan(path, walks, 30.0).warnings if "stands still" in w]
    assert len(warned) == 1 and "never do" in warned[0] and "0.90 m/s" in warned[0]
    assert not any("stands still" in w for w in plan(path, stands, 30.0).warnings)
    assert not any("stands still" in w for w in plan(check_path([[0, 0], [6, 0]], [0, 6]), walks, 30.0).warnings)


def test_ease_turns_a_dead_stop_into_slowing_down_and_speeding_up(tiny_model):
    """``ease``: a path that stops dead and starts at full speed is timed with smooth speed changes over about the
    seconds asked for (the acceleration bounded, no jump), centred on the path's own moments, the start and end
    kept, and the shift from the path's timing reported; without it the timing is the path's own."""
    path = check_path([[0, 0], [4, 0], [4, 0], [8, 0]], [0, 4, 6, 10])  # 1 m/s, a 2 s stop, 1 m/s
    stats = GaitStats(natural=1.0, slowest=0.05, fastest=1.2, turn=0.5, period=1.0)
    sharp, eased = plan(path, stats, 30.0), plan(path, stats, 30.0, ease=2.0)
    assert sharp.eased is None and eased.frames == sharp.frames
    assert eased.distance[0] == 0 and eased.distance[-1] == pytest.approx(8.0)
    for p_ in (sharp, eased):
        v = np.gradient(p_.distance) * 30
        p_.accel = float(np.abs(np.gradient(v) * 30).max())
    assert sharp.accel > 10 and eased.accel < 1.2  # 1 m/s gained over about 2 s, not in one frame
    t = np.arange(eased.frames) / 30
    assert np.all(np.diff(eased.distance) >= 0)  # never backwards
    assert np.interp(5.0, t, eased.distance) == pytest.approx(4.0, abs=0.01)  # standing mid-stop, at the stop
    assert np.interp(4.0, t, eased.distance) < 4.0 - 0.1  # still slowing down where the path stops dead
    shift = np.abs(eased.distance - sharp.distance).max() * 100
    assert eased.eased == {"seconds": 2.0, "shift_cm": {"mean": pytest.approx(eased.eased["shift_cm"]["mean"]),
                                                         "max": pytest.approx(shift, abs=0.01)}}
    assert 10 < shift < 30  # about 0.09 x speed x ease (18 cm here)
    # a path at an even speed is not changed by easing
    even = check_path([[0, 0], [8, 0]], [0, 8])
    assert np.allclose(plan(even, stats, 30.0, ease=2.0).distance, plan(even, stats, 30.0).distance)
    # through follow: the output says how it was eased
    m = follow(load_model(tiny_model), path, ease=1.5)[0][0]
    assert m.meta["ease"]["seconds"] == 1.5 and m.meta["ease"]["shift_cm"]["max"] > 5
    assert "ease" not in follow(load_model(tiny_model), path)[0][0].meta
    with pytest.raises(MrgenError, match="--ease must be 0-10 seconds"):
        plan(path, stats, 30.0, ease=-1)


def test_a_label_schedule_combines_with_a_path(tmp_path, tiny_labelled_model):
    res = tasks.generate(tiny_labelled_model, [tmp_path / "s.npz"], path={"points": [[0, 0], [8, 0]]},
                         speed=1.2, labels="walk:0-3,run:3-7")
    m = load_motion(res.files[0])
    names = m.label_names()
    assert names[0] == "walk" and names[-1] == "run" and m.meta["path"] == "inline"


def test_fixed_facing_turns_the_body(tiny_model):
    from mrgen_core import features as feat
    from mrgen_core.rotations import axis_angle_to_matrix

    m, warnings = follow(load_model(tiny_model), check_path([[0, 0], [5, 0]]), facing=parse_facing("90"))
    face = feat.heading(axis_angle_to_matrix(m[0].poses[:, 0])) - np.pi / 2
    off = np.degrees(np.abs((face - np.pi / 2 + np.pi) % (2 * np.pi) - np.pi))
    assert off.mean() < 20 and any("sideways" in w for w in warnings)


# --- front doors --------------------------------------------------------------------------------------------------
def test_the_worker_checks_ease_before_queueing():
    from mrgen_core.worker import check_request

    check_request({"cmd": "generate", "ease": 2.0})
    for bad in (11, -1, "2", float("nan")):
        with pytest.raises(MrgenError, match="'ease'"):
            check_request({"cmd": "generate", "ease": bad})


def test_cli_path_and_preview(tmp_path, tiny_model, capsys):
    (tmp_path / "p.csv").write_text("x,y\n0,0\n3,0\n3,3\n")
    out, png = tmp_path / "o.bvh", tmp_path / "o.png"
    assert main(["generate", "--model", str(tiny_model), "--path", str(tmp_path / "p.csv"), "--speed", "1.1",
                 "-o", str(out)]) == 0
    assert load_motion(out).num_frames == round(6 / 1.1 * 30) + 1
    assert main(["preview", str(out), "-o", str(png), "--path", str(tmp_path / "p.csv"), "--whole",
                 "--frames", "3"]) == 0
    assert png.stat().st_size > 1000


@pytest.mark.parametrize("args, message", [
    (["--path", "{d}/one.json"], "at least 2 points"),
    (["--path", "{d}/timed.json", "--seconds", "4"], "its own times"),
    (["--path", "{d}/timed.json", "--loop"], "cannot be combined with --loop"),
    (["--path", "{d}/fast.json"], "refusing above"),
    (["--speed", "1"], "--speed goes with --path"),
    (["--path", "{d}/timed.json", "--facing", "north"], "--facing must be"),
    (["--path", "{d}/timed.json", "--ease", "nan"], "--ease must be 0-10 seconds"),
    (["--path", "{d}/timed.json", "--ease", "11"], "--ease must be 0-10 seconds"),
    (["--ease", "1"], "--ease goes with --path"),
])
def test_cli_bad_path_input_exits_2_and_writes_nothing(tmp_path, tiny_model, capsys, args, message):
    (tmp_path / "one.json").write_text("[[0, 0]]")
    (tmp_path / "timed.json").write_text("[[0, 0, 0], [4, 0, 4]]")
    (tmp_path / "fast.json").write_text("[[0, 0, 0], [60, 0, 2]]")
    out = tmp_path / "out.npz"
    rc = main(["generate", "--model", str(tiny_model), *[a.format(d=tmp_path) for a in args], "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and message in err and len(err.splitlines()) == 1
    assert not out.exists()
