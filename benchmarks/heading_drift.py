"""Why a model's literal coverage trails its fair coverage: the heading of the windows it reproduces.

    .venv/bin/python benchmarks/heading_drift.py MODEL.pt [--samples 20] [--seed 0]

Samples the model with GANimator's protocol (twice the training length, noise at the coarsest level) and, for every
30-frame training window, finds the sample window nearest to it on the pose-only features (heading removed, no yaw
rate; the literal features differ from them only in the root's heading). Reports the coverage on the fair, literal
and pose-only features, the share of training windows whose nearest pose match lies within 2.0 but that the literal
features miss, and the heading offset (mean over the window, degrees) between each training window and its nearest
pose match: a model that makes the right poses at headings the clip never had at that point loses literal coverage.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mrgen_core.metrics import COVERAGE_THRESHOLD, COVERAGE_WINDOW, feature_set, motion_features  # noqa: E402
from mrgen_core.metrics.distance import frame_distances, window_sums  # noqa: E402
from mrgen_core.rotations import axis_angle_to_matrix  # noqa: E402


def headings(m) -> np.ndarray:
    fwd = axis_angle_to_matrix(m.poses[:, 0])[:, :, 2]
    return np.arctan2(fwd[:, 1], fwd[:, 0])


def best_windows(sample_f: np.ndarray, ref_f: np.ndarray, w: int = COVERAGE_WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """Per reference window: the nearest sample window's start and its average frame distance."""
    s = window_sums(frame_distances(sample_f, ref_f), w)  # (sample windows, ref windows)
    j = s.argmin(axis=0)
    return j, s[j, np.arange(s.shape[1])] / w


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    from mrgen_core.sampling import generate, load_model

    model = load_model(args.model)
    refs = model.training_motions()
    frames = 2 * sum(r.num_frames for r in refs)
    samples = generate(model, frames=frames, seed=args.seed, num=args.samples, noise="coarsest", cleanup=False)
    w = COVERAGE_WINDOW
    cov = {"fair": [], "literal": [], "pose_only": []}
    missed_literal, offsets = [], []
    for smp in samples:
        sj = smp.joints()
        sf = {"fair": feature_set(smp, "fair", sj), "literal": feature_set(smp, "literal", sj),
              "pose_only": motion_features(smp, joints=sj, turning=False)}
        sh = np.unwrap(headings(smp))
        for ref in refs:
            rj = ref.joints()
            rf = {"fair": feature_set(ref, "fair", rj), "literal": feature_set(ref, "literal", rj),
                  "pose_only": motion_features(ref, joints=rj, turning=False)}
            best = {}
            for name in cov:
                best[name] = best_windows(sf[name], rf[name], w)
                cov[name].append(best[name][1] < COVERAGE_THRESHOLD)
            j, d = best["pose_only"]
            rh = np.unwrap(headings(ref))
            for i, start in enumerate(j):
                diff = sh[start:start + w] - rh[i:i + w]
                offsets.append(abs(np.degrees(np.angle(np.exp(1j * diff)).mean())))
            missed_literal.append((d < COVERAGE_THRESHOLD) & (best["literal"][1] >= COVERAGE_THRESHOLD))
    off = np.array(offsets)
    out = {"model": args.model, "samples": args.samples, "seed": args.seed,
           **{f"coverage_{k}": float(np.concatenate(v).mean()) for k, v in cov.items()},
           "pose_matched_but_literal_missed": float(np.concatenate(missed_literal).mean()),
           "heading_offset_deg_median": float(np.median(off)),
           "heading_offset_deg_share_over_45": float((off > 45).mean()),
           "heading_offset_deg_share_over_90": float((off > 90).mean())}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
