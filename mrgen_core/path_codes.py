"""Which clips of a label a path plays: a model trained with label codes (or clip codes) learns each clip under a
code of its own and plays a label as a tour of its clips (:mod:`mrgen_core.clip_codes`). Along a path, a clip that
never travels as the path does is a poor guide: the shipped walk holds a steady 1.1 m/s walk, a 1.3 m/s walk, a
slow shuffle and a start-stop walk that turns; along a 1.1 m/s line the start-stop walk's code makes poses no walk
clip has, and the shuffle's is carried along at several times its pace (training/PROFILE.md, "Which clips a path
plays"). So on a path each stretch tours only the codes whose clips travel there as the path does, where some do;
elsewhere every code, as without a path.

numpy only (no torch).
"""
from __future__ import annotations

import numpy as np

from . import path_control
from .clip_codes import clip_seconds, groups_of, resolve, rounds, tour, uses_clip_codes
from .control import Segment, parse_schedule

#: A clip travels "as the path does" at a frame where its speed is within this share of the path's ...
SPEED_SHARE = 0.2
#: ... or within this many m/s (slow paths), whichever is larger, ...
SPEED_MPS = 0.1
#: ... and its turning rate within this many rad/s of the path's.
TURN_RADS = 0.3
#: A code fits a path frame when at least this share of its clip's frames travel as the path does there ...
MIN_SHARE = 0.1
#: ... and at least this share of the best-fitting code's.
NEAR_BEST = 0.5
#: A stretch of the path with one set of fitting codes lasts at least this long (shorter ones join a neighbour).
MIN_SECONDS = 1.0
_BLOCK = 2048  # path frames at a time (a frame-by-clip-frame table of a long path would not fit in memory)


def fitting(travel: np.ndarray, clips: list[np.ndarray]) -> np.ndarray:
    """(T, K) bool: which of ``clips`` (each its path control (T_k, 3), unnormalised) fit each frame of a path's
    ``travel`` (T, 3): enough of the clip's frames move at the path's speed and turn as fast (either way: a clip
    that turns left is the nearest guide to a right turn); where no clip travels so, all of them."""
    share = np.concatenate([_shares(travel[k:k + _BLOCK], clips) for k in range(0, len(travel), _BLOCK)])
    best = share.max(axis=1, keepdims=True)
    fits = (share >= MIN_SHARE) & (share >= NEAR_BEST * best)
    fits[best[:, 0] < MIN_SHARE] = True  # no clip travels there: every code, as without a path
    return fits


def _shares(travel: np.ndarray, clips: list[np.ndarray]) -> np.ndarray:
    """(T, K): the share of each clip's frames that travel as each frame of ``travel`` does."""
    speed = np.hypot(travel[:, 0], travel[:, 1])[:, None]
    tol = np.maximum(SPEED_MPS, SPEED_SHARE * speed)
    turn = np.abs(travel[:, 2:3])
    return np.stack([np.mean((np.abs(np.hypot(c[:, 0], c[:, 1])[None] - speed) <= tol)
                             & (np.abs(np.abs(c[None, :, 2]) - turn) <= TURN_RADS), axis=1) for c in clips], axis=1)


def _runs(fits: np.ndarray, min_frames: int) -> list[tuple[int, int, np.ndarray]]:
    """Stretches ``[a, b)`` of one set of fitting codes, none shorter than ``min_frames`` (a short one joins the
    stretch before it, or after it at the start)."""
    change = np.flatnonzero((fits[1:] != fits[:-1]).any(axis=1)) + 1
    edges = [0, *change.tolist(), len(fits)]
    runs = [[a, b] for a, b in zip(edges, edges[1:])]
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and (b - a < min_frames or merged[-1][1] - merged[-1][0] < min_frames):
            merged[-1][1] = b
        else:
            merged.append([a, b])
    out: list[tuple[int, int, np.ndarray]] = []
    for a, b in merged:
        fit = fits[a:b].mean(axis=0) >= 0.5  # the codes that fit most of a joined stretch
        if out and np.array_equal(out[-1][2], fit):
            out[-1] = (out[-1][0], b, fit)
        else:
            out.append((a, b, fit))
    return out


def _group(model, label: str | None) -> list[str] | None:
    """The codes ``label`` stands for (None: the model's clip codes, where it has them), or None."""
    groups = groups_of(model)
    if groups:
        return groups.get(label)
    if uses_clip_codes(model) and not label:
        return list(model.labels)
    return None


def matched_labels(model, labels: str | None, travel: np.ndarray, seed: int) -> str | None:
    """``labels`` (a label or a schedule) with every label that stands for several clip codes replaced by a tour
    of the codes whose clips travel as the path does (``travel``: the path's control (T, 3) at the model's frame
    rate, unnormalised), stretch by stretch, each stretch's rounds in an order drawn from ``seed``; where every code
    fits, or none, the tour a free sample of ``seed`` plays there. Labels of models without codes, and codes asked
    for by name, are kept."""
    if not path_control.follows_paths(model) or not len(travel):
        return labels
    groups = groups_of(model)
    default = next(iter(groups)) if groups else None  # no labels: the model's first label, or its clip codes
    segments: list[Segment] = parse_schedule(labels) if labels else [(0.0, None, default)]
    if not any(len(_group(model, lab) or ()) > 1 for _, _, lab in segments):
        return labels
    fps, n = float(model.fps), len(travel)
    clip_travel = path_control.clip_travel(model)
    of_code = {model.labels[int(c["labels"][0])]: t for c, t in zip(model.clips, clip_travel)
               if c.get("labels") is not None and not c.get("mirrored")}
    # the tour a free sample of the seed plays (sampling.generate's)
    free = resolve(model, segments, n, seed) if groups else tour(model, n, seed)

    def free_tour(t0: float, t1: float) -> list[Segment]:
        return [(max(s, t0), t1 if e is None else min(e, t1), lab) for s, e, lab in free
                if s < t1 - 1e-9 and (e is None or e > t0 + 1e-9)]

    seconds, rng = clip_seconds(model), np.random.default_rng([int(seed) & (2**63 - 1), 1])
    out: list[Segment] = []
    for start, end, label in segments:
        codes = _group(model, label)
        a, b = int(round(start * fps)), n if end is None else min(n, int(round(end * fps)))
        if not codes or len(codes) == 1 or b <= a:
            out.append((start, end, codes[0] if codes else label))
            continue
        fits = fitting(travel[a:b], [of_code[c] for c in codes])
        for ra, rb, fit in _runs(fits, int(round(MIN_SECONDS * fps))):
            t0, t1 = (a + ra) / fps, (a + rb) / fps
            chosen = [c for c, f in zip(codes, fit) if f]
            out += rounds(chosen, seconds, t0, t1, rng) if 0 < len(chosen) < len(codes) else free_tour(t0, t1)
    joined: list[list] = []
    for s, e, lab in out:  # one segment for a code played twice in a row
        if joined and joined[-1][2] == lab and joined[-1][1] is not None and abs(joined[-1][1] - s) < 1e-9:
            joined[-1][1] = e
        else:
            joined.append([s, e, lab])
    return ",".join(f"{lab}:{s:.6f}-" + ("" if e is None else f"{e:.6f}") for s, e, lab in joined)
