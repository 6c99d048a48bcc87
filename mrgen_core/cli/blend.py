"""``mrgen blend``: keep the coarse structure of a source motion and regenerate the detail, or mix controls
across levels."""
from __future__ import annotations

import argparse


EPILOG = """\
examples:
  mrgen blend --source take.bvh -o take_blend.bvh                                         # shipped model; 2 s too
  mrgen blend --model dance.pt --source 05_06 --keep-levels 3 --num 4 -o variations.bvh   # a training clip by name
  mrgen blend --model walk.pt --source take.npz --keep-levels all -o same.npz             # the source back
  mrgen blend --model walks.pt --coarse-labels normal --fine-labels happy --switch-level 3 --seconds 8 -o mix.npz
  mrgen blend --model walks.pt --source take.bvh --keep-levels 2 --coarse-labels normal --fine-labels happy \\
              --switch-level 4 -o happy_take.npz
  mrgen blend --source take.bvh --keep-frames 0-30,200-240 --keep-levels 0 -o inbetween.bvh  # new motion between
  mrgen blend --source walk.bvh --loop -o walk_loop.bvh                                   # the take as a loop
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "blend", help="keep a motion's coarse structure and regenerate its detail; mix controls across levels",
        description="Blend with a trained model. With --source: the levels below --keep-levels come from the "
                    "source (timing, path, big poses) and the finer levels are regenerated with new noise "
                    "(1 = nearly all new, the number of levels or 'all' = the source back). With --coarse-labels/"
                    "--fine-labels/--switch-level: levels below the switch follow one control, the rest another.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default", metavar="MODEL.pt",
                   help="trained model file (default: the shipped default model, as for generate)")
    p.add_argument("--source", metavar="MOTION",
                   help="source motion: a .npz/.bvh file or the name of one of the model's training clips")
    p.add_argument("--keep-levels", default="2", metavar="K",
                   help="levels taken from the source, 1..number of levels or 'all' (default 2); a source shorter "
                        "than these levels need (5.5 s at K = 2 on the shipped model) is mirrored in time at both "
                        "ends to that length, blended, and cut back to its own frames")
    p.add_argument("--labels", metavar="SCHEDULE",
                   help="control of the regenerated levels: a label or a schedule \"walk:0-4,hop:4-8\" "
                        "(default: the source's own labels)")
    p.add_argument("--coarse-labels", metavar="SCHEDULE", help="control of the levels below --switch-level")
    p.add_argument("--fine-labels", metavar="SCHEDULE", help="control of the levels from --switch-level up")
    p.add_argument("--switch-level", type=int, metavar="S", help="first level driven by --fine-labels")
    p.add_argument("--seconds", type=float, metavar="S", help="length without --source (default: first clip's)")
    p.add_argument("--seed", type=int, default=0, help="random seed (variation k uses seed + k)")
    p.add_argument("--num", type=int, default=1, help="number of variations (files OUT_000.ext, ...)")
    p.add_argument("--no-cleanup", action="store_true", help="keep the raw output (no foot-contact cleanup)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    add_direction_args(p)
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output file: .npz or .bvh")
    p.set_defaults(func=run)


def add_direction_args(p) -> None:
    """Kept frames, loops and root options (blend)."""
    from .generate import add_root_arg

    g = p.add_argument_group("kept frames, loops and root motion")
    g.add_argument("--keep-frames", metavar="RANGES",
                   help="frame ranges of the source (its own frames) kept exactly, the rest regenerated: "
                        "\"0-30,200-240\"; between them the source's --keep-levels are kept too (0: none)")
    g.add_argument("--loop", action="store_true",
                   help="a seamless loop as long as the source: its kept levels everywhere but near the seam, "
                        "where the model joins its end to its start")
    add_root_arg(g)


def run(args: argparse.Namespace) -> int:
    from ..tasks import blend
    from .generate import output_paths, print_written

    from ..tasks import check_num

    check_num(args.num)  # before making the output names
    result = blend(args.model, output_paths(args.output, args.num), source=args.source,
                   keep_levels=args.keep_levels, seed=args.seed, labels=args.labels, coarse_labels=args.coarse_labels,
                   fine_labels=args.fine_labels, switch_level=args.switch_level, seconds=args.seconds,
                   cleanup=not args.no_cleanup, loop=args.loop, keep_frames=args.keep_frames, root=args.root,
                   device=args.device)
    print_written(result)
    return 0
