"""Where an unlabelled model's samples miss: coverage of each training clip by each sample, and how much of each
sample lies nearest each clip.

    .venv/bin/python benchmarks/coverage_by_clip.py MODEL.pt [--samples 20] [--seed 0] [--json OUT.jsonl]

Samples as ``mrgen eval --model`` does for an unlabelled model (twice the clips' total length, noise as ``--noise
auto``, feet cleaned up), scored on the fair features. For each sample: its coverage of every clip's 30-frame windows
(the stretches of windows it misses), and the share of its own windows whose nearest clip window is in each clip.
``mrgen eval``'s coverage is the mean over samples of the whole-clip coverage printed first. Figures:
training/PROFILE.md, "The unlabelled CMU 131 bench: how much of each sample hops".
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
    from mrgen_core.errors import MrgenError
    from mrgen_core.metrics.coverage import THRESHOLD, WINDOW, coverage_costs
    from mrgen_core.metrics.diversity import nearest_window_distances
    from mrgen_core.metrics.features import feature_set

    torch.set_num_threads(1)
    model = sampling.load_model(args.model)
    if len(getattr(model, "labels", ()) or ()) > 1:
        raise MrgenError("a labelled model: `mrgen eval --model` scores it label by label", args.model)
    refs = model.training_motions()
    total = sum(r.num_frames for r in refs)
    names = [r.name for r in refs]
    frames = 2 * total
    samples = sampling.generate(model, frames=frames, seed=args.seed, num=args.samples, noise="auto")
    ref_feats = [feature_set(r, "fair") for r in refs]
    print(f"{args.model}: {len(samples)} samples of {frames} frames; clips {', '.join(names)}")
    print("sample | coverage | " + " | ".join(f"{n} covered / nearest" for n in names) + " | missed windows")
    rows = []
    for k, motion in enumerate(samples):
        f = feature_set(motion, "fair")
        covered = [coverage_costs(f, r) < THRESHOLD for r in ref_feats]
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
    if args.json:
        with open(args.json, "a") as out:
            for r in rows:
                out.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
