"""Run GenMM (Li et al. 2023, generative motion matching) from a local checkout on BVH clips; no GenMM code here.

Run with a Python that has GenMM's dependencies (torch, unfoldNd, pyyaml, tqdm, imageio), from
``benchmarks/bench_peer.py``, which documents the setup:

    GENMM_PYTHON benchmarks/genmm_driver.py --genmm GENMM_DIR --out DIR --samples 20 --seed 0 CLIP.bvh ...

It loads the clips with GenMM's own BVH reader and settings (``configs/default.yaml`` of the checkout: 6D
rotations, root velocity, patch 11, 3 steps per level, alpha 0.01; no IK post-process), draws ``--samples``
syntheses of twice the clips' total length (GenMM's ``2x_nframes``, the same length as mrgen's protocol) with seeds
``seed, seed+1, ...`` and writes ``DIR/genmm_000.bvh ...`` with the clips' frame time (GenMM's writer leaves
"Frame Time: 1.0"). Prints one JSON line: per-sample synthesis seconds (loading the clips not counted: GenMM's
writer changes the loaded clip, so they are loaded again for each sample), frames, files.

Checkouts after GenMM commit b2b1539 (keyframe-guided generation, 2025-01) read an undefined
``GenMM.KEYFRAME_INDICES`` in random synthesis; the driver then sets it to an empty slice (no keyframes), which
is what random synthesis means. The benchmark's results use commit fae65cd (2024-06), the last one before.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path


def load_config(genmm: Path) -> dict:
    import yaml

    with open(genmm / "configs" / "default.yaml") as fh:
        return yaml.safe_load(fh)


def frame_time(bvh: Path) -> float:
    m = re.search(r"Frame Time:\s*([0-9.eE+-]+)", bvh.read_text(errors="replace"))
    if not m:
        raise SystemExit(f"genmm_driver: {bvh}: no 'Frame Time:' line")
    return float(m.group(1))


def set_frame_time(bvh: Path, seconds: float) -> None:
    text = re.sub(r"Frame Time:\s*[0-9.eE+-]+", f"Frame Time: {seconds:.10f}", bvh.read_text(), count=1)
    tmp = bvh.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, bvh)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="+", type=Path, help="training clips (.bvh), all at one frame rate")
    ap.add_argument("--genmm", type=Path, required=True, help="GenMM checkout (folder with GenMM.py)")
    ap.add_argument("--out", type=Path, required=True, help="folder for genmm_NNN.bvh")
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as mrgen's sampler)")
    ap.add_argument("--coarse-ratio", default=None,
                    help="override the config's coarse_ratio (e.g. 0.2x_nframes, the alternative default.yaml "
                         "names: clips of very unequal length stop GenMM with its default 5x_patchsize)")
    args = ap.parse_args(argv)
    genmm = args.genmm.resolve()
    if not (genmm / "GenMM.py").is_file():
        raise SystemExit(f"genmm_driver: {genmm}: not a GenMM checkout (no GenMM.py)")
    sys.path.insert(0, str(genmm))
    cwd = os.getcwd()
    os.chdir(genmm)  # GenMM reads some files relative to its folder
    try:
        import torch
        from GenMM import GenMM
        from dataset.bvh_motion import BVHMotion
        from nearest_neighbor.losses import PatchCoherentLoss
        from utils.base import set_seed
    finally:
        os.chdir(cwd)
    torch.set_num_threads(args.threads)
    if not hasattr(GenMM, "KEYFRAME_INDICES"):
        GenMM.KEYFRAME_INDICES = slice(0, 0)  # see the module doc
    cfg = load_config(genmm)
    if args.coarse_ratio:
        cfg["coarse_ratio"] = args.coarse_ratio
    clips = [p.resolve() for p in args.clips]
    ft = {round(frame_time(p), 9) for p in clips}
    if len(ft) != 1:
        raise SystemExit(f"genmm_driver: the clips have different frame times {sorted(ft)}")
    ft = ft.pop()

    def load():
        return [BVHMotion(str(p), skeleton_name=cfg["skeleton_name"], repr=cfg["repr"], use_velo=cfg["use_velo"],
                          keep_up_pos=cfg["keep_up_pos"], up_axis=cfg["up_axis"], padding_last=cfg["padding_last"],
                          requires_contact=cfg["requires_contact"], joint_reduction=cfg["joint_reduction"])
                for p in clips]

    args.out.mkdir(parents=True, exist_ok=True)
    model = GenMM(device="cpu", silent=True)
    times, load_times, files, frames = [], [], [], []
    for k in range(args.samples):
        t0 = time.perf_counter()
        data = load()  # GenMM's write() changes the loaded clip's state: a fresh load per sample (not timed)
        load_times.append(time.perf_counter() - t0)
        set_seed(args.seed + k)
        criteria = PatchCoherentLoss(patch_size=cfg["patch_size"], alpha=cfg["alpha"], loop=cfg["loop"], cache=True)
        t0 = time.perf_counter()
        syn = model.run(data, criteria, num_frames=str(cfg["num_frames"]), num_steps=cfg["num_steps"],
                        noise_sigma=cfg["noise_sigma"], patch_size=cfg["patch_size"],
                        coarse_ratio=str(cfg["coarse_ratio"]), pyr_factor=cfg["pyr_factor"])
        times.append(time.perf_counter() - t0)
        out = args.out / f"genmm_{k:03d}.bvh"
        data[0].write(str(out), syn)  # GenMM writes with the first clip's skeleton (all clips share it)
        set_frame_time(out, ft)
        files.append(str(out))
        frames.append(int(syn.shape[-1]))
    print(json.dumps({"tool": "GenMM", "genmm": str(genmm), "config": cfg, "seconds": times, "load_seconds": load_times,
                      "frames": frames,
                      "files": files, "torch": torch.__version__, "threads": args.threads}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
