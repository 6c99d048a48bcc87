"""The shipped model's recipe and variants of it, scored as `training/PROFILE.md`'s "A larger batch" table is.

    .venv/bin/python benchmarks/bench_shipped.py --model mrgen_core/models/default.pt --json rows.jsonl
    .venv/bin/python benchmarks/bench_shipped.py --train /tmp/b12.pt --set batch=12 [--seed 1] [--codes] \
        --json rows.jsonl

``--train OUT.pt`` trains the recipe (`training/recipes/default_model.sh`: its clips, labels and settings, read from
the script) with the given ``--set`` changes and seed, then scores it. ``--codes``: every clip under a label of its
own (its clip code: ``--label 02_01 --label 131_01 ...``), and each of the recipe's labels sampled as a tour of its
clips' codes (rounds of every clip of the label, each round in a random order, each clip for as long as it lasts).
``--set label_codes=true`` trains the same model with the labels kept (the training setting does the tours), so its
label accuracy and schedules are scored too.

Figures (clips from ../shared/data/raw, or $MRGEN_DATA):
- coverage label by label, as `mrgen eval --model M --samples 10` scores a labelled model (10 samples per label of
  twice the label's length, seeds 0-9, fair features, feet cleaned up), and over all windows;
- *snap*, label by label: the fastest joint's speed relative to the pelvis, its 95th percentile over frames (m/s),
  averaged over the coverage samples, beside each of the label's clips' (do punches and dance hits keep their
  speed, or did a smoother model slow them down?);
- label accuracy (5 samples per label) and 7-label schedules (10 per order): `bench_train.py`'s measures (not for
  ``--codes``, whose labels are the clips);
- *walk next to jump*: the schedule ``walk:0-4,jump:4-8,walk:8-12`` of `tests/test_default_model.py` over seeds
  0-9: the share of each walk segment's 0.5 s windows whose nearest training window lies in a walk clip rather than
  in a clip of another label (first and last segment), and how many of the 20 walk segments fall under that
  test's 75 %.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_peer import BENCHES, DATA, machine, mrgen  # noqa: E402

RECIPE = REPO / "training" / "recipes" / "default_model.sh"
#: what the recipe exports: torch's CPU kernels pinned to AVX2 (AVX-512 kernels round otherwise)
RECIPE_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "DNNL_MAX_CPU_ISA": "AVX2"}
SPEC = BENCHES["shipped"]
SCHEDULE = "walk:0-4,jump:4-8,walk:8-12"
SHARE = 0.75  # tests/test_default_model.py's threshold for the walk segments


def recipe_flags() -> list[str]:
    """The recipe's training flags other than clips, labels and output (``--preset``, ``--set``, ``--seed``,
    ``--procs``, ``--path-control``), read from the script."""
    text = "\n".join(line for line in RECIPE.read_text().splitlines() if not line.lstrip().startswith("#"))
    flags = re.findall(r"--preset \S+|--set \S+|--seed \S+|--procs \S+|--path-control", text)
    return [part for f in flags for part in f.split(" ", 1)]


def code_of(clip: str) -> str:
    """A clip's code: its file name without the extension (and without `_scaled`, as the salsa clips have)."""
    return Path(clip).stem.replace("_scaled", "")


def train(out: Path, changes: list[str], seed: int | None, codes: bool, procs: int | None = None) -> float:
    """Train the recipe with ``changes`` (``KEY=VALUE``) into ``out`` (``procs``: training processes instead of the
    recipe's); the wall time in seconds."""
    labels = [code_of(c) for c in SPEC["clips"]] if codes else SPEC["labels"]
    args = ["train", *[DATA / c for c in SPEC["clips"]], *[x for lab in labels for x in ("--label", lab)],
            *recipe_flags(), *[x for ch in changes for x in ("--set", ch)],
            *(["--seed", str(seed)] if seed is not None else []),
            *(["--procs", str(procs)] if procs is not None else []), "-o", out]
    for key, value in RECIPE_ENV.items():  # the recipe's CPU kernels, for its weights bit for bit
        os.environ.setdefault(key, value)
    t0 = time.perf_counter()
    mrgen(*args)
    return time.perf_counter() - t0


def tour(groups: dict[str, list[str]], seconds: dict[str, float], label: str, start: float, end: float,
         rng: np.random.Generator) -> list[str]:
    """Schedule parts that play ``label``'s clip codes from ``start`` to ``end`` s, round after round."""
    from mrgen_core.clip_codes import rounds

    return [f"{code}:{a:.3f}-{b:.3f}" for a, b, code in rounds(groups[label], seconds, start, end, rng)]


def snap(motion) -> float:
    """The 95th percentile over frames of the fastest joint's speed relative to the pelvis (m/s)."""
    from mrgen_core.path_follow import fastest_joints

    return float(np.percentile(fastest_joints(motion)[1], 95))


