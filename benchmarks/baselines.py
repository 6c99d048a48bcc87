"""Sanity baselines that pin the metrics' meaning on real clips.

* ``copy``: the training motion itself -> coverage 100 %, both diversities ~0.
* ``shuffle 1 s``: the clip cut into 1-second chunks, shuffled (two shuffles end to end: twice the training length,
  as in the protocol), root translation re-joined horizontally -> high coverage, local diversity near 0 (most
  15-frame windows lie inside a chunk), global diversity 0 (every 30-frame chunk is copied whole).
* ``shuffle 0.5 s``: the same with half-second chunks -> global diversity rises (no 30-frame piece is a copy).
* ``noise N deg``: the clip with per-frame Gaussian noise on every joint rotation -> diversities rise with N,
  coverage falls, jitter explodes.
* ``no turning``: the clip with its heading held at the first frame's (each frame's root turned back about the
  vertical, the root path re-integrated from the body-frame velocity): the same poses, no turn. The fair features
  (yaw rate) must no longer match it with a clip that turns; the earlier pose-only features could not tell.

Chunks are joined heading-continuously (each chunk turned about the vertical to start where the previous one faced),
as a copying generator would: a heading jump at a seam is not copying, and the yaw rate sees it.

Usage: ``python benchmarks/baselines.py [CLIP.bvh ...] [--samples 5]`` (default: CMU 05_06 and 02_01 at 30 fps).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mrgen_core import Motion  # noqa: E402
from mrgen_core.metrics import evaluate  # noqa: E402
from mrgen_core.metrics import feature_metrics, motion_features  # noqa: E402
from mrgen_core.rotations import axis_angle_to_matrix, matrix_to_axis_angle  # noqa: E402
from mrgen_core.skeleton import FOOT_JOINTS  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "raw"
DEFAULT_CLIPS = ("cmu_mocap/cgspeed_motionbuilder/05_06.bvh", "cmu_mocap/cgspeed_motionbuilder/02_01.bvh")
FPS = 30.0


def load_clip(path: str | Path, fps: float = FPS) -> Motion:
    """A BVH clip retargeted to SMPL at ``fps`` (``mrgen_core.retarget.bvh_to_motion``); relative paths are taken
    under ``shared/data/raw``. Raises ImportError with a clear message when retargeting is not available."""
    p = Path(path)
    if not p.is_absolute() and not p.exists():
        p = DATA / p
    try:
        from mrgen_core.retarget import bvh_to_motion
    except ImportError as e:
        raise ImportError(f"mrgen_core.retarget.bvh_to_motion is not available ({e}); cannot read {p}") from None
    m = bvh_to_motion(p, fps=fps)
    return m.copy(name=m.name or p.stem)


def synthetic_clip(frames: int = 240, fps: float = FPS, seed: int = 0) -> Motion:
    """A stand-in clip when BVH retargeting is unavailable: a walk whose stride, arm swing and turn vary over time."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / fps
    rate = 1.0 + 0.2 * np.sin(2 * np.pi * t / 5.0)  # steps per second, slowly varying
    ph = 2 * np.pi * np.cumsum(rate) / fps
    amp = 0.35 + 0.15 * np.sin(2 * np.pi * t / 3.7)
    poses = np.zeros((frames, 24, 3))
    poses[:, 0, 0] = np.pi / 2
    poses[:, 0, 1] = 0.3 * np.sin(2 * np.pi * t / 7.0)
    poses[:, 1, 0], poses[:, 2, 0] = amp * np.sin(ph), -amp * np.sin(ph)
    poses[:, 4, 0] = 0.6 * np.maximum(0, np.sin(ph + 1))
    poses[:, 5, 0] = 0.6 * np.maximum(0, -np.sin(ph + 1))
    poses[:, 16, 2] = -1.2 + amp * 0.5 * np.sin(ph)
    poses[:, 17, 2] = 1.2 + amp * 0.5 * np.sin(ph)
    poses[:, 18, 1] = 0.3 + 0.2 * np.sin(2 * np.pi * t / 2.3)
    poses += 0.005 * rng.normal(size=poses.shape)
    trans = np.zeros((frames, 3))
    trans[:, 1] = -np.cumsum(0.6 * rate * (amp / 0.35)) / fps
    m = Motion(poses, trans, fps, name=f"synthetic{seed}")
    trans[:, 2] -= m.joints()[:, list(FOOT_JOINTS), 2].min()
    return Motion(poses, trans, fps, name=f"synthetic{seed}")


