"""Foot cleanup: pin feet while they are in contact, with a light two-bone IK on the legs.

For each foot joint (ankle, toe) every contact run gets one target: its mean horizontal position over the run (a
toe planted together with its ankle takes the place the pinned ankle carries it to, so the two targets agree), at
its own height clamped to between the floor and the contact height. A run along which the joint travels on (it
strays more than :data:`MAX_PIN` from that place: a mispredicted contact) is first cut to its stance, the stretch
round its slowest frame. The correction ``target - position`` applies inside the run and fades out over
``blend_frames`` on either side (smoothstep), so nothing pops. An ankle that is not planted itself follows its toe's
correction and vice versa (the foot moves rigidly); a planted toe whose ankle is free, or out of the leg's reach,
turns the foot about the toe (the heel lifts) rather than sliding.
Each leg then reaches its corrected ankle with an analytic two-bone IK (the knee turns about its own hinge axis and
flexes, a knee bent backwards included, easing into full extension rather than locking; the hip swings the leg onto
the target), and the ankle turns the foot so the toe reaches its corrected position. Only the hip, knee and ankle
rotations change; the root, the upper body and every frame away from a contact stay exactly as they were.
Vectorised over frames.
"""
from __future__ import annotations

import numpy as np

from .contacts import CONTACT_HEIGHT, foot_contacts
from .errors import MrgenError
from .motion import Motion
from .geometry import forward_kinematics, rotation_between
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle, unit
from .skeleton import FOOT_JOINTS, PARENTS

#: (hip, knee, ankle, toe) joint indices of the left and right legs.
LEGS = ((1, 4, 7, 10), (2, 5, 8, 11))
_NUM_LEG_JOINTS = 12  # joints 0..11 hold the pelvis, spine1..3 and both legs: all FK the legs need
#: Default blend length (seconds) on either side of a contact run.
BLEND_SECONDS = 0.2
#: Contact gaps up to this long (seconds) are closed before pinning (flickering contacts).
GAP_SECONDS = 0.07
#: A contact run along which its joint strays further than this (m, horizontally) from the run's mean place is not
#: one stance (a foot flagged planted while it travels on): only its stretch round its slowest frame is pinned, the
#: rest left as generated, as pinning all of it would stretch the leg towards a place far behind and pop the foot.
MAX_PIN = 0.3
#: A contact run along which its joint never moves slower than this (m/s, horizontally; 3x the speed under which
#: :func:`~mrgen_core.contacts.foot_contacts` finds a contact) is not a stance at all: it is left as generated, as
#: pinning any stretch of it would hold the foot back from its travel and hand it back in a fast swing.
MAX_STANCE_SPEED = 1.5
#: A knee bent backwards by this much (radians) or more flexes only as far as the foot is pinned (see
#: :func:`_two_bone_ik`); between straight and this, partly.
HYPEREXTENSION = np.radians(3.0)
#: Share of a leg's remaining extension the IK follows exactly; beyond it, it eases towards the full length.
SOFT_START = 0.75
#: A toe below the floor is raised fully where its foot's horizontal extent is at least this share of its length
#: (30 degrees or more from vertical), less on a steeper foot, not at all on a vertical one.
TOE_LEVEL = 0.5


