"""Blender add-on speed: batched key writing, and how long the UI thread is blocked during a Generate.

Run in the bpy venv (the worker runs in the torch venv, ``$MRGEN_WORKER_PYTHON`` or ``.venv/bin/python``):

    .venv-bpy/bin/python benchmarks/bench_blender.py [--model MODEL.pt] [--repeats 7]

Targets (issue 6): writing 10 s at 30 fps of keys on the SMPL armature < 0.5 s; no poll step of a running Generate
(the work one modal TIMER event does) longer than 0.1 s. Without ``--model`` a tiny model is trained first (a few
seconds, with the torch venv). Prints medians, the keyframe_insert baseline and the ratio.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TMP = Path(tempfile.mkdtemp(prefix="mrgen-bench-"))
os.environ.setdefault("BLENDER_USER_RESOURCES", str(TMP / "user"))
sys.path.insert(0, str(REPO))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from mrgen_core.motion_files import load_motion  # noqa: E402
from mrgen_core.retarget.target import motion_to_smpl_rig  # noqa: E402
from mrgen_core.skeleton import JOINT_NAMES  # noqa: E402

EXT = "bl_ext.user_default.mrgen"
WORKER_PYTHON = os.environ.get("MRGEN_WORKER_PYTHON") or str(REPO / ".venv" / "bin" / "python")
CLIP = REPO.parent / "shared" / "data" / "raw" / "cmu_mocap" / "cgspeed_motionbuilder" / "01_01.bvh"  # 23 s


def install() -> None:
    out = TMP / "dist"
    subprocess.run([sys.executable, str(REPO / "build.py"), "--out", str(out), "--no-legacy"], check=True,
                   capture_output=True)
    zip_path = next(out.glob("mrgen-*-extension.zip"))
    bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default", enable_on_install=True)


def mod(name):
    import importlib

    return importlib.import_module(f"{EXT}.{name}")


def fresh():
    import addon_utils

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable(EXT, default_set=True)
    prefs = bpy.context.preferences.addons[EXT].preferences
    prefs.worker_python = WORKER_PYTHON
    return prefs


def bench_keys(repeats: int) -> dict:
    motion = load_motion(CLIP, fps=30).slice(0, 300)
    assert motion.num_frames == 300, "the clip must hold 10 s at 30 fps"
    rig = mod("rig")
    times = []
    for _ in range(repeats):
        fresh()
        obj = rig.build_smpl_armature(bpy.context, "SMPL", body=False)
        t0 = time.perf_counter()
        rig.apply_motion(obj, motion, "bench")
        times.append(time.perf_counter() - t0)
    # baseline: keyframe_insert per bone per frame (what the batched writer replaces), one run
    fresh()
    obj = rig.build_smpl_armature(bpy.context, "SMPL", body=False)
    quats, loc = motion_to_smpl_rig(motion)
    t0 = time.perf_counter()
    for f in range(motion.num_frames):
        for j, n in enumerate(JOINT_NAMES):
            pb = obj.pose.bones[n]
            pb.rotation_quaternion = quats[f, j].tolist()
            pb.keyframe_insert("rotation_quaternion", frame=f + 1, group=n)
        obj.pose.bones["pelvis"].location = loc[f].tolist()
        obj.pose.bones["pelvis"].keyframe_insert("location", frame=f + 1, group="pelvis")
    base = time.perf_counter() - t0
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "baseline": base}


def tiny_model() -> Path:
    out = TMP / "model" / "tiny.pt"
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    subprocess.run([WORKER_PYTHON, str(REPO / "tests" / "blender" / "tiny_model.py"), str(out)], check=True,
                   env=env, capture_output=True)
    return out


def bench_generate(model: Path, seconds: float, num: int) -> dict:
    prefs = fresh()
    prefs.model_folder = str(model.parent)
    s = bpy.context.window_manager.mrgen_new
    s.model = model.name
    s.seconds, s.num = seconds, num
    bpy.context.scene.render.fps = 30
    jobs = mod("jobs")
    jobs.STEP_TIMES.clear()
    t0 = time.perf_counter()
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    wall = time.perf_counter() - t0
    steps = list(jobs.STEP_TIMES)
    return {"wall": wall, "steps": len(steps), "max": max(steps), "median": statistics.median(steps)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="a trained model (default: train a tiny one first)")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    install()
    cpu = platform.processor() or platform.machine()
    print(f"# bench_blender  {date.today()}  Blender {bpy.app.version_string}  {cpu}  {os.cpu_count()} cores")
    k = bench_keys(args.repeats)
    print(f"keys, 10 s at 30 fps on the SMPL armature (99 F-curves x 300 keys): median {k['median'] * 1000:.1f} ms "
          f"(min {k['min'] * 1000:.1f}, max {k['max'] * 1000:.1f}; {args.repeats} runs)  target < 500 ms  "
          f"{'OK' if k['median'] < 0.5 else 'FAIL'}")
    print(f"  keyframe_insert baseline: {k['baseline'] * 1000:.0f} ms -> batched is {k['baseline'] / k['median']:.0f}x "
          f"faster")
    model = args.model or tiny_model()
    worst = 0.0
    for seconds, num in ((10.0, 1), (10.0, 4)):
        g = bench_generate(model, seconds, num)
        worst = max(worst, g["max"])
        print(f"generate {seconds:g} s x {num} ({model.name}): {g['wall']:.2f} s wall, {g['steps']} poll steps, "
              f"longest {g['max'] * 1000:.1f} ms, median {g['median'] * 1000:.2f} ms  target < 100 ms  "
              f"{'OK' if g['max'] < 0.1 else 'FAIL'}")
    ok = k["median"] < 0.5 and worst < 0.1
    import addon_utils
    import shutil

    addon_utils.disable(EXT)
    shutil.rmtree(TMP, ignore_errors=True)
    sys.stdout.flush()
    os._exit(0 if ok else 1)  # bpy 4.5 may hang at interpreter exit with classes registered


if __name__ == "__main__":
    main()
