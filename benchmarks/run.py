"""One command for the evaluation benchmarks: for a list of clips, train a model (when the model package exists),
sample it with GANimator's protocol, score the samples; run the sanity baselines and the metrics speed benchmark;
write it all, with machine, date and commit, into this script's section of ``BENCHMARKS.md``.

Usage: ``python benchmarks/run.py [CLIP.bvh ...] [--samples 5] [--repeats 3] [--no-train] [--preset default]``
(clips default to CMU 05_06 and 02_01, read at 30 fps; relative paths are taken under ``shared/data/raw``).
Timings are medians of ``--repeats`` runs (training: one run).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for p in (str(REPO), str(REPO / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

import numpy as np  # noqa: E402

import bench_metrics  # noqa: E402
from baselines import (DEFAULT_CLIPS, FPS, load_clips, markdown_table, noise_copies, run_baselines,  # noqa: E402
                       turn_scale, turn_scale_table)
from mrgen_core.atomic import atomic_path  # noqa: E402
from mrgen_core.metrics import evaluate, feature_metrics, motion_features  # noqa: E402
from mrgen_core.skeleton import NUM_JOINTS  # noqa: E402

SECTION = "metrics"
TITLE = "Metrics: speed, sanity baselines, trained models (issue 3, `benchmarks/run.py`)"
HEADER = """# Benchmarks

