"""Mirror a motion left to right: the left arm does what the right arm did, a left turn becomes a right turn.

The reflection is through the vertical world plane ``x = 0`` (world Z up) and, in the SMPL template frame, through
its sagittal plane (``x = 0``, the subject's left is +X). A joint rotation ``R`` becomes ``M R M`` with
``M = diag(-1, 1, 1)`` (in axis-angle: ``(x, y, z) -> (x, -y, -z)``) and moves to its opposite joint
(:data:`~mrgen_core.skeleton.LEFT_RIGHT_PAIRS`); the root's world position is reflected. With a left-right symmetric
skeleton the mirrored joints are exactly the reflected ones; the SMPL mean shapes are symmetric to within about
8 mm per bone, so they land within a centimetre or two. numpy only.
"""
from __future__ import annotations

import numpy as np

from .motion import Motion
from .skeleton import LEFT_RIGHT_PAIRS, NUM_JOINTS, Skeleton

#: Joint ``j`` of a mirrored motion takes its rotation from joint ``MIRROR_JOINTS[j]`` of the original.
MIRROR_JOINTS = np.arange(NUM_JOINTS)
for _a, _b in LEFT_RIGHT_PAIRS:
    MIRROR_JOINTS[_a], MIRROR_JOINTS[_b] = _b, _a
del _a, _b

#: Sign of each axis-angle component under the reflection (a rotation axis is a pseudovector).
_AXIS_SIGN = np.array([1.0, -1.0, -1.0])
#: The reflection of a position through the plane x = 0.
_REFLECT = np.array([-1.0, 1.0, 1.0])

#: Suffix of a mirrored motion's name.
SUFFIX = "_mirrored"


def mirror_motion(motion: Motion) -> Motion:
    """``motion`` mirrored left to right (labels, frame rate and provenance kept; ``_mirrored`` added to its name)."""
    poses = motion.poses[:, MIRROR_JOINTS] * _AXIS_SIGN
    pelvis0 = Skeleton.smpl(motion.gender).offsets[0]  # the pelvis sits at trans + offsets[0] (not rotated, as SMPL)
    trans = (motion.trans + pelvis0) * _REFLECT - pelvis0
    return motion.copy(poses=poses, trans=trans, name=f"{motion.name}{SUFFIX}" if motion.name else "")
