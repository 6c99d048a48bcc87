"""Follow a floor path with any model: the model-agnostic *warp* fallback (``path_method: "warp"``).

The model generates a gait of its own (labels and schedules as usual) long enough to cover the path; then

1. the gait is *straightened* (its own turning taken out) and its pelvis track split into the distance it covers
   forwards (a moving average over one gait period; steps back or sideways add nothing) and the sway about it;
2. it is *time-warped* so that the distance it has covered follows the distance the path has covered at the same
   time (a faster path plays the gait faster: higher cadence, same stride length), the warp rate capped at
   :data:`MAX_RATE` times the gait's own speed: beyond it the body falls behind the path (with a warning) instead
   of skating;
3. every frame is *re-headed and re-placed*: the averaged pelvis goes onto the path point, the gait's facing onto
   the path's direction (rounded over :data:`CORNER_REACH` metres either side), the sway turned with it; the body
   faces along the path, a fixed direction or a look-at point (:class:`mrgen_core.paths.Facing`);
4. the foot cleanup (:func:`mrgen_core.cleanup.cleanup_feet`) pins the feet on the gait's own contacts, so turning
   does not slide the planted feet.

Where the path stops, the warp holds the gait's pose (a freeze, not a natural stop). The body only ever walks
forwards: facing away from the travel direction turns a forward gait sideways (the cleanup keeps the feet planted,
but it is not a side-step). A model trained with path control would do better; this route works with every model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import uniform_filter1d

from . import features as feat, limits
from .cleanup import _runs, cleanup_feet
from .clip_codes import label_indices, public_labels
from .contacts import foot_contacts, joint_speed
from .errors import MrgenError
from .geometry import rotate_heading, rz
from .motion import Motion
from .path_figures import CORNER_REACH, follow_figures
from .path_control import follows_paths
from .path_steer import METHOD as STEERED, steer, wanted_facing
from .paths import Facing, FloorPath
from .rotations import axis_angle_to_matrix, axis_angle_to_quat, matrix_to_axis_angle, quat_to_axis_angle, slerp

METHOD = "warp"
#: The gait plays at most this many times its own speed (beyond: the body falls behind the path).
MAX_RATE = 1.6
#: Moving parts of a path slower than this share of the slowest training speed play the gait in slow motion (warned).
SLOW_SHARE = 0.6
#: Refused: paths asking for more than this multiple of the fastest training speed, or faster than ABSURD_SPEED.
ABSURD_RATIO = 5.0
ABSURD_SPEED = 12.0  # m/s
#: A label whose training clips travel slower than this (m/s) cannot follow a path.
MIN_TRAVEL_SPEED = 0.15
#: A clip travels steadily where at least this share of its frames lie within STEADY_SPREAD of its median speed;
#: where some of a label's clips do, the label's own pace is theirs (see :class:`GaitStats`).
STEADY_FRAMES = 0.8
STEADY_SPREAD = 0.2
#: A path that stands still (slower than MIN_TRAVEL_SPEED) this long (s) for a label whose clips never do is warned.
STOP_SECONDS = 0.5
#: The trained route hands over to the warp where the model, steered, still faces this far (degrees, on average)
#: from the wanted facing: the nudge would have to turn the whole body that much.
MAX_NUDGE_DEGREES = 30.0
#: ... or where its limbs move slower than this share of the clips' (90th percentiles of the fastest joint, in the
#: world or relative to the pelvis: a fast gait's travel alone moves every joint): a glide.
GLIDE_SHARE = 0.4
#: ... or faster than this multiple of the clips' (a hard turn by the nudge, or steps too quick), provided the warp
#: keeps the path (its mean path error at most WARP_KEEPS_CM); else the steered result stays, with a warning.
FAST_SHARE = 1.25
WARP_KEEPS_CM = 10.0
#: The trained route moves the body at most this times the fastest training clip's speed (then it falls behind).
STEER_MAX_RATIO = 1.1
#: Gait frames skipped at the start (at most a quarter of the gait).
LEAD_FRAMES = 30
#: Facing more than this (degrees) away from the travel direction on average gets a warning (no side-steps).
SIDEWAYS_DEGREES = 30.0


@dataclass
class GaitStats:
    """What the model's training clips of the requested labels do: speeds (m/s), turning (rad/s), gait period.
    ``natural``, the labels' own pace (an untimed path's): the median speed of their clips where they move, or of
    the clips that keep a steady pace where some do (the shipped walk: its two steady walks, 1.25 m/s; all four
    clips where they move: 0.53 m/s, a pace none of them keeps)."""

    natural: float
    slowest: float
    fastest: float
    turn: float
    period: float
    limbs: float = 0.0  # the fastest joint's speed (m/s) in a frame, 90th percentile over the clips' frames (0 for
    # models without path control, which are never steered)
    own_limbs: float = 0.0  # the same relative to the pelvis: the limbs' own motion, without the travel

    @classmethod
    def of(cls, model, labels: str | None) -> "GaitStats":
        from .control import parse_schedule

        names = [s[2] for s in parse_schedule(labels)] if labels else []
        idx = None
        if model.labels:  # a group of label codes stands for all its clips
            idx = sorted({i for n in (names or [public_labels(model)[0]]) for i in label_indices(model, n)})
        period = _period(model, names[0] if len(set(names)) == 1 else None)
        win = max(1, int(round(period * model.fps)))
        speeds, turns = [], []
        for clip, x in zip(model.clips, model.clip_features):
            raw = model.denormalize(x.detach().float()).T.cpu().double().numpy()
            v = uniform_filter1d(np.hypot(raw[:, feat.VEL_X], raw[:, feat.VEL_Y]), win, mode="nearest")
            w = np.abs(uniform_filter1d(raw[:, feat.YAW_RATE], max(1, win // 2), mode="nearest"))
            lab = clip.get("labels")
            if idx is not None and lab is not None:
                keep = np.isin(np.asarray(lab), idx)
                v, w = v[keep], w[keep]
            speeds.append(v)
            turns.append(w)
        v = np.concatenate(speeds) if speeds else np.zeros(0)
        if v.size == 0:
            raise MrgenError("the model has no training frames of the requested labels to measure speeds on")
        w = np.concatenate(turns)
        moving = v[v > MIN_TRAVEL_SPEED]  # a clip's standing and turning on the spot is not its pace
        pace = moving if moving.size > 0.2 * v.size else v
        steady = [c for c in speeds if _steady(c)]
        if steady:  # the pace of the clips that keep one (the shipped walk: its two steady walks, not the shuffle)
            pace = np.concatenate(steady)
        return cls(natural=float(np.median(pace)),
                   slowest=float(np.percentile(v, 5)),
                   fastest=float(np.percentile(v, 99)), turn=float(np.percentile(w, 99)), period=period,
                   **(_limbs(model, idx) if follows_paths(model) else {}))


def _steady(speed: np.ndarray) -> bool:
    """Whether a clip's (1-period-averaged) speeds ``speed`` keep to one pace: a travelling one, at least
    :data:`STEADY_FRAMES` of them within :data:`STEADY_SPREAD` of their median."""
    if speed.size == 0:
        return False
    mid = float(np.median(speed))
    return mid > MIN_TRAVEL_SPEED and float(np.mean(np.abs(speed - mid) <= STEADY_SPREAD * mid)) >= STEADY_FRAMES


def fastest_joints(motion: Motion) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the fastest joint's speed (m/s) in the world and relative to the pelvis."""
    joints = motion.joints()
    return (joint_speed(joints, motion.fps).max(axis=1),
            joint_speed(joints - joints[:, :1], motion.fps).max(axis=1))


