"""Per-frame features the coverage and diversity metrics compare.

Two feature sets, both scored side by side by :func:`mrgen_core.metrics.evaluate`:

* **literal** (GANimator's evaluation features, what published figures use): the 6D rotation (first two matrix
  columns) of all 24 SMPL joints, root included with its heading, then the 4 foot-contact channels of
  :func:`mrgen_core.contacts.foot_contacts` (computed from the kinematics, for samples and references alike, so any
  tool's output is scored the same way): 24 * 6 + 4 = 148 channels. Root position and velocity are excluded.
* **fair** (the default): the same, with the root's heading removed and its rate of change added: 149 channels.

Heading: the root's rotation about the world vertical (Z) is removed frame by frame, turning the body's forward
direction to the SMPL default (-Y, where a zero pose faces), while its tilt and roll are kept. A sample that walks
the training gait in another direction then matches it, as it should: where on the floor a gait heads is a property
of the root trajectory, which the metric excludes anyway (the literal features penalise a sample only for having
turned earlier or later than the clip).

Turning: removing the heading alone would also remove the turning (a sample that never turns would match a clip
that spins), so the fair features add one channel, the yaw rate: the rate of change of that heading (rad/s, over
:data:`YAW_RATE_SPAN` = 0.2 s; faded out when lying face up or down, where a heading is undefined; 0 for tilting or
rolling without turning), times :data:`YAW_RATE_SECONDS` = 0.5 s. Why 0.5 s: the literal features charge a heading
offset of ``a`` radians ``2 sin(a / 2) ~ a`` (the root's sideways axis swings by that much), which is also about
what a joint rotated by ``a`` costs; a yaw-rate difference ``dw`` that starts aligned at the beginning of a 30-frame
(1 s) coverage window builds up a heading offset of ``dw * t``, ``dw * 0.5 s`` on average over the window. So a turn
weighs what the rotation it makes in half a window would weigh on a joint, on the same horizon as the joint channels'
own changes: rounding a corner at 90 deg/s adds 0.79 per frame (like a joint 45 deg off), a spin at 360 deg/s 3.1
(above the 2.0 coverage threshold on its own), a walk's sway next to nothing. On the benchmark clips a turn weighs
like a joint that moves: while turning, the channel's median is 0.6-1.1 on the CMU walks and hops, where the 8
most-moving joints change by a median 0.4-0.6 over 0.5 s; the dance 05_06 spins at a median 275 deg/s (2.4), its
main motion (BENCHMARKS.md, metrics section).
"""
from __future__ import annotations

import numpy as np

from ..contacts import foot_contacts
from ..errors import MrgenError
from ..motion import Motion
from ..rotations import axis_angle_to_matrix, matrix_to_6d
from ..skeleton import NUM_JOINTS

#: Channels per frame of the literal features: 6D of every joint plus 4 contact flags.
LITERAL_FEATURE_SIZE = NUM_JOINTS * 6 + 4
#: Channels per frame of the fair (default) features: the literal layout plus the scaled yaw rate.
FEATURE_SIZE = LITERAL_FEATURE_SIZE + 1
#: Heading (yaw of the forward direction about +Z) of the SMPL default facing, -Y in the Z-up world.
DEFAULT_HEADING = -np.pi / 2
#: Seconds the yaw rate (rad/s) is multiplied by: half the 30-frame coverage window at 30 fps (see the module doc).
YAW_RATE_SECONDS = 0.5
#: Seconds the yaw rate is averaged over (about 3 frames either side at 30 fps): turns last far longer, while the
#: root's frame-to-frame wobble is jitter (reported by the jitter figure), which a one-frame derivative would inflate.
YAW_RATE_SPAN = 0.2
#: The feature sets :func:`motion_features` builds, by name.
FEATURE_SETS = ("fair", "literal")


def remove_heading(root_rotmats: np.ndarray) -> np.ndarray:
    """Root rotations (T, 3, 3) with their yaw about world Z replaced by the default facing (-Y).

    The forward direction is the template's +Z axis carried by the root rotation (third column); its horizontal
    direction sets the yaw. A forward axis pointing straight up or down has no heading and is left as it is.
    """
    yaw, horizontal = heading_and_weight(root_rotmats)
    flat = horizontal < 1e-9
    ang = np.where(flat, 0.0, DEFAULT_HEADING - yaw)
    c, s = np.cos(ang), np.sin(ang)
    rz = np.zeros((len(ang), 3, 3))
    rz[:, 0, 0], rz[:, 0, 1], rz[:, 1, 0], rz[:, 1, 1], rz[:, 2, 2] = c, -s, s, c, 1.0
    return rz @ root_rotmats