def score(path: Path, codes: bool) -> dict:
    """The figures of the module docstring for the model at ``path``."""
    import torch

    from bench_train import features_by_label, label_accuracy, schedule_accuracy
    from mrgen_core import sampling
    from mrgen_core.metrics import LOCAL_WINDOW, motion_features, nearest_window_distances
    from mrgen_core.metrics.evaluation import evaluate

    torch.set_num_threads(1)
    model = sampling.load_model(path)
    refs = [r.copy(labels=None, vocab=()) for r in model.training_motions()]
    names = SPEC["labels"]
    groups: dict[str, list[str]] = {}
    for clip, lab in zip(SPEC["clips"], names):
        groups.setdefault(lab, []).append(code_of(clip) if codes else lab)
    if codes and set(model.labels) != {c for cs in groups.values() for c in cs}:
        raise SystemExit(f"{path}: its labels {model.labels} are not the recipe's clip codes")
    seconds = {code_of(c) if codes else lab: r.num_frames / model.fps for c, lab, r in zip(SPEC["clips"], names, refs)}

    def request(label: str, start: float, end: float, rng: np.random.Generator) -> str:
        if not codes:
            return f"{label}:{start:g}-{end:g}"
        return ",".join(tour(groups, seconds, label, start, end, rng))

    per_label, weighted, total = {}, 0.0, 0
    for lab in groups:
        parts = [r for r, n in zip(refs, names) if n == lab]
        n = 2 * sum(r.num_frames for r in parts)
        samples = [sampling.generate(model, frames=n, seed=k, noise="auto",
                                     labels=request(lab, 0, n / model.fps, np.random.default_rng(k)))[0]
                   for k in range(10)]
        res = evaluate(samples, parts, features=["fair"])
        windows = sum(r.num_frames - 29 for r in parts)
        per_label[lab] = dict(coverage=round(res["coverage"], 4), local_diversity=round(res["local_diversity"], 3),
                              global_diversity=round(res["global_diversity"], 3),
                              snap=round(float(np.mean([snap(m) for m in samples])), 2),
                              snap_clips=[round(snap(r), 2) for r in parts])
        weighted, total = weighted + res["coverage"] * windows, total + windows
        print(lab, per_label[lab], flush=True)
    row = dict(coverage=round(weighted / total, 4), per_label=per_label)
    if not codes:
        acc = label_accuracy(model, 5, 0)
        row.update(label_accuracy=acc["label_accuracy"], label_accuracy_per_label=acc["per_label"])
        sched = schedule_accuracy(model, 10, 0)
        row.update(schedule=round(sched["schedule_accuracy"], 4), schedule_worst_pooled=round(
            sched["schedule_worst_pooled"], 4), schedule_switch_speed=round(sched["schedule_switch_speed"], 2))
    # walk next to jump, with the labels of the recipe (every clip of a label together)
    by_label = features_by_label([r.copy(labels=np.zeros(r.num_frames, np.int64), vocab=(n,))
                                  for r, n in zip(refs, names)])
    order = [p.split(":")[0] for p in SCHEDULE.split(",")]
    shares = []
    for seed in range(10):
        rng = np.random.default_rng(seed)  # one tour order stream per sample, segment after segment
        req = ",".join(request(lab, 4.0 * i, 4.0 * (i + 1), rng) for i, lab in enumerate(order))
        m = sampling.generate(model, frames=int(12 * model.fps), labels=req, seed=seed, cleanup=False)[0]
        f = motion_features(m)
        near = {lab: nearest_window_distances(f, feats) for lab, feats in by_label.items()}
        seg = int(4 * model.fps)
        row_shares = []
        for i, lab in enumerate(order):
            w = np.arange(i * seg, (i + 1) * seg - LOCAL_WINDOW + 1)
            other = np.min([near[o][w] for o in near if o != lab], axis=0)
            row_shares.append(float((near[lab][w] < other).mean()))
        shares.append(row_shares)
    shares = np.array(shares)
    walk = shares[:, [i for i, lab in enumerate(order) if lab == "walk"]]
    row.update(walk_next_to_jump=[round(float(v), 3) for v in shares.mean(axis=0)],
               walk_segments_under_share=int((walk < SHARE).sum()), walk_segments=int(walk.size))
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", type=Path, help="score this model (trained on the recipe's clips)")
    what.add_argument("--train", type=Path, metavar="OUT.pt", help="train the recipe with the changes, then score")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a change to the recipe's settings")
    ap.add_argument("--seed", type=int, default=None, help="training seed (default: the recipe's)")
    ap.add_argument("--procs", type=int, default=None, help="training processes (default: the recipe's)")
    ap.add_argument("--codes", action="store_true", help="a code per clip; each label sampled as a tour of its clips")
    ap.add_argument("--json", default=None, help="append the row (one JSON object per line) to this file")
    args = ap.parse_args(argv)
    row = dict(bench="shipped recipe variants", changes=args.set, seed=args.seed, codes=args.codes,
               machine=machine(), **({"procs": args.procs} if args.procs is not None else {}))
    path = args.model
    if args.train:
        row["train_s"] = round(train(args.train, args.set, args.seed, args.codes, args.procs), 1)
        path = args.train
    row["model"] = str(path)
    row.update(score(path, args.codes))
    print(json.dumps(row))
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