def _limbs(model, idx: list[int] | None) -> dict[str, float]:
    """90th percentiles over the frames of the training clips (of labels ``idx``) of :func:`fastest_joints`: what
    :func:`_cannot_steer` compares a steered result with (only path-controlled models are steered)."""
    world, own = [], []
    for motion, clip in zip(model.training_motions(), model.clips):
        lab = clip.get("labels")
        keep = slice(None) if idx is None or lab is None else np.isin(np.asarray(lab), idx)
        w, o = fastest_joints(motion)
        world.append(w[keep])
        own.append(o[keep])
    return dict(limbs=float(np.percentile(np.concatenate(world), 90)),
                own_limbs=float(np.percentile(np.concatenate(own), 90)))


def _period(model, label: str | None) -> float:
    from .directing import label_period

    try:
        return float(np.clip(label_period(model, label), 0.4, 2.0))
    except MrgenError:
        return 1.0


@dataclass
class PathPlan:
    """A path timed at the model's frame rate: ``distance`` (n,) metres covered at every output frame."""

    path: FloorPath
    fps: float
    distance: np.ndarray
    warnings: list[str] = field(default_factory=list)
    eased: dict | None = None  # ``--ease``: its seconds and how far the eased timing is from the path's (cm)

    @property
    def frames(self) -> int:
        return len(self.distance)


