"""Following a path (issue 16) with ``generate --path``: how closely, how naturally. A model trained with
``--path-control`` takes the trained route (``control``: the model steers, then a nudge onto the path; the rows
also give how far the model got alone), any other the model-agnostic warp.

For a model and a label, four timed paths at the gait's own speed (a path-controlled model: the median speed of
the label's clips where they move, the trained route's pace for untimed paths; any other: the pace the warp finds
in the model's gait of that label, forwards, on an untimed 10 m line: a speed the model makes), each
``--seconds`` long (default 15): a straight line, a circle of radius 2 m (walked round as often as the speed
allows), an S-curve (half circles of radius 2 m turning alternately left and right, as many as the time allows),
and a line with a 3 s stop in the middle; plus
a line at twice the fastest training speed (outside the range: what happens), and the S-curve untimed (walked at
the gait's own pace). ``--num`` seeds each. Per path:

- path error: horizontal distance of the pelvis from the path point of the same time, mean and max (cm);
- heading error: body facing against the path direction where the path moves, mean (degrees);
- foot skating (cm/s, :func:`mrgen_core.metrics.realism.foot_skating`) against the label's training clips';
- fastest joint (m/s) against the training clips' and unconstrained samples': the maximum, and the 99th percentile
  over frames of the fastest joint's speed (which does not grow with the length looked at); cadence (foot contact
  onsets per second) and root speed against an unconstrained sample of the same seed and length;
- coverage (the project's metric, against the label's training clips) of the path samples and of unconstrained
  samples of the same seeds and length; and its reverse, the share of a sample's own windows that lie as near some
  window of those clips as coverage asks (``plausible``): coverage asks a sample to hold all of the clips (a steady
  path cannot hold their starts, stops and turns), this asks only that what it holds be like them.

Usage::

    python benchmarks/bench_path.py MODEL.pt --label walk --json results.jsonl [--name NAME] [--num 3]
    python benchmarks/bench_path.py --report results.jsonl       # the `path` section of BENCHMARKS.md
    python benchmarks/bench_path.py --summary a.jsonl b.jsonl    # one line per model and label
    python benchmarks/bench_path.py MODEL.pt --recognise walk,hop   # is the label still recognised on a path?
    python benchmarks/bench_path.py MODEL.pt --label run --ease 2 --paths "line with a stop"   # generate --ease
    python benchmarks/bench_path.py MODEL.pt --label walk --speed 1.15 --json results.jsonl   # paths at 1.15 m/s

``--recognise``: for each label, ``--num`` seeds of an unconstrained sample and of the line and the S-curve; a
sample is recognised when its label's training clips are the nearest by local diversity (as
``bench_train.label_accuracy`` judges free samples).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

STOP_SECONDS = 3.0
RADIUS = 2.0


def _arc(radius: float, start: float, sweep: float, centre, n: int = 60) -> np.ndarray:
    a = start + np.linspace(0, sweep, n)
    return np.stack([centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a)], axis=1)


def make_paths(speed: float, seconds: float) -> dict:
    """The benchmark paths as (xy, times) at ``speed`` m/s for ``seconds``."""
    from mrgen_core.paths import check_path

    length = speed * seconds
    out = {"line": check_path([[0, 0], [length, 0]], [0, seconds])}
    turns = length / (2 * np.pi * RADIUS)
    circle = _arc(RADIUS, -np.pi / 2, 2 * np.pi * turns, (0, RADIUS), n=max(60, int(60 * turns)))
    out["circle r=2m"] = check_path(circle, np.linspace(0, seconds, len(circle)))
    s, k, reach = [np.array([[0.0, 0.0]])], 0, 0.0  # half circles turning alternately left and right
    while reach < length:
        centre = (RADIUS * (2 * k + 1), 0.0)
        s.append(_arc(RADIUS, np.pi, -np.pi if k % 2 == 0 else np.pi, centre)[1:])
        reach += np.pi * RADIUS
        k += 1
    s = np.concatenate(s)
    cum = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(s, axis=0), axis=1))])
    s = s[cum <= length + 1e-9]
    cum = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(s, axis=0), axis=1))])
    out["S-curve"] = check_path(s, cum / speed)
    walk = (seconds - STOP_SECONDS) / 2
    half = speed * walk
    out["line with a stop"] = check_path([[0, 0], [half, 0], [half, 0], [2 * half, 0]],
                                         [0, walk, walk + STOP_SECONDS, seconds])
    return out


def label_clips(model, label):
    motions = model.training_motions()
    if not label or not model.labels:
        return motions
    return [m for m in motions if m.labels is not None and (np.array(m.label_names()) == label).mean() > 0.5] \
        or motions


def cadence(motion) -> float:
    """Foot contact onsets (either ankle) per second."""
    from mrgen_core.contacts import foot_contacts

    c = foot_contacts(motion.joints(), motion.fps) > 0.5
    onsets = sum(int((np.diff(c[:, j].astype(int)) == 1).sum()) for j in (0, 2))
    return onsets / motion.duration


def root_speed(motion) -> float:
    p = motion.trans[:, :2]
    return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum() / motion.duration)


def joint_speeds(motion) -> np.ndarray:
    """The fastest joint's speed (m/s) at every frame."""
    from mrgen_core.contacts import joint_speed

    return joint_speed(motion.joints(), motion.fps).max(axis=1)


