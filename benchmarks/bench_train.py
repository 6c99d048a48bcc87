"""Benchmark training and sampling: train time per preset, generate time, quality and label accuracy.

    .venv/bin/python benchmarks/bench_train.py --bench single --preset fast default
    .venv/bin/python benchmarks/bench_train.py --bench cmu131 bandai --preset default
    .venv/bin/python benchmarks/bench_train.py --bench scaling --preset fast

Benchmarks (clips from ../shared/data/raw, resampled to 30 fps):

- ``single``: CMU 05_06 (modern dance, 7.4 s). 20 samples of twice the clip's length, noise at the coarsest
  level only (GANimator's protocol): coverage, local / global diversity, foot skating vs the clip's own, jitter.
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


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return dict(cpu=cpu, cores=os.cpu_count(), torch=torch.__version__, python=platform.python_version(),
                date=time.strftime("%Y-%m-%d %H:%M"))


def load_clips(paths: list[str], fps: float = 30.0):
    from mrgen_core.io import load_motion

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
    """GANimator's protocol on the model's own output (no foot cleanup), plus foot skating after cleanup."""
    from mrgen_core.metrics import evaluate
    from mrgen_core.sampling import reconstruct

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
             reconstruction_cm=res.get("reconstruction_error"), samples=samples, frames=frames)
    try:
        from mrgen_core.cleanup import cleanup_feet
    except ImportError:
        return q
    cleaned = evaluate([cleanup_feet(m) for m in out], refs)
    q.update(foot_skating_cleanup=cleaned["foot_skating"], coverage_cleanup=cleaned["coverage"],
             jitter_cleanup=cleaned["jitter"])
    return q


def label_accuracy(model, per_label: int, seed: int, seconds: float | None = None) -> dict:
    from mrgen_core.metrics import local_diversity, motion_features

    refs = model.training_motions()
    by_label: dict[str, list] = {}
    for r in refs:
        names = [n for n in r.label_names() if n is not None]
        by_label.setdefault(max(set(names), key=names.count), []).append(motion_features(r))
    right, total, per = 0, 0, {}
    for lab in model.labels:
        n_frames = int(round((seconds or np.mean([len(f) for f in by_label[lab]]) / model.fps) * model.fps))
        outs = _generate(model, frames=n_frames, seed=seed, labels=lab, num=per_label, noise="coarsest")
        ok = 0
        for m in outs:
            f = motion_features(m)
            d = {other: local_diversity(f, feats) for other, feats in by_label.items()}
            ok += int(min(d, key=d.get) == lab)
        per[lab] = ok / per_label
        right += ok
        total += per_label
    return dict(label_accuracy=right / total, per_label=per, samples_per_label=per_label)


def profile(preset: str, overrides: dict, steps: int = 30) -> None:
    """Where a training step's time goes: torch.profiler over ``steps`` steps at the coarsest, a middle and the
    finest level of the single-clip benchmark, grouped by the phases ``Trainer.step`` marks, plus the one-off
    costs of a level (data, bank of samples of the levels below)."""
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as tprofile

    from training.presets import get_preset
    from training.train import Trainer, prepare

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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", nargs="+", default=["single"], choices=[*BENCHES, "scaling"])
    ap.add_argument("--preset", nargs="+", default=["fast", "default"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--per-label", type=int, default=10)
    ap.add_argument("--override", default="{}", help="JSON dict of preset values to change (experiments)")
    ap.add_argument("--models", default=None, help="folder to keep the models in (default: a temp folder)")
    ap.add_argument("--json", default=None, help="append results (one JSON object per line) to this file")
    ap.add_argument("--model", default=None, help="evaluate this model (trained on --bench's clips) instead of training")
    ap.add_argument("--profile", action="store_true", help="profile training steps instead (see profile())")
    args = ap.parse_args(argv)
    overrides = json.loads(args.override)
    if args.profile:
        for p in args.preset:
            profile(p, overrides)
        return 0
    benches = []
    for b in args.bench:
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
        res["machine"] = info
        print(json.dumps(res), flush=True)
        if args.json:
            with open(args.json, "a") as fh:
                fh.write(json.dumps(res) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
