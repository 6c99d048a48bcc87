"""Frame distances and diagonal window sums: the shared core of coverage and both diversities.

``D[i, j]`` is the plain (unsquared) L2 distance between sample frame ``i`` and reference frame ``j``. The cost of
aligning the ``w``-frame sample window starting at ``i`` with the reference window starting at ``j`` is the sum along
the diagonal, ``S_w[i, j] = sum_{k<w} D[i+k, j+k]``; :func:`window_sums` builds it from power-of-two partial sums
(log2(w) whole-matrix additions, no loop over frames).
"""
from __future__ import annotations

import numpy as np

from ..errors import MrgenError

#: Dtype of the distance matrix and window sums. Squared distances are formed in float64 (the expansion
#: |a|^2 + |b|^2 - 2 a.b cancels badly in float32); float32 is enough for sums of at most a few hundred
#: distances and halves memory traffic (a 3,600 x 1,800 matrix is 26 MB).
DTYPE = np.float32


def check_features(x, what: str = "features") -> np.ndarray:
    """Return ``x`` as a float64 (T, F) array; raise :class:`MrgenError` if it is not 2-D, empty or not finite."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise MrgenError(f"{what}: not a numeric array ({e})") from None
    if a.ndim != 2:
        raise MrgenError(f"{what}: features must have shape (frames, channels), got {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise MrgenError(f"{what}: empty feature array {a.shape}")
    if not np.all(np.isfinite(a)):
        raise MrgenError(f"{what}: features contain NaN or infinite values")
    return a


def frame_distances(a: np.ndarray, b: np.ndarray, dtype=DTYPE) -> np.ndarray:
    """Plain L2 distances (Ta, Tb) between the rows of ``a`` (Ta, F) and ``b`` (Tb, F).

    One float64 matrix product (|a|^2 + |b|^2 - 2 a.b, both centred on ``b``'s mean to limit cancellation);
    the result is cast to ``dtype``. Identical frames give distances below 1e-6.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape[1] != b.shape[1]:
        raise MrgenError(f"feature sizes differ: {a.shape[1]} vs {b.shape[1]} channels per frame")
    mu = b.mean(axis=0)
    a = a - mu
    b = b - mu
    d2 = a @ b.T
    d2 *= -2.0
    d2 += np.einsum("ij,ij->i", a, a)[:, None]
    d2 += np.einsum("ij,ij->i", b, b)[None, :]
    np.maximum(d2, 0.0, out=d2)
    np.sqrt(d2, out=d2)
    return d2.astype(dtype, copy=False)


def window_sums(d: np.ndarray, w: int) -> np.ndarray:
    """Diagonal window sums ``S[i, j] = sum_{k<w} d[i+k, j+k]``, shape (Ta - w + 1, Tb - w + 1).

    Built from power-of-two sums ``P_b`` (window 2^b) in O(log w) whole-matrix additions.
    """
    ta, tb = d.shape
    if w < 1 or w > ta or w > tb:
        raise MrgenError(f"window of {w} frames does not fit a {ta} x {tb} distance matrix")
    ra, rb = ta - w + 1, tb - w + 1
    out = None
    acc = 0  # frames already covered by `out`
    p = d  # P_b: sums over 2^b frames, shape (ta - 2^b + 1, tb - 2^b + 1)
    size = 1
    rem = w
    while rem:
        if rem & 1:
            part = p[acc:acc + ra, acc:acc + rb]
            if out is None:
                out = np.array(part, dtype=d.dtype, copy=True)
            else:
                out += part
            acc += size
        rem >>= 1
        if rem:
            p = p[:-size, :-size] + p[size:, size:]
            size *= 2
    return out


def check_inputs(sample, references, min_frames: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Validate a sample (T, F) and reference clips (one (T, F) array or a list of them) for windowed metrics.

    Every array must be finite, share the channel count, and hold at least ``min_frames`` frames (the longest
    window in use). Raises :class:`MrgenError` naming the offending array.
    """
    s = check_features(sample, "sample")
    if isinstance(references, np.ndarray) and references.ndim == 2:
        references = [references]
    refs = [check_features(r, f"reference clip {k}") for k, r in enumerate(references)]
    if not refs:
        raise MrgenError("no reference clips given")
    for k, r in enumerate(refs):
        if r.shape[1] != s.shape[1]:
            raise MrgenError(f"reference clip {k} has {r.shape[1]} channels per frame, the sample {s.shape[1]}")
    if len(s) < min_frames:
        raise MrgenError(f"sample has {len(s)} frames; the metrics need at least {min_frames} (the window length)")
    for k, r in enumerate(refs):
        if len(r) < min_frames:
            raise MrgenError(f"reference clip {k} has {len(r)} frames; the metrics need at least {min_frames} "
                             "(the window length)")
    return s, refs


#: Largest distance-matrix block (cells) held at once; longer samples are processed in overlapping row blocks.
MAX_BLOCK_CELLS = 16_000_000


def row_blocks(sample: np.ndarray, ref: np.ndarray, overlap: int, max_cells: int | None = None):
    """Yield ``(r0, d)``: distance matrices ``d`` of sample frames ``[r0, r0 + len(d))`` against ``ref``.

    Consecutive blocks share ``overlap`` frames (the longest window minus one), so every window starting in a
    block's first ``len(d) - overlap`` rows lies wholly inside it; a window seen in two blocks gives the same
    value in both (callers reduce with minima).
    """
    ts = len(sample)
    cells = MAX_BLOCK_CELLS if max_cells is None else max_cells
    rows = max(overlap + 1, cells // max(len(ref), 1))
    r0 = 0
    while True:
        e = min(ts, r0 + rows)
        yield r0, frame_distances(sample[r0:e], ref)
        if e >= ts:
            return
        r0 = e - overlap
