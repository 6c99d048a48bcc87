"""Directing the motion (issue 15): seamless loops, key poses, kept frames and in-place root motion on trained models.

- ``loop``: per model and request, ``--num`` loops (seeds 0..) as ``mrgen generate --loop`` makes them (foot cleanup
  on). Seam jump: mean joint position change from the last frame to the first of the next cycle (placed on by the
  root offset, estimated from the steps either side of the seam as ``mrgen preview --repeat`` and the add-on's
  closing key do), against the loop's own 95th percentile of frame-to-frame change; seam acceleration (mean joint
  second difference at the two frames either side of the seam) against its own 99th percentile. Coverage and
  diversity of the loops against the same number of non-looped samples of the same length and seeds (scored against
  the training clips of the label).
- ``keys``: key poses taken from a held-back part of the training clip and from another clip of the same label:
  pose error at the keyed frames (pelvis-relative joints in the heading frame, cm), with ``key_root`` the world error
  too; the fastest joint within 0.5 s of a key against the training clips' fastest joint.
- ``keep``: ``blend --keep-frames``: world joint error on the kept frames, fastest joint near the range ends.
- ``in_place``: horizontal root travel (max distance of the pelvis from its start, mm) and foot skating relative to
  the body (feet minus the pelvis's ground position, on the keep result's contacts) in-place against keep.

Usage::

    python benchmarks/bench_direct.py loops MODEL.pt --label walk --cycles 4 --json results.jsonl
    python benchmarks/bench_direct.py loops MODEL.pt --seconds 8 --json results.jsonl
    python benchmarks/bench_direct.py keys MODEL.pt --held CLIP.bvh:180 --other CLIP2.bvh --label walk --json ...
    python benchmarks/bench_direct.py in-place MODEL.pt --label walk --json ...
    python benchmarks/bench_direct.py --report results.jsonl       # the `direct` section of BENCHMARKS.md
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for p in (str(REPO), str(REPO / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

SECTION = "direct"


# --- measures -----------------------------------------------------------------------------------------------------
def seam(motion) -> dict:
    """Seam jump and acceleration of a loop against its own percentiles (three copies, the middle one measured)."""
    from mrgen_core.loops import repeat

    t = motion.num_frames
    j = repeat(motion, 3).joints()
    steps = np.linalg.norm(np.diff(j, axis=0), axis=-1).mean(axis=1)
    acc = np.linalg.norm(np.diff(j, 2, axis=0), axis=-1).mean(axis=1)
    own_steps = np.linalg.norm(np.diff(motion.joints(), axis=0), axis=-1).mean(axis=1)
    own_acc = acc[t:2 * t - 2]  # the middle copy's accelerations at its own frames (not at its seams)
    jump, a = float(steps[2 * t - 1]), float(max(acc[2 * t - 2], acc[2 * t - 1]))
    return dict(jump=jump, p95=float(np.percentile(own_steps, 95)), acc=a, p99=float(np.percentile(own_acc, 99)))


def max_speed(motion) -> np.ndarray:
    """Fastest joint per frame (T,), m/s."""
    return (np.linalg.norm(np.gradient(motion.joints(), axis=0), axis=-1) * motion.fps).max(axis=1)


def local_joints(motion) -> np.ndarray:
    """Joints relative to the pelvis in its heading frame."""
    from mrgen_core.features import heading
    from mrgen_core.geometry import rz
    from mrgen_core.rotations import axis_angle_to_matrix

    j = motion.joints()
    yaw = heading(axis_angle_to_matrix(motion.poses[:, 0]))
    return np.einsum("tji,tkj->tki", rz(yaw), j - j[:, :1])


def label_clips(model, label: str | None):
    motions = model.training_motions()
    if not label or not model.labels:
        return motions
    out = [m for m in motions if m.labels is not None and (np.array(m.label_names()) == label).mean() > 0.5]
    return out or motions


# --- the four parts -----------------------------------------------------------------------------------------------
def bench_loops(model, name: str, label: str | None, seconds: float | None, cycles: int | None, num: int) -> dict:
    from mrgen_core.directing import cycles_seconds
    from mrgen_core.metrics import evaluate
    from mrgen_core.sampling import generate

    if cycles:
        seconds = cycles_seconds(model, cycles, label)
    frames = int(round(seconds * model.fps))
    looped = [generate(model, frames=frames, seed=s, labels=label, loop=True)[0] for s in range(num)]
    plain = [generate(model, frames=frames, seed=s, labels=label)[0] for s in range(num)]
    seams = [seam(m) for m in looped]
    refs = label_clips(model, label)
    ev_loop, ev_plain = evaluate(looped, refs), evaluate(plain, refs)
    pick = ("coverage", "global_diversity", "local_diversity")
    return dict(part="loop", model=name, label=label or "", cycles=cycles or 0, seconds=round(seconds, 3),
                frames=frames, num=num,
                jump_ok=sum(s["jump"] <= s["p95"] for s in seams), acc_ok=sum(s["acc"] <= s["p99"] for s in seams),
                jump_ratio=[round(s["jump"] / s["p95"], 3) for s in seams],
                acc_ratio=[round(s["acc"] / s["p99"], 3) for s in seams],
                looped={k: ev_loop[k] for k in pick}, plain={k: ev_plain[k] for k in pick})


def bench_keys(model, name: str, label: str, held: str, other: str, num: int) -> list[dict]:
    from mrgen_core.motion_files import load_motion
    from mrgen_core.keys import KeyPoses
    from mrgen_core.sampling import generate

    path, _, start = held.partition(":")
    held_m = load_motion(path, fps=model.fps)
    held_m = held_m.slice(int(start or 0)).copy(name=f"{Path(path).stem}[{start}:]")
    other_m = load_motion(other, fps=model.fps)
    train_max = max(float(max_speed(m).max()) for m in model.training_motions())
    rows = []
    for src in (held_m, other_m):
        last = src.num_frames - 1
        cases = [("3 keys over 10 s, pose", [0, last // 2, last], [0, 150, 299], False, 300),
                 ("3 keys, pose + root", [0, last // 2, last], None, True, src.num_frames)]
        for what, frames, at, root, n in cases:
            errs, werrs, near_max, raw_max = [], [], [], []
            for s in range(num):
                kp = KeyPoses(src, frames, root, at)
                out = generate(model, frames=n, seed=s, labels=label, keys=kp)[0]
                raw = generate(model, frames=n, seed=s, labels=label, keys=kp, cleanup=False)[0]
                when = at or frames
                errs.append(float(np.linalg.norm(local_joints(out)[when] - local_joints(src)[frames], axis=-1).mean()))
                if root:
                    werrs.append(float(np.linalg.norm(out.joints()[when] - src.joints()[frames], axis=-1).mean()))
                near = np.zeros(n, dtype=bool)
                for f in when:
                    near[max(0, f - int(0.5 * model.fps)):f + int(0.5 * model.fps) + 1] = True
                near_max.append(float(max_speed(out)[near].max()))
                raw_max.append(float(max_speed(raw)[near].max()))
            rows.append(dict(part="keys", model=name, keys_from=src.name, case=what, num=num,
                             pose_error_cm=100 * float(np.mean(errs)), pose_error_max_cm=100 * float(np.max(errs)),
                             world_error_cm=100 * float(np.mean(werrs)) if werrs else None,
                             near_speed_max=max(near_max), near_speed_raw_max=max(raw_max), train_speed_max=train_max,
                             speed_ok=sum(v <= train_max for v in near_max)))
    return rows


def bench_keep(model, name: str, label: str, source: str, ranges: str, num: int) -> dict:
    from mrgen_core.blend_directed import blend
    from mrgen_core.motion_files import load_motion
    from mrgen_core.keys import parse_frame_ranges

    src = load_motion(source, fps=model.fps)
    kept = np.concatenate([np.arange(a, b + 1) for a, b in parse_frame_ranges(ranges)])
    ends = np.concatenate([[a, b] for a, b in parse_frame_ranges(ranges)])
    near = np.zeros(src.num_frames, dtype=bool)
    for f in ends:
        near[max(0, f - 15):f + 16] = True
    train_max = max(float(max_speed(m).max()) for m in model.training_motions())
    errs, speeds = [], []
    for s in range(num):
        out = blend(model, src, 0, keep_frames=ranges, seed=s, labels=label)[0]
        errs.append(float(np.linalg.norm(out.joints()[kept] - src.joints()[kept], axis=-1).max()))
        speeds.append(float(max_speed(out)[near].max()))
    return dict(part="keep", model=name, source=src.name, ranges=ranges, num=num, kept_error_max_mm=1000 * max(errs),
                near_speed_max=max(speeds), train_speed_max=train_max)


def bench_in_place(model, name: str, label: str | None, seconds: float, num: int) -> dict:
    from mrgen_core.contacts import foot_contacts
    from mrgen_core.metrics.realism import foot_skating_joints
    from mrgen_core.root_motion import in_place
    from mrgen_core.sampling import generate

    travel, rel_keep, rel_place, world_keep = [], [], [], []
    for s in range(num):
        keep = generate(model, seconds, seed=s, labels=label)[0]
        still = in_place(keep)  # what --root in-place does to the same sample
        jk, js = keep.joints(), still.joints()
        travel.append(float(np.linalg.norm(js[:, 0, :2] - js[0, 0, :2], axis=-1).max()))
        contacts = foot_contacts(jk, keep.fps)

        def body(j):
            out = j.copy()
            out[..., :2] -= j[:, :1, :2]
            return out

        rel_keep.append(foot_skating_joints(body(jk), keep.fps, contacts) or 0.0)
        rel_place.append(foot_skating_joints(body(js), keep.fps, contacts) or 0.0)
        world_keep.append(foot_skating_joints(jk, keep.fps) or 0.0)
    return dict(part="in_place", model=name, label=label or "", seconds=seconds, num=num,
                travel_max_mm=1000 * max(travel), body_skate_keep=float(np.mean(rel_keep)),
                body_skate_in_place=float(np.mean(rel_place)), world_skate_keep=float(np.mean(world_keep)))


# --- report -------------------------------------------------------------------------------------------------------
#: What the loop rows say (written with the table; keep it true when the models change).
LOOP_NOTE = (
    "Met: every seam within the clip's own p95 (jump) and p99 (acceleration) on all 30 loops. Coverage within 3 "
    "points: met on 05_06 and 02_01; not on the shipped walk (12.4 against 26.3 %): its model learns each of the "
    "four walk clips under a code of its own (label codes, 2026-12-06), and a loop follows one of them, picked by "
    "the seed, repeating one cycle, where a plain sample of the same 4.4 s tours two of them (the model before "
    "label codes, which hardly travelled, covered 33.3 % both ways). Not met: diversity within 0.1 - loops are "
    "*more* diverse than plain samples on 05_06 (global 1.47 vs 1.16, local 1.45 vs 1.11) and 02_01 (0.60 vs "
    "0.44): circular synthesis gives the level-0 noise no ends to settle at, and the plain samples' ends repeat the "
    "clip's start; the shipped walk's loops less (local 1.09 vs 1.12), as they repeat one clip. Models: `default` "
    "preset, seed 0, trained on this shared machine (05_06 full, 02_01 full, 131_01's first 190 frames at 30 fps, "
    "the rest held back for the key poses); the shipped model (its rows since 2026-12-07 16:20 UTC: the model "
    "retrained with the clip ends, with the loop's seam placed as far from the feet's contact changes as the "
    "period allows where no frame lies a cleanup fade from all of them; before that placement seed 3's seam, on "
    "a contact change, came out at 1.12x its p95 step and 1.45x its p99 acceleration after the foot cleanup, "
    "0.86x and 0.22x raw). The 05_06 and 02_01 rows are older than that placement, which moves only such loops.")


def report(rows: list[dict]) -> str:
    def f(x, d=2):
        return "—" if x is None else f"{x:.{d}f}"

    lines = ["## Loops, key poses, kept frames, in-place root (issue 15, `benchmarks/bench_direct.py`)", "",
             "### Loop seams", "",
             "10 loops per row (seeds 0-9), `mrgen generate --loop` (foot cleanup on). Seam jump: mean joint position "
             "change from the last frame into the next cycle's first (root offset estimated from the steps either "
             "side, as `mrgen preview --repeat` does) against the loop's own 95th percentile of frame-to-frame change "
             "(target: within). Seam acceleration against its own 99th percentile (target: within). Coverage / "
             "global / local diversity of the loops and of non-looped samples of the same length and seeds, against "
             "the label's training clips (target: within 3 points / 0.1).", "",
             "| model | label | length | jump <= p95 | jump / p95 (median, max) | acc. <= p99 | acc. / p99 (median, "
             "max) | coverage loop / plain | global div. | local div. | machine, date |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r["part"] == "loop"):
        length = f"{r['cycles']} cycles ({r['seconds']:.2f} s)" if r["cycles"] else f"{r['seconds']:g} s"
        lo, pl = r["looped"], r["plain"]
        lines.append(
            f"| {r['model']} | {r['label'] or '—'} | {length} | {r['jump_ok']}/{r['num']} | "
            f"{np.median(r['jump_ratio']):.2f}, {max(r['jump_ratio']):.2f} | {r['acc_ok']}/{r['num']} | "
            f"{np.median(r['acc_ratio']):.2f}, {max(r['acc_ratio']):.2f} | "
            f"{100 * lo['coverage']:.1f} / {100 * pl['coverage']:.1f} % | "
            f"{lo['global_diversity']:.2f} / {pl['global_diversity']:.2f} | "
            f"{lo['local_diversity']:.2f} / {pl['local_diversity']:.2f} | {r['machine']['cpu']}, {r['machine']['date']} |")
    lines += ["", LOOP_NOTE, "", "### Key poses and kept frames", "",
              "Key poses hit by `mrgen generate --keys` (10 samples per row, foot cleanup on): pose error at the keyed "
              "frames (joints relative to the pelvis in its heading frame; target <= 2 cm), world error with "
              "`--key-root`, and the fastest joint within 0.5 s of a key against the training clips' fastest (target: "
              "never above; raw: the same without foot cleanup). `blend --keep-frames` (keep-levels 0): the largest "
              "world joint error on the kept frames, the fastest joint within 0.5 s of a range end.", "",
              "| model | keys from | case | pose error cm (mean, max) | world error cm | fastest joint near keys m/s "
              "(raw) | training max m/s | within | machine, date |", "|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r["part"] == "keys"):
        lines.append(f"| {r['model']} | {r['keys_from']} | {r['case']} | {f(r['pose_error_cm'], 3)}, "
                     f"{f(r['pose_error_max_cm'], 3)} | {f(r['world_error_cm'], 3)} | {f(r['near_speed_max'])} "
                     f"({f(r['near_speed_raw_max'])}) | {f(r['train_speed_max'])} | {r['speed_ok']}/{r['num']} | "
                     f"{r['machine']['cpu']}, {r['machine']['date']} |")
    for r in (r for r in rows if r["part"] == "keep"):
        lines.append(f"| {r['model']} | {r['source']} (blend) | keep {r['ranges']} | — | kept frames max "
                     f"{r['kept_error_max_mm'] / 10:.3f} | {f(r['near_speed_max'])} | {f(r['train_speed_max'])} | "
                     f"{'yes' if r['near_speed_max'] <= r['train_speed_max'] else 'no'} | {r['machine']['cpu']}, "
                     f"{r['machine']['date']} |")
    lines += ["", "### In-place root", "",
              "10 samples per row: the pelvis's largest horizontal distance from its start with `--root in-place` "
              "(target < 1 mm), foot skating relative to the body (cm/s; feet less the pelvis's ground position, on "
              "the keep result's contacts) in-place and keep (target: in-place no more), and keep's world foot "
              "skating for scale.", "",
              "| model | label | travel mm | body-relative skating in-place / keep cm/s | world skating (keep) | "
              "machine, date |", "|---|---|---|---|---|---|"]
    for r in (r for r in rows if r["part"] == "in_place"):
        lines.append(f"| {r['model']} | {r['label'] or '—'} | {r['travel_max_mm']:.3f} | "
                     f"{r['body_skate_in_place']:.2f} / {r['body_skate_keep']:.2f} | {r['world_skate_keep']:.2f} | "
                     f"{r['machine']['cpu']}, {r['machine']['date']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="loops, key poses, kept frames, in-place root")
    ap.add_argument("part", nargs="?", choices=("loops", "keys", "keep", "in-place"))
    ap.add_argument("model", nargs="?")
    ap.add_argument("--name", help="model name in the report (default: the file's)")
    ap.add_argument("--label")
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--cycles", type=int)
    ap.add_argument("--num", type=int, default=10)
    ap.add_argument("--held", help="CLIP:START: the held-back part of a training clip (keys)")
    ap.add_argument("--other", help="another clip of the same label (keys; the blend source for keep)")
    ap.add_argument("--ranges", default="0-30,150-194", help="kept frame ranges (keep)")
    ap.add_argument("--json", help="append results (one JSON object per line) to this file")
    ap.add_argument("--report", metavar="RESULTS.jsonl", help="write the direct section of BENCHMARKS.md from these")
    args = ap.parse_args(argv)
    from bench_train import emit, machine
    from run import write_section

    if args.report:
        rows = [json.loads(line) for line in Path(args.report).read_text().splitlines() if line.strip()]
        write_section(REPO / "BENCHMARKS.md", SECTION, report(rows))
        return 0
    if not (args.part and args.model):
        ap.error("give a part and a model (or --report)")
    import torch

    from mrgen_core.sampling import load_model

    torch.set_num_threads(1)
    model = load_model(args.model)
    name = args.name or Path(args.model).stem
    if args.part == "loops":
        rows = [bench_loops(model, name, args.label, args.seconds, args.cycles, args.num)]
    elif args.part == "keys":
        rows = bench_keys(model, name, args.label, args.held, args.other, args.num)
    elif args.part == "keep":
        rows = [bench_keep(model, name, args.label, args.other, args.ranges, args.num)]
    else:
        rows = [bench_in_place(model, name, args.label, args.seconds or 8.0, args.num)]
    for row in rows:
        emit(dict(row, machine=machine()), args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
