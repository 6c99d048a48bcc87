"""Benchmark training and sampling: train time per preset, generate time, quality and label accuracy.

    .venv/bin/python benchmarks/bench_train.py --bench single --preset fast default
    .venv/bin/python benchmarks/bench_train.py --bench cmu131 bandai --preset default
    .venv/bin/python benchmarks/bench_train.py --bench scaling --preset fast
    .venv/bin/python benchmarks/bench_train.py --rescore benchmarks/results/model.jsonl   # after a metric change

Benchmarks (clips from ../shared/data/raw, resampled to 30 fps):

- ``single``: CMU 05_06 (modern dance, 7.4 s). 20 samples of twice the clip's length, noise at the coarsest
  level only (GANimator's protocol): coverage, local / global diversity, foot skating vs the clip's own, jitter;
  of the raw network output and of what ``mrgen generate`` writes (feet cleaned up on the predicted contacts).
- ``cmu131``: CMU 131_01 + 131_02 + 131_03 labelled walk, walk, hop. ``bandai``: Bandai Namco dataset-1 walk
  clips labelled by style (normal, happy, angry, tired, old). Label accuracy: for each label, samples generated
  with it; a sample counts as right when its local-diversity distance (mean over its 15-frame windows of the
  nearest training window's average frame distance, the metrics' frame features) to the clips of its label is
  smaller than to the clips of every other label.
- ``scaling``: the same preset on ~10 s (CMU 131_02) and ~60 s (CMU 01_01 + 131_01..03 + 05_06) of motion:
  training time must grow less than linearly.

Times are wall-clock seconds of this process (and its CPU seconds: the machine is shared, so CPU time shows what
the run itself cost); the machine's load average is recorded before and after each run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("MRGEN_DATA", REPO.parent / "shared" / "data" / "raw"))

CMU_MB = "cmu_mocap/cgspeed_motionbuilder"
CMU_3D = "cmu_mocap/cgspeed_3dsmax"
BANDAI = "bandai_namco_motion/dataset-1"
STYLES = ("normal", "happy", "angry", "tired", "old")

BENCHES = {
    "single": dict(clips=[f"{CMU_MB}/05_06.bvh"], labels=None),
    "cmu131": dict(clips=[f"{CMU_3D}/131_01.bvh", f"{CMU_3D}/131_02.bvh", f"{CMU_3D}/131_03.bvh"],
                   labels=["walk", "walk", "hop"]),
    "bandai": dict(clips=[f"{BANDAI}/dataset-1_walk_{s}_001.bvh" for s in STYLES], labels=list(STYLES)),
    "scale10": dict(clips=[f"{CMU_3D}/131_02.bvh"], labels=None),
    "scale60": dict(clips=[f"{CMU_MB}/01_01.bvh", f"{CMU_3D}/131_01.bvh", f"{CMU_3D}/131_02.bvh",
                           f"{CMU_3D}/131_03.bvh", f"{CMU_MB}/05_06.bvh"], labels=None),
}


def load_avg() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def emit(row: dict, json_path: str | None) -> None:
    """Print a result row as JSON and, with ``json_path``, append it to that results file (one object per line)."""
    print(json.dumps(row), flush=True)
    if json_path:
        with open(json_path, "a") as fh:
            fh.write(json.dumps(row) + "\n")


def machine() -> dict:
    import torch
    from run import cpu_name

    return dict(cpu=cpu_name(), cores=os.cpu_count(), torch=torch.__version__, python=platform.python_version(),
                date=time.strftime("%Y-%m-%d %H:%M"))


def load_clips(paths: list[str], fps: float = 30.0):
    from mrgen_core.motion_files import load_motion

    return [load_motion(DATA / p, fps=fps) for p in paths]


def train_bench(name: str, preset: str, seed: int, overrides: dict, folder: Path) -> dict:
    from training.train import train

    spec = BENCHES[name]
    motions = load_clips(spec["clips"])
    out = folder / f"{name}_{preset}_{seed}.pt"
    before = load_avg()
    t0, c0 = time.perf_counter(), time.process_time()
    train(motions, out, preset=preset, label_per_clip=spec["labels"], seed=seed, overrides=overrides or None,
          quiet=not sys.stderr.isatty())
    res = dict(bench=name, preset=preset, seed=seed, overrides=overrides, model=str(out),
               train_s=round(time.perf_counter() - t0, 1), train_cpu_s=round(time.process_time() - c0, 1),
               load_before=before, load_after=load_avg(),
               input_seconds=round(sum(m.duration for m in motions), 2), model_bytes=out.stat().st_size)
    return res


def generate_time(model, repeats: int = 5, **kw) -> float:
    """Median seconds to generate 60 s of motion (after the model is loaded), as ``mrgen generate`` does."""
    from mrgen_core.sampling import generate

    generate(model, seconds=60, seed=0, **kw)  # warm up
    times = []
    for k in range(repeats):
        t = time.perf_counter()
        generate(model, seconds=60, seed=k, **kw)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _generate(model, **kw):
    """Raw model output (no foot cleanup) where the sampler offers cleanup, else what it gives."""
    import inspect

    from mrgen_core.sampling import generate

    if "cleanup" in inspect.signature(generate).parameters:
        kw.setdefault("cleanup", False)
    return generate(model, **kw)


def _raw_kw() -> dict:
    import inspect

    from mrgen_core.sampling import generate

    return {"cleanup": False} if "cleanup" in inspect.signature(generate).parameters else {}


def quality(model, samples: int, seed: int) -> dict:
    """GANimator's protocol on the model's own output (no foot cleanup), and on what ``mrgen generate`` writes by
    default: the same samples with the feet pinned on the model's predicted contacts (``*_cleanup``)."""
    from mrgen_core.metrics import evaluate
    from mrgen_core.sampling import generate, reconstruct

    refs = model.training_motions()
    frames = 2 * sum(r.num_frames for r in refs)
    out = _generate(model, frames=frames, seed=seed, num=samples, noise="coarsest")
    res = evaluate(out, refs, reconstructions=reconstruct(model))
    ref_skate = res["reference"]["foot_skating"]
    q = dict(coverage=res["coverage"], local_diversity=res["local_diversity"],
             global_diversity=res["global_diversity"], foot_skating=res["foot_skating"],
             foot_skating_ref=ref_skate,
             skating_ratio=(res["foot_skating"] / ref_skate) if ref_skate and res["foot_skating"] else None,
             jitter=res["jitter"], jitter_ref=res["reference"]["jitter"],
             reconstruction_cm=res.get("reconstruction_error"), samples=samples, frames=frames,
             literal=res.get("literal"))
    if not _raw_kw():  # a sampler without foot cleanup
        return q
    cleaned = evaluate(generate(model, frames=frames, seed=seed, num=samples, noise="coarsest", cleanup=True), refs)
    q.update(foot_skating_cleanup=cleaned["foot_skating"], coverage_cleanup=cleaned["coverage"],
             jitter_cleanup=cleaned["jitter"], local_diversity_cleanup=cleaned["local_diversity"],
             global_diversity_cleanup=cleaned["global_diversity"], cleanup_contacts="predicted")
    return q


