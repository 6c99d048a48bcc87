"""Coverage (GANimator): the fraction of the training motion's windows that a sample reproduces.

For every ``window``-frame window of every training clip, the smallest average per-frame distance to any
``window``-frame window of the sample; the window is covered when that is below ``threshold``. Windows never straddle
two clips. All ``T - window + 1`` windows of a clip count (GANimator's loop leaves out the last one).
"""
from __future__ import annotations

import numpy as np

from .distance import check_inputs, row_blocks, window_sums

WINDOW = 30
THRESHOLD = 2.0


def coverage_costs(sample: np.ndarray, ref: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Per ``window``-frame window of one reference clip, the smallest average frame distance to a sample window."""
    best = np.full(len(ref) - window + 1, np.inf)
    for _, d in row_blocks(sample, ref, window - 1):
        np.minimum(best, window_sums(d, window).min(axis=0), out=best)
    return best / window


def coverage(sample: np.ndarray, references, window: int = WINDOW, threshold: float = THRESHOLD) -> float:
    """Covered fraction (0-1) of the reference clips' ``window``-frame windows by the sample (features (T, F))."""
    s, refs = check_inputs(sample, references, window)
    return float(np.mean(np.concatenate([coverage_costs(s, r, window) for r in refs]) < threshold))


def plausible(sample: np.ndarray, references, window: int = WINDOW, threshold: float = THRESHOLD) -> float:
    """Share (0-1) of the sample's (features (T, F)) ``window``-frame windows that lie within ``threshold`` of a
    window of one of the reference clips: coverage with the roles of sample and clips swapped (coverage asks a
    sample to hold all of its clips; this asks only that what it holds be like them). NaN for a sample shorter
    than a window."""
    if len(sample) < window:
        return float("nan")
    s, refs = check_inputs(sample, references, window)
    return float(np.mean(np.min([coverage_costs(r, s, window) for r in refs], axis=0) < threshold))
