"""Foot contacts from kinematics: a foot joint is in contact when it is low and slow.

Shared by the model's features and the metrics, so any tool's output is scored the same way.
"""
from __future__ import annotations

import numpy as np

from .skeleton import FOOT_JOINTS

#: Height above the floor (z = 0, metres) under which each foot joint may be in contact: ankles, then toes.
CONTACT_HEIGHT = {7: 0.14, 8: 0.14, 10: 0.08, 11: 0.08}
#: Speed (m/s) under which a low foot joint counts as planted.
CONTACT_SPEED = 0.5


def joint_speed(joints: np.ndarray, fps: float) -> np.ndarray:
    """Per-frame speed (T, J) in m/s by central differences (one-sided at the ends)."""
    joints = np.asarray(joints, dtype=float)
    if len(joints) < 2:
        return np.zeros(joints.shape[:-1])
    v = np.gradient(joints, axis=0) * fps
    return np.linalg.norm(v, axis=-1)


def foot_contacts(joints: np.ndarray, fps: float, speed: float = CONTACT_SPEED) -> np.ndarray:
    """Contact flags (T, 4) as floats 0/1 for :data:`FOOT_JOINTS` (left ankle, left toe, right ankle, right toe).

    ``joints``: world positions (T, 24, 3), Z up, floor at z = 0.
    """
    joints = np.asarray(joints, dtype=float)
    feet = joints[:, list(FOOT_JOINTS)]
    sp = joint_speed(feet, fps)
    h = feet[..., 2]
    limit = np.array([CONTACT_HEIGHT[j] for j in FOOT_JOINTS])
    return ((sp < speed) & (h < limit)).astype(np.float64)
