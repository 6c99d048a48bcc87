"""Local and global diversity (GANimator): how far a sample is from copying its training motion.

* Local diversity: for every ``window``-frame window of the sample, the smallest average per-frame distance to any
  window of the training clips; averaged over the sample's windows (all ``T - window + 1`` of them).
* Global diversity (patched nearest neighbour): split the sample into consecutive segments of at least ``tmin``
  frames, each aligned frame by frame with the best contiguous segment of one training clip; the split that minimises
  the total cost (sum of frame distances), found by dynamic programming, divided by the sample length.

  A segment of ``2 * tmin`` frames or more can be cut into two valid segments matched to the two halves of its
  training segment at the same cost, so lengths in ``[tmin, 2 * tmin)`` suffice: the DP needs, for every sample start
  ``s`` and length ``L`` in that range, the best training segment cost ``C[s, L] = min_j S_L[s, j]``
  (:func:`best_segment_costs`, built by extending diagonal sums one frame at a time, each step a whole-matrix
  add and row minimum), then one vectorised step per block of ``tmin`` end positions (:func:`patched_dp`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import MrgenError
from .distance import check_inputs, frame_distances, row_blocks, window_sums

LOCAL_WINDOW = 15
SEGMENT_MIN = 30


class Segment(NamedTuple):
    """One piece of the patched nearest neighbour: sample frames [start, start+length) copy reference ``clip``
    frames [ref_start, ref_start+length) at total ``cost``."""

    start: int
    length: int
    clip: int
    ref_start: int
    cost: float


def local_window_costs(d: np.ndarray, window: int) -> np.ndarray:
    """Per sample window, the best summed cost over one clip's windows (distance matrix ``d`` (Ts, Tc))."""
    return window_sums(d, window).min(axis=1)


def nearest_window_distances(sample: np.ndarray, references, window: int = LOCAL_WINDOW) -> np.ndarray:
    """Per ``window``-frame window of the sample (``T - window + 1`` of them), the nearest reference window's
    average frame distance."""
    s, refs = check_inputs(sample, references, window)
    best = np.full(len(s) - window + 1, np.inf)
    for r in refs:
        for r0, d in row_blocks(s, r, window - 1):
            part = best[r0:r0 + len(d) - window + 1]
            np.minimum(part, local_window_costs(d, window), out=part)
    return best / window


def local_diversity(sample: np.ndarray, references, window: int = LOCAL_WINDOW) -> float:
    """Mean over the sample's ``window``-frame windows of the nearest reference window's average frame distance."""
    return float(nearest_window_distances(sample, references, window).mean())


def best_segment_costs(d: np.ndarray, tmin: int, out: np.ndarray | None = None,
                       sums: np.ndarray | None = None) -> np.ndarray:
    """``out[s, l]``: cheapest alignment of sample frames ``[s, s+tmin+l)`` with any ``tmin+l`` consecutive frames of
    one reference clip (``d``: its distance matrix (Ts, Tc)); ``out`` (at least Ts - tmin + 1 rows, tmin) is
    min-updated in place so several clips (and row blocks) can share it; entries that do not fit stay ``inf``.

    ``sums``: the clip's ``tmin``-frame window sums if already computed (they are overwritten).
    """
    ts, tc = d.shape
    if out is None:
        out = np.full((ts - tmin + 1, tmin), np.inf)
    s = window_sums(d, tmin) if sums is None else sums  # S_L, extended in place to S_{L+1}
    for k in range(tmin):
        length = tmin + k
        if length > ts or length > tc:
            break
        rows, cols = ts - length + 1, tc - length + 1
        col = out[:rows, k]
        np.minimum(col, s[:rows, :cols].min(axis=1), out=col)
        if k + 1 < tmin and length < ts and length < tc:
            s[:rows - 1, :cols - 1] += d[length:, length:]
    return out


def patched_dp(costs: np.ndarray, tmin: int) -> tuple[float, list[tuple[int, int]]]:
    """Minimal total cost of splitting the sample into segments of ``tmin..2*tmin-1`` frames, and the split.

    ``costs``: (T - tmin + 1, tmin) from :func:`best_segment_costs`. End positions are solved ``tmin`` at a time (a
    segment is at least ``tmin`` long, so a block depends only on earlier blocks). Returns (cost, [(start, length)]).
    """
    t = costs.shape[0] + tmin - 1
    lens = np.arange(tmin, 2 * tmin)
    g = np.full(t + 1, np.inf)
    g[0] = 0.0
    choice = np.zeros(t + 1, dtype=np.int64)
    cols = lens - tmin
    for p0 in range(tmin, t + 1, tmin):
        ends = np.arange(p0, min(p0 + tmin, t + 1))
        starts = ends[:, None] - lens[None, :]
        ok = starts >= 0
        st = np.where(ok, starts, 0)
        cand = g[st] + costs[st, cols[None, :]]
        cand[~ok] = np.inf
        k = cand.argmin(axis=1)
        g[ends] = cand[np.arange(len(ends)), k]
        choice[ends] = lens[k]
    if not np.isfinite(g[t]):
        return float("inf"), []
    bounds = []
    p = t
    while p > 0:
        length = int(choice[p])
        bounds.append((p - length, length))
        p -= length
    return float(g[t]), bounds[::-1]


def locate_segments(sample: np.ndarray, refs: list[np.ndarray], bounds: list[tuple[int, int]]) -> list[Segment]:
    """The best reference clip and start of each sample segment ``(start, length)``."""
    out = []
    for start, length in bounds:
        best = (np.inf, -1, -1)
        for c, r in enumerate(refs):
            if len(r) < length:
                continue
            sums = window_sums(frame_distances(sample[start:start + length], r, dtype=np.float64), length)[0]
            j = int(sums.argmin())
            if sums[j] < best[0]:
                best = (float(sums[j]), c, j)
        out.append(Segment(start, length, best[1], best[2], best[0]))
    return out


def global_from_costs(costs: np.ndarray, tmin: int, ref_lengths: list[int]) -> tuple[float, list[tuple[int, int]]]:
    """Global diversity (total cost / sample length) and the split, from :func:`best_segment_costs` output."""
    total, bounds = patched_dp(costs, tmin)
    t = costs.shape[0] + tmin - 1
    if not np.isfinite(total):
        raise MrgenError(f"the {t}-frame sample cannot be split into segments of at least {tmin} frames that fit "
                         f"in the reference clips (lengths {ref_lengths})")
    return total / t, bounds


def global_diversity(sample: np.ndarray, references, tmin: int = SEGMENT_MIN, return_segments: bool = False):
    """Patched nearest-neighbour cost per frame of the sample (features (T, F)) against the reference clips.

    With ``return_segments``, returns ``(value, [Segment, ...])``.
    """
    s, refs = check_inputs(sample, references, tmin)
    costs = np.full((len(s) - tmin + 1, tmin), np.inf)
    for r in refs:
        for r0, d in row_blocks(s, r, 2 * tmin - 2):
            best_segment_costs(d, tmin, out=costs[r0:])
    value, bounds = global_from_costs(costs, tmin, [len(r) for r in refs])
    if return_segments:
        return value, locate_segments(s, refs, bounds)
    return value
