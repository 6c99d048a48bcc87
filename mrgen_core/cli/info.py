"""``mrgen info``: what a motion file holds (frames, rate, labels, joint rotation ranges, travel, height)."""
from __future__ import annotations

import argparse
import json

import numpy as np

from ..motion import Motion
from ..rotations import axis_angle_to_matrix, matrix_to_euler
from ..skeleton import JOINT_NAMES

EPILOG = """\
examples:
  mrgen info walk.npz
  mrgen info 01_01.bvh          # a BVH is retargeted to SMPL first, so the ranges are SMPL joint rotations
  mrgen info walk.npz --json    # machine-readable

Joint ranges are local rotations from the SMPL rest pose, in degrees: the rotation angle, and Euler angles
X, Y, Z (applied in that order) about the SMPL template axes (X to the body's left, Y up, Z forward).
"""


def label_segments(motion: Motion) -> list[dict]:
    """Runs of equal per-frame labels: ``[{"label", "start", "end"}]`` (frames, end inclusive; -1 runs skipped)."""
    if motion.labels is None or motion.num_frames == 0:
        return []
    lab = motion.labels
    cuts = np.flatnonzero(np.diff(lab)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(lab)]]) - 1
    return [{"label": motion.vocab[lab[s]], "start": int(s), "end": int(e)} for s, e in zip(starts, ends)
            if lab[s] >= 0]


def motion_info(motion: Motion) -> dict:
    """A summary of ``motion`` as plain data (what ``mrgen info --json`` prints)."""
    joints = motion.joints()
    rot = axis_angle_to_matrix(motion.poses)  # (T, 24, 3, 3)
    angle = np.degrees(np.linalg.norm(motion.poses, axis=-1))
    euler = np.degrees(matrix_to_euler(rot, "XYZ"))
    ranges = {}
    for j in range(1, len(JOINT_NAMES)):
        ranges[JOINT_NAMES[j]] = {
            "angle": [float(angle[:, j].min()), float(angle[:, j].max())],
            "x": [float(euler[:, j, 0].min()), float(euler[:, j, 0].max())],
            "y": [float(euler[:, j, 1].min()), float(euler[:, j, 1].max())],
            "z": [float(euler[:, j, 2].min()), float(euler[:, j, 2].max())],
        }
    # heading: where the body's forward (+Z in the template) points in the Z-up world, about the vertical
    forward = (rot[:, 0] @ np.array([0.0, 0.0, 1.0]))
    heading = np.degrees(np.unwrap(np.arctan2(forward[:, 0], -forward[:, 1])))
    pelvis = joints[:, 0]
    steps = np.linalg.norm(np.diff(pelvis[:, :2], axis=0), axis=-1)
    rest = motion.skeleton.rest_positions()  # template frame, Y up
    return {
        "name": motion.name, "source": motion.source, "credit": motion.credit,
        "frames": motion.num_frames, "fps": motion.fps, "duration_s": motion.duration,
        "gender": motion.gender, "betas": len(motion.betas),
        "labels": [dict(s, start_s=s["start"] / motion.fps, end_s=(s["end"] + 1) / motion.fps)
                   for s in label_segments(motion)],
        "root": {
            "path_length_m": float(steps.sum()),
            "displacement_m": [float(v) for v in pelvis[-1, :2] - pelvis[0, :2]],
            "extent_m": [float(v) for v in np.ptp(pelvis[:, :2], axis=0)],
            "pelvis_height_m": [float(pelvis[:, 2].min()), float(pelvis[:, 2].max())],
            "heading_deg": [float(heading.min()), float(heading.max())],
        },
        "height": {
            "skeleton_head_m": float(rest[15, 1] - rest[[10, 11], 1].min()),
            "lowest_joint_m": float(joints[..., 2].min()),
            "highest_joint_m": float(joints[..., 2].max()),
        },
        "joint_ranges_deg": ranges,
    }


def format_info(info: dict) -> str:
    """``motion_info`` as readable text."""
    r, h = info["root"], info["height"]
    lines = [
        f"name:      {info['name']}",
        f"source:    {info['source']}",
        f"credit:    {info['credit'] or '-'}",
        f"frames:    {info['frames']} at {info['fps']:g} fps ({info['duration_s']:.2f} s)",
        f"body:      {info['gender']}, skeleton height {h['skeleton_head_m']:.2f} m (floor to head joint), "
        f"{info['betas']} betas",
    ]
    if info["labels"]:
        lines.append("labels:")
        for s in info["labels"]:
            lines.append(f"  {s['label']:<16} frames {s['start']}-{s['end']}  ({s['start_s']:.2f}-{s['end_s']:.2f} s)")
    else:
        lines.append("labels:    none")
    lines += [
        f"root:      travelled {r['path_length_m']:.2f} m; start to end {r['displacement_m'][0]:+.2f}, "
        f"{r['displacement_m'][1]:+.2f} m (x, y); area {r['extent_m'][0]:.2f} x {r['extent_m'][1]:.2f} m",
        f"           pelvis height {r['pelvis_height_m'][0]:.2f}-{r['pelvis_height_m'][1]:.2f} m; heading "
        f"{r['heading_deg'][0]:.0f} to {r['heading_deg'][1]:.0f} deg",
        f"height:    joints from {h['lowest_joint_m']:.3f} m to {h['highest_joint_m']:.2f} m above the floor",
        "joint rotation ranges (degrees, local, from rest):",
        f"  {'joint':<15}{'angle':>13}{'x':>15}{'y':>15}{'z':>15}",
    ]

    def rng(v):
        lo, hi = (float(np.round(x)) + 0.0 for x in v)  # + 0.0: no "-0"
        return f"{lo:6.0f}..{hi:<5.0f}"

    for name, jr in info["joint_ranges_deg"].items():
        lines.append(f"  {name:<15}{rng(jr['angle']):>13}{rng(jr['x']):>15}{rng(jr['y']):>15}{rng(jr['z']):>15}")
    return "\n".join(lines)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "info", help="describe a motion file (frames, fps, labels, joint ranges, travel)",
        description="Print what a motion file holds: frames, frame rate, duration, labels with their frame\n"
                    "ranges, per-joint rotation ranges in degrees, root travel and height.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="FILE", help="motion: .npz or .bvh")
    p.add_argument("--mapping", metavar="MAP.json", help="joint mapping JSON for a BVH rig")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..motion_files import load_motion

    motion = load_motion(args.input, mapping=args.mapping)
    info = motion_info(motion)
    print(json.dumps(info, indent=1) if args.json else format_info(info))
    return 0
