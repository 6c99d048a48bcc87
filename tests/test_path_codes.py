"""Which clips of a label a path plays (mrgen_core/path_codes.py): each stretch of a path tours the codes whose
clips travel there as the path does."""
from __future__ import annotations

import numpy as np
import pytest

from mrgen_core import path_control
from mrgen_core.clip_codes import resolve
from mrgen_core.control import parse_schedule
from mrgen_core.path_codes import _runs, fitting, matched_labels
from mrgen_core.sampling import load_model


def _travel(speed: float, turn: float = 0.0, frames: int = 90) -> np.ndarray:
    """A path control: forward (the features' -Y) at ``speed`` m/s, turning at ``turn`` rad/s."""
    return np.tile([0.0, -speed, turn], (frames, 1))


FAST, SLOW, TURNING = _travel(1.15), _travel(0.2), _travel(1.1, turn=0.6)


def test_a_path_fits_the_clips_that_travel_as_it_does():
    clips = [FAST, SLOW, TURNING]
    assert fitting(_travel(1.1), clips)[0].tolist() == [True, False, False]
    assert fitting(_travel(0.25), clips)[0].tolist() == [False, True, False]
    assert fitting(_travel(1.2, turn=0.55), clips)[0].tolist() == [False, False, True]
    assert fitting(_travel(1.1, turn=-0.6), clips)[0].tolist() == [False, False, True]  # turning the other way
    # a speed no clip moves at: every clip, as without a path
    assert fitting(_travel(0.6), clips)[0].tolist() == [True, True, True]


def test_short_stretches_join_a_neighbour():
    fits = np.zeros((100, 2), dtype=bool)
    fits[:, 0] = True
    fits[40:45] = [False, True]  # 5 frames of the other clip: too short to play it
    runs = _runs(fits, min_frames=30)
    assert [(a, b) for a, b, _ in runs] == [(0, 100)] and runs[0][2].tolist() == [True, False]
    fits[40:80] = [False, True]  # 40 frames: played; the 20 after it join it
    assert [(a, b, f.tolist()) for a, b, f in _runs(fits, 30)] == [(0, 40, [True, False]), (40, 100, [False, True])]
    fits = np.concatenate([fits, np.tile([True, False], (20, 1))])
    assert [(a, b, f.tolist()) for a, b, f in _runs(fits, 30)] == [(0, 40, [True, False]), (40, 80, [False, True]),
                                                                   (80, 120, [True, False])]


@pytest.fixture(scope="module")
def model():
    return load_model("default")


def _line(speed: float, seconds: float = 15.0, fps: float = 30.0) -> np.ndarray:
    n = int(seconds * fps) + 1
    xy = np.stack([np.linspace(0, speed * seconds, n), np.zeros(n)], axis=1)
    return path_control.of_track(xy, np.zeros(n), fps)


def _codes(schedule: str) -> set[str]:
    return {lab for _, _, lab in parse_schedule(schedule)}


def test_the_shipped_walk_plays_the_walk_clips_of_the_paths_pace(model):
    """The shipped walk label holds a steady 1.13 m/s walk (02_01), a 1.27 m/s one (007_01), a slow shuffle
    (131_02) and a start-stop walk that turns (131_01): a 1.15 m/s line tours the two steady walks, a 0.25 m/s line
    the shuffle, and 0.6 m/s, which no walk clip keeps to, all four in the order a free sample tours them."""
    fast = matched_labels(model, "walk", _line(1.15), seed=0)
    assert _codes(fast) == {"walk/02_01", "walk/007_01"}
    segments = parse_schedule(fast)
    assert segments[0][0] == 0 and abs(segments[-1][1] - 15.0) < 0.05  # the whole path, no gap
    assert all(abs(b - c) < 1e-6 for (_, b, _), (c, _, _) in zip(segments, segments[1:]))
    assert _codes(matched_labels(model, "walk", _line(0.25), seed=0)) == {"walk/131_02"}
    free = resolve(model, [(0.0, None, "walk")], 451, 0)  # the tour a free sample of seed 0 plays
    got = parse_schedule(matched_labels(model, "walk", _line(0.6), seed=0))
    assert [lab for *_, lab in got] == [lab for *_, lab in free]
    np.testing.assert_allclose([a for a, *_ in got], [a for a, *_ in free], atol=1e-5)
    assert matched_labels(model, None, _line(1.15), seed=0) == fast  # the model's first label: walk
    assert matched_labels(model, "walk", _line(1.15), seed=1) != fast  # each seed its own order


def test_a_stop_plays_the_walk_clips_that_stand(model):
    """A 0.53 m/s line (no walk clip keeps to that pace) with a 3 s stop: the stop plays the two CMU 131 walks,
    which stand in their clips; the rest is the free sample's tour."""
    fps = 30.0
    xy = np.concatenate([np.stack([np.linspace(0, 3.18, 180), np.zeros(180)], 1), np.tile([[3.18, 0.0]], (90, 1)),
                         np.stack([np.linspace(3.18, 6.36, 181), np.zeros(181)], 1)])
    got = parse_schedule(matched_labels(model, "walk", path_control.of_track(xy, np.zeros(len(xy)), fps), seed=2))
    free = resolve(model, [(0.0, None, "walk")], len(xy), 2)
    assert {lab for a, b, lab in got if a < 8.5 and b > 6.5} <= {"walk/131_01", "walk/131_02"}

    def at(schedule, t):
        return next(lab for a, b, lab in schedule if a <= t and (b is None or t < b))
    for t in (1.0, 4.0, 11.0, 14.0):
        assert at(got, t) == at(free, t), t


def test_labels_of_one_clip_and_codes_asked_by_name_are_kept(model):
    assert matched_labels(model, "run", _line(1.15), seed=0) == "run"
    assert matched_labels(model, "walk/131_01", _line(1.15), seed=0) == "walk/131_01"
    mixed = parse_schedule(matched_labels(model, "walk:0-10,run:10-15", _line(1.15), seed=0))
    assert mixed[-1] == (10.0, 15.0, "run")
    assert {lab for a, _, lab in mixed if a < 10} == {"walk/02_01", "walk/007_01"}


def test_an_untimed_path_is_walked_at_the_pace_of_the_steady_walk_clips(model):
    """The shipped walk's own pace (an untimed path's) is that of its two steady walk clips, not the median of all
    four where they move (0.53 m/s, a pace no walk clip keeps); a label of one clip keeps its clip's pace."""
    from mrgen_core.path_follow import GaitStats, _steady

    assert 1.15 <= GaitStats.of(model, "walk").natural <= 1.35
    assert 2.3 <= GaitStats.of(model, "run").natural <= 2.5
    assert 0.5 <= GaitStats.of(model, "hop").natural <= 0.65  # its clip hops about: median where it moves
    assert _steady(np.full(50, 1.2)) and _steady(np.r_[np.full(40, 1.2), np.full(10, 0.3)])
    assert not _steady(np.r_[np.full(39, 1.2), np.full(11, 0.3)]) and not _steady(np.full(50, 0.1))
