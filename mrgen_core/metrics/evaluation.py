"""All metrics for a set of samples against their training clips: :func:`evaluate` (motions) and
:func:`feature_metrics` (feature arrays; one distance matrix per clip shared by the three windowed metrics).

Frame rate: the windows are counted in frames (30 and 15 at about 30 fps, as in GANimator) and jitter grows with
the frame rate, so samples and references must share one fps; :func:`evaluate` raises :class:`MrgenError` otherwise
(resample first with :meth:`Motion.resample`; ``mrgen eval`` loads everything at one ``--fps``).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..errors import MrgenError
from ..motion import Motion
from .coverage import THRESHOLD, WINDOW
from .distance import check_inputs, row_blocks, window_sums
from .diversity import LOCAL_WINDOW, SEGMENT_MIN, best_segment_costs, global_from_costs
from .features import FEATURE_SETS, feature_set
from .realism import foot_skating_joints, jitter_joints
from .reconstruction import reconstruction_error


def feature_metrics(sample: np.ndarray, references, *, coverage_window: int = WINDOW,
                    coverage_threshold: float = THRESHOLD, local_window: int = LOCAL_WINDOW,
                    segment_min: int = SEGMENT_MIN) -> dict:
    """Coverage, local and global diversity of one sample (features (T, F)) against reference clips (a (T, F) array
    or a list of them). Same values as :func:`coverage`, :func:`local_diversity` and :func:`global_diversity`, with
    one distance matrix per clip. Returns ``{"coverage", "local_diversity", "global_diversity",
    "covered_windows", "windows"}``.
    """
    s, refs = check_inputs(sample, references, max(coverage_window, local_window, segment_min))
    ts = len(s)
    overlap = max(coverage_window, local_window, 2 * segment_min - 1) - 1
    local_best = np.full(ts - local_window + 1, np.inf)
    seg = np.full((ts - segment_min + 1, segment_min), np.inf)
    cov = []
    for r in refs:
        cov_best = np.full(len(r) - coverage_window + 1, np.inf)
        for r0, d in row_blocks(s, r, overlap):
            sl = window_sums(d, local_window)
            part = local_best[r0:r0 + len(sl)]
            np.minimum(part, sl.min(axis=1), out=part)
            if coverage_window == 2 * local_window:
                sc = sl[:-local_window, :-local_window] + sl[local_window:, local_window:]
            else:
                sc = window_sums(d, coverage_window)
            del sl
            np.minimum(cov_best, sc.min(axis=0), out=cov_best)
            best_segment_costs(d, segment_min, out=seg[r0:], sums=sc if segment_min == coverage_window else None)
        cov.append(cov_best / coverage_window)
    covered = np.concatenate(cov) < coverage_threshold
    glob, _ = global_from_costs(seg, segment_min, [len(r) for r in refs])
    return {"coverage": float(covered.mean()), "local_diversity": float(local_best.mean() / local_window),
            "global_diversity": float(glob), "covered_windows": int(covered.sum()), "windows": int(covered.size)}


def _mean(values) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def _check_motions(motions: Sequence[Motion], what: str, fps: float, min_frames: int) -> None:
    for m in motions:
        if not isinstance(m, Motion):
            raise MrgenError(f"{what}: expected Motion objects, got {type(m).__name__}")
        where = m.source or m.name or None
        if abs(m.fps - fps) > 1e-6:
            raise MrgenError(f"{what} at {m.fps:g} fps but the reference clips are at {fps:g} fps; resample it "
                             "first (Motion.resample)", where)
        if m.num_frames < min_frames:
            raise MrgenError(f"{what} has {m.num_frames} frames; the metrics need at least {min_frames} "
                             "(the window length)", where)


WINDOWED = ("coverage", "global_diversity", "local_diversity")


def evaluate(samples: Sequence[Motion], references: Sequence[Motion], *,
             reconstructions: Sequence[Motion] | None = None, features: Sequence[str] = FEATURE_SETS,
             progress: Callable[[float, str], None] | None = None) -> dict:
    """Score samples against their training clips; every figure is averaged over the samples.

    The windowed figures (coverage, both diversities) are computed once per feature set in ``features``
    (:mod:`.features`: ``"fair"``, the default, and ``"literal"``, GANimator's, which published figures use); each
    set's figures are under its name, and the first set's also at the top level. Returns
    ``{"coverage" (0-1), "global_diversity", "local_diversity", "fair": {...}, "literal": {...}, "features": [...],
    "foot_skating" (cm/s), "jitter" (m/s^2), "reference": {"foot_skating", "jitter"}, "num_samples", "fps",
    "per_sample": [...]}`` (each per-sample entry likewise), plus ``"reconstruction_error"`` (cm, world joint
    positions) and ``"reconstruction_pose_error"`` (cm, relative to the pelvis) when ``reconstructions`` (one per
    reference clip, same length) are given. Foot skating is ``None`` when no foot is ever in contact. Raises
    :class:`MrgenError` on bad input.
    """
    samples, references = list(samples), list(references)
    features = list(features)
    if not features or len(set(features)) != len(features) or not set(features) <= set(FEATURE_SETS):
        raise MrgenError(f"features: give distinct names from {', '.join(FEATURE_SETS)}, got {features}")
    if not samples:
        raise MrgenError("no samples to evaluate")
    if not references:
        raise MrgenError("no reference clips to evaluate against")
    need = max(WINDOW, LOCAL_WINDOW, SEGMENT_MIN)
    if not isinstance(references[0], Motion):
        raise MrgenError(f"reference clip: expected Motion objects, got {type(references[0]).__name__}")
    fps = references[0].fps
    _check_motions(references, "reference clip", fps, need)
    _check_motions(samples, "sample", fps, need)

    ref_joints = [r.joints() for r in references]
    ref_feats = {name: [feature_set(r, name, joints=j) for r, j in zip(references, ref_joints)]
                 for name in features}
    per_sample = []
    for k, smp in enumerate(samples):
        joints = smp.joints()
        figures = {name: feature_metrics(feature_set(smp, name, joints=joints), ref_feats[name])
                   for name in features}
        fm = {**figures[features[0]], **figures}
        fm["foot_skating"] = foot_skating_joints(joints, fps)
        fm["jitter"] = jitter_joints(joints, fps)
        fm["name"] = smp.name or smp.source or f"sample {k}"
        fm["frames"] = smp.num_frames
        per_sample.append(fm)
        if progress is not None:
            progress((k + 1) / len(samples), f"evaluated {k + 1}/{len(samples)} samples")

    result = {}
    for name in features:
        result[name] = {key: float(np.mean([p[name][key] for p in per_sample])) for key in WINDOWED}
    result.update(result[features[0]])
    result["features"] = features
    result["foot_skating"] = _mean(p["foot_skating"] for p in per_sample)
    result["jitter"] = float(np.mean([p["jitter"] for p in per_sample]))
    result["reference"] = {"foot_skating": _mean(foot_skating_joints(j, fps) for j in ref_joints),
                           "jitter": float(np.mean([jitter_joints(j, fps) for j in ref_joints]))}
    if reconstructions is not None:
        reconstructions = list(reconstructions)
        if len(reconstructions) != len(references):
            raise MrgenError(f"{len(reconstructions)} reconstructions for {len(references)} reference clips")
        pairs = list(zip(reconstructions, references))
        result["reconstruction_error"] = float(np.mean([reconstruction_error(a, b) for a, b in pairs]))
        result["reconstruction_pose_error"] = float(np.mean([reconstruction_error(a, b, root_relative=True)
                                                             for a, b in pairs]))
    result["num_samples"] = len(samples)
    result["fps"] = fps
    result["per_sample"] = per_sample
    return result
