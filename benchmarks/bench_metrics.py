"""Speed of the metrics: every figure of :func:`mrgen_core.metrics.evaluate` for one 3,600-frame sample against an
1,800-frame reference (target: under 3 s on the project machine, single process).

Usage: ``python benchmarks/bench_metrics.py [--repeats 5] [--sample 3600] [--reference 1800]``. Prints the median of
the repeats for the whole call and for its parts (features incl. kinematics and contacts; coverage + both
diversities; foot skating + jitter).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for p in (str(REPO), str(REPO / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

from baselines import chunk_shuffles, synthetic_clip  # noqa: E402
from mrgen_core.metrics import evaluate, feature_metrics, motion_features  # noqa: E402
from mrgen_core.metrics.realism import foot_skating_joints, jitter_joints  # noqa: E402


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(sample_frames: int = 3600, reference_frames: int = 1800, repeats: int = 5) -> dict:
    """Median seconds (over ``repeats``) of evaluate() and its parts; a shuffled copy of a synthetic clip is the
    sample (realistic near-copies make no difference to the cost, which depends only on the sizes)."""
    ref = synthetic_clip(reference_frames, seed=0)
    factor = -(-sample_frames // reference_frames)
    sample = chunk_shuffles(ref, 1, 1.0, seed=1, factor=factor)[0].slice(0, sample_frames)
    sj, rj = sample.joints(), ref.joints()
    sf, rf = motion_features(sample, joints=sj), motion_features(ref, joints=rj)
    evaluate([sample], [ref])  # warm-up (BLAS threads, caches)
    out = {
        "sample_frames": sample.num_frames, "reference_frames": ref.num_frames, "repeats": repeats,
        "evaluate_s": _median_time(lambda: evaluate([sample], [ref]), repeats),
        "features_s": _median_time(lambda: (motion_features(sample), motion_features(ref)), repeats),
        "windowed_s": _median_time(lambda: feature_metrics(sf, [rf]), repeats),
        "realism_s": _median_time(lambda: (foot_skating_joints(sj, 30.0), jitter_joints(sj, 30.0),
                                           foot_skating_joints(rj, 30.0), jitter_joints(rj, 30.0)), repeats),
    }
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="speed of the metrics (median of repeats)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sample", type=int, default=3600)
    ap.add_argument("--reference", type=int, default=1800)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    r = measure(args.sample, args.reference, args.repeats)
    if args.json:
        print(json.dumps(r))
    else:
        print(f"all metrics, {r['sample_frames']}-frame sample vs {r['reference_frames']}-frame reference: "
              f"{r['evaluate_s']:.3f} s median of {r['repeats']} (features {r['features_s']:.3f} s, "
              f"coverage+diversities {r['windowed_s']:.3f} s, skating+jitter {r['realism_s']:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
