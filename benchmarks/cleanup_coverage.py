"""What the foot cleanup costs in coverage: one model's samples raw, cleaned on its predicted contacts (what
``generate`` and ``eval`` do) and cleaned on contacts found in their own kinematics.

    .venv/bin/python benchmarks/cleanup_coverage.py MODEL.pt [--label walk] [--samples 20] [--seed 0]

Samples as ``mrgen eval --model`` does for one label (twice the length of the label's clips; noise as ``--noise
auto``) and scores coverage on the fair features against the label's parts of the clips, with foot skating. Then, on
10 raw samples of 1000 frames, compares the predicted contacts with the kinematic ones (low and slower than 0.5 m/s):
the share of foot-joint frames each calls contact, and the height and speed of the foot where only the model does.
Figures: training/PROFILE.md, "The foot cleanup's cost in coverage".
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--label", help="a labelled model's label (default: all clips, unlabelled)")
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    import torch

    from mrgen_core import features as feat
    from mrgen_core import sampling
    from mrgen_core.cleanup import cleanup_feet
    from mrgen_core.contacts import foot_contacts, joint_speed
    from mrgen_core.metrics.evaluation import feature_metrics
    from mrgen_core.metrics.features import feature_set
    from mrgen_core.metrics.realism import foot_skating
    from mrgen_core.skeleton import FOOT_JOINTS
    from mrgen_core.tasks import _label_parts

    torch.set_num_threads(1)
    model = sampling.load_model(args.model)
    refs = model.training_motions()
    parts = _label_parts(refs, args.label) if args.label else refs
    n = 2 * sum(r.num_frames for r in parts)
    kw = dict(noise="auto", labels=args.label)

    def raw_and_contacts(frames: int, num: int) -> tuple[list, list]:
        """Raw samples and the contacts the model predicts for each (what ``generate``'s cleanup pins)."""
        predicted, finish = [], sampling.finish

        def keep_contacts(model_, out, **k):
            predicted.append(feat.contacts_of(model_.denormalize(out.detach().float()).T.cpu().double().numpy()))
            return finish(model_, out, **k)

        sampling.finish = keep_contacts
        try:
            return sampling.generate(model, frames=frames, seed=args.seed, num=num, cleanup=False, **kw), predicted
        finally:
            sampling.finish = finish

    raw, contacts = raw_and_contacts(n, args.samples)
    variants = {"raw": raw,
                "predicted contacts (default)": [cleanup_feet(s, contacts=c) for s, c in zip(raw, contacts)],
                "kinematic contacts": [cleanup_feet(s) for s in raw]}
    ref_f = [feature_set(r, "fair") for r in parts]
    print(f"{args.model} ({args.label or 'all clips'}): {args.samples} samples of {n} frames; clips' foot skating "
          f"{np.mean([foot_skating(r) for r in parts]):.2f} cm/s")
    for name, samples in variants.items():
        cov = [feature_metrics(feature_set(s, "fair"), ref_f)["coverage"] for s in samples]
        print(f"  {name}: coverage {100 * np.mean(cov):.1f} % (lowest sample {100 * min(cov):.0f} %), foot skating "
              f"{np.mean([foot_skating(s) for s in samples]):.2f} cm/s")

    long, predicted = raw_and_contacts(1000, 10)
    pred = np.concatenate(predicted) > 0.5
    joints = [s.joints()[:, list(FOOT_JOINTS)] for s in long]
    kin = np.concatenate([foot_contacts(s.joints(), s.fps) for s in long]) > 0.5
    height = np.concatenate([j[..., 2] for j in joints])
    speed = np.concatenate([joint_speed(j, s.fps) for j, s in zip(joints, long)])
    only = pred & ~kin
    print(f"  contacts over 10 x 1000 frames: predicted {100 * pred.mean():.0f} %, kinematic {100 * kin.mean():.0f} %, "
          f"both {100 * (pred & kin).mean():.0f} % of foot-joint frames; where only the model calls contact the foot "
          f"is {100 * np.median(height[only]):.1f} cm up, moving {np.median(speed[only]):.2f} m/s (medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
