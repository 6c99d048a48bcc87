"""Follow a floor path with a model trained with ``--path-control`` (``path_method: "control"``).

The path, timed at the model's frame rate (:func:`mrgen_core.path_follow.plan`), and the wanted facing give the
travel the model was trained to follow (:func:`mrgen_core.path_control.of_track`: pelvis velocity in the body's
frame and turning rate, at every level). The model then steps, turns, speeds up and stops by itself; its root is
integrated from the path's start. The control is corrected :data:`PASSES` times by what the model made of it
(:func:`correction`; the pass that came closest is kept), and what drift remains is *nudged* away (:func:`nudge`):
the pelvis track averaged over one gait period is moved onto the path point of the same time (the sway about it
kept, turned with the body), the heading averaged the same way turned onto the wanted facing, and the foot cleanup
pins the planted feet again. The metadata reports how far the model got by itself (``model_path_error_cm``,
``model_heading_error_deg``), steered (``steered_path_error_cm``, ``steered_heading_error_deg``) and how large the
nudge was, next to the final figures.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from . import features as feat, path_control
from .path_codes import matched_labels
from .cleanup import cleanup_feet
from .contacts import foot_contacts
from .features import Start
from .geometry import rotate_heading, rz
from .motion import Motion
from .path_figures import follow_figures
from .paths import Facing, FloorPath
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle

METHOD = "control"
#: Corrections of the control by what the model made of it (0: open loop).
PASSES = 3
#: A correction makes up the heading error over this many seconds ...
CATCH_UP_SECONDS = 1.5
#: ... and is applied at this share (the model follows its control only in part; a full step can overshoot).
GAIN = 0.7


def wanted_facing(path: FloorPath, distance: np.ndarray, facing: Facing, reach: float) -> np.ndarray:
    """The facing (radians CCW from +X, unwrapped) wanted at every frame of a timed path."""
    if facing.mode == "fixed":
        return np.full(len(distance), facing.angle)
    if facing.mode == "look-at":
        d = np.asarray(facing.point)[None] - path.at_length(distance)
        return np.unwrap(np.arctan2(d[:, 1], d[:, 0]))
    return np.unwrap(path.direction_at(distance, reach))


def _angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a - b`` (radians) in (-pi, pi] where it starts, continuous over time (no jumps of 2 pi)."""
    return np.unwrap((np.asarray(a) - np.asarray(b) + np.pi) % (2 * np.pi) - np.pi)


