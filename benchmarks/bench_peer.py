"""mrgen and GenMM side by side on the same clips, scored by the same ``mrgen eval`` (issue 17).

GenMM (Li et al., SIGGRAPH 2023, https://github.com/wyysf-98/GenMM) is training-free motion matching. Nothing of it
is in this repository and nothing is downloaded: point the benchmark at a local checkout and a Python that has its
dependencies (torch, unfoldNd, pyyaml, tqdm, imageio), e.g.

    git clone https://github.com/wyysf-98/GenMM /tmp/GenMM && git -C /tmp/GenMM checkout fae65cd
    python -m venv /tmp/genmm-venv && /tmp/genmm-venv/bin/pip install torch==2.13.0 unfoldNd pyyaml tqdm imageio
    export GENMM_DIR=/tmp/GenMM GENMM_PYTHON=/tmp/genmm-venv/bin/python
    .venv/bin/python benchmarks/bench_peer.py --bench single cmu131 --models /tmp/models \
        --json benchmarks/results/peer.jsonl
    .venv/bin/python benchmarks/bench_peer.py --report benchmarks/results/peer.jsonl   # writes BENCHMARKS.md

(``--genmm DIR`` / ``--genmm-python PY`` instead of the environment variables.) One run, one machine, per bench:

1. the training clips (``../shared/data/raw``) as mrgen sees them, written as 30 fps BVH on the SMPL skeleton
   (``mrgen export --fps 30``): GenMM gets exactly the motion mrgen trains on;
2. GenMM (``benchmarks/genmm_driver.py`` under ``GENMM_PYTHON``, its default settings) draws ``--samples``
   syntheses of twice the clips' total length; ``mrgen import`` reads them back; ``mrgen eval --samples-dir``
   scores them against the original clips;
3. the mrgen model ``MODELS/<bench>_<preset>_<seed>.pt`` (trained with ``mrgen train`` into that path, timed, when
   it is not there yet; ``--set KEY=VALUE`` trains it with settings over the preset, recorded in its rows) is scored
   by ``mrgen eval --model`` (the same protocol: ``--samples`` samples of twice the clips' length, noise at the
   coarsest level), as users get it (feet cleaned up) and raw (``--no-cleanup``).

Every row has coverage and both diversities on the fair and on GANimator's literal features, foot skating and
jitter (and the clips' own), and times: GenMM's synthesis of one sample (in process, median), mrgen's training
(when this run trained it) and its sampling of one protocol-length sample (in process, median). Times are only
comparable from one quiet machine; both run on one CPU thread.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
DATA = Path(os.environ.get("MRGEN_DATA", REPO.parent / "shared" / "data" / "raw"))
CMU_MB = "cmu_mocap/cgspeed_motionbuilder"
CMU_3D = "cmu_mocap/cgspeed_3dsmax"
CMU131 = [f"{CMU_3D}/131_01.bvh", f"{CMU_3D}/131_02.bvh", f"{CMU_3D}/131_03.bvh"]
#: bench -> clips, labels for mrgen (GenMM has none), and the GenMM run it shares with another bench
BENCHES = {
    "single": dict(clips=[f"{CMU_MB}/05_06.bvh"], labels=None, genmm="single"),
    "cmu131": dict(clips=CMU131, labels=["walk", "walk", "hop"], genmm="cmu131"),
    "cmu131u": dict(clips=CMU131, labels=None, genmm="cmu131"),
    # the shipped default model (training/recipes/default_model.sh): scored as it is, never trained here
    "shipped": dict(clips=[f"{CMU_MB}/02_01.bvh", f"{CMU_3D}/131_01.bvh", f"{CMU_3D}/131_02.bvh",
                           "cmu_mocap/iclone_cc_rig/007_01.bvh", "cmu_mocap/iclone_cc_rig/002_03.bvh",
                           f"{CMU_3D}/131_03.bvh", f"{CMU_MB}/01_01.bvh", "cmu_mocap/iclone_cc_rig/002_04.bvh",
                           "cmu_mocap/iclone_cc_rig/002_05.bvh", f"{CMU_MB}/05_06.bvh",
                           "cmu_mocap/secondlife_salsa_pair/60_12_scaled.bvh",
                           "cmu_mocap/secondlife_salsa_pair/61_12_scaled.bvh"],
                    labels=["walk", "walk", "walk", "walk", "run", "hop", "jump", "jump", "punch", "dance", "salsa",
                            "salsa"], genmm="shipped", model=REPO / "mrgen_core" / "models" / "default.pt"),
}
FPS = 30.0


def mrgen(*args: str, log: Path | None = None) -> None:
    """Run the ``mrgen`` command line (this interpreter) and fail loudly with its output."""
    cmd = [sys.executable, "-m", "mrgen_core", *map(str, args)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if log is not None:
        with open(log, "a") as fh:
            fh.write(f"$ {' '.join(cmd)}\n{res.stdout}{res.stderr}\n")
    if res.returncode != 0:
        raise SystemExit(f"bench_peer: `mrgen {' '.join(map(str, args))}` failed ({res.returncode}):\n"
                         f"{res.stdout}{res.stderr}")


def figures(path: Path) -> dict:
    """The comparable figures of an ``mrgen eval --json`` file."""
    res = json.loads(path.read_text())
    keys = ("coverage", "global_diversity", "local_diversity")
    return dict(fair={k: res["fair"][k] for k in keys}, literal={k: res["literal"][k] for k in keys},
                foot_skating=res["foot_skating"], jitter=res["jitter"],
                foot_skating_ref=res["reference"]["foot_skating"],
                jitter_ref=res["reference"]["jitter"], samples=res["num_samples"],
                frames=res["per_sample"][0]["frames"])


def load_avg() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def machine() -> dict:
    import platform

    import torch
    from run import cpu_name

    return dict(cpu=cpu_name(), cores=os.cpu_count(), torch=torch.__version__, python=platform.python_version(),
                date=time.strftime("%Y-%m-%d %H:%M", time.gmtime()))


def git_commit(path: Path) -> str | None:
    res = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return res.stdout.strip() or None if res.returncode == 0 else None


def run_genmm(name: str, clips: list[Path], work: Path, genmm: Path, python: str, samples: int, seed: int,
              log: Path) -> dict:
    """GenMM on the clips (as 30 fps SMPL BVH), its outputs imported and scored by ``mrgen eval``."""
    src = work / "clips"
    src.mkdir(parents=True, exist_ok=True)
    smpl = []
    for c in clips:
        out = src / f"{c.stem}.bvh"
        if not out.exists():
            mrgen("export", c, "-o", out, "--fps", FPS, log=log)
        smpl.append(out)
    bvh_dir, npz_dir = work / f"genmm_{name}_bvh", work / f"genmm_{name}_npz"
    npz_dir.mkdir(parents=True, exist_ok=True)
    before = load_avg()
    t0 = time.perf_counter()
    res = subprocess.run([python, str(REPO / "benchmarks" / "genmm_driver.py"), "--genmm", str(genmm), "--out",
                          str(bvh_dir), "--samples", str(samples), "--seed", str(seed), *map(str, smpl)],
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    with open(log, "a") as fh:
        fh.write(f"$ genmm_driver {name}\n{res.stdout[-4000:]}{res.stderr[-4000:]}\n")
    if res.returncode != 0:
        raise SystemExit(f"bench_peer: GenMM failed on {name} ({res.returncode}):\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    for f in out["files"]:
        mrgen("import", f, "-o", npz_dir / (Path(f).stem + ".npz"), "--fps", FPS, log=log)
    scores = work / f"genmm_{name}.json"
    mrgen("eval", "--samples-dir", npz_dir, "--reference", *clips, "--fps", FPS, "--json", scores, log=log)
    return dict(tool="GenMM", commit=git_commit(genmm), sample_s=statistics.median(out["seconds"]),
                genmm_wall_s=round(wall, 1), load_before=before, load_after=load_avg(), **figures(scores))


def run_mrgen(name: str, spec: dict, clips: list[Path], models: Path, preset: str, seed: int, samples: int,
              work: Path, log: Path, overrides: dict | None = None) -> list[dict]:
    """The mrgen model of this bench (trained here when missing, timed, with ``overrides`` (checked settings) as
    ``--set`` over the preset), scored by ``mrgen eval --model``."""
    model = spec.get("model") or models / f"{name}_{preset}_{seed}.pt"
    if spec.get("model"):
        preset, seed = "shipped", 0
    train = {}
    if not model.exists():
        models.mkdir(parents=True, exist_ok=True)
        labels = [a for lab in spec["labels"] for a in ("--label", lab)] if spec["labels"] else []
        from training.launch import plan
        from training.presets import get_preset

        overrides = overrides or {}
        procs = plan(None, "cpu", int(get_preset(preset, **overrides)["batch"]))  # what `mrgen train` runs by default
        settings = [f"{k}={json.dumps(v)}" for k, v in overrides.items()]
        sets = [a for kv in settings for a in ("--set", kv)]
        before = load_avg()
        t0 = time.perf_counter()
        mrgen("train", *clips, *labels, "--preset", preset, "--seed", seed, *sets, "-o", model, log=log)
        train = dict(train_s=round(time.perf_counter() - t0, 1), train_load_before=before,
                     train_load_after=load_avg(), procs=procs)
        if settings:
            train["settings"] = ", ".join(settings)
    rows = []
    for cleanup in (True, False):
        scores = work / f"mrgen_{name}_{preset}_{seed}{'' if cleanup else '_raw'}.json"
        extra = [] if cleanup else ["--no-cleanup"]
        before = load_avg()
        mrgen("eval", "--model", model, "--samples", samples, "--seed", 0, "--json", scores, *extra, log=log)
        rows.append(dict(tool="mrgen", preset=preset, seed=seed, cleanup=cleanup, model=str(model),
                         load_before=before, load_after=load_avg(), **train, **figures(scores)))
    rows[0]["sample_s"] = sample_time(model, rows[0]["frames"])
    return rows


def sample_time(model: Path, frames: int, repeats: int = 5) -> float:
    """Median seconds to draw one sample of ``frames`` frames (noise at the coarsest level), model loaded."""
    from mrgen_core.sampling import generate, load_model

    m = load_model(model)
    generate(m, frames=frames, seed=0, noise="coarsest")
    times = []
    for k in range(repeats):
        t0 = time.perf_counter()
        generate(m, frames=frames, seed=k, noise="coarsest")
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def emit(row: dict, json_path: str | None) -> None:
    print(json.dumps(row), flush=True)
    if json_path:
        with open(json_path, "a") as fh:
            fh.write(json.dumps(row) + "\n")


# --- report --------------------------------------------------------------------------------------------------------
def _pct(v) -> str:
    return "—" if v is None else f"{v * 100:.1f} %"


def _num(v, fmt: str = ".2f") -> str:
    return "—" if v is None else format(v, fmt)


def _ratio(v, ref) -> str:
    return "—" if v is None or not ref else f"{v:.1f} ({v / ref:.2f}x)"


def report(rows: list[dict]) -> str:
    """The peer section of BENCHMARKS.md from result rows."""
    head = ("| bench | tool | samples | coverage fair / literal | local div. fair / literal | "
            "global div. fair / literal | "
            "foot skating cm/s (x clip's) | jitter m/s² (x clip's) | train | one sample |\n"
            "|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    order = {b: k for k, b in enumerate(BENCHES)}
    rows = sorted(rows, key=lambda r: (order.get(r["bench"], 99), r["tool"] != "GenMM", r.get("seed", 0),
                                       not r.get("cleanup", True)))
    for r in rows:
        if r["tool"] == "GenMM":
            tool = f"GenMM {r.get('commit') or ''}".strip()
            train = "none"
        else:
            tool = (f"mrgen {'shipped model' if r['preset'] == 'shipped' else r['preset'] + ', seed ' + str(r['seed'])}"
                    f"{'' if r['cleanup'] else ', raw'}")
            train = f"{r['train_s']:.0f} s" if r.get("train_s") else r.get("train_note", "(earlier)")
            if r.get("procs"):
                train += f", {r['procs']} proc{'s' if r['procs'] > 1 else ''}"
        f, lit = r["fair"], r["literal"]
        lines.append(
            f"| {r['bench']} | {tool} | {r['samples']} | {_pct(f['coverage'])} / {_pct(lit['coverage'])} | "
            f"{_num(f['local_diversity'])} / {_num(lit['local_diversity'])} | "
            f"{_num(f['global_diversity'])} / {_num(lit['global_diversity'])} | "
            f"{_ratio(r['foot_skating'], r['foot_skating_ref'])} | {_ratio(r['jitter'], r['jitter_ref'])} | "
            f"{train} | {_num(r.get('sample_s'), '.2f') + ' s' if r.get('sample_s') else '—'} |")
    m = rows[0]["machine"]
    targets = target_lines(rows)
    dates = sorted({r["machine"]["date"] for r in rows})
    loads = [v for r in rows for v in (r.get("load_before") or [])[:1]]
    return "\n".join([
        "## mrgen and GenMM side by side (issue 17, `python benchmarks/bench_peer.py`)",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, Python {m['python']}; one torch thread for "
        f"both tools. Dates (UTC): {dates[0]} to {dates[-1]}; 1-minute load average {min(loads):.2f}-{max(loads):.2f} "
        "(other jobs shared the 2 cores: times are indicative only, quality figures are not affected). Rows in "
        "`benchmarks/results/peer.jsonl`. GenMM is not part of this repository and nothing is downloaded at run "
        "time: point the benchmark at a local checkout and a Python with GenMM's dependencies:",
        "",
        "```sh",
        "git clone https://github.com/wyysf-98/GenMM /tmp/GenMM && git -C /tmp/GenMM checkout fae65cd",
        "python -m venv /tmp/genmm-venv && /tmp/genmm-venv/bin/pip install torch==2.13.0 unfoldNd pyyaml tqdm imageio",
        "export GENMM_DIR=/tmp/GenMM GENMM_PYTHON=/tmp/genmm-venv/bin/python   # or --genmm DIR --genmm-python PY",
        ".venv/bin/python benchmarks/bench_peer.py --bench single cmu131 cmu131u --seed 0 1 2 3 "
        "--models /tmp/models \\",
        "    --json benchmarks/results/peer.jsonl           # trains missing models into /tmp/models, one at a time",
        ".venv/bin/python benchmarks/bench_peer.py --no-genmm --bench shipped --samples 10 "
        "--json benchmarks/results/peer.jsonl",
        ".venv/bin/python benchmarks/bench_peer.py --genmm-only --bench single cmu131 "
        "--json new.jsonl   # GenMM's rows alone (e.g. after a metric change)",
        ".venv/bin/python benchmarks/bench_peer.py --report benchmarks/results/peer.jsonl   # rewrites this section",
        "```",
        "",
        "GenMM commits after fae65cd (2025-01, keyframe-guided generation) break its random synthesis "
        "(`GenMM.KEYFRAME_INDICES` undefined); `benchmarks/genmm_driver.py` then sets an empty keyframe slice.",
        "",
        "Both tools get the same clips at 30 fps (GenMM reads them as BVH on the SMPL skeleton, as `mrgen export` "
        "writes them, so it sees exactly what mrgen trains on), draw samples of twice the clips' total length "
        "(mrgen: noise at the coarsest level only, GANimator's protocol; GenMM: its default settings, no IK "
        "post-process), and are scored by the same `mrgen eval` against the original clips. A labelled mrgen "
        "model (cmu131: walk, walk, hop; the shipped model: 7 labels) is scored label by label, as `mrgen eval` "
        "does: the samples under each label (2x that label's length) against the parts of the clips with it, "
        "coverage weighted by their windows (GenMM has no labels: its samples against all clips; cmu131u is the "
        "same clips unlabelled, which `default` learns with clip codes: each clip under a label of its own, each "
        "free sample visiting every clip in turn, scored like GenMM's against all clips). GenMM fae65cd stops on the shipped model's 12 clips (its coarsest level is "
        "shorter than one 11-frame patch for the 43-frame run, with either coarse-level setting of its config), "
        "so that row has no peer. *fair*: heading "
        "removed, turning (yaw rate) kept, mrgen's default; *literal*: GANimator's features, which published "
        "figures (GANimator 97.2 % / 1.29 global / 1.19 local on its own data) use. mrgen rows as `mrgen generate` "
        "writes them (feet cleaned up on the predicted contacts), and raw. GenMM's *one sample* is its synthesis "
        "in process; mrgen's is sampling one protocol-length sample with the model loaded.",
        "",
        *lines,
        "",
        *targets,
    ])


#: Issue 17's targets for the `default` preset (4 seeds each; fair features unless stated).
COVERAGE_TARGET, LOCAL_TARGET, GLOBAL_TARGET, LITERAL_TARGET = 0.97, 1.0, 1.1, 0.90


def target_lines(rows: list[dict]) -> list[str]:
    """Which of issue 17's quality targets the mrgen rows (as users get them: feet cleaned up) meet."""
    out = ["Targets (issue 17; `default` preset, 4 seeds each, fair features unless stated): coverage >= 97 % on "
           "every seed with local diversity >= 1.0 and global >= 1.1 at once (ahead of GenMM on both axes), on "
           "05_06, on 131_01-03 unlabelled and labelled, and for the shipped 12-clip model; literal coverage >= 90 % "
           "on 05_06.", "",
           "| bench | seeds measured | coverage fair | local / global div. | seeds meeting all three | literal "
           "coverage |", "|---|---|---|---|---|---|"]
    for bench in BENCHES:
        rs = [r for r in rows if r["bench"] == bench and r["tool"] == "mrgen" and r["cleanup"]]
        if not rs:
            continue
        cov = [r["fair"]["coverage"] for r in rs]
        loc = [r["fair"]["local_diversity"] for r in rs]
        glo = [r["fair"]["global_diversity"] for r in rs]
        lit = [r["literal"]["coverage"] for r in rs]
        met = sum(c >= COVERAGE_TARGET and a >= LOCAL_TARGET and b >= GLOBAL_TARGET for c, a, b in zip(cov, loc, glo))
        seeds = ", ".join(str(r["seed"]) for r in rs) if rs[0]["preset"] != "shipped" else "shipped model"
        rng = lambda v, f: f(min(v)) if len(v) == 1 else f"{f(min(v))}-{f(max(v))}"  # noqa: E731
        pct = lambda v: f"{v * 100:.2f} %"  # noqa: E731
        num = lambda v: f"{v:.2f}"  # noqa: E731
        lit_cell = rng(lit, pct) + (f" (target 90 %: {sum(v >= LITERAL_TARGET for v in lit)} of {len(lit)})"
                                    if bench == "single" else "")
        out.append(f"| {bench} | {seeds} | {rng(cov, pct)} | {rng(loc, num)} / {rng(glo, num)} | "
                   f"{met} of {len(rs)} | {lit_cell} |")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", nargs="+", default=["single", "cmu131"], choices=list(BENCHES))
    ap.add_argument("--genmm", default=os.environ.get("GENMM_DIR"), help="GenMM checkout (or $GENMM_DIR)")
    ap.add_argument("--genmm-python", default=os.environ.get("GENMM_PYTHON"),
                    help="Python with GenMM's dependencies (or $GENMM_PYTHON; default: this one)")
    ap.add_argument("--models", default=None, help="folder of mrgen models <bench>_<preset>_<seed>.pt (trained "
                                                   "there when missing; default: a temp folder)")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--seed", type=int, nargs="+", default=[0], help="mrgen training seeds")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="training setting over the preset for models trained here (recorded in the rows)")
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--genmm-seed", type=int, default=0)
    ap.add_argument("--no-genmm", action="store_true", help="score only the mrgen models")
    ap.add_argument("--genmm-only", action="store_true", help="score only GenMM (no mrgen model is trained or scored)")
    ap.add_argument("--work", default=None, help="folder for the clips, samples and eval files (default: temp)")
    ap.add_argument("--json", default=None, help="append result rows (JSON lines) to this file")
    ap.add_argument("--report", default=None, metavar="RESULTS.jsonl",
                    help="write the BENCHMARKS.md section from a results file and stop")
    args = ap.parse_args(argv)
    if args.report:
        from run import write_section

        rows = [json.loads(line) for line in Path(args.report).read_text().splitlines() if line.strip()]
        write_section(REPO / "BENCHMARKS.md", "peer", report(rows))
        print(f"wrote the peer section of {REPO / 'BENCHMARKS.md'} from {len(rows)} rows")
        return 0
    from mrgen_core.errors import MrgenError
    from training.presets import parse_setting

    try:  # a bad setting is refused before any work
        overrides = dict(parse_setting(kv, args.preset) for kv in args.set)
    except MrgenError as e:
        ap.error(str(e))
    if args.no_genmm and args.genmm_only:
        ap.error("--no-genmm and --genmm-only leave nothing to run")
    genmm = None
    if not args.no_genmm:
        if not args.genmm:
            ap.error("give the GenMM checkout: --genmm DIR or GENMM_DIR (or --no-genmm)")
        genmm = Path(args.genmm).resolve()
        if not (genmm / "GenMM.py").is_file():
            ap.error(f"--genmm {genmm}: not a GenMM checkout (no GenMM.py)")
    python = args.genmm_python or sys.executable
    work = Path(args.work or tempfile.mkdtemp(prefix="mrgen_peer_"))
    work.mkdir(parents=True, exist_ok=True)
    models = Path(args.models) if args.models else work / "models"
    log = work / "commands.log"
    info = machine()
    done_genmm = set()
    for name in args.bench:
        spec = BENCHES[name]
        clips = [DATA / c for c in spec["clips"]]
        for c in clips:
            if not c.is_file():
                raise SystemExit(f"bench_peer: {c}: clip not found (set MRGEN_DATA)")
        if genmm is not None and spec["genmm"] not in done_genmm:
            done_genmm.add(spec["genmm"])
            row = run_genmm(spec["genmm"], clips, work, genmm, python, args.samples, args.genmm_seed, log)
            emit(dict(bench=spec["genmm"], machine=info, **row), args.json)
        for seed in ([] if args.genmm_only else args.seed if "model" not in spec else [0]):
            for row in run_mrgen(name, spec, clips, models, args.preset, seed, args.samples, work, log,
                                 overrides):
                emit(dict(bench=name, machine=info, **row), args.json)
    print(f"work folder: {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
