"""Foot cleanup on real clips: foot skating and jitter before/after, and the time it takes.

Mocap barely slides, so besides the clips as captured each clip is also scored with artificial sliding: the root
wanders horizontally by up to ``--drift`` metres (two slow sinusoids, as a generator's root that does not match its
steps), which drags every planted foot along. Targets (issue 5): skating at least halved, jitter up by at most 10 %.
Skating (cm/s) and jitter (m/s^2) come from :mod:`mrgen_core.metrics.realism` (contacts from the motion itself).

Usage: ``python benchmarks/bench_cleanup.py [CLIP.bvh ...] [--drift 0.05] [--repeats 5] [--json]``
(default clips: CMU 02_01, 05_06, 01_01 and two Bandai Namco walks, at 30 fps; relative paths are taken under
``shared/data/raw``).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mrgen_core.cleanup import cleanup_feet  # noqa: E402
from mrgen_core.metrics.realism import foot_skating_joints, jitter_joints  # noqa: E402
from mrgen_core.motion import Motion  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "raw"
DEFAULT_CLIPS = (
    "cmu_mocap/cgspeed_motionbuilder/02_01.bvh",
    "cmu_mocap/cgspeed_motionbuilder/05_06.bvh",
    "cmu_mocap/cgspeed_motionbuilder/01_01.bvh",
    "bandai_namco_motion/dataset-1/dataset-1_walk_normal_001.bvh",
    "bandai_namco_motion/dataset-2/dataset-2_walk_normal_001.bvh",
)
FPS = 30.0


def load_clip(path: str | Path, fps: float = FPS) -> Motion:
    """A BVH clip retargeted to SMPL (``mrgen_core.retarget.bvh_to_motion``), relative paths under shared/data/raw."""
    from mrgen_core.retarget import bvh_to_motion

    p = Path(path)
    if not p.is_absolute() and not p.exists():
        p = DATA / p
    return bvh_to_motion(p, fps=fps)


def add_sliding(motion: Motion, drift: float) -> Motion:
    """The motion with its root wandering horizontally by up to ``drift`` metres (feet slide with it)."""
    t = np.arange(motion.num_frames) / motion.fps
    trans = motion.trans.copy()
    trans[:, 0] += drift * np.sin(2 * np.pi * 0.35 * t)
    trans[:, 1] += drift * np.sin(2 * np.pi * 0.23 * t + 1.0)
    return motion.copy(trans=trans)


def score(motion: Motion, repeats: int) -> dict:
    """Skating/jitter before and after cleanup, and the median cleanup time."""
    before = motion.joints()
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = cleanup_feet(motion)
        times.append(time.perf_counter() - t0)
    after = out.joints()
    s0, s1 = foot_skating_joints(before, motion.fps), foot_skating_joints(after, motion.fps)
    j0, j1 = jitter_joints(before, motion.fps), jitter_joints(after, motion.fps)
    return {
        "frames": motion.num_frames,
        "skating_before": s0, "skating_after": s1,
        "skating_ratio": None if not s0 or s1 is None else s1 / s0,
        "jitter_before": j0, "jitter_after": j1, "jitter_ratio": j1 / j0,
        "time_ms": 1000 * statistics.median(times),
    }


def _fmt(x, spec=".2f") -> str:
    return "-" if x is None else format(x, spec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="foot cleanup: skating and jitter before/after on real clips")
    ap.add_argument("clips", nargs="*", default=list(DEFAULT_CLIPS))
    ap.add_argument("--drift", type=float, default=0.05, help="artificial root wander, metres (default 0.05)")
    ap.add_argument("--repeats", type=int, default=5, help="timing repeats (median reported)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)

    rows = []
    for clip in args.clips:
        m = load_clip(clip)
        name = Path(clip).stem
        rows.append({"clip": name, "sliding": "as captured", **score(m, args.repeats)})
        rows.append({"clip": name, "sliding": f"root drift {args.drift * 100:.0f} cm",
                     **score(add_sliding(m, args.drift), args.repeats)})
    # speed on a long motion: the first clip repeated to 10,000 frames (5.6 min at 30 fps)
    first = load_clip(args.clips[0])
    reps = -(-10000 // first.num_frames)
    long = first.copy(poses=np.concatenate([first.poses] * reps)[:10000],
                      trans=np.concatenate([first.trans] * reps)[:10000], labels=None)
    cleanup_feet(long.slice(0, 100))
    times = []
    for _ in range(max(1, args.repeats)):
        t0 = time.perf_counter()
        cleanup_feet(long)
        times.append(time.perf_counter() - t0)
    long_ms = 1000 * statistics.median(times)
    if args.json:
        print(json.dumps({"machine": platform.node(), "cpu": platform.processor() or platform.machine(),
                          "date": time.strftime("%Y-%m-%d"), "rows": rows, "long_10000_frames_ms": long_ms}, indent=1))
        return 0
    print(f"foot cleanup, {time.strftime('%Y-%m-%d')}, {platform.machine()} ({platform.node()}), 30 fps")
    print(f"{'clip':34s} {'sliding':16s} {'frames':>6s} {'skating cm/s':>16s} {'ratio':>6s} "
          f"{'jitter m/s2':>16s} {'ratio':>6s} {'ms':>6s}")
    for r in rows:
        print(f"{r['clip']:34s} {r['sliding']:16s} {r['frames']:6d} "
              f"{_fmt(r['skating_before']):>7s} -> {_fmt(r['skating_after']):>6s} {_fmt(r['skating_ratio']):>6s} "
              f"{_fmt(r['jitter_before']):>7s} -> {_fmt(r['jitter_after']):>6s} {_fmt(r['jitter_ratio'], '.3f'):>6s} "
              f"{_fmt(r['time_ms'], '.1f'):>6s}")
    drifted = [r for r in rows if r["sliding"] != "as captured" and r["skating_ratio"] is not None]
    if drifted:
        print(f"with drift: median skating ratio {statistics.median(r['skating_ratio'] for r in drifted):.3f}, "
              f"median jitter ratio {statistics.median(r['jitter_ratio'] for r in drifted):.3f} "
              f"(targets: <= 0.5 and <= 1.10)")
    print(f"10,000 frames ({Path(args.clips[0]).stem} repeated): {long_ms:.0f} ms (median of {args.repeats})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
