"""Benchmark: import of the CMU clip 01_01.bvh (2752 frames, 120 fps: read + retarget to SMPL) and SMPL forward
kinematics of 10,000 frames. Prints the median of 7 runs as a Markdown table row with the machine and date.

Run: ``python benchmarks/bench_io.py`` (from the repository root; data from ../shared/data/raw or $MRGEN_DATA).
"""
from __future__ import annotations

import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mrgen_core.io.bvh import read_bvh  # noqa: E402
from mrgen_core.retarget import bvh_to_motion  # noqa: E402
from mrgen_core.skeleton import Skeleton  # noqa: E402

DATA = Path(os.environ.get("MRGEN_DATA", REPO.parent / "shared" / "data" / "raw"))
CLIP = DATA / "cmu_mocap" / "cgspeed_motionbuilder" / "01_01.bvh"
RUNS = 7


def median_time(fn, runs: int = RUNS) -> float:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"


def main() -> int:
    if not CLIP.exists():
        print(f"bench_io: error: {CLIP}: test clip not found (set MRGEN_DATA)", file=sys.stderr)
        return 2
    t_read = median_time(lambda: read_bvh(CLIP))
    t_import = median_time(lambda: bvh_to_motion(CLIP))
    rng = np.random.default_rng(0)
    poses = rng.normal(scale=0.3, size=(10_000, 24, 3))
    trans = rng.normal(size=(10_000, 3))
    skel = Skeleton.smpl("neutral")
    t_fk = median_time(lambda: skel.fk(poses, trans))
    frames = read_bvh(CLIP).num_frames
    date = datetime.date.today().isoformat()
    print("| date | machine | 01_01.bvh read | 01_01.bvh import (read + retarget) | FK 10,000 frames |")
    print("|---|---|---|---|---|")
    print(f"| {date} | {machine()} | {t_read * 1000:.0f} ms | {t_import * 1000:.0f} ms ({frames} frames; "
          f"target < 1000 ms) | {t_fk * 1000:.1f} ms (target < 50 ms) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