Figures measured by the scripts in `benchmarks/`, with machine, date and commit. Each section belongs to one
script, which rewrites only the text between its own `<!-- BEGIN name -->` / `<!-- END name -->` markers
(`write_section` in `benchmarks/run.py`); add a new section with new markers.
"""


# --- report plumbing (usable by other benchmark scripts) ----------------------------------------------------------
def write_section(path: str | Path, name: str, body: str) -> None:
    """Replace (or append) the ``name`` section of a Markdown report, leaving other sections as they are; atomic."""
    path = Path(path)
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    text = path.read_text() if path.exists() else HEADER
    block = f"{begin}\n{body.strip()}\n{end}"
    if begin in text and end in text and text.index(begin) < text.index(end):
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def cpu_name() -> str:
    """The CPU model (from /proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """CPU model, core count, OS and library versions, in one line."""
    return (f"{cpu_name()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python "
            f"{platform.python_version()}, numpy {np.__version__}")


def commit() -> str:
    """Short git commit of the repository, marked when the working tree has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True,
                               check=True).stdout.strip()
        return head + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# --- trained models --------------------------------------------------------------------------------------------
def model_rows(clips, num: int, repeats: int, preset: str, seed: int = 0) -> tuple[list[dict], str]:
    """Train one model per clip, sample ``num`` motions of twice its length, score them. Returns (rows, note);
    the note explains why there are no rows when the model package is missing."""
    try:
        from training.train import train
        from mrgen_core.sampling import generate, load_model, reconstruct
    except ImportError as e:
        return [], f"no trained-model rows: the model package (training.train, mrgen_core.sampling; issue 4) is " \
                   f"not available yet ({e})"
    from tqdm import tqdm

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for clip in clips:
            out = Path(tmp) / f"{clip.name or 'clip'}.pt"
            bar = tqdm(total=1000, desc=f"training on {clip.name}", file=sys.stderr, leave=False)

            def progress(fraction, message="", bar=bar):
                bar.n = round(fraction * 1000)
                bar.set_postfix_str(str(message)[:40])
                bar.refresh()

            t0 = time.perf_counter()
            train([clip], out, preset=preset, seed=seed, progress=progress)
            train_s = time.perf_counter() - t0
            bar.close()
            model = load_model(out)
            refs = model.training_motions()  # what `mrgen eval --model` scores against
            frames = 2 * sum(r.num_frames for r in refs)
            times, samples = [], None
            for _ in range(repeats):
                t0 = time.perf_counter()
                samples = generate(model, frames=frames, seed=seed, num=num, noise="coarsest")
                times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            res = evaluate(samples, refs, reconstructions=reconstruct(model))
            rows.append({"clip": clip.name, "baseline": f"model ({preset})", "samples": len(samples),
                         "frames": frames, "seconds": time.perf_counter() - t0, "train_s": train_s,
                         "sample_s": statistics.median(times), **res})
    return rows, ""


def model_table(rows: list[dict]) -> str:
    lines = ["| clip | preset | train s | sample s (all samples, median) | reconstruction error cm (pose only) |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['clip']} | {r['baseline']} | {r['train_s']:.0f} | {r['sample_s']:.2f} | "
              f"{r['reconstruction_error']:.2f} ({r['reconstruction_pose_error']:.2f}) |" for r in rows]
    return "\n".join(lines)


def contact_share(clip, degrees: float = 2.0, num: int = 5, seed: int = 0) -> dict:
    """For noise copies: the fraction of contact flags that still agree with the clip's, and local diversity with
    and without the 4 contact channels (how much of a noisy sample's score the contacts make)."""
    contacts = slice(NUM_JOINTS * 6, NUM_JOINTS * 6 + 4)  # after the rotations, before the yaw rate
    rf = motion_features(clip)
    rest = np.delete(np.arange(rf.shape[1]), np.arange(rf.shape[1])[contacts])
    agree, full, rot = [], [], []
    for m in noise_copies(clip, degrees, num, seed):
        f = motion_features(m)
        agree.append(float((f[:, contacts] == rf[:, contacts]).mean()))
        full.append(feature_metrics(f, [rf])["local_diversity"])
        rot.append(feature_metrics(f[:, rest], [rf[:, rest]])["local_diversity"])
    return {"clip": clip.name, "degrees": degrees, "agree": float(np.mean(agree)), "local": float(np.mean(full)),
            "local_rotations": float(np.mean(rot))}


# --- main ---------------------------------------------------------------------------------------------------------
def report(args, speed: dict, base: list[dict], shares: list[dict], note: str, model_part: str,
           turns: list[dict] = ()) -> str:
    """The Markdown section."""
    date = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f"## {TITLE}",
        f"Machine: {machine()}. Date: {date}. Commit: {commit()}. 1-minute load average {os.getloadavg()[0]:.2f} "
        "(other jobs on the machine slow the timings). Command: `python benchmarks/run.py "
        f"{' '.join(args.clips)} --samples {args.samples} --repeats {args.repeats}"
        f"{' --no-train' if args.no_train else f' --preset {args.preset}'}`.",
        "### Speed",
        f"All metrics of `evaluate` (kinematics, features, contacts, coverage, both diversities, foot skating, "
        f"jitter of sample and reference) for one {speed['sample_frames']}-frame sample against an "
        f"{speed['reference_frames']}-frame reference, single process: **{speed['evaluate_s']:.3f} s** (median of "
        f"{speed['repeats']}; target < 3 s). Parts: features {speed['features_s']:.3f} s, coverage + diversities "
        f"{speed['windowed_s']:.3f} s, skating + jitter {speed['realism_s']:.3f} s "
        "(`python benchmarks/bench_metrics.py`).",
        "### Sanity baselines",
        "What the figures mean, read on the training clips themselves (`benchmarks/baselines.py`): `copy` is the "
        "clip itself; `shuffle` cuts it into 1 s or 0.5 s chunks and plays two random permutations end to end (twice "
        "the length, as samples are); `noise` adds per-frame Gaussian rotation noise to every joint. Coverage: "
        "30-frame windows, threshold 2.0; local diversity: 15-frame windows; global diversity: segments >= 30 "
        "frames. `no turning` holds the clip's heading at its first frame's (same poses, never turning). Coverage "
        "and diversities on the fair features (heading removed, yaw rate kept: the default), GANimator's literal "
        "ones (with the heading), and, for coverage, the pose-only features the fair ones replaced (heading "
        "removed, no yaw rate; see `mrgen_core/metrics/features.py`). Foot skating and jitter: samples, then the "
        "training clip in parentheses. Eval s: one `evaluate` call (both feature sets) on the whole set, median.",
    ]
    if note:
        parts.append(f"Note: {note}.")
    parts.append(markdown_table(base))
    parts.append("Contacts are recomputed from the kinematics, so per-frame rotation noise also flips them (a foot "
                 "faster than 0.5 m/s is not in contact), and they make up much of a jittery sample's diversity: "
                 + "; ".join(f"{s['clip']} with {s['degrees']:g} deg noise: {s['agree'] * 100:.0f} % of the contact "
                             f"flags still agree, local diversity {s['local']:.2f} ({s['local_rotations']:.2f} "
                             "from the rotations alone)" for s in shares) + ".")
    parts.append("The yaw-rate channel of the fair features: the heading's change over 0.2 s (rad/s) times 0.5 s "
                 "(`mrgen_core/metrics/features.py`). Why 0.5 s: a yaw-rate difference that starts aligned builds up "
                 "that much heading offset on average over a 30-frame (1 s) coverage window, and the literal features "
                 "charge a heading offset about what a joint rotated by the same angle costs; so a turn weighs what "
                 "the rotation it makes in half a window would weigh on a joint (90 deg/s: 0.79 per frame; 360 deg/s: "
                 "3.1, above the 2.0 coverage threshold alone). Against the joints' own rotation changes over the "
                 "same 0.5 s, a typical turn weighs like the change of a joint that moves; the dance 05_06 spins "
                 "(`benchmarks/baselines.py` `turn_scale`):")
    parts.append(turn_scale_table(list(turns)))
    parts.append("### Trained models")
    parts.append(model_part)
    return "\n\n".join(parts)


def model_part(rows: list[dict], note: str, args) -> str:
    if not rows:
        return note + "."
    return "\n\n".join([
        f"One model per clip (preset `{args.preset}`); {args.samples} samples each, twice the clip length, seed "
        f"{args.seed}, noise at the coarsest level only (GANimator's protocol), scored against the model's training "
        "clips; reconstruction error: G(z*) against its clip.",
        markdown_table(rows), model_table(rows)])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="evaluation benchmarks -> BENCHMARKS.md")
    ap.add_argument("clips", nargs="*", default=list(DEFAULT_CLIPS))
    ap.add_argument("--samples", type=int, default=5, help="samples per baseline / model (default 5)")
    ap.add_argument("--repeats", type=int, default=3, help="timing repeats, the median is reported (default 3)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="default", help="training preset (default: default)")
    ap.add_argument("--no-train", action="store_true", help="skip training models (baselines and speed only)")
    ap.add_argument("--fps", type=float, default=FPS)
    ap.add_argument("--out", default=str(REPO / "BENCHMARKS.md"))
    args = ap.parse_args(argv)
    clips, note = load_clips(args.clips, args.fps)
    speed = bench_metrics.measure(3600, 1800, args.repeats)
    base = [r for c in clips for r in run_baselines(c, args.samples, args.seed, args.repeats)]
    shares = [contact_share(c, 2.0, args.samples, args.seed) for c in clips]
    turns = [turn_scale(c) for c in clips]
    pending = "no trained-model rows: --no-train given." if args.no_train else \
        f"training models (preset `{args.preset}`) ... (this text is replaced when training ends)"
    body = report(args, speed, base, shares, note, pending, turns)
    write_section(args.out, SECTION, body)  # the quick figures first: training takes long
    print(body)
    print(f"\nwrote section '{SECTION}' of {args.out}", flush=True)
    if args.no_train:
        return 0
    try:
        rows, mnote = model_rows(clips, args.samples, args.repeats, args.preset, args.seed)
    except Exception as e:  # a bug in the model package: keep the other figures, say what failed
        traceback.print_exc()
        rows, mnote = [], f"training or sampling failed: {type(e).__name__}: {e}"
        write_section(args.out, SECTION, report(args, speed, base, shares, note, model_part(rows, mnote, args), turns))
        print(f"\n{mnote}\nwrote section '{SECTION}' of {args.out}")
        return 1
    part = model_part(rows, mnote, args)
    write_section(args.out, SECTION, report(args, speed, base, shares, note, part, turns))
    print("\n" + part + f"\n\nwrote section '{SECTION}' of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
