"""Blending on trained models: how much of the source a blend keeps, and how much its variations differ.

For each model and each number of kept levels K, ``--num`` blends of a source (the model's longest training clip)
with seeds 0.. (noise at every regenerated level, as ``mrgen blend`` does, no foot cleanup):

- path: mean horizontal distance of the blend's root from the source's, as a share of the source's path length
  (issue 5: < 20 % at K = 2);
- local diversity against the source (the metrics' local diversity; issue 5: > 0.3 at K = 2);
- variation: mean joint distance (cm) between two blends of different seeds, in world space and root-relative
  (pose only): what ``--seed`` / ``--num`` give an animator.

Usage: ``python benchmarks/bench_blend.py MODEL.pt ... [--levels 1 2 4] [--num 4] [--json results.jsonl]``;
``--report results.jsonl`` writes the ``blend`` section of BENCHMARKS.md from saved results.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for p in (str(REPO), str(REPO / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

SECTION = "blend"


def pairwise_cm(joints: list[np.ndarray]) -> float:
    """Mean joint distance (cm) over all pairs of motions (T, J, 3)."""
    return 100.0 * float(np.mean([np.linalg.norm(a - b, axis=-1).mean() for a, b in itertools.combinations(joints, 2)]))


def score(model, source, k: int, num: int) -> dict:
    """Path kept, local diversity against the source and seed-to-seed variation of ``num`` blends at ``k``."""
    from mrgen_core.blending import blend
    from mrgen_core.metrics import evaluate

    outs = blend(model, source, k, seed=0, num=num, cleanup=False)
    src = source.joints()
    path = src[:, 0, :2]
    length = float(np.linalg.norm(np.diff(path, axis=0), axis=-1).sum())
    joints = [o.joints() for o in outs]
    moved = float(np.mean([np.linalg.norm(j[:, 0, :2] - path, axis=-1).mean() for j in joints]))
    return dict(keep_levels=k, path_share=moved / length if length > 0 else None,
                local_diversity=float(np.mean([evaluate([o], [source])["local_diversity"] for o in outs])),
                variation_cm=pairwise_cm(joints) if num > 1 else None,
                pose_variation_cm=pairwise_cm([j - j[:, :1] for j in joints]) if num > 1 else None)


def report(rows: list[dict]) -> str:
    """The Markdown section for BENCHMARKS.md."""
    lines = ["## Blending (issue 5, `benchmarks/bench_blend.py`)", "",
             "Blends of each model's longest training clip, noise at every regenerated level, no foot cleanup. Path: "
             "mean root distance from the source's path, as a share of its length (target < 20 % at K = 2). Local "
             "diversity against the source (target > 0.3 at K = 2). Variation: mean joint distance between blends of "
             "different seeds (world / pose only). The path is kept in world space; the earlier path keeping, in the "
             "body's heading frame, let 05_06 at K = 2 drift 32 % of its path (`training/PROFILE.md`).", "",
             "| model | training | source | K | path | local div. vs source | variation cm (pose) | machine, date |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        var = "—" if r["variation_cm"] is None else f"{r['variation_cm']:.1f} ({r['pose_variation_cm']:.1f})"
        lines.append(f"| {r['model']} | {r['training']} | {r.get('source', '')} | {r['keep_levels']} | "
                     f"{100 * r['path_share']:.1f} % | "
                     f"{r['local_diversity']:.2f} | {var} | {r['machine']['cpu']}, {r['machine']['date']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="blending: path kept, detail changed, variation between seeds")
    ap.add_argument("models", nargs="*")
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--num", type=int, default=4)
    ap.add_argument("--training", default="", help="how the models were trained (for the report)")
    ap.add_argument("--json", help="append results (one JSON object per line) to this file")
    ap.add_argument("--report", metavar="RESULTS.jsonl", help="write the blend section of BENCHMARKS.md from these")
    args = ap.parse_args(argv)
    from bench_train import emit, machine
    from run import write_section

    if args.report:
        rows = [json.loads(line) for line in Path(args.report).read_text().splitlines() if line.strip()]
        write_section(REPO / "BENCHMARKS.md", SECTION, report(rows))
        return 0
    import torch

    from mrgen_core.sampling import load_model

    torch.set_num_threads(1)
    for path in args.models:
        model = load_model(path)
        source = max(model.training_motions(), key=lambda m: m.num_frames)
        for k in args.levels:
            row = dict(model=Path(path).name, source=source.name, training=args.training,
                       **score(model, source, k, args.num), machine=machine())
            emit(row, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
