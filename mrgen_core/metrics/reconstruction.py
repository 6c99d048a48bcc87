"""Reconstruction error: how well a model that reconstructs its training motion (GANimator's G(z*)) does it."""
from __future__ import annotations

import numpy as np

from ..errors import MrgenError
from ..motion import Motion


def reconstruction_error(reconstruction: Motion, reference: Motion, root_relative: bool = False) -> float:
    """Mean joint position error (cm) between a reconstruction and its reference, frame by frame.

    World positions by default (root drift counts); ``root_relative``: joints relative to the pelvis (the pose
    alone). Both must have the same frame count and fps (raises :class:`MrgenError` otherwise).
    """
    where = reconstruction.source or reconstruction.name or None
    if abs(reconstruction.fps - reference.fps) > 1e-6:
        raise MrgenError(f"reconstruction at {reconstruction.fps:g} fps, reference at {reference.fps:g} fps", where)
    if reconstruction.num_frames != reference.num_frames:
        raise MrgenError(f"reconstruction has {reconstruction.num_frames} frames, its reference "
                         f"{reference.num_frames}", where)
    a, b = reconstruction.joints(), reference.joints()
    if root_relative:
        a, b = a - a[:, :1], b - b[:, :1]
    diff = a - b
    return float(np.linalg.norm(diff, axis=-1).mean() * 100.0)