def cleanup_feet(motion: Motion, contacts: np.ndarray | None = None, blend_frames: int | None = None,
                 fill_gaps: int | None = None) -> Motion:
    """A copy of ``motion`` whose feet stay put while in contact.

    ``contacts``: (T, 4) flags or probabilities (> 0.5 = contact) for :data:`~mrgen_core.skeleton.FOOT_JOINTS`
    (left ankle, left toe, right ankle, right toe), e.g. the model's predicted contacts; ``None`` derives them from
    the motion with :func:`~mrgen_core.contacts.foot_contacts`. ``blend_frames``: frames over which the correction
    fades in and out at each contact run (default 0.2 s). ``fill_gaps``: contact gaps up to this many frames are
    closed (default 0.07 s). A contact run whose joint never slows to :data:`MAX_STANCE_SPEED` is no stance and is
    left alone; one that strays further than :data:`MAX_PIN` is pinned round its slowest frame. A planted toe holds
    the foot (the ankle kept at the foot's length from it, the heel raised where needed). Toes left below the
    floor are raised onto it (the foot pitched about the ankle; less, down to not at all, where the foot points
    nearly straight down). Only hip, knee and ankle rotations in ``poses`` change.
    """
    t = motion.num_frames
    fps = motion.fps
    b = max(1, int(round(BLEND_SECONDS * fps))) if blend_frames is None else int(blend_frames)
    gap = max(0, int(round(GAP_SECONDS * fps))) if fill_gaps is None else int(fill_gaps)
    if b < 1 or gap < 0:
        raise MrgenError(f"blend_frames must be >= 1 and fill_gaps >= 0, got {blend_frames}, {fill_gaps}")
    if contacts is not None and np.shape(contacts) != (t, len(FOOT_JOINTS)):
        raise MrgenError(f"contacts must have shape ({t}, {len(FOOT_JOINTS)}), got {np.shape(contacts)}",
                         motion.source or None)
    out = motion.copy()
    if t < 2:
        return out

    offsets = motion.skeleton.offsets[:_NUM_LEG_JOINTS]
    parents = PARENTS[:_NUM_LEG_JOINTS]
    local = axis_angle_to_matrix(motion.poses[:, :_NUM_LEG_JOINTS])
    pos, glob = forward_kinematics(local, motion.trans + offsets[0], offsets, parents)

    if contacts is None:
        contacts = foot_contacts(pos, fps)
    contacts = np.asarray(contacts, dtype=np.float64)
    on = _close_gaps(np.nan_to_num(contacts) > 0.5, gap)
    column = {j: i for i, j in enumerate(FOOT_JOINTS)}
    for j, c in column.items():
        on[:, c] = _stances(on[:, c], pos[:, j, :2], fps)

    for hip, knee, ankle, toe in LEGS:
        c_a, d_a = _correction(pos[:, ankle], on[:, column[ankle]], b, CONTACT_HEIGHT[ankle])
        # where the ankle is planted, the toe's target is where the pinned ankle carries it (consistent targets)
        carried = np.where((c_a == 1)[:, None], pos[:, toe, :2] + d_a[:, :2], np.nan)
        c_t, d_t = _correction(pos[:, toe], on[:, column[toe]], b, CONTACT_HEIGHT[toe], carried)
        active = (c_a > 0) | (c_t > 0)
        if not active.any():
            continue
        # each joint takes its own correction, and its partner's where it is not planted itself (rigid foot)
        move_a = c_a[:, None] * d_a + ((1 - c_a) * c_t)[:, None] * d_t
        move_t = c_t[:, None] * d_t + ((1 - c_t) * c_a)[:, None] * d_a
        f = np.flatnonzero(active)
        p, g = pos[f], glob[f]
        foot = p[:, toe] - p[:, ankle]
        ankle_to = p[:, ankle] + move_a[f]
        toe_to = p[:, toe] + move_t[f]
        # a planted toe holds the foot: the ankle goes on the foot-length sphere round the toe. Where the ankle is
        # planted too, at a place nearer the toe's than the foot is long (pins from different runs), this raises
        # the heel; aiming the foot at the toe's place from the ankle's instead pushed the toe under the floor.
        aim = toe_to - ankle_to
        length = np.linalg.norm(foot, axis=-1, keepdims=True)
        on_sphere = toe_to - aim * (length / np.maximum(np.linalg.norm(aim, axis=-1, keepdims=True), 1e-9))
        ankle_to += c_t[f, None] * (on_sphere - ankle_to)
        # a planted toe the leg cannot reach with this ankle: lift the heel (ankle round the toe) instead of sliding
        hip_at = p[:, hip]
        reach = _exact_reach(hip_at, p[:, knee], p[:, ankle])
        lifted = _ankle_within_reach(ankle_to, toe_to, hip_at, length[:, 0], reach)
        ankle_to += c_t[f, None] * (lifted - ankle_to)
        foot_turn = rotation_between(unit(foot), unit(toe_to - ankle_to))
        g_hip, g_knee = _two_bone_ik(p[:, hip], p[:, knee], p[:, ankle], g[:, hip], g[:, knee], ankle_to,
                                     np.maximum(c_a, c_t)[f])
        g_ankle = foot_turn @ g[:, ankle]
        g_pelvis = g[:, int(PARENTS[hip])]
        new_local = np.stack([_t(g_pelvis) @ g_hip, _t(g_hip) @ g_knee, _t(g_knee) @ g_ankle], axis=1)
        out.poses[f[:, None], [hip, knee, ankle]] = matrix_to_axis_angle(new_local)
    return _toes_above_floor(out)