def ease_timing(distance: np.ndarray, seconds: float, fps: float) -> np.ndarray:
    """``distance`` (n,), metres along the path at every frame, with its speed changes spread over about
    ``seconds`` (the speed averaged twice over half of it, centred: a stop or a start becomes a smooth slowing down
    or speeding up around the path's own moment); the start and the end stay where they were."""
    w = 2 * int(round(seconds * fps / 4)) + 1  # odd: centred
    if len(distance) < 3 or w < 3:
        return distance.copy()
    step = uniform_filter1d(uniform_filter1d(np.diff(distance), w, mode="nearest"), w, mode="nearest")
    out = np.concatenate([[0.0], np.cumsum(step)])
    span = float(distance[-1] - distance[0])
    return distance[0] + (out * (span / out[-1]) if out[-1] > 0 else out)


def check_ease(ease) -> float:
    """``--ease`` in seconds (None: 0); MrgenError unless a number from 0 to :data:`mrgen_core.limits.MAX_EASE`."""
    if ease is None:
        return 0.0
    try:
        value = float(ease)
    except (TypeError, ValueError):
        value = math.nan
    if not (0 <= value <= limits.MAX_EASE):
        raise MrgenError(f"--ease must be 0-{limits.MAX_EASE:g} seconds, got {ease}")
    return value


