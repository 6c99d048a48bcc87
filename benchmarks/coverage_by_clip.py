"""Where an unlabelled model's samples miss: coverage of each training clip by each sample, and how much of each
sample lies nearest each clip.

    .venv/bin/python benchmarks/coverage_by_clip.py MODEL.pt [--samples 20] [--seed 0] [--json OUT.jsonl]

Samples as ``mrgen eval --model`` does for an unlabelled model (twice the clips' total length, noise as ``--noise
auto``, feet cleaned up), scored on the fair features. For each sample: its coverage of every clip's 30-frame windows
(the stretches of windows it misses), and the share of its own windows whose nearest clip window is in each clip.
``mrgen eval``'s coverage is the mean over samples of the whole-clip coverage printed first. Last, how much the clips
and the samples turn, and each clip's coverage over its fast-turning windows against the others. Figures:
training/PROFILE.md, "The unlabelled CMU 131 bench: how much of each sample hops" and "Clip codes".
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="append one row per sample to this JSON-lines file")
    args = ap.parse_args(argv)
    from mrgen_core.errors import MrgenError

    try:
        return _run(args)
    except MrgenError as e:
        print(f"coverage_by_clip: error: {e}", file=sys.stderr)
        return 2


def _run(args) -> int:
    import torch

    from mrgen_core import sampling
    from mrgen_core.cleanup import _runs
    from mrgen_core.clip_codes import uses_clip_codes
    from mrgen_core.errors import MrgenError
    from mrgen_core.metrics.coverage import THRESHOLD, WINDOW, coverage_costs
    from mrgen_core.metrics.diversity import nearest_window_distances
    from mrgen_core.metrics.features import feature_set

    torch.set_num_threads(1)
    model = sampling.load_model(args.model)
    if len(getattr(model, "labels", ()) or ()) > 1 and not uses_clip_codes(model):
        raise MrgenError("a labelled model: `mrgen eval --model` scores it label by label", args.model)
    refs = model.training_motions()
    total = sum(r.num_frames for r in refs)
    names = [r.name for r in refs]
    frames = 2 * total
    samples = sampling.generate(model, frames=frames, seed=args.seed, num=args.samples, noise="auto")
    ref_feats = [feature_set(r, "fair") for r in refs]
    print(f"{args.model}: {len(samples)} samples of {frames} frames; clips {', '.join(names)}")
    print("sample | coverage | " + " | ".join(f"{n} covered / nearest" for n in names) + " | missed windows")
    rows, by_sample = [], []
    for k, motion in enumerate(samples):
        f = feature_set(motion, "fair")
        covered = [coverage_costs(f, r) < THRESHOLD for r in ref_feats]
        by_sample.append(covered)
        nearest = [nearest_window_distances(f, [r], WINDOW) for r in ref_feats]  # per sample window, per clip
        share = np.bincount(np.argmin(nearest, axis=0), minlength=len(refs)) / (len(f) - WINDOW + 1)
        row = dict(model=str(args.model), seed=args.seed, sample=k,
                   coverage=float(np.concatenate(covered).mean()),
                   clips={n: dict(covered=float(c.mean()), nearest_share=float(s),
                                  missed=list(zip(*(x.tolist() for x in _runs(~c)))))
                          for n, c, s in zip(names, covered, share)})
        rows.append(row)
        missed = "; ".join(f"{n}: " + ", ".join(f"{a}-{b}" for a, b in c["missed"])
                           for n, c in row["clips"].items() if c["missed"])
        print(f"{k} | {row['coverage'] * 100:.1f} % | "
              + " | ".join(f"{c['covered'] * 100:.1f} % / {c['nearest_share'] * 100:.0f} %"
                           for c in row["clips"].values()) + f" | {missed or '-'}")
    print(f"mean coverage {np.mean([r['coverage'] for r in rows]) * 100:.1f} %; per clip: "
          + ", ".join(f"{n} {np.mean([r['clips'][n]['covered'] for r in rows]) * 100:.1f} % covered, "
                      f"{np.mean([r['clips'][n]['nearest_share'] for r in rows]) * 100:.0f} % of the samples nearest"
                      f" (clips: {refs[i].num_frames / total * 100:.0f} %)"
                      for i, n in enumerate(names)))
    print(_turning(refs, samples, names, by_sample, WINDOW))
    if args.json:
        with open(args.json, "a") as out:
            for r in rows:
                out.write(json.dumps(r) + "\n")
    return 0


def _turning(refs, samples, names, by_sample, window: int) -> str:
    """How much the clips and the samples turn (|yaw rate|, the fair features' turning channel), and each clip's
    coverage over its windows that turn faster than the clip's median window against the others."""
    from mrgen_core.metrics.features import yaw_rate
    from mrgen_core.rotations import axis_angle_to_matrix

    def turn(m):
        return np.degrees(np.abs(yaw_rate(axis_angle_to_matrix(np.asarray(m.poses, dtype=np.float64))[:, 0], m.fps)))

    ref_turn, smp_turn = [turn(r) for r in refs], np.concatenate([turn(s) for s in samples])
    allr = np.concatenate(ref_turn)
    parts = []
    for i, (n, t) in enumerate(zip(names, ref_turn)):
        per_window = np.convolve(t, np.ones(window) / window, "valid")
        fast = per_window > np.median(per_window)
        cov = np.mean([c[i] for c in by_sample], axis=0)
        parts.append(f"{n} {cov[fast].mean() * 100:.1f} / {cov[~fast].mean() * 100:.1f} %")
    return (f"turning, mean |yaw rate|: clips {allr.mean():.0f} deg/s ("
            + ", ".join(f"{n} {t.mean():.0f}" for n, t in zip(names, ref_turn))
            + f"), samples {smp_turn.mean():.0f}; frames over 90 deg/s: clips {(allr > 90).mean() * 100:.0f} %, "
            f"samples {(smp_turn > 90).mean() * 100:.0f} %\nwindows turning faster than their clip's median covered / "
            "the others: " + ", ".join(parts))


if __name__ == "__main__":
    sys.exit(main())