def _toes_above_floor(motion: Motion) -> Motion:
    """``motion`` with every toe joint that lies below the floor (z < 0) raised onto it by pitching its foot about
    the ankle's own lateral axis, by the smallest angle that puts it on the floor (or as near as the foot's length
    allows). A foot pointing nearly straight down (a swing foot passing through the floor) is raised less, and not
    at all where it is vertical: there the smallest turn flips from toe-back to toe-forward, a jump of the whole foot
    length in one frame. Continuous: nil where the toe meets the floor, and where the foot is vertical."""
    offsets = motion.skeleton.offsets[:_NUM_LEG_JOINTS]
    local = axis_angle_to_matrix(motion.poses[:, :_NUM_LEG_JOINTS])
    pos, glob = forward_kinematics(local, motion.trans + offsets[0], offsets, PARENTS[:_NUM_LEG_JOINTS])
    out = motion
    up = offsets[3] + offsets[6] + offsets[9]  # pelvis to neck in the rest pose (the skeleton's own up)
    for _, knee, ankle, toe in LEGS:
        f = np.flatnonzero(pos[:, toe, 2] < 0.0)
        if not len(f):
            continue
        axis = unit(glob[f, ankle] @ unit(np.cross(up, offsets[toe])))  # the ankle's pitch axis
        angle = _pitch_to_height(pos[f, toe] - pos[f, ankle], axis, -pos[f, ankle, 2])
        g_ankle = axis_angle_to_matrix(axis * angle[:, None]) @ glob[f, ankle]
        if out is motion:
            out = motion.copy()
        out.poses[f, ankle] = matrix_to_axis_angle(_t(glob[f, knee]) @ g_ankle)
    return out


def _pitch_to_height(v: np.ndarray, axis: np.ndarray, height: np.ndarray) -> np.ndarray:
    """Angles (N,) that turn vectors ``v`` (N, 3) about unit ``axis`` (N, 3) so that their z becomes ``height``
    (N,): the smallest such angle (where none reaches it, the one that comes nearest), scaled down where ``v``,
    seen along the axis, points within 30 degrees of straight down or up (:data:`TOE_LEVEL`), to nil where it points
    straight down or up: there the smallest angle changes sign (a toe is then left below the floor)."""
    along = np.sum(axis * v, axis=-1)
    c = axis[:, 2] * along  # z of the part along the axis, which the turn keeps
    a = v[:, 2] - c  # z(angle) = a cos(angle) + b sin(angle) + c
    b = np.cross(axis, v)[:, 2]
    r = np.maximum(np.hypot(a, b), 1e-12)
    phi = np.arctan2(b, a)
    delta = np.arccos(np.clip((height - c) / r, -1.0, 1.0))
    both = (np.stack([phi + delta, phi - delta]) + np.pi) % (2 * np.pi) - np.pi
    smallest = np.take_along_axis(both, np.argmin(np.abs(both), axis=0)[None], axis=0)[0]
    return _smoothstep(np.abs(b) / r / TOE_LEVEL) * smallest


def _t(m: np.ndarray) -> np.ndarray:
    return np.swapaxes(m, -1, -2)