def rescore(path: Path, samples: int, per_label: int, schedule_seeds: int, benches=None) -> None:
    """Score the models of the rows the report shows again (quality, label and schedule figures; train times
    kept; only ``benches`` if given) and rewrite ``path``."""
    from mrgen_core.sampling import load_model

    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    last = {(r.get("bench"), r.get("preset"), r.get("seed")): r for r in rows}  # the rows the report shows
    for r in last.values():
        if r.get("bench") in (benches or ("single", "cmu131", "bandai")) and r.get("model") \
                and Path(r["model"]).exists():
            model, seed = load_model(r["model"]), int(r.get("seed") or 0)
            r.update(quality(model, int(r.get("samples", samples)), seed))
            if model.labels:
                r.update(label_accuracy(model, int(r.get("samples_per_label", per_label)), seed))
                r.update(schedule_accuracy(model, schedule_seeds, seed))
            print(r["bench"], r.get("preset"), r.get("seed"), "rescored", flush=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(path)


def features_by_label(refs) -> dict[str, list]:
    """The metrics' frame features of the training clips, grouped by each clip's dominant label."""
    from mrgen_core.metrics import motion_features

    by_label: dict[str, list] = {}
    for r in refs:
        by_label.setdefault(clip_label(r), []).append(motion_features(r))
    return by_label


def clip_label(r) -> str:
    """The label most of a training clip's frames carry."""
    names = [n for n in r.label_names() if n is not None]
    return max(set(names), key=names.count)


def nearest_label(motion, by_label: dict[str, list]) -> str:
    """The label whose training clips (``features_by_label``) are nearest to ``motion`` by local diversity."""
    from mrgen_core.metrics import local_diversity, motion_features

    f = motion_features(motion)
    d = {other: local_diversity(f, feats) for other, feats in by_label.items()}
    return min(d, key=d.get)


def label_accuracy(model, per_label: int, seed: int, seconds: float | None = None) -> dict:
    refs = model.training_motions()
    by_label = features_by_label(refs)
    right, total, per = 0, 0, {}
    from mrgen_core.clip_codes import public_labels

    for lab in public_labels(model):
        n_frames = int(round((seconds or np.mean([len(f) for f in by_label[lab]]) / model.fps) * model.fps))
        outs = _generate(model, frames=n_frames, seed=seed, labels=lab, num=per_label, noise="coarsest")
        ok = sum(int(nearest_label(m, by_label) == lab) for m in outs)
        per[lab] = ok / per_label
        right += ok
        total += per_label
    return dict(label_accuracy=right / total, per_label=per, samples_per_label=per_label)


def schedule_accuracy(model, seeds: int, seed: int, seconds: float = 4.0) -> dict:
    """Label schedules (issue 5): segments of ``seconds`` cycling through the labels, forward and backward. Per
    segment, the fraction of its 15-frame windows whose nearest training window (the metrics' frame distance) lies in
    a clip of the segment's own label rather than of another: over all frames, for every segment of every sample
    (the worst), per segment of the schedule pooled over its samples (the worst), and over the windows at least
    0.5 s from a switch; and the fastest joint within 0.5 s of a switch against the fastest joint of the training
    clips."""
    from mrgen_core.contacts import joint_speed
    from mrgen_core.metrics import LOCAL_WINDOW, motion_features, nearest_window_distances

    refs = model.training_motions()
    by_label = features_by_label(refs)
    train_max = max(float(joint_speed(m.joints(), m.fps).max()) for m in refs)
    from mrgen_core.clip_codes import public_labels

    names = list(public_labels(model))
    orders = [names + [names[0]], list(reversed(names)) + [names[-1]]]
    right = total = far_right = far_total = 0
    worst, switch_max = 1.0, 0.0
    pooled = {}  # (order, segment) -> [right, total]
    for o, order in enumerate(orders):
        sched = ",".join(f"{lab}:{k * seconds:g}-{(k + 1) * seconds:g}" for k, lab in enumerate(order))
        for m in _generate(model, labels=sched, seed=seed, num=seeds):
            f = motion_features(m)
            near = {lab: nearest_window_distances(f, feats) for lab, feats in by_label.items()}
            speed = joint_speed(m.joints(), m.fps)
            seg = int(round(seconds * m.fps))
            half = int(round(0.5 * m.fps))
            for i, lab in enumerate(order):
                w = np.arange(i * seg, (i + 1) * seg - LOCAL_WINDOW + 1)  # windows inside the segment
                others = np.min([near[other][w] for other in near if other != lab], axis=0)
                hit = near[lab][w] < others
                ok = int(hit.sum())
                right, total, worst = right + ok, total + len(w), min(worst, ok / len(w))
                pr = pooled.setdefault((o, i), [0, 0])
                pr[0], pr[1] = pr[0] + ok, pr[1] + len(w)
                far = (w >= i * seg + (half if i else 0)) & \
                    (w + LOCAL_WINDOW <= (i + 1) * seg - (half if i < len(order) - 1 else 0))
                far_right, far_total = far_right + int(hit[far].sum()), far_total + int(far.sum())
                if i:
                    switch_max = max(switch_max, float(speed[i * seg - half:i * seg + half].max()))
    per_segment = {f"{'>'.join(orders[o])}[{i}]": a / b for (o, i), (a, b) in pooled.items()}
    return dict(schedule_accuracy=right / total, schedule_worst_segment=worst,
                schedule_worst_pooled=min(per_segment.values()), schedule_by_segment=per_segment,
                schedule_away_from_switch=far_right / max(far_total, 1), schedule_switch_speed=switch_max,
                train_joint_speed_max=train_max, schedule_samples=seeds * len(orders))


def label_separability(refs) -> float | None:
    """How well the frame distance tells the labels apart on motion it has not seen: for every window of every
    training clip, is the nearest window among the *other* clips of its label nearer than among the clips of other
    labels? (None where no label has two clips.) A generated window is classified against clips that include its
    source, so this is the ceiling for windows that are new rather than copied."""
    from mrgen_core.metrics import motion_features, nearest_window_distances

    feats = [(motion_features(r), clip_label(r)) for r in refs]
    right = total = 0
    for k, (f, lab) in enumerate(feats):
        same = [g for j, (g, l2) in enumerate(feats) if l2 == lab and j != k]
        other = [g for g, l2 in feats if l2 != lab]
        if not same or not other:
            continue
        hit = nearest_window_distances(f, same) < nearest_window_distances(f, other)
        right, total = right + int(hit.sum()), total + len(hit)
    return right / total if total else None


def profile(preset: str, overrides: dict, steps: int = 30) -> None:
    """Where a training step's time goes: torch.profiler over ``steps`` steps at the coarsest, a middle and the
    finest level of the single-clip benchmark, grouped by the phases ``Trainer.step`` marks, plus the one-off
    costs of a level (data, bank of samples of the levels below)."""
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as tprofile

    from training.presets import get_preset
    from training.data import prepare
    from training.train import Trainer

    s = get_preset(preset, **overrides)
    torch.set_num_threads(int(s["threads"]) or os.cpu_count())
    gen = torch.Generator().manual_seed(0)
    model = prepare(load_clips(BENCHES["single"]["clips"]), s, generator=gen)
    tr = Trainer(model, s, gen, torch.device("cpu"))
    phases = ("batch", "G forward", "D step", "gradient penalty", "G step", "patch loss", "foot losses")
    print(f"preset {preset}: {model.num_levels} levels, lengths {model.lengths(model.clip_lengths[0])}")
    for level in sorted({0, model.num_levels // 2, model.num_levels - 1}):
        t = time.process_time()
        data, og, od = tr.start_level(level, None)
        t_setup = time.process_time() - t
        t = time.process_time()
        if level:
            data.make_bank(model, int(s["bank_frames"]), gen)
        t_bank = time.process_time() - t
        for it in range(3):
            tr.step(level, data, og, od, it)
        c = time.process_time()
        with tprofile(activities=[ProfilerActivity.CPU]) as prof:
            for it in range(steps):
                tr.step(level, data, og, od, it)
        per_step = (time.process_time() - c) / steps * 1000
        ev = {e.key: e for e in prof.key_averages()}
        parts = ", ".join(f"{p} {ev[p].cpu_time_total / 1000 / steps:.1f}" for p in phases if p in ev)
        top = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:6]
        ops = ", ".join(f"{e.key} {e.self_cpu_time_total / 1000 / steps:.1f}" for e in top)
        print(f"level {level}: step {per_step:.1f} ms CPU (profiled; ms per step: {parts}); top ops: {ops}; "
              f"level setup {t_setup * 1000:.0f} ms, bank {t_bank * 1000:.0f} ms (every {s['bank_refresh']} steps)")


TARGETS = "`fast` <= 180 s and `default` <= 600 s of training on `single`, generating 60 s < 1 s, coverage >= 95 %, " \
    "local diversity >= 1.0, global diversity >= 1.2, foot skating <= 1.5x the clip's, label accuracy >= 90 %, " \
    "label-schedule frames >= 90 % with switch speeds within the training range, training time sublinear in the motion"


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


def _num(v, fmt: str = ".2f") -> str:
    return "—" if v is None else format(v, fmt)


def report(results: list[dict]) -> str:
    """The BENCHMARKS.md section of these results (the last run of each bench, preset and seed)."""
    last = {}
    for r in results:
        last[(r["bench"], r.get("preset"), r.get("seed"))] = r
    order = {"fast": 0, "default": 1, "quality": 2}
    rows = sorted(last.values(), key=lambda r: (r["bench"] != "single", r["bench"], order.get(r.get("preset"), 3),
                                                r.get("seed") or 0))
    m = rows[0]["machine"] if rows else {}
    loads = sorted({x for r in rows for x in (r.get("load_before") or [0])[:1] + (r.get("load_after") or [0])[:1]})
    out = [f"## The model (issues 4 and 5, `python benchmarks/bench_train.py`)", "",
           f"Machine: {m.get('cpu')}, {m.get('cores')} cores, torch {m.get('torch')}, Python {m.get('python')}; one "
           "torch thread per run, runs alone or two side by side (1-minute load average "
           f"{loads[0] if loads else '?'}-{loads[-1] if loads else '?'}; per run in `benchmarks/results/model.jsonl`). "
           f"Dates: {min(r['machine']['date'] for r in rows)} to {max(r['machine']['date'] for r in rows)} UTC. "
           "Clips resampled to 30 fps; samples of twice the training length with noise at the coarsest level only "
           "(GANimator's protocol), scored against the training clips; raw model output unless marked cleanup "
           "(the default of `mrgen generate`). Commands: `--bench single --preset fast default quality "
           "[--seed N]`, `--bench cmu131 bandai --preset default`, `--bench scaling --preset fast`, each with `--json "
           "benchmarks/results/model.jsonl`; then `--report benchmarks/results/model.jsonl` writes this section. "
           "Where the time goes and why: `training/PROFILE.md`.", "",
           "| bench | preset, seed | train (CPU) | generate 60 s | coverage | local div. | global div. | foot skating cm/s "
           "raw -> cleanup (clip) | jitter m/s² (clip) | label accuracy | schedule frames (worst segment) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["bench"].startswith("scale"):
            continue
        skate = "—" if r.get("foot_skating") is None else \
            f"{r['foot_skating']:.1f} ({r['skating_ratio']:.2f}x) -> {r['foot_skating_cleanup']:.1f} " \
            f"({r['foot_skating_cleanup'] / r['foot_skating_ref']:.2f}x) ({r['foot_skating_ref']:.1f})"
        sched = "—" if r.get("schedule_accuracy") is None else \
            f"{_pct(r['schedule_accuracy'])} ({_pct(r['schedule_worst_segment'])})"
        out.append(f"| {r['bench']} | {r['preset']}, {r.get('seed', 0)} | {r['train_s']:.0f} s ({r['train_cpu_s']:.0f} s) | "
                   f"{r['generate_60s_s']:.2f} s | {_pct(r.get('coverage'))} | {_num(r.get('local_diversity'), '.3f')} | "
                   f"{_num(r.get('global_diversity'), '.3f')} | {skate} | {_num(r.get('jitter'), '.1f')} "
                   f"({_num(r.get('jitter_ref'), '.1f')}) | {_pct(r.get('label_accuracy'))} | {sched} |")
    cleaned = [r for r in rows if r.get("cleanup_contacts") == "predicted" and r["bench"] == "single"]
    if cleaned:
        out += ["", "The same samples as `mrgen generate` writes them by default (feet pinned on the model's predicted "
                "contacts):", "",
                "| bench | preset, seed | coverage | local div. | global div. | foot skating (x clip's) | jitter (x clip's) |",
                "|---|---|---|---|---|---|---|"]
        for r in cleaned:
            out.append(f"| {r['bench']} | {r['preset']}, {r.get('seed', 0)} | {_pct(r['coverage_cleanup'])} | "
                       f"{r['local_diversity_cleanup']:.3f} | {r['global_diversity_cleanup']:.3f} | "
                       f"{r['foot_skating_cleanup'] / r['foot_skating_ref']:.2f}x | "
                       f"{r['jitter_cleanup'] / r['jitter_ref']:.2f}x |")
    sched = [r for r in rows if r.get("schedule_accuracy") is not None]
    if sched:
        out += ["", "Label schedules (4 s segments cycling through the labels and back, each made under its own label "
                "and crossfaded at the switches as `mrgen generate` does; the table gives all frames and, in brackets, "
                "the worst segment of a single sample; `--rescore RESULTS.jsonl --bench cmu131 bandai` scores these "
                "again after a sampler change):"]
        for r in sched:
            line = f"- {r['bench']} ({r['preset']}, seed {r.get('seed', 0)}): fastest joint within 0.5 s of a switch " \
                   f"{r['schedule_switch_speed']:.1f} m/s (training clips' fastest {r['train_joint_speed_max']:.1f})"
            if r.get("schedule_worst_pooled") is not None:
                line += f"; worst segment of the schedule over its {r['schedule_samples'] // 2} samples " \
                        f"{_pct(r['schedule_worst_pooled'])}; frames at least 0.5 s from a switch " \
                        f"{_pct(r['schedule_away_from_switch'])}"
            if r.get("label_separability") is not None:
                line += f"; held-out training windows nearer the other clips of their label " \
                        f"{_pct(r['label_separability'])} (how well the frame distance tells the labels apart on " \
                        "motion it has not seen)"
            out.append(line + ".")
    scale = {r["bench"]: r for r in rows if r["bench"].startswith("scale")}
    if len(scale) == 2:
        a, b = scale["scale10"], scale["scale60"]
        out += ["", f"Scaling (`{a['preset']}`): {a['input_seconds']:.1f} s of motion trains in {a['train_s']:.0f} s, "
                f"{b['input_seconds']:.1f} s in {b['train_s']:.0f} s: {b['input_seconds'] / a['input_seconds']:.1f}x "
                f"the motion, {b['train_s'] / a['train_s']:.2f}x the time."]
    out += ["", f"Targets: {TARGETS}."]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", nargs="+", default=None, choices=[*BENCHES, "scaling"],
                    help="benches to run (default single), or to rescore (default all)")
    ap.add_argument("--preset", nargs="+", default=["fast", "default"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--per-label", type=int, default=10)
    ap.add_argument("--schedule-seeds", type=int, default=10, help="label-schedule samples per order")
    ap.add_argument("--override", default="{}", help="JSON dict of preset values to change (experiments)")
    ap.add_argument("--models", default=None, help="folder to keep the models in (default: a temp folder)")
    ap.add_argument("--json", default=None, help="append results (one JSON object per line) to this file")
    ap.add_argument("--model", default=None, help="evaluate this model (trained on --bench's clips) instead of training")
    ap.add_argument("--rescore", default=None, metavar="RESULTS.jsonl",
                    help="score the models of these results again (quality, label and schedule figures; after a "
                         "metric or sampler change)")
    ap.add_argument("--profile", action="store_true", help="profile training steps instead (see profile())")
    ap.add_argument("--report", default=None, metavar="RESULTS.jsonl",
                    help="write the model section of BENCHMARKS.md from these results (no training)")
    args = ap.parse_args(argv)
    overrides = json.loads(args.override)
    if args.report:
        from run import write_section

        results = [json.loads(line) for line in Path(args.report).read_text().splitlines() if line.strip()]
        write_section(REPO / "BENCHMARKS.md", "model", report(results))
        return 0
    if args.rescore:
        rescore(Path(args.rescore), args.samples, args.per_label, args.schedule_seeds, args.bench)
        return 0
    if args.profile:
        for p in args.preset:
            profile(p, overrides)
        return 0
    benches = []
    for b in args.bench or ["single"]:
        benches += ["scale10", "scale60"] if b == "scaling" else [b]
    folder = Path(args.models) if args.models else Path(tempfile.mkdtemp(prefix="mrgen_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(json.dumps(info))
    from mrgen_core.sampling import load_model

    runs = [(p, b) for p in args.preset for b in benches]
    if args.model:  # evaluate an existing model
        runs = [(None, benches[0])]
    for preset, b in runs:
        if preset is None:
            res = dict(bench=b, model=args.model)
        else:
            res = train_bench(b, preset, args.seed, overrides, folder)
        model = load_model(res["model"])
        res["generate_60s_s"] = round(generate_time(model), 3)
        res["generate_60s_raw_s"] = round(generate_time(model, **_raw_kw()), 3)
        res["levels"] = model.num_levels
        if b in ("single", "cmu131", "bandai"):
            res.update(quality(model, args.samples, args.seed))
        if model.labels:
            res.update(label_accuracy(model, args.per_label, args.seed))
            res.update(schedule_accuracy(model, args.schedule_seeds, args.seed),
                       label_separability=label_separability(model.training_motions()))
        res["machine"] = info
        emit(res, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
