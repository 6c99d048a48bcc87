"""``mrgen preview``: a stick-figure PNG filmstrip or GIF / MP4 animation of a motion."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import MrgenError
from .import_ import positive_float

EPILOG = """\
examples:
  mrgen preview walk.npz -o walk.png                 # filmstrip of 8 frames
  mrgen preview walk.npz -o walk.png --frames 12
  mrgen preview 01_01.bvh -o walk.gif --fps 15       # animation (GIF via Pillow)
  mrgen preview walk.npz -o walk.mp4                 # needs ffmpeg on the PATH
  mrgen preview loop.npz -o loop.gif --repeat 3      # a loop three times end to end (see the seam)
  mrgen preview circle.npz -o circle.png --path circle.json --whole --elevation 35   # path on the floor

Left limbs are drawn blue, right limbs red; the grid is the floor (z = 0), 0.5 m squares; a --path green.
"""


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return v


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "preview", help="render a stick figure to PNG (filmstrip), GIF or MP4",
        description="Render a motion as a stick figure from a fixed camera over the floor: a PNG filmstrip\n"
                    "of evenly spaced frames, or a GIF / MP4 animation. The output type follows the extension.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="FILE", help="motion: .npz or .bvh")
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="output file: .png, .gif or .mp4")
    p.add_argument("--frames", type=positive_int, default=8, metavar="N", help="frames in a PNG filmstrip (default 8)")
    p.add_argument("--fps", type=positive_float, default=15.0, metavar="F",
                   help="animation frame rate for GIF/MP4 (default 15; the motion is resampled by time)")
    p.add_argument("--mapping", metavar="MAP.json", help="joint mapping JSON for a BVH rig")
    p.add_argument("--repeat", type=positive_int, default=1, metavar="N",
                   help="play a loop N times end to end, each copy carried on from where the one before ends "
                        "(default 1)")
    p.add_argument("--path", metavar="PATH.json|.csv|.npz|.bvh",
                   help="draw this floor path (as generate --path reads it) on the floor")
    p.add_argument("--whole", action="store_true",
                   help="PNG: one fixed view of the whole motion in every panel (default: the camera follows)")
    p.add_argument("--elevation", type=float, default=12.0, metavar="DEG",
                   help="camera elevation above the floor in degrees (default 12; higher shows more of a path)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..motion_files import load_motion
    from ..preview import ANIMATION_FORMATS, check_animation_path, render_animation, render_filmstrip

    from ..limits import not_over_inputs, output_file
    from ..loops import repeat

    out = Path(args.output)
    ext = out.suffix.lower()
    if ext == ".png" or ext in ANIMATION_FORMATS:
        output_file(out)
        not_over_inputs([out], [args.input, args.mapping, args.path])
    floor = None
    if args.path:
        from ..paths import read_path

        floor = read_path(args.path).xy
    if ext == ".png":
        motion = repeat(load_motion(args.input, mapping=args.mapping), args.repeat)
        render_filmstrip(motion, out, frames=args.frames, follow=not args.whole, floor_path=floor,
                         elevation=args.elevation)
    elif ext in ANIMATION_FORMATS:
        check_animation_path(out, args.fps)  # refuse (e.g. no ffmpeg) before reading anything
        motion = repeat(load_motion(args.input, mapping=args.mapping), args.repeat)
        render_animation(motion, out, fps=args.fps, progress=not args.quiet, floor_path=floor,
                         elevation=args.elevation)
    else:
        raise MrgenError(f"unsupported preview type {ext or '(no extension)'}; supported: .png, "
                         f"{', '.join(ANIMATION_FORMATS)}", out)
    print(f"wrote {out}")
    return 0