def _runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) frames of the runs of True in a 1-D bool array."""
    d = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _close_gaps(on: np.ndarray, gap: int) -> np.ndarray:
    """Fill interior runs of False no longer than ``gap`` frames in each column of a (T, K) bool array."""
    on = on.copy()
    if gap < 1:
        return on
    for k in range(on.shape[1]):
        starts, ends = _runs(~on[:, k])
        for s, e in zip(starts, ends):
            if s > 0 and e < len(on) and e - s <= gap:
                on[s:e, k] = True
    return on


def _stances(on: np.ndarray, xy: np.ndarray, fps: float) -> np.ndarray:
    """The contact flags (T,) without the runs along which the joint (horizontal positions ``xy`` (T, 2)) is never
    slower than :data:`MAX_STANCE_SPEED`, and with every run along which it strays more than :data:`MAX_PIN` from the
    run's mean place cut down to its stance: the stretch round its slowest frame, grown towards the slower side frame
    by frame while the joint stays within :data:`MAX_PIN` of its mean place."""
    out = on.copy()
    speed = np.r_[0.0, np.linalg.norm(np.diff(xy, axis=0), axis=-1)]
    speed[0] = speed[1] if len(speed) > 1 else 0.0

    def fits(a: int, b: int) -> bool:
        return np.linalg.norm(xy[a:b] - xy[a:b].mean(axis=0), axis=-1).max() <= MAX_PIN

    for s, e in zip(*_runs(on)):
        if speed[s:e].min() * fps > MAX_STANCE_SPEED:
            out[s:e] = False
            continue
        if fits(s, e):
            continue
        a = s + int(np.argmin(speed[s:e]))
        b = a + 1
        while True:
            sides = [(speed[a - 1], a - 1, b)] if a > s else []
            sides += [(speed[b], a, b + 1)] if b < e else []
            grown = next(((na, nb) for _, na, nb in sorted(sides) if fits(na, nb)), None)
            if grown is None:
                break
            a, b = grown
        out[s:e] = False
        out[a:b] = True
    return out


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _correction(p: np.ndarray, on: np.ndarray, b: int, max_height: float,
                anchor: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pinning weight (T,) and correction (T, 3) of one foot joint with positions ``p`` (T, 3).

    Inside a contact run the weight is 1 and the correction moves the joint onto the run's target: the mean
    horizontal position over the run (or over the run's finite rows of ``anchor`` (T, 2), where given), at its own
    height clamped to [0, max_height]. Outside, the corrections at the ends of the neighbouring runs fade out over
    ``b`` frames (averaged where two fades meet).
    """
    n = len(p)
    weight = np.zeros(n)
    corr = np.zeros((n, 3))
    w_sum = np.zeros(n)
    c_sum = np.zeros((n, 3))
    k = np.arange(1, b + 1)
    fade = _smoothstep(1.0 - k / (b + 1.0))
    for s, e in zip(*_runs(on)):
        use = None if anchor is None else anchor[s:e][np.isfinite(anchor[s:e, 0])]
        target = use.mean(axis=0) if use is not None and len(use) else p[s:e, :2].mean(axis=0)
        corr[s:e, :2] = target - p[s:e, :2]
        corr[s:e, 2] = np.clip(p[s:e, 2], 0.0, max_height) - p[s:e, 2]
        weight[s:e] = 1.0
        for idx, edge in ((s - k, s), (e - 1 + k, e - 1)):
            keep = (idx >= 0) & (idx < n)
            w_sum[idx[keep]] += fade[keep]
            c_sum[idx[keep]] += fade[keep, None] * corr[edge]
    off = ~on & (w_sum > 0)
    weight[off] = np.minimum(w_sum[off], 1.0)
    corr[off] = c_sum[off] / w_sum[off, None]
    return weight, corr


