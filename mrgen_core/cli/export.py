"""``mrgen export``: an mrgen .npz -> BVH (on the SMPL skeleton) or another .npz."""
from __future__ import annotations

import argparse
from pathlib import Path

from .import_ import describe, positive_float

EPILOG = """\
examples:
  mrgen export walk.npz -o walk.bvh            # Y-up BVH on the SMPL skeleton, metres (Blender opens it)
  mrgen export walk.npz -o walk30.npz --fps 30
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="write a motion as BVH (SMPL skeleton) or .npz",
        description="Write a motion (mrgen/AMASS .npz, or a BVH retargeted to SMPL) as a BVH file on the\n"
                    "SMPL skeleton (Y up, metres) or as mrgen's .npz; the format follows the output's extension.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="IN", help="input motion: .npz (or .bvh)")
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="output file: .bvh or .npz")
    p.add_argument("--fps", type=positive_float, metavar="F", help="resample to F frames per second (by time)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..motion_files import load_motion, motion_file_type, save_motion

    from ..limits import not_over_inputs, output_file

    out = Path(args.output)
    motion_file_type(out)  # refuse an unknown output type before reading anything
    output_file(out)
    not_over_inputs([out], [args.input])
    motion = load_motion(args.input, fps=args.fps)
    save_motion(motion, out)
    print(f"wrote {out}: {describe(motion)}")
    return 0