def fastest_joint(motion) -> float:
    return float(joint_speeds(motion).max())


def fast_p99(motions) -> float:
    """The 99th percentile over all frames of ``motions`` of the fastest joint's speed (m/s): unlike the maximum, it
    does not grow with the number of frames looked at (a 45 s sample meets extremes that a 3 s clip does not)."""
    return float(np.percentile(np.concatenate([joint_speeds(m) for m in motions]), 99))


def played_clips(model, label, motion) -> list[int] | None:
    """Indices into :func:`label_clips` of the clips whose codes a path sample toured (its ``clip_tour``, where the
    model chose them by the path's travel, :mod:`mrgen_core.path_codes`), else None."""
    from mrgen_core.control import parse_schedule

    tour = motion.meta.get("clip_tour")
    if not tour:
        return None
    codes = {lab for _, _, lab in parse_schedule(tour)}
    code_of = {c["name"]: model.labels[int(c["labels"][0])] for c in model.clips if c.get("labels") is not None}
    return [i for i, m in enumerate(label_clips(model, label)) if code_of.get(m.name) in codes] or None


def bench(model_path: str, name: str, label: str | None, seconds: float, num: int, ease: float = 0.0,
          only: list[str] | None = None, pace: float | None = None) -> list[dict]:
    """Rows of the path table for ``model_path`` (``ease``: ``generate --ease``; ``only``: these paths alone;
    ``pace``: the paths' speed (m/s) instead of the gait's)."""
    from mrgen_core import sampling
    from mrgen_core.metrics.coverage import coverage, plausible
    from mrgen_core.metrics.features import motion_features
    from mrgen_core.metrics.realism import foot_skating
    from mrgen_core.control import follows_paths
    from mrgen_core.path_follow import GaitStats, follow
    from mrgen_core.paths import check_path

    model = sampling.load_model(model_path)
    refs = label_clips(model, label)
    ref_feats = [motion_features(r) for r in refs]
    ref_skate = float(np.mean([foot_skating(r) or 0.0 for r in refs]))
    ref_fast = max(fastest_joint(r) for r in refs)
    free = [sampling.generate(model, seconds=seconds, labels=label, seed=k)[0] for k in range(num)]
    if follows_paths(model):  # the trained route's pace: the label's clips where they move (not the model's)
        speed = GaitStats.of(model, label).natural
    else:
        try:  # the pace the warp finds in the gait (forwards only): an untimed 10 m line at the gait's own pace
            probe = [follow(model, check_path([[0, 0], [10, 0]]), labels=label, seed=k)[0][0] for k in range(num)]
            speed = float(np.mean([10.0 / m.meta["path_seconds"] for m in probe]))
        except Exception:  # noqa: BLE001 - a gait that hardly travels: every path is refused below
            speed = float(np.mean([root_speed(m) for m in free]))
    if pace:
        speed = float(pace)
    fastest_clip = max(root_speed(r) for r in refs)
    free_feats = [motion_features(m) for m in free]
    free_cov = float(np.mean([coverage(f, ref_feats) for f in free_feats]))
    free_plaus = float(np.mean([plausible(f, ref_feats) for f in free_feats]))
    base = dict(model=name, label=label, seconds=seconds, num=num, gait_speed=round(speed, 3),
                train_skate=round(ref_skate, 2), train_fastest_joint=round(ref_fast, 2),
                free_coverage=round(free_cov, 4), free_plausible=round(free_plaus, 4),
                free_cadence=round(float(np.mean([cadence(m) for m in free])), 3),
                free_skate=round(float(np.mean([foot_skating(m) or 0.0 for m in free])), 2),
                free_fastest_joint=round(max(fastest_joint(m) for m in free), 2),
                train_fast_p99=round(fast_p99(refs), 2), free_fast_p99=round(fast_p99(free), 2))
    paths = make_paths(speed, seconds)
    paths["S-curve untimed (own pace)"] = check_path(paths["S-curve"].xy)
    fast = 2.0 * fastest_clip
    paths["line at 2x the fastest clip"] = check_path([[0, 0], [fast * seconds, 0]], [0, seconds])
    rows = []
    for pname, path in paths.items():
        if only and pname not in only:
            continue
        shifts = []
        errs, maxs, heads, skates, fastj, cads, speeds, covs, warns, done = [], [], [], [], [], [], [], [], [], []
        own, own_max, own_head, methods, steered, nudge, plaus = [], [], [], [], [], [], []
        played, free_played = [], []
        for k in range(num):
            try:
                motions, warnings = follow(model, path, labels=label, seed=k, ease=ease)
            except Exception as e:  # noqa: BLE001 - report a refusal as the result
                warns.append(f"refused: {e}")
                break
            m = motions[0]
            methods.append(m.meta["path_method"])
            if "ease" in m.meta:
                shifts.append(m.meta["ease"]["shift_cm"]["max"])
            if "model_path_error_cm" in m.meta:  # the trained route: how far the model got before the nudge
                own.append(m.meta["model_path_error_cm"]["mean"])
                own_max.append(m.meta["model_path_error_cm"]["max"])
                own_head.append(m.meta["model_heading_error_deg"])
                steered.append(m.meta["steered_path_error_cm"]["mean"])
                nudge.append(m.meta["nudge_deg"]["mean"])
            errs.append(m.meta["path_error_cm"]["mean"])
            maxs.append(m.meta["path_error_cm"]["max"])
            heads.append(m.meta["heading_error_deg"])
            skates.append(foot_skating(m) or 0.0)
            fastj.append(fastest_joint(m))
            done.append(m)
            cads.append(cadence(m))
            speeds.append(root_speed(m))
            feats = motion_features(m)
            covs.append(coverage(feats, ref_feats))
            plaus.append(plausible(feats, ref_feats))
            clips = played_clips(model, label, m)
            if clips:  # coverage of the clips it toured, and of the same clips by the free sample of its seed
                played.append(coverage(feats, [ref_feats[i] for i in clips]))
                free_played.append(coverage(free_feats[k], [ref_feats[i] for i in clips]))
            warns.extend(w for w in warnings if w not in warns)
        if ease:
            pname = f"{pname}, --ease {ease:g}" + (f" (up to {max(shifts):.0f} cm off its timing)" if shifts else "")
        row = dict(base, path=pname, path_seconds=round(m.meta["path_seconds"] if errs else path.duration or 0, 2),
                   path_length=round(path.length, 2), warnings=warns,
                   method=", ".join(f"{x} ({methods.count(x)}/{len(methods)})" if len(set(methods)) > 1 else x
                                    for x in sorted(set(methods))) or "-")
        if own:
            row.update(model_error_mean=round(float(np.mean(own)), 1), model_error_max=round(float(np.max(own_max)), 1),
                       model_heading=round(float(np.mean([h for h in own_head if h is not None] or [0])), 1),
                       steered_error_mean=round(float(np.mean(steered)), 1), nudge_deg=round(float(np.mean(nudge)), 1))
        if errs:
            row.update(error_mean=round(float(np.mean(errs)), 2), error_max=round(float(np.max(maxs)), 2),
                       heading=round(float(np.mean(heads)), 2), skate=round(float(np.mean(skates)), 2),
                       fastest_joint=round(float(np.max(fastj)), 2), cadence=round(float(np.mean(cads)), 3),
                       speed=round(float(np.mean(speeds)), 3), coverage=round(float(np.mean(covs)), 4),
                       plausible=round(float(np.mean(plaus)), 4),
                       fast_p99=round(fast_p99(done), 2))
        if played:
            row.update(played_coverage=round(float(np.mean(played)), 4),
                       free_played_coverage=round(float(np.mean(free_played)), 4), played_num=len(played))
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def recognise(model_path: str, labels: list[str], seconds: float, num: int, pace: float | None = None) -> dict:
    """Share of samples whose nearest label (local diversity to each label's clips) is their own: free, on paths."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_train import features_by_label, nearest_label

    from mrgen_core import sampling
    from mrgen_core.path_follow import GaitStats, follow

    model = sampling.load_model(model_path)
    by_label = features_by_label(model.training_motions())

    out = {}
    for lab in labels:
        paths = make_paths(pace or GaitStats.of(model, lab).natural, seconds)
        free = [sampling.generate(model, seconds=seconds, labels=lab, seed=s, cleanup=False)[0] for s in range(num)]
        free = [nearest_label(m, by_label) == lab for m in free]
        on_path = [nearest_label(follow(model, paths[p], labels=lab, seed=s)[0][0], by_label) == lab
                   for s in range(num) for p in ("line", "S-curve")]
        out[lab] = dict(free=float(np.mean(free)), path=float(np.mean(on_path)))
    return out


def report(rows: list[dict]) -> str:
    def f(x, d=1):
        return "-" if x is None else f"{x:.{d}f}"

    def alone(r):
        if "model_error_mean" not in r:
            return "-"
        return (f"{f(r['model_error_mean'], 0)} / {f(r['model_error_max'], 0)}, {f(r['model_heading'], 0)}; "
                f"{f(r.get('steered_error_mean'), 0)}; {f(r.get('nudge_deg'), 0)}")

    def fastest(r):
        cell = f"{f(r['fastest_joint'])} ({f(r['train_fastest_joint'])}, {f(r.get('free_fastest_joint'))})"
        if "fast_p99" in r:  # rows measured since the percentile was added
            cell += f"; p99 {f(r['fast_p99'])} ({f(r['train_fast_p99'])}, {f(r['free_fast_p99'])})"
        return cell

    def plausible_cell(r):
        cell = f"; {f(100 * r['plausible'])} ({f(100 * r['free_plausible'])})" if "plausible" in r else ""
        if "played_coverage" in r:  # a label of several clips, toured by the path's travel (path_codes)
            cell += f"; of the clips played {f(100 * r['played_coverage'])} ({f(100 * r['free_played_coverage'])})"
        return cell

    out = ["| model (label), gait speed | path | route | path error mean / max (cm) | heading error (deg) | model "
           "alone: path error mean / max (cm), heading (deg); steered (cm); nudge (deg) | foot skating (cm/s; "
           "clips') | fastest joint (m/s; clips', free; p99: 99th percentile over frames, where measured) | "
           "cadence (/s; free) | coverage % (free); plausible windows %, where measured (free); coverage of the clips "
           "it played, for a label of several clips (free sample of the seed, of the same clips) |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error_mean" not in r:
            out.append(f"| {r['model']} ({r['label']}), {r['gait_speed']:.2f} m/s | {r['path']} | "
                       f"{r.get('method', 'warp')} | {'; '.join(r['warnings'])} | | | | | | |")
            continue
        out.append(f"| {r['model']} ({r['label']}), {r['gait_speed']:.2f} m/s | {r['path']} ({r['path_seconds']:g} s,"
                   f" {r['path_length']:g} m) | {r.get('method', 'warp')} | {f(r['error_mean'])} / {f(r['error_max'])} | "
                   f"{f(r['heading'])} | {alone(r)} | "
                   f"{f(r['skate'])} ({f(r['train_skate'])}) | {fastest(r)}"
                   f" | {f(r['cadence'], 2)} ({f(r['free_cadence'], 2)}) | {f(100 * r['coverage'])} "
                   f"({f(100 * r['free_coverage'])}){plausible_cell(r)} |")
    return "\n".join(out)


def summary(rows: list[dict]) -> str:
    """One line per model and label over its paths inside the speed range (the line at 2x the fastest clip left
    out): the model alone (mean path error of the uncorrected pass, per path, over the seeds that steered), the paths
    where a seed handed over to the warp, and the worst path of each figure against its target."""
    def f(x, d=1):
        return "-" if x is None else f"{x:.{d}f}"

    out = ["| model (label) | model alone, mean path error per path (cm) | paths with a warp hand-over | path error "
           "mean / max, worst path (cm) | heading, worst (deg) | foot skating / clips', worst | fastest joint / "
           "clips', worst: max, p99 | paths with coverage within 5 points of free | plausible windows, worst path "
           "(free) |",
           "|---|---|---|---|---|---|---|---|---|"]
    def plaus(rs):
        rs = [r for r in rs if "plausible" in r]
        if not rs:
            return "-"
        worst = min(rs, key=lambda r: r["plausible"])
        return f"{f(100 * worst['plausible'], 0)} % ({f(100 * worst['free_plausible'], 0)} %)"

    groups: dict[tuple, list] = {}
    for r in rows:
        if "2x" not in r["path"] and "error_mean" in r:
            groups.setdefault((r["model"], r["label"]), []).append(r)
    for (model, label), rs in groups.items():
        alone = sorted(r["model_error_mean"] for r in rs if "model_error_mean" in r)
        p99 = [r["fast_p99"] / r["train_fast_p99"] for r in rs if "fast_p99" in r]
        out.append(
            f"| {model} ({label}) | {', '.join(f(a, 0) for a in alone) or '-'} | "
            f"{sum('warp' in r['method'] for r in rs)} of {len(rs)} | {f(max(r['error_mean'] for r in rs))} / "
            f"{f(max(r['error_max'] for r in rs))} | {f(max(r['heading'] for r in rs))} | "
            f"{f(max(r['skate'] / r['train_skate'] for r in rs), 2)}x | "
            f"{f(max(r['fastest_joint'] / r['train_fastest_joint'] for r in rs), 2)}x, "
            f"{f(max(p99), 2) + 'x' if p99 else '-'} | "
            f"{sum(r['coverage'] >= r['free_coverage'] - 0.05 for r in rs)} of {len(rs)} | {plaus(rs)} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="path following (the warp fallback)")
    ap.add_argument("model", nargs="?")
    ap.add_argument("--name")
    ap.add_argument("--label")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--num", type=int, default=3)
    ap.add_argument("--json", help="append results (one JSON object per line)")
    ap.add_argument("--report", metavar="RESULTS.jsonl")
    ap.add_argument("--summary", metavar="RESULTS.jsonl", nargs="+", help="one line per model and label")
    ap.add_argument("--recognise", metavar="LABELS", help="comma-separated labels: label recognition with a path")
    ap.add_argument("--ease", type=float, default=0.0, help="generate --ease S: the paths' speed changes eased")
    ap.add_argument("--paths", help="comma-separated path names: these alone (e.g. 'line with a stop')")
    ap.add_argument("--speed", type=float, help="pace the paths at this speed (m/s) instead of the gait's")
    args = ap.parse_args(argv)
    if args.summary:
        print(summary([json.loads(line) for p in args.summary for line in Path(p).read_text().splitlines()
                       if line.strip()]))
        return 0
    if args.report:
        rows = [json.loads(line) for line in Path(args.report).read_text().splitlines() if line.strip()]
        print(report(rows))
        return 0
    if not args.model:
        ap.error("give a MODEL.pt (or --report RESULTS.jsonl)")
    import torch

    torch.set_num_threads(1)
    if args.recognise:
        res = recognise(args.model, args.recognise.split(","), args.seconds, args.num, args.speed)
        for lab, r in res.items():
            print(f"{lab}: recognised free {100 * r['free']:.0f} %, on paths {100 * r['path']:.0f} %")
        n = len(res)
        print(f"all: free {100 * sum(r['free'] for r in res.values()) / n:.0f} %, "
              f"on paths {100 * sum(r['path'] for r in res.values()) / n:.0f} %")
        return 0
    rows = bench(args.model, args.name or Path(args.model).stem, args.label, args.seconds, args.num, args.ease,
                 args.paths.split(",") if args.paths else None, args.speed)
    if args.json:
        with open(args.json, "a") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
    print(report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