def plan(path: FloorPath, stats: GaitStats, fps: float, seconds: float | None = None,
         speed: float | None = None, natural: float | None = None, ease: float = 0.0) -> PathPlan:
    """Time ``path`` (an untimed one by ``seconds``, ``speed`` or ``natural``, the gait's own speed, default the
    training clips'; ``ease`` > 0: its speed changes spread over that many seconds, :func:`ease_timing`) and check
    its speeds against the training clips': a warning naming the ratio where it is faster, MrgenError where
    absurd."""
    where = path.source or "--path"
    natural = stats.natural if natural is None else natural
    if path.times is not None and (seconds is not None or speed is not None):
        raise MrgenError("the path has its own times: leave out --seconds and --speed", where)
    if seconds is not None and speed is not None:
        raise MrgenError("give the path's timing as --seconds or as --speed, not both")
    if speed is not None and not (0 < speed < math.inf):
        raise MrgenError(f"--speed must be positive, got {speed}")
    if seconds is not None and not (0 < seconds < math.inf):
        raise MrgenError(f"--seconds must be positive, got {seconds}")
    ease = check_ease(ease)
    notes = []
    if path.times is None:
        if speed is None and seconds is None:
            speed = natural
            notes.append(f"untimed path walked at the gait's own speed, {speed:.2f} m/s")
        if seconds is None:
            seconds = path.length / speed
        path = path.timed(seconds)
    n = int(round(path.duration * fps)) + 1
    distance = path.distance_at(np.arange(n) / fps)
    eased = None
    if ease > 0:
        timed, distance = distance, ease_timing(distance, ease, fps)
        shift = np.abs(distance - timed) * 100.0
        eased = {"seconds": float(ease), "shift_cm": {"mean": round(float(shift.mean()), 2),
                                                       "max": round(float(shift.max()), 2)}}
    v = uniform_filter1d(np.gradient(distance) * fps, max(1, int(round(0.5 * fps))), mode="nearest")
    vmax = float(v.max())
    ratio = vmax / max(stats.fastest, 1e-6)
    if vmax > ABSURD_SPEED or ratio > ABSURD_RATIO:
        raise MrgenError(f"the path asks for {vmax:.1f} m/s, {ratio:.1f}x the fastest speed of the training clips "
                         f"({stats.fastest:.2f} m/s); refusing above {ABSURD_RATIO:g}x or {ABSURD_SPEED:g} m/s",
                         where)
    warnings = []
    if ratio > 1.05:
        warnings.append(f"the path asks for up to {vmax:.2f} m/s, {ratio:.1f}x the fastest speed of the training "
                        f"clips ({stats.fastest:.2f} m/s): outside what the model has seen")
    moving = v > 0.1 * natural
    if moving.any() and float(np.median(v[moving])) < SLOW_SHARE * stats.slowest:
        warnings.append(f"the path moves at {float(np.median(v[moving])):.2f} m/s, slower than the training clips "
                        f"({stats.slowest:.2f}-{stats.fastest:.2f} m/s): the gait plays in slow motion")
    starts, ends = _runs(v < MIN_TRAVEL_SPEED)
    stop = float((ends - starts).max(initial=0)) / fps
    if stop >= STOP_SECONDS and stats.slowest > MIN_TRAVEL_SPEED:
        warnings.append(f"the path stands still for {stop:.1f} s, but the training clips never do (their slowest "
                        f"5 % of frames: {stats.slowest:.2f} m/s): outside what the model has seen, expect the body "
                        f"to move oddly while it stands")
    return PathPlan(path, fps, distance, warnings + notes, eased)


# --- the gait -------------------------------------------------------------------------------------------------------
@dataclass
class Gait:
    """A generated motion, straightened (:func:`straighten`), seen from its mean facing ``facing`` (radians CCW from
    +X): ``travelled`` (T,) metres covered forwards (a moving average over one period; steps back or sideways add
    nothing), ``sway`` (T, 2) the pelvis about that average (forwards, leftwards), and its foot ``contacts``."""

    motion: Motion
    facing: float
    travelled: np.ndarray
    sway: np.ndarray
    contacts: np.ndarray

    @classmethod
    def of(cls, motion: Motion, period: float) -> "Gait":
        motion = straighten(motion, period)
        face = feat.heading(axis_angle_to_matrix(motion.poses[:, 0])) - np.pi / 2
        facing = float(np.arctan2(np.sin(face).mean(), np.cos(face).mean()))
        local = rotate_heading(np.full(motion.num_frames, -facing), motion.trans[:, :2])
        mean = uniform_filter1d(local, max(1, int(round(period * motion.fps))), axis=0, mode="nearest")
        steps = np.maximum(np.diff(mean[:, 0]), 0.0)
        travelled = np.concatenate([[0.0], np.cumsum(steps)]) + np.arange(motion.num_frames) * 1e-7  # increasing
        return cls(motion, facing, travelled, local - mean, foot_contacts(motion.joints(), motion.fps) > 0.5)

    @property
    def lead(self) -> int:
        """Frames skipped at the start, where the moving average is one-sided."""
        return min(len(self.travelled) // 4, LEAD_FRAMES)

    @property
    def length(self) -> float:
        """Metres the gait covers after its lead."""
        return float(self.travelled[-1] - self.travelled[self.lead])


def straighten(motion: Motion, period: float) -> Motion:
    """``motion`` with its turning taken out: every frame turned back by the body's heading averaged over one
    ``period`` (seconds), the pelvis track re-integrated in that frame, so a gait that wanders walks straight on."""
    win = max(1, int(round(period * motion.fps)))
    rot = axis_angle_to_matrix(motion.poses[:, 0])
    mean = uniform_filter1d(np.unwrap(feat.heading(rot)), win, mode="nearest")
    poses = motion.poses.copy()
    poses[:, 0] = matrix_to_axis_angle(rz(-mean) @ rot)
    pelvis = motion.trans[:, :2]
    steps = rotate_heading(-mean[:-1], np.diff(pelvis, axis=0))
    trans = motion.trans.copy()
    trans[:, :2] = pelvis[0] + np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)])
    return motion.copy(poses=poses, trans=trans)