def heading(m: Motion) -> np.ndarray:
    """Per-frame heading (T,) in radians: the yaw about world Z of the root's forward axis."""
    fwd = axis_angle_to_matrix(m.poses[:, 0])[:, :, 2]
    return np.arctan2(fwd[:, 1], fwd[:, 0])


def _rz(angles) -> np.ndarray:
    a = np.asarray(angles, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    out = np.zeros(a.shape + (3, 3))
    out[..., 0, 0], out[..., 0, 1], out[..., 1, 0], out[..., 1, 1], out[..., 2, 2] = c, -s, s, c, 1.0
    return out


def turn(m: Motion, angles) -> Motion:
    """``m`` with frame ``t``'s root turned by ``angles[t]`` (or one angle) about the vertical through the pelvis,
    the root path re-integrated so every step keeps its body-frame direction (the first frame stays in place)."""
    a = np.broadcast_to(np.asarray(angles, dtype=np.float64), (m.num_frames,))
    rz = _rz(a)
    poses = m.poses.copy()
    poses[:, 0] = matrix_to_axis_angle(rz @ axis_angle_to_matrix(m.poses[:, 0]))
    step = np.diff(m.trans, axis=0)
    step = np.einsum("tij,tj->ti", rz[:-1], step)
    trans = m.trans.copy()
    trans[1:] = m.trans[0] + np.cumsum(step, axis=0)
    trans[:, 2] = m.trans[:, 2]
    return m.copy(poses=poses, trans=trans)


def straighten(clip: Motion) -> Motion:
    """The clip with its heading held at the first frame's: the same poses, never turning."""
    h = np.unwrap(heading(clip))
    return turn(clip, h[0] - h).copy(name=f"{clip.name} no turning")


def join(chunks: list[Motion]) -> Motion:
    """Concatenate motions heading-continuously: each one turned about the vertical so it starts facing as the
    previous one ended (turning at the rate it had) and shifted so it starts where the previous one stopped."""
    out = [chunks[0]]
    for c in chunks[1:]:
        prev = out[-1]
        hp = np.unwrap(heading(prev)[-2:])
        want = hp[-1] + (hp[-1] - hp[-2])
        c = turn(c, want - heading(c)[0])
        step = c.trans[1] - c.trans[0] if c.num_frames > 1 else np.zeros(3)
        off = prev.trans[-1] + step - c.trans[0]
        off[2] = 0.0
        out.append(c.copy(trans=c.trans + off))
    return chunks[0].copy(poses=np.concatenate([c.poses for c in out]),
                          trans=np.concatenate([c.trans for c in out]), labels=None)


def chunk_shuffles(clip: Motion, num: int = 5, seconds: float = 1.0, seed: int = 0, factor: int = 2) -> list[Motion]:
    """``num`` samples, each ``factor`` random permutations of the clip's ``seconds``-long chunks end to end."""
    rng = np.random.default_rng(seed)
    size = max(1, round(seconds * clip.fps))
    chunks = [clip.slice(k, k + size) for k in range(0, clip.num_frames - size + 1, size)]
    out = []
    for i in range(num):
        order = np.concatenate([rng.permutation(len(chunks)) for _ in range(factor)])
        out.append(join([chunks[k] for k in order]).copy(name=f"{clip.name} shuffle{i}"))
    return out


def noise_copies(clip: Motion, degrees: float, num: int = 5, seed: int = 0) -> list[Motion]:
    """``num`` copies with independent per-frame rotation noise (``degrees`` standard deviation per axis) on every
    joint, root included."""
    rng = np.random.default_rng(seed)
    base = axis_angle_to_matrix(clip.poses)
    out = []
    for i in range(num):
        noise = axis_angle_to_matrix(rng.normal(scale=np.radians(degrees), size=clip.poses.shape))
        out.append(clip.copy(poses=matrix_to_axis_angle(noise @ base), name=f"{clip.name} noise{i}"))
    return out


def baseline_sets(clip: Motion, num: int = 5, seed: int = 0) -> list[tuple[str, list[Motion]]]:
    """The named baseline sample sets for one clip."""
    return [("copy", [clip]),
            ("shuffle 1 s", chunk_shuffles(clip, num, 1.0, seed)),
            ("shuffle 0.5 s", chunk_shuffles(clip, num, 0.5, seed)),
            ("noise 2 deg", noise_copies(clip, 2.0, num, seed)),
            ("noise 5 deg", noise_copies(clip, 5.0, num, seed)),
            ("noise 15 deg", noise_copies(clip, 15.0, num, seed)),
            ("no turning", [straighten(clip)])]


def run_baselines(clip: Motion, num: int = 5, seed: int = 0, repeats: int = 1) -> list[dict]:
    """Evaluate every baseline set against ``clip``; each row holds the figures and the median evaluate() time."""
    rows = []
    for name, samples in baseline_sets(clip, num, seed):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            res = evaluate(samples, [clip])
            times.append(time.perf_counter() - t0)
        pose_only = [feature_metrics(motion_features(m, turning=False), [motion_features(clip, turning=False)])
                     for m in samples]
        res["pose_only"] = {k: float(np.mean([p[k] for p in pose_only]))
                            for k in ("coverage", "global_diversity", "local_diversity")}
        rows.append({"clip": clip.name, "baseline": name, "samples": len(samples),
                     "frames": samples[0].num_frames, "seconds": statistics.median(times), **res})
    return rows


def turn_scale(clip: Motion, turning_deg_s: float = 45.0) -> dict:
    """How the yaw-rate channel weighs against the joints on a clip: the channel's median and largest magnitude
    over the frames that turn faster than ``turning_deg_s``, and the median 6D change of a joint over the same
    0.5 s (all non-root joints, and the 8 that move most)."""
    from mrgen_core.metrics import YAW_RATE_SECONDS

    f = motion_features(clip)
    yaw = np.abs(f[:, -1])
    turning = yaw > np.radians(turning_deg_s) * YAW_RATE_SECONDS
    lag = max(1, round(YAW_RATE_SECONDS * clip.fps))
    six = f[:, :144].reshape(len(f), 24, 6)[:, 1:]
    change = np.linalg.norm(six[lag:] - six[:-lag], axis=-1)  # (T - lag, 23)
    per_joint = np.median(change, axis=0)
    return {"clip": clip.name, "turning_share": float(turning.mean()),
            "turn_median": float(np.median(yaw[turning])) if turning.any() else 0.0,
            "turn_max": float(yaw.max()), "joint_median": float(np.median(change)),
            "joint_top8": float(np.median(np.sort(per_joint)[-8:]))}


def turn_scale_table(rows: list[dict]) -> str:
    """Rows of :func:`turn_scale` as a Markdown table."""
    lines = ["| clip | frames turning > 45 deg/s | yaw channel while turning: median (max) | joint 6D change over "
             "0.5 s: median, all joints / 8 most-moving |", "|---|---|---|---|"]
    lines += [f"| {r['clip']} | {r['turning_share'] * 100:.0f} % | {r['turn_median']:.2f} ({r['turn_max']:.2f}) | "
              f"{r['joint_median']:.2f} / {r['joint_top8']:.2f} |" for r in rows]
    return "\n".join(lines)


def _f(v, spec=".2f"):
    return "n/a" if v is None else format(v, spec)


def markdown_table(rows: list[dict]) -> str:
    """Rows of :func:`run_baselines` as a Markdown table: coverage and diversities on the fair / literal features
    (and, for coverage, on the earlier pose-only features: heading removed, no yaw rate)."""
    head = ("| clip | baseline | samples x frames | coverage fair / literal / pose-only | global div. fair / literal "
            "| local div. fair / literal | foot skating cm/s (train) | jitter m/s² (train) | eval s (median) |\n"
            "|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        f, lit, po = r["fair"], r["literal"], r["pose_only"]
        lines.append(f"| {r['clip']} | {r['baseline']} | {r['samples']} x {r['frames']} | "
                     f"{f['coverage'] * 100:.1f} / {lit['coverage'] * 100:.1f} / {po['coverage'] * 100:.1f} % | "
                     f"{_f(f['global_diversity'])} / {_f(lit['global_diversity'])} | "
                     f"{_f(f['local_diversity'])} / {_f(lit['local_diversity'])} | "
                     f"{_f(r['foot_skating'], '.1f')} ({_f(r['reference']['foot_skating'], '.1f')}) | "
                     f"{_f(r['jitter'], '.1f')} ({_f(r['reference']['jitter'], '.1f')}) | {r['seconds']:.2f} |")
    return "\n".join(lines)


def load_clips(paths, fps: float = FPS) -> tuple[list[Motion], str]:
    """The clips, or synthetic stand-ins (and a note saying so) when retargeting is not available."""
    try:
        return [load_clip(p, fps) for p in paths], ""
    except ImportError as e:
        note = f"real clips unavailable ({e}); synthetic stand-in clips used"
        return [synthetic_clip(240, fps, 0), synthetic_clip(120, fps, 1)], note


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*", default=list(DEFAULT_CLIPS))
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    clips, note = load_clips(args.clips)
    if note:
        print("note:", note)
    rows = [r for c in clips for r in run_baselines(c, args.samples, args.seed)]
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