def _soft_reach(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Hip-ankle distance (N,) the IK aims for: the target's while the leg has room, then easing (C1) towards full
    extension instead of locking the knee in one frame; exact up to :func:`_exact_reach`."""
    l1 = np.linalg.norm(knee - hip, axis=-1)
    l2 = np.linalg.norm(ankle - knee, axis=-1)
    cap = (l1 + l2) * (1.0 - 1e-4)
    now = np.minimum(np.linalg.norm(ankle - hip, axis=-1), cap)
    room = np.maximum(cap - now, 1e-9)
    want = np.linalg.norm(target - hip, axis=-1)
    x = np.maximum(want - now, 0.0) / room
    tail = 1.0 - SOFT_START
    eased = np.where(x <= SOFT_START, x, SOFT_START + tail * (1.0 - np.exp(-(x - SOFT_START) / tail)))
    d = np.where(x > 0, now + room * eased, want)
    return np.clip(d, np.abs(l1 - l2) + 1e-4, cap)


def _exact_reach(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """The farthest hip-ankle distance (N,) :func:`_soft_reach` still reaches exactly."""
    l1 = np.linalg.norm(knee - hip, axis=-1)
    l2 = np.linalg.norm(ankle - knee, axis=-1)
    cap = (l1 + l2) * (1.0 - 1e-4)
    now = np.minimum(np.linalg.norm(ankle - hip, axis=-1), cap)
    return now + SOFT_START * (cap - now)


def _ankle_within_reach(ankle_to: np.ndarray, toe_to: np.ndarray, hip: np.ndarray, foot: np.ndarray,
                        reach: np.ndarray) -> np.ndarray:
    """``ankle_to`` (N, 3) where the hip reaches it; elsewhere the point at ``reach`` from the hip and ``foot`` from
    the toe nearest to it (the foot turns about the planted toe), or the nearest reachable point towards the toe."""
    far = np.linalg.norm(ankle_to - hip, axis=-1) > reach
    if not far.any():
        return ankle_to
    out = ankle_to.copy()
    a, t, h, r, lf = ankle_to[far], toe_to[far], hip[far], reach[far], foot[far]
    ht = t - h
    dist = np.maximum(np.linalg.norm(ht, axis=-1), 1e-9)
    u = ht / dist[:, None]
    # the circle where the sphere round the hip (radius r) meets the sphere round the toe (radius lf)
    along = (dist * dist + r * r - lf * lf) / (2 * dist)
    radius = np.sqrt(np.clip(r * r - along * along, 0.0, None))
    centre = h + along[:, None] * u
    w = a - centre
    w -= np.sum(w * u, axis=-1, keepdims=True) * u
    wn = np.linalg.norm(w, axis=-1, keepdims=True)
    up = np.array([0.0, 0.0, 1.0]) - u[:, 2:3] * u  # fallback direction: up, off the hip-toe line
    w = np.where(wn > 1e-9, w / np.maximum(wn, 1e-9), up / np.maximum(np.linalg.norm(up, axis=-1, keepdims=True), 1e-9))
    on_circle = centre + radius[:, None] * w
    out[far] = np.where((dist < r + lf)[:, None], on_circle, h + r[:, None] * u)
    return out


def _two_bone_ik(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, g_hip: np.ndarray, g_knee: np.ndarray,
                 target: np.ndarray, weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """New global hip and knee rotations (N, 3, 3) that bring the ankle to ``target`` (as near as the leg reaches).

    The knee turns about its hinge (its local x axis, SMPL's flexion axis), so it keeps its bend plane, to the flexed
    solution; then the hip swings the leg by the smallest rotation onto the target. Targets beyond most of the leg's
    remaining extension are approached softly (:func:`_soft_reach`), never past full extension: no knee lock-pop and
    no NaN. A knee that bends backwards (by up to :data:`HYPEREXTENSION` and beyond) is never bent further back: it
    reaches the flexed solution in step with the pinning ``weight`` (N,) in [0, 1] (1 where not given), so the leg
    leaves the motion's own pose continuously where the correction fades in, and flexes where the foot is planted.
    """
    l1 = np.linalg.norm(knee - hip, axis=-1)
    l2 = np.linalg.norm(ankle - knee, axis=-1)
    d = _soft_reach(hip, knee, ankle, target)
    axis = g_knee[:, :, 0]
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    p = hip - knee
    v = ankle - knee
    v_par = np.sum(v * axis, axis=-1, keepdims=True) * axis
    v_perp = v - v_par
    # p . v(phi) = C + A cos(phi) + B sin(phi) must equal (l1^2 + l2^2 - d^2) / 2
    a_ = np.sum(p * v_perp, axis=-1)
    b_ = np.sum(p * np.cross(axis, v_perp), axis=-1)
    c_ = np.sum(p * v_par, axis=-1)
    want = 0.5 * (l1 * l1 + l2 * l2 - d * d)
    r = np.hypot(a_, b_)
    psi = np.arctan2(b_, a_)
    delta = np.arccos(np.clip((want - c_) / np.maximum(r, 1e-12), -1.0, 1.0))
    # the leg is longest at phi = psi + pi; the bend beyond that (positive = flexion about SMPL's knee x axis)
    # is pi - delta on the flexed solution psi - delta. Stay flexed unless the knee is clearly hyperextended.
    wrap = lambda x: (x + np.pi) % (2 * np.pi) - np.pi  # noqa: E731
    bend_now = wrap(-psi - np.pi)
    phi = wrap(psi - delta)
    # a knee bent backwards: the flexed solution can be far (the two solutions mirror about the straight leg), so
    # it is reached only as the pinning weight grows; a flexed knee reaches it exactly (continuous at straight)
    w = np.ones(len(phi)) if weight is None else np.clip(weight, 0.0, 1.0)
    back = np.clip(-bend_now / HYPEREXTENSION, 0.0, 1.0)
    phi = np.where(r > 1e-9, phi * (1.0 - back * (1.0 - w)), 0.0)
    turn_knee = axis_angle_to_matrix(axis * phi[:, None])
    new_ankle = knee + np.einsum("nij,nj->ni", turn_knee, v)
    swing = rotation_between(unit(new_ankle - hip), unit(target - hip))
    return swing @ g_hip, swing @ turn_knee @ g_knee