def _gait_labels(labels: str | None, plan_: PathPlan, speed: float) -> str | None:
    """A label schedule in output seconds moved to the gait's time: where a gait of ``speed`` m/s has walked as far
    (after its lead), so that the labels land where the path wants them once warped."""
    if not labels or (":" not in labels and "," not in labels):
        return labels
    from .control import parse_schedule

    def gait_time(t: float) -> float:
        walked = float(np.interp(t * plan_.fps, np.arange(plan_.frames), plan_.distance))
        return walked / speed + LEAD_FRAMES / plan_.fps

    return ",".join(f"{name}:{0.0 if a <= 0 else gait_time(a):.3f}-{gait_time(b):.3f}"
                    for a, b, name in parse_schedule(labels))


def _generate_gait(model, path: FloorPath, stats: GaitStats, *, seconds, speed, labels, seed, noise,
                   progress, ease=0.0) -> tuple[Gait, PathPlan]:
    """A cleaned gait that covers the path, and the path timed (an untimed path at the gait's own
    speed); a longer try when the first falls short. MrgenError when the gait hardly travels."""
    from . import sampling

    natural = stats.natural
    for attempt in range(3):
        plan_ = plan(path, stats, model.fps, seconds, speed, natural, ease)
        need = float(plan_.distance[-1])
        frames = int(math.ceil((need / natural * 1.15 + 2 * stats.period) * model.fps))
        motion = sampling.generate(model, frames=frames, seed=seed, labels=_gait_labels(labels, plan_, natural),
                                   num=1, noise=noise, cleanup=True, progress=progress)[0]
        gait = Gait.of(motion, stats.period)
        own = gait.length / motion.duration
        if own < MIN_TRAVEL_SPEED:
            raise MrgenError(f"this model's {labels or 'motion'!r} hardly travels ({own:.2f} m/s in its own "
                             f"samples; its training clips: {stats.slowest:.2f}-{stats.fastest:.2f} m/s): the warp "
                             "fallback needs a gait that moves (another label, or a model trained on travelling "
                             "clips)")
        plan_ = plan(path, stats, model.fps, seconds, speed, own, ease)
        if gait.length >= plan_.distance[-1] + 0.5 * own * stats.period:
            if path.times is None and speed is None:
                plan_ = own_pace(gait, path, plan_, seconds)
            break
        natural = own * gait.length / max(gait.length + own * stats.period, 1e-6)  # shorter estimate: more frames
    return gait, plan_


def own_pace(gait: Gait, path: FloorPath, plan_: PathPlan, seconds: float | None) -> PathPlan:
    """An untimed path walked with the gait's own speed profile (its speeding up and slowing down; with
    ``seconds``, all of it played uniformly faster or slower to fit), instead of a constant speed."""
    covered = gait.travelled[gait.lead:] - gait.travelled[gait.lead]
    end = float(np.interp(path.length, covered, np.arange(len(covered), dtype=np.float64)))  # gait frames to cover it
    n = int(round(end)) + 1 if seconds is None else plan_.frames
    frames = np.linspace(0.0, end, n)
    distance = np.minimum(np.interp(frames, np.arange(len(covered)), covered), path.length)
    notes = [w for w in plan_.warnings if not w.startswith("untimed")]
    return PathPlan(path, plan_.fps, distance, notes + ["untimed path walked at the gait's own pace"])


