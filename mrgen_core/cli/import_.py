"""``mrgen import``: a BVH or .npz motion -> mrgen's .npz (SMPL pose parameters, Z-up, metres)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import MrgenError

EPILOG = """\
examples:
  mrgen import 01_01.bvh -o walk.npz
  mrgen import 01_01.bvh -o walk30.npz --fps 30 --credit "CMU mocap, mocap.cs.cmu.edu"
  mrgen import my_rig.bvh -o mine.npz --mapping my_rig_map.json
  mrgen import amass_clip.npz -o clip.npz --fps 30

A mapping JSON maps SMPL joint names to source joint name(s), e.g. {"left_knee": "LeftLeg"};
it overrides the automatic rig detection.
"""


def positive_float(text: str) -> float:
    """argparse type: a finite number above zero."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (v > 0 and v < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return v


def describe(motion) -> str:
    """One line: frames, rate, duration."""
    return f"{motion.num_frames} frames at {motion.fps:g} fps ({motion.duration:.2f} s)"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "import", help="convert a BVH or .npz motion to mrgen's .npz",
        description="Read a BVH file (retargeted onto the SMPL skeleton; the rig is detected from its joint\n"
                    "names) or an AMASS/mrgen .npz, and write mrgen's AMASS-style .npz (SMPL axis-angle poses,\n"
                    "root translation, Z-up world, metres).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="IN", help="input motion: .bvh or .npz")
    p.add_argument("-o", "--output", metavar="OUT.npz", required=True, help="output file (.npz)")
    p.add_argument("--fps", type=positive_float, metavar="F", help="resample to F frames per second (by time)")
    p.add_argument("--mapping", metavar="MAP.json", help="joint mapping JSON for a BVH rig (SMPL joint -> source)")
    p.add_argument("--credit", metavar="TEXT", default="", help="licence / acknowledgement text stored with the motion")
    p.add_argument("--name", metavar="NAME", help="motion name stored in the file (default: the input's name)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..motion_files import load_motion, save_motion

    out = Path(args.output)
    if out.suffix.lower() != ".npz":
        raise MrgenError(f"the output of import must be a .npz file, not {out.suffix or '(no extension)'}", out)
    from ..limits import not_over_inputs, output_file

    output_file(out)
    not_over_inputs([out], [args.input, args.mapping])
    motion = load_motion(args.input, fps=args.fps, mapping=args.mapping, credit=args.credit)
    if args.name:
        motion.name = args.name
    save_motion(motion, out)
    print(f"wrote {out}: {describe(motion)}")
    return 0
