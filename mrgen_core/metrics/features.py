"""Per-frame features the coverage and diversity metrics compare (GANimator's evaluation features).

Per frame: the 6D rotation (first two matrix columns) of all 24 SMPL joints, root included, then the 4 foot-contact
channels of :func:`mrgen_core.contacts.foot_contacts` (computed from the kinematics, for samples and references
alike, so any tool's output is scored the same way): 24 * 6 + 4 = 148 channels. Root position and velocity are
excluded.

Heading: by default the root orientation is made heading-invariant: its rotation about the world vertical (Z) is
removed frame by frame, turning the body's forward direction to the SMPL default (-Y, where a zero pose faces), while
its tilt and roll are kept. A sample that walks the training gait in another direction then matches it, as it
should: the generators copy poses, and where on the floor a gait heads is a property of the root trajectory, which
the metric excludes anyway (GANimator's data keeps the heading, which penalises a sample only for having turned
earlier). ``heading_invariant=False`` gives GANimator's literal features.
"""
from __future__ import annotations

import numpy as np

from ..contacts import foot_contacts
from ..errors import MrgenError
from ..motion import Motion
from ..rotations import axis_angle_to_matrix, matrix_to_6d
from ..skeleton import NUM_JOINTS

#: Channels per frame: 6D of every joint plus 4 contact flags.
FEATURE_SIZE = NUM_JOINTS * 6 + 4
#: Heading (yaw of the forward direction about +Z) of the SMPL default facing, -Y in the Z-up world.
DEFAULT_HEADING = -np.pi / 2


def remove_heading(root_rotmats: np.ndarray) -> np.ndarray:
    """Root rotations (T, 3, 3) with their yaw about world Z replaced by the default facing (-Y).

    The forward direction is the template's +Z axis carried by the root rotation (third column); its horizontal
    direction sets the yaw. A forward axis pointing straight up or down has no heading and is left as it is.
    """
    fwd = root_rotmats[:, :, 2]
    yaw = np.arctan2(fwd[:, 1], fwd[:, 0])
    flat = np.hypot(fwd[:, 0], fwd[:, 1]) < 1e-9
    ang = np.where(flat, 0.0, DEFAULT_HEADING - yaw)
    c, s = np.cos(ang), np.sin(ang)
    rz = np.zeros((len(ang), 3, 3))
    rz[:, 0, 0], rz[:, 0, 1], rz[:, 1, 0], rz[:, 1, 1], rz[:, 2, 2] = c, -s, s, c, 1.0
    return rz @ root_rotmats


def motion_features(motion: Motion, heading_invariant: bool = True, joints: np.ndarray | None = None) -> np.ndarray:
    """Features (T, 148) float64 of a motion: 6D rotation of every joint + 4 foot contacts (root position excluded).

    ``joints``: the motion's world joint positions if already computed (they give the contacts).
    Raises :class:`MrgenError` (naming the motion's source) on non-finite values.
    """
    where = motion.source or motion.name or None
    poses = np.asarray(motion.poses, dtype=np.float64)
    if not (np.all(np.isfinite(poses)) and np.all(np.isfinite(motion.trans))):
        raise MrgenError("motion contains NaN or infinite values", where)
    rot = axis_angle_to_matrix(poses)  # (T, 24, 3, 3)
    if heading_invariant:
        rot[:, 0] = remove_heading(rot[:, 0])
    six = matrix_to_6d(rot).reshape(len(poses), NUM_JOINTS * 6)
    if joints is None:
        joints = motion.joints()
    contacts = foot_contacts(joints, motion.fps)
    return np.concatenate([six, contacts], axis=1)
