"""Benchmark data-parallel training (``--procs N``): wall time, steps per second and scaling efficiency against one
process, and the quality of what N processes train (the model benchmark's measures, ``bench_train.py``).

    .venv/bin/python benchmarks/bench_distributed.py --bench single --procs 1 2 --seeds 0 1 2 3 --json R.jsonl
    .venv/bin/python benchmarks/bench_distributed.py --bench library --procs 1 2 --json R.jsonl
    .venv/bin/python benchmarks/bench_distributed.py --report R.jsonl        # the BENCHMARKS.md section
    # on a GPU node: --device cuda --procs 1 2 4

Benchmarks (clips from ../shared/data/raw, 30 fps):

- ``single``: CMU 05_06 (7.4 s), preset ``default``: N = 1 against N = 2 (or more), 4 seeds each. Quality: 20 samples
  of twice the clip's length, noise at the coarsest level only (GANimator's protocol): coverage, local and global
  diversity; the question is whether N processes land inside N = 1's seed-to-seed spread.
- ``library``: every Bandai Namco clip (dataset-1 and dataset-2, 35 clips, about 4 minutes of motion) in one labelled
  model, each clip labelled with its content from its JSON annotation (``walk``, ``run``, ``kick``, ``bow``, ...,
  the names from ``cfg/dataset-*_content_label.txt``; the same name in both datasets is one label). Wall time,
  coverage and label accuracy (``bench_train.label_accuracy``: a sample is right when its nearest training windows
  are in its label's clips). Coverage here is label by label: samples under each label against that label's clips
  (:func:`label_quality`). The shortest clips (20 and 24 frames) bound the crops of every level (a step's crops are
  as long as the shortest clip at that level: 2 frames at the coarsest), which costs the library model much of its
  long-range structure; ``--min-frames 60`` leaves them out for comparison.

Times are wall-clock seconds of the whole run (starting the processes included) and CPU seconds of this process and
its children; the load average before and after is recorded: timings are only meaningful on a quiet machine.
Efficiency = (wall of N = 1 / wall of N) / N, from the medians over the seeds.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_train as bt  # noqa: E402  (the model benchmark's clips, machine facts and quality measures)

BANDAI = bt.DATA / "bandai_namco_motion"


def bandai_library(label_kind: str = "content") -> tuple[list[Path], list[str]]:
    """Every Bandai Namco clip (dataset-1 and dataset-2) and its label from its JSON annotation: ``content`` (walk,
    run, kick, ...), ``style`` (normal, happy, tired, ...) or ``both`` (``walk/happy``)."""
    clips, labels = [], []
    for ds in ("dataset-1", "dataset-2"):
        names = {kind: [n.strip().removeprefix(f"{ds}_") for n in
                        (BANDAI / "cfg" / f"{ds}_{kind}_label.txt").read_text().splitlines() if n.strip()]
                 for kind in ("content", "style")}
        for bvh in sorted((BANDAI / ds).glob("*.bvh")):
            ann = json.loads(bvh.with_suffix(".json").read_text())
            content, style = names["content"][ann["content"]], names["style"][ann["style"]]
            clips.append(bvh)
            labels.append({"content": content, "style": style, "both": f"{content}/{style}"}[label_kind])
    return clips, labels


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_one(bench: str, preset: str, procs: int, seed: int, args, folder: Path) -> dict:
    from mrgen_core.sampling import load_model
    from training.presets import get_preset
    from training.train import level_iterations, train

    overrides = json.loads(args.override)
    if bench == "single":
        clips, labels = [bt.DATA / p for p in bt.BENCHES["single"]["clips"]], None
    else:
        clips, labels = bandai_library(args.library_label)
    motions = bt.load_clips([str(c.relative_to(bt.DATA)) for c in clips])
    if args.min_frames:  # leave out the shortest clips (they bound every crop: see the module docstring)
        keep = [k for k, m in enumerate(motions) if m.num_frames >= args.min_frames]
        clips, motions = [clips[k] for k in keep], [motions[k] for k in keep]
        labels = None if labels is None else [labels[k] for k in keep]
    out = folder / f"{bench}_{preset}_n{procs}_s{seed}_{args.device}.pt"
    before = bt.load_avg()
    t0, c0, k0 = time.perf_counter(), time.process_time(), children_cpu()
    train(motions, out, preset=preset, label_per_clip=labels, seed=seed, overrides=overrides or None,
          device=args.device, procs=procs, quiet=not sys.stderr.isatty())
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0 + children_cpu() - k0
    model = load_model(out)
    steps = sum(level_iterations(get_preset(preset, **overrides), model.num_levels))
    res = dict(bench=bench + (f">={args.min_frames}f" if args.min_frames else ""), preset=preset, procs=procs,
               seed=seed, device=args.device, overrides=overrides,
               model=str(out), clips=len(clips), labels=len(set(labels or [])), levels=model.num_levels,
               input_seconds=round(sum(m.duration for m in motions), 1), train_s=round(wall, 1),
               cpu_s=round(cpu, 1), steps=steps, steps_per_s=round(steps / wall, 2), load_before=before,
               load_after=bt.load_avg())
    if bench == "single":
        res.update(bt.quality(model, args.samples, seed))
    else:
        res.update(label_quality(model, args.per_label, seed))
        res.update(bt.label_accuracy(model, args.per_label, seed))
    res["machine"] = bt.machine()
    return res


def label_quality(model, per_label: int, seed: int) -> dict:
    """Coverage and diversity of a labelled model, label by label: ``per_label`` samples under each label, twice as
    long as its clips together, scored against its clips (those of at least 30 frames, the metrics' window; a label
    with none is left out). Returns the means over the labels weighted by their frames, and the weakest label's
    coverage."""
    from mrgen_core.metrics import evaluate

    refs = model.training_motions()
    by_label: dict[str, list] = {}
    for r in refs:
        by_label.setdefault(bt.clip_label(r), []).append(r)
    per, weights = {}, {}
    for lab, clips in sorted(by_label.items()):
        clips = [c for c in clips if c.num_frames >= 30]
        if not clips:
            continue
        frames = 2 * sum(c.num_frames for c in clips)
        out = bt._generate(model, frames=frames, seed=seed, labels=lab, num=per_label, noise="coarsest")
        per[lab] = evaluate(out, clips)
        weights[lab] = frames
    total = sum(weights.values())
    mean = {k: sum(per[lab][k] * weights[lab] for lab in per) / total
            for k in ("coverage", "local_diversity", "global_diversity")}
    return dict(mean, coverage_by_label={lab: r["coverage"] for lab, r in per.items()},
                coverage_worst_label=min(r["coverage"] for r in per.values()),
                labels_scored=len(per), samples=per_label)


# --- report -----------------------------------------------------------------------------------------------------

def _span(values: list[float], pct: bool = False) -> str:
    if not values:
        return "—"
    f = (lambda v: f"{100 * v:.1f} %") if pct else (lambda v: f"{v:.3f}")
    return f(min(values)) if len(values) == 1 else f"{f(min(values))} - {f(max(values))}"


def report(rows: list[dict]) -> str:
    """The BENCHMARKS.md section: per bench, device and N the medians over the seeds, efficiency against N = 1,
    and whether the quality of N > 1 lies inside N = 1's seed-to-seed spread."""
    last = {}
    for r in rows:
        last[(r["bench"], r["preset"], r["device"], r["procs"], r["seed"])] = r
    rows = list(last.values())
    m = rows[0]["machine"] if rows else {}
    out = ["## Data-parallel training (issue 19, `python benchmarks/bench_distributed.py`)", "",
           f"Machine: {m.get('cpu')}, {m.get('cores')} cores, torch {m.get('torch')}. Dates: "
           f"{min(r['machine']['date'] for r in rows)} to {max(r['machine']['date'] for r in rows)} UTC. "
           "Wall time of the whole run (starting the processes included), CPU seconds of all processes; medians "
           "over the seeds. Efficiency = speed-up over N = 1 divided by N. Quality as in the model benchmark "
           "(single: 20 samples of twice the training length, noise at the coarsest level; library: label by label, "
           "5 samples per label of twice its clips' length against its clips, the frame-weighted mean, and label "
           "accuracy with 5 samples per label). Commands: `--bench single --procs 1 2 --seeds 0 1 2 3` and `--bench library --procs 1 2`, each "
           "with `--json R.jsonl`; then `--report R.jsonl`.", "",
           "| bench | preset | device | N | seeds | train wall (median) | CPU s | steps/s | efficiency | coverage | "
           "local div. | global div. | label accuracy | load avg |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["bench"], r["preset"], r["device"], r["procs"]), []).append(r)
    for (bench, preset, device, procs), rs in sorted(groups.items()):
        wall = statistics.median(r["train_s"] for r in rs)
        base = groups.get((bench, preset, device, 1))
        eff = "—"
        if base and procs > 1:
            eff = f"{statistics.median(r['train_s'] for r in base) / wall / procs:.2f}"
        loads = [x for r in rs for x in (r.get("load_before") or [])[:1] + (r.get("load_after") or [])[:1]]
        out.append(f"| {bench} | {preset} | {device} | {procs} | {','.join(str(r['seed']) for r in rs)} | "
                   f"{wall:.0f} s | {statistics.median(r['cpu_s'] for r in rs):.0f} | "
                   f"{statistics.median(r['steps_per_s'] for r in rs):.2f} | {eff} | "
                   f"{_span([r['coverage'] for r in rs], True)} | {_span([r['local_diversity'] for r in rs])} | "
                   f"{_span([r['global_diversity'] for r in rs])} | "
                   f"{_span([r['label_accuracy'] for r in rs if 'label_accuracy' in r], True)} | "
                   f"{min(loads) if loads else '?'}-{max(loads) if loads else '?'} |")
    notes = []
    for (bench, preset, device, procs), rs in sorted(groups.items()):
        base = groups.get((bench, preset, device, 1))
        if procs == 1 or not base or len(base) < 2:
            continue
        inside = []
        for key in ("coverage", "local_diversity", "global_diversity"):
            lo, hi = min(r[key] for r in base), max(r[key] for r in base)
            n_in = sum(lo <= r[key] <= hi for r in rs)
            inside.append(f"{key.replace('_', ' ')} {n_in} of {len(rs)}")
        notes.append(f"- {bench}, {preset}, {device}, N = {procs}: inside N = 1's seed-to-seed range: "
                     + ", ".join(inside) + ".")
    if notes:
        out += [""] + notes
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", nargs="+", default=["single"], choices=["single", "library"])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--procs", nargs="+", type=int, default=[1, 2], help="numbers of processes to compare")
    ap.add_argument("--seeds", nargs="+", type=int, default=None, help="default: 0 1 2 3 (single), 0 (library)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--per-label", type=int, default=5)
    ap.add_argument("--library-label", default="content", choices=["content", "style", "both"])
    ap.add_argument("--min-frames", type=int, default=0,
                    help="leave out clips shorter than this (default 0: all; the shortest clip bounds every crop)")
    ap.add_argument("--override", default="{}", help="JSON dict of preset values to change (tiny checks)")
    ap.add_argument("--models", default=None, help="folder to keep the models in (default: a temp folder)")
    ap.add_argument("--json", default=None, help="append results (one JSON object per line) to this file")
    ap.add_argument("--report", default=None, metavar="RESULTS.jsonl",
                    help="write the distributed section of BENCHMARKS.md from these results (no training)")
    ap.add_argument("--print", action="store_true", help="with --report: print the section instead of writing it")
    args = ap.parse_args(argv)
    if args.report:
        from run import write_section

        rows = [json.loads(line) for line in Path(args.report).read_text().splitlines() if line.strip()]
        text = report(rows)
        print(text) if args.print else write_section(REPO / "BENCHMARKS.md", "distributed", text)
        return 0
    folder = Path(args.models) if args.models else Path(tempfile.mkdtemp(prefix="mrgen_bench_dist_"))
    folder.mkdir(parents=True, exist_ok=True)
    print(json.dumps(bt.machine()), flush=True)
    for bench in args.bench:
        for seed in args.seeds if args.seeds is not None else ([0, 1, 2, 3] if bench == "single" else [0]):
            for procs in args.procs:
                bt.emit(run_one(bench, args.preset, procs, seed, args, folder), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