def _track(motion: Motion, win: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pelvis ground track, its moving average over ``win`` frames, and the body facing averaged the same way."""
    pelvis = motion.trans[:, :2] + motion.skeleton.offsets[0][:2]
    mean = uniform_filter1d(pelvis, win, axis=0, mode="nearest")
    face = np.unwrap(feat.heading(axis_angle_to_matrix(motion.poses[:, 0]))) - np.pi / 2
    return pelvis, mean, uniform_filter1d(face, win, mode="nearest")


def nudge(motion: Motion, target: np.ndarray, face: np.ndarray, period: float, cleanup: bool = True
          ) -> tuple[Motion, dict]:
    """``motion`` moved onto ``target`` (T, 2) and turned to ``face`` (T,), as slowly as the model drifted: its
    pelvis track and facing averaged over ``period`` seconds are replaced by the wanted ones, what varies within a
    step (sway, pelvis twist) is kept. Returns the motion and the size of the nudge."""
    win = max(1, int(round(period * motion.fps)))
    pelvis, mean, body = _track(motion, win)
    turn = _angle_between(face, body)
    xy = target + rotate_heading(turn, pelvis - mean)
    poses = motion.poses.copy()
    poses[:, 0] = matrix_to_axis_angle(rz(turn) @ axis_angle_to_matrix(poses[:, 0]))
    trans = motion.trans.copy()
    trans[:, :2] = xy - motion.skeleton.offsets[0][:2]
    out = motion.copy(poses=poses, trans=trans)
    if cleanup:  # on the contacts the motion had before it was moved
        out = cleanup_feet(out, contacts=foot_contacts(motion.joints(), motion.fps))
    shift = np.linalg.norm(target - mean, axis=1) * 100.0
    size = {"nudge_cm": {"mean": round(float(shift.mean()), 2), "max": round(float(shift.max()), 2)},
            "nudge_deg": {"mean": round(float(np.degrees(np.abs(turn)).mean()), 2),
                          "max": round(float(np.degrees(np.abs(turn)).max()), 2)}}
    return out, size


def correction(motion: Motion, target: np.ndarray, face: np.ndarray, period: float) -> np.ndarray:
    """A path-control change (T, 3) that steers ``motion`` towards the wanted travel: what it misses of the travel
    (wanted minus made, both as :func:`mrgen_core.path_control.of_features` sees them: velocities in the body's own
    frame, turning rate) plus its heading error made up over :data:`CATCH_UP_SECONDS`, times :data:`GAIN`. (Its
    distance from the path is left to :func:`nudge`: a velocity change in the body's frame moves it another way
    while its heading is off.)"""
    face_got = _track(motion, max(1, int(round(period * motion.fps))))[2]
    wanted = path_control.of_track(target, face, motion.fps)
    made = path_control.of_features(feat.encode(motion), motion.fps)
    delta = wanted - made
    delta[:, 2] += _angle_between(face, face_got) / CATCH_UP_SECONDS  # rad/s
    return GAIN * path_control.smooth(delta, motion.fps)


def steer(model, plan_, facing: Facing, *, labels: str | None, seed: int, noise: str, period: float,
          reach: float, cleanup: bool = True, progress=None) -> tuple[Motion, dict]:
    """One motion of a path-controlled ``model`` along a timed path (``plan_``: a
    :class:`mrgen_core.path_follow.PathPlan`): the path's travel as the control, corrected :data:`PASSES` times by
    what the model made of it (:func:`correction`: the model is deterministic for a seed, so each pass sees the
    same noise; the control of the pass that came closest to the path is kept), then nudged onto the path. Returns
    it and the figures of the model alone (the first pass: open loop), of the model steered (the kept pass, before
    the nudge) and of the nudge."""
    from . import sampling

    path, fps = plan_.path, plan_.fps
    target = path.at_length(plan_.distance)
    face = wanted_facing(path, plan_.distance, facing, reach)
    control = path_control.of_track(target, face, fps)
    asked, labels = labels, matched_labels(model, labels, control, seed)
    start = Start(float(target[0, 0]), float(target[0, 1]), float(face[0] + np.pi / 2))
    figures, best = {}, None

    def make(ctrl, k, clean=False):
        return sampling.generate(model, frames=plan_.frames, seed=seed, labels=labels, num=1, noise=noise,
                                 control=ctrl, start=start, cleanup=clean,
                                 progress=None if progress is None else
                                 (lambda f, m: progress((k + f) / (PASSES + 2), m)))[0]

    for k in range(PASSES + 1):
        raw = make(control, k)
        own = follow_figures(raw, path, plan_.distance, face)
        if k == 0:
            figures = {"model_path_error_cm": own["path_error_cm"], "model_heading_error_deg": own["heading_error_deg"]}
        if best is None or own["path_error_cm"]["mean"] < best[0]:  # a pass is kept only if it came closer
            best = (own["path_error_cm"]["mean"], control, raw)
        if k < PASSES:
            control = control + correction(raw, target, face, period)
    raw = make(best[1], PASSES + 1, cleanup) if cleanup else best[2]
    steered = follow_figures(raw, path, plan_.distance, face)
    motion, size = nudge(raw, target, face, period, cleanup)
    return motion, {**figures, "steered_path_error_cm": steered["path_error_cm"],
                    "steered_heading_error_deg": steered["heading_error_deg"], **size,
                    **({"clip_tour": labels} if labels != asked else {})}
