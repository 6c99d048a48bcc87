"""How closely a motion follows a floor path (the figures ``generate --path`` puts in its output's metadata)."""
from __future__ import annotations

import numpy as np

from . import features as feat
from .motion import Motion
from .paths import FloorPath
from .rotations import axis_angle_to_matrix

#: Corners are rounded over this many metres either side (the body turns through them, not on the spot).
CORNER_REACH = 0.25


def follow_figures(motion: Motion, path: FloorPath, distance: np.ndarray, face: np.ndarray | None = None) -> dict:
    """How closely ``motion``'s pelvis follows ``path`` at the same time (cm) and how its heading agrees with the
    travel direction (``face``: the wanted facing, radians CCW from +X; default along the path) where it moves."""
    pelvis = motion.trans[:, :2] + motion.skeleton.offsets[0][:2]
    err = np.linalg.norm(pelvis - path.at_length(distance), axis=1) * 100.0
    heading = feat.heading(axis_angle_to_matrix(motion.poses[:, 0]))
    body = heading - np.pi / 2  # heading 0 faces -Y: the facing direction is heading - 90 degrees from +X
    want = path.direction_at(distance, CORNER_REACH) if face is None else face
    diff = np.degrees(np.abs((body - want + np.pi) % (2 * np.pi) - np.pi))
    moving = np.gradient(distance) * motion.fps > 0.1
    return {"path_error_cm": {"mean": round(float(err.mean()), 2), "max": round(float(err.max()), 2)},
            "heading_error_deg": round(float(diff[moving].mean()), 2) if moving.any() else None}