# --- warp and place -------------------------------------------------------------------------------------------------
def _warp(gait: Gait, distance: np.ndarray) -> np.ndarray:
    """Gait frame (fractional) to show at each output frame: as far along as the path (after the gait's first
    :attr:`Gait.lead` frames, where its moving average is one-sided), at most MAX_RATE frames per frame (then behind
    the path, catching up where the path slows)."""
    tau = np.interp(distance + gait.travelled[gait.lead], gait.travelled, np.arange(len(gait.travelled), dtype=np.float64))
    out = tau.copy()
    for k in range(1, len(out)):
        out[k] = min(tau[k], out[k - 1] + MAX_RATE)
    return out


def _sample(motion: Motion, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poses and trans of ``motion`` at fractional frames ``tau`` (slerp / linear)."""
    i0 = np.clip(np.floor(tau).astype(int), 0, motion.num_frames - 1)
    i1 = np.clip(i0 + 1, 0, motion.num_frames - 1)
    w = (tau - i0)[:, None]
    q = axis_angle_to_quat(motion.poses)
    poses = quat_to_axis_angle(slerp(q[i0], q[i1], np.broadcast_to(w, (len(tau), q.shape[1]))))
    trans = motion.trans[i0] * (1 - w) + motion.trans[i1] * w
    return poses, trans


def place(gait: Gait, plan_: PathPlan, facing: Facing = Facing(), cleanup: bool = True) -> tuple[Motion, dict]:
    """The gait warped onto the path (see the module docstring), and figures on how well it follows."""
    path, fps = plan_.path, plan_.fps
    tau = _warp(gait, plan_.distance)
    frames = np.arange(len(gait.travelled), dtype=np.float64)
    along = np.interp(tau, frames, gait.travelled) - gait.travelled[gait.lead]  # where the body is along the path (behind it where capped)
    poses, trans = _sample(gait.motion, tau)
    sway = np.stack([np.interp(tau, frames, gait.sway[:, i]) for i in range(2)], axis=1)
    path_dir = np.unwrap(path.direction_at(along, CORNER_REACH))
    turn = path_dir - gait.facing
    xy = path.at_length(along) + rotate_heading(path_dir, sway)
    if facing.mode == "fixed":
        face = np.full(len(tau), facing.angle)
    elif facing.mode == "look-at":
        d = np.asarray(facing.point)[None] - xy
        face = np.unwrap(np.arctan2(d[:, 1], d[:, 0]))
    else:
        face = path_dir
    face_turn = turn if facing.mode == "path" else face - gait.facing
    root = rz(face_turn) @ axis_angle_to_matrix(poses[:, 0])
    poses[:, 0] = matrix_to_axis_angle(root)
    trans[:, :2] = xy - gait.motion.skeleton.offsets[0][:2]
    near = np.clip(np.rint(tau).astype(int), 0, gait.motion.num_frames - 1)
    labels = None if gait.motion.labels is None else gait.motion.labels[near]
    out = gait.motion.copy(poses=poses, trans=trans, labels=labels)
    if cleanup:
        out = cleanup_feet(out, contacts=gait.contacts[near].astype(np.float64))
    return out, {**follow_figures(out, path, plan_.distance, face), "along": along, "path_dir": path_dir}


def _turn_warning(path_dir: np.ndarray, fps: float, stats: GaitStats) -> list[str]:
    rate = np.abs(uniform_filter1d(np.gradient(path_dir) * fps, max(1, int(round(0.25 * fps)))))
    if float(rate.max()) > 1.25 * max(stats.turn, 0.3):
        return [f"the path turns at up to {math.degrees(rate.max()):.0f} deg/s, "
                f"{rate.max() / max(stats.turn, 0.3):.1f}x the fastest turn of the training clips: the "
                "body turns through the corner on planted feet (a pivot, not a step)"]
    return []


def _warped(model, path, stats, facing, *, seconds, speed, labels, seed, noise, cleanup, progress, ease=0.0):
    """One motion by the warp route, its figures and warnings."""
    gait, plan_ = _generate_gait(model, path, stats, seconds=seconds, speed=speed, labels=labels, seed=seed,
                                 noise=noise, progress=progress, ease=ease)
    motion, figures = place(gait, plan_, facing, cleanup)
    mine = [w for w in plan_.warnings if not w.startswith("untimed")]
    lag = float((plan_.distance - figures.pop("along")).max())
    if lag > 0.3:
        mine.append(f"the body falls up to {lag:.1f} m behind the path: the gait plays at most {MAX_RATE:g}x its "
                    f"own speed ({gait.length / gait.motion.duration:.2f} m/s)")
    if gait.length < plan_.distance[-1] - 0.05:  # after three tries
        mine.append(f"the gait covered {gait.length:.1f} m of the path's {plan_.distance[-1]:.1f} m: it stops "
                    "short of the end")
    mine += _turn_warning(figures.pop("path_dir"), motion.fps, stats)
    if facing.mode != "path":
        travel = path.direction_at(plan_.distance, CORNER_REACH)
        face = feat.heading(axis_angle_to_matrix(motion.poses[:, 0])) - np.pi / 2
        off = float(np.degrees(np.abs((face - travel + np.pi) % (2 * np.pi) - np.pi)).mean())
        if off > SIDEWAYS_DEGREES:
            mine.append(f"facing {facing.describe()} is {off:.0f} deg from the travel direction on average: "
                        "the warp fallback walks forwards only, so the body crabs sideways")
    return motion, plan_, figures, mine


def _steered(model, path, stats, facing, *, seconds, speed, labels, seed, noise, cleanup, progress, ease=0.0):
    """One motion by the trained route (:mod:`mrgen_core.path_steer`), its figures and warnings."""
    plan_ = plan(path, stats, model.fps, seconds, speed, ease=ease)
    # never faster than the fastest training clip (a little over): beyond it the body falls behind the path
    step = STEER_MAX_RATIO * stats.fastest / model.fps
    capped = plan_.distance.copy()
    for k in range(1, len(capped)):
        capped[k] = min(capped[k], capped[k - 1] + step)
    motion, own = steer(model, PathPlan(path, plan_.fps, capped), facing, labels=labels, seed=seed, noise=noise,
                        period=stats.period, reach=CORNER_REACH, cleanup=cleanup, progress=progress)
    face = wanted_facing(path, capped, facing, CORNER_REACH)
    figures = {**follow_figures(motion, path, plan_.distance, face), **own}
    mine = [w for w in plan_.warnings if not w.startswith("untimed")]
    lag = float((plan_.distance - capped).max())
    if lag > 0.3:
        mine.append(f"the body falls up to {lag:.1f} m behind the path: it moves at most {STEER_MAX_RATIO:g}x the "
                    f"fastest training clip's speed ({stats.fastest:.2f} m/s)")
    mine += _turn_warning(np.unwrap(path.direction_at(plan_.distance, CORNER_REACH)), motion.fps, stats)
    if own["nudge_cm"]["max"] > 50:
        mine.append(f"the model drifted up to {own['nudge_cm']['max'] / 100:.1f} m from the path and was moved "
                    "back onto it: expect sliding there")
    return motion, plan_, figures, mine


def _cannot_steer(motion: Motion, figures: dict, stats: GaitStats) -> tuple[str, bool] | None:
    """Why a steered result is no good (None if it is), and whether the warp must keep the path to take over: the
    nudge had to turn the body far (the path turns or speeds where the clips never do), or the body glides (limbs far
    slower than in the clips), or its limbs move far faster than in the clips (only where the warp does better)."""
    if figures["nudge_deg"]["mean"] > MAX_NUDGE_DEGREES:
        return (f"the model, steered, faced {figures['nudge_deg']['mean']:.0f} deg away from the path on average "
                f"(more than {MAX_NUDGE_DEGREES:g})"), False
    world, own = (float(np.percentile(v, 90)) for v in fastest_joints(motion))
    if stats.limbs and world < GLIDE_SHARE * stats.limbs:
        return (f"the model, steered, glided (its fastest joint at {world:.1f} m/s, the clips' "
                f"{stats.limbs:.1f} m/s)"), False
    if stats.own_limbs and own < GLIDE_SHARE * stats.own_limbs:
        return (f"the model, steered, glided (its fastest joint at {own:.1f} m/s relative to the pelvis, the "
                f"clips' {stats.own_limbs:.1f} m/s)"), False
    if stats.limbs and world > FAST_SHARE * stats.limbs:
        return (f"the model, steered, moved its limbs {world / stats.limbs:.2f}x as fast as its clips (fastest "
                f"joint {world:.1f} m/s, the clips' {stats.limbs:.1f} m/s; 90th percentiles)"), True
    return None


def follow(model, path: FloorPath, *, seconds: float | None = None, speed: float | None = None,
           facing: Facing = Facing(), labels: str | None = None, seed: int = 0, num: int = 1,
           noise: str = "auto", cleanup: bool = True, progress=None, ease: float = 0.0
           ) -> tuple[list[Motion], list[str]]:
    """``num`` motions of ``model`` following ``path`` (variation ``k``: seed ``seed + k``; ``ease`` > 0: the
    path's speed changes spread over that many seconds, :func:`ease_timing`), each carrying its
    ``meta`` (``path_method``: ``"control"`` for a model trained with path control, :mod:`mrgen_core.path_steer`,
    else ``"warp"``; the figures of :func:`follow_figures`, warnings); and the warnings."""
    stats = GaitStats.of(model, labels)
    plan(path, stats, model.fps, seconds, speed, ease=ease)  # bad timing refused before any work
    route, method = (_steered, STEERED) if follows_paths(model) else (_warped, METHOD)
    out, warnings = [], []
    for k in range(num):
        def report(f, msg="", k=k):
            if progress is not None:
                progress((k + f) / num, msg)
        kw = dict(seconds=seconds, speed=speed, labels=labels, seed=seed + k, noise=noise, cleanup=cleanup,
                  progress=report, ease=ease)
        motion, plan_, figures, mine = route(model, path, stats, facing, **kw)
        used, why = method, _cannot_steer(motion, figures, stats) if method == STEERED else None
        if why:  # the warp of the model's own gait is the nearer feasible motion, where that gait travels
            why, only_if_kept = why
            try:
                warp = _warped(model, path, stats, facing, **kw)
            except MrgenError as e:
                mine.append(f"{why}, and the warp fallback could not take over ({e})")
            else:
                if only_if_kept and warp[2]["path_error_cm"]["mean"] > WARP_KEEPS_CM:
                    mine.append(f"{why}; its gait warped onto the path would trail it "
                                f"({warp[2]['path_error_cm']['mean']:.0f} cm on average), so it stays")
                else:
                    motion, plan_, warped, other = warp
                    mine = other
                    mine.insert(0, f"{why}: its gait was warped onto the path instead")
                    figures, used = {**warped, "steered": figures}, METHOD
        meta = {"path_method": used, "path": path.source or "inline", "facing": facing.describe(),
                "path_seconds": round(plan_.frames / model.fps, 3), "path_length_m": round(path.length, 3),
                **({"ease": plan_.eased} if plan_.eased else {}),
                **figures, "training_speed_mps": [round(stats.slowest, 3), round(stats.fastest, 3)],
                "warnings": mine}
        out.append(motion.copy(name=f"path_{seed + k}", meta=meta))
        for w in mine:
            if w not in warnings:
                warnings.append(w)
    return out, warnings