def heading_and_weight(root_rotmats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the heading (yaw about world Z of the root's forward axis, radians) and how well it is defined:
    the forward axis's horizontal length (1 upright, 0 lying face up or down)."""
    fwd = np.asarray(root_rotmats, dtype=np.float64)[:, :, 2]
    return np.arctan2(fwd[:, 1], fwd[:, 0]), np.hypot(fwd[:, 0], fwd[:, 1])


def yaw_rate(root_rotmats: np.ndarray, fps: float, span: float = YAW_RATE_SPAN) -> np.ndarray:
    """Yaw rate (T,) in rad/s: the rate of change of the heading that :func:`remove_heading` removes,
    counter-clockwise seen from above positive, over ``span`` seconds around each frame.

    Frame ``t``: the heading change from frame ``t-k`` to ``t+k`` over the time between them,
    ``k = max(1, round(span * fps / 2))`` (indices clamped at the ends), times the smaller forward-axis horizontal
    length of the two frames, so the rate fades out where the heading is undefined (lying face up or down) instead
    of jumping. The change is the sum of the frame-to-frame changes, each wrapped to (-pi, pi], so a spin of any
    speed up to half a turn per frame is measured as it is (wrapping the change over the whole span instead would
    alias a spin faster than half a turn per span, 900 deg/s at the default span, into a spin the other way).
    Tilting and rolling without turning give 0. A single frame has no rate (0).
    """
    yaw, weight = heading_and_weight(root_rotmats)
    n = len(yaw)
    if n < 2:
        return np.zeros(n)
    k = max(1, round(span * fps / 2))
    t = np.arange(n)
    hi, lo = np.minimum(t + k, n - 1), np.maximum(t - k, 0)
    heading = np.concatenate([[0.0], np.cumsum(np.angle(np.exp(1j * np.diff(yaw))))])  # unwrapped
    turn = heading[hi] - heading[lo]
    return turn * np.minimum(weight[hi], weight[lo]) * fps / (hi - lo)


def motion_features(motion: Motion, heading_invariant: bool = True, joints: np.ndarray | None = None, *,
                    turning: bool | None = None) -> np.ndarray:
    """Per-frame features (T, F) float64 of a motion: 6D rotation of every joint + 4 foot contacts (root position
    excluded), and with ``turning`` the scaled yaw rate (last channel).

    The default (``heading_invariant=True``, ``turning`` follows it) is the fair set (149 channels);
    ``heading_invariant=False`` gives GANimator's literal features (148). ``turning=False`` with the heading removed
    gives the earlier pose-only features (148; for comparisons). ``joints``: the motion's world joint positions if
    already computed (they give the contacts). Raises :class:`MrgenError` (naming the motion's source) on
    non-finite values.
    """
    where = motion.source or motion.name or None
    poses = np.asarray(motion.poses, dtype=np.float64)
    if not (np.all(np.isfinite(poses)) and np.all(np.isfinite(motion.trans))):
        raise MrgenError("motion contains NaN or infinite values", where)
    if turning is None:
        turning = heading_invariant
    rot = axis_angle_to_matrix(poses)  # (T, 24, 3, 3)
    parts = []
    if turning:
        parts.append(yaw_rate(rot[:, 0], motion.fps)[:, None] * YAW_RATE_SECONDS)
    if heading_invariant:
        rot[:, 0] = remove_heading(rot[:, 0])
    six = matrix_to_6d(rot).reshape(len(poses), NUM_JOINTS * 6)
    if joints is None:
        joints = motion.joints()
    contacts = foot_contacts(joints, motion.fps)
    return np.concatenate([six, contacts, *parts], axis=1)


def feature_set(motion: Motion, name: str, joints: np.ndarray | None = None) -> np.ndarray:
    """Features of ``motion`` for one of :data:`FEATURE_SETS`: ``"fair"`` (default) or ``"literal"``."""
    if name not in FEATURE_SETS:
        raise MrgenError(f"unknown feature set {name!r}; choose from {', '.join(FEATURE_SETS)}")
    return motion_features(motion, heading_invariant=name == "fair", joints=joints)
