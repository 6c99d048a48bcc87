"""Realism figures animators care about: foot skating and jitter (read a sample against its training motion).

* Foot skating (cm/s): mean horizontal speed of a foot joint (ankles and toes, :data:`FOOT_JOINTS`) over the frames
  where it is in contact (low and slow, :func:`mrgen_core.contacts.foot_contacts`). Speed by central differences.
  ``None`` when no foot is ever in contact (undefined, not zero).
* Jitter (m/s^2): mean magnitude of joint acceleration over all joints and interior frames, by second differences
  ``(x[t+1] - 2 x[t] + x[t-1]) * fps^2``. It grows with the frame rate for the same noise: compare at equal fps.
"""
from __future__ import annotations

import numpy as np

from ..contacts import foot_contacts
from ..errors import MrgenError
from ..motion import Motion
from ..skeleton import FOOT_JOINTS


def foot_skating_joints(joints: np.ndarray, fps: float, contacts: np.ndarray | None = None) -> float | None:
    """Foot skating (cm/s) from world joint positions (T, 24, 3) in metres, Z up; ``None`` without any contact."""
    joints = np.asarray(joints, dtype=np.float64)
    if len(joints) < 2:
        raise MrgenError(f"foot skating needs at least 2 frames, got {len(joints)}")
    if contacts is None:
        contacts = foot_contacts(joints, fps)
    feet = joints[:, list(FOOT_JOINTS), :2]
    speed = np.linalg.norm(np.gradient(feet, axis=0), axis=-1) * fps * 100.0  # (T, 4) cm/s
    mask = np.asarray(contacts) > 0.5
    if not mask.any():
        return None
    return float(speed[mask].mean())


def jitter_joints(joints: np.ndarray, fps: float) -> float:
    """Mean joint acceleration magnitude (m/s^2) from world joint positions (T, J, 3) in metres."""
    joints = np.asarray(joints, dtype=np.float64)
    if len(joints) < 3:
        raise MrgenError(f"jitter needs at least 3 frames, got {len(joints)}")
    acc = (joints[2:] - 2.0 * joints[1:-1] + joints[:-2]) * (fps * fps)
    return float(np.linalg.norm(acc, axis=-1).mean())


def foot_skating(motion: Motion) -> float | None:
    """Foot skating (cm/s) of a motion; ``None`` when no foot is ever in contact."""
    return foot_skating_joints(motion.joints(), motion.fps)


def jitter(motion: Motion) -> float:
    """Jitter (mean joint acceleration, m/s^2) of a motion."""
    return jitter_joints(motion.joints(), motion.fps)
