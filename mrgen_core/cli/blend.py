"""``mrgen blend``: keep the coarse structure of a source motion and regenerate the detail, or mix controls
across levels."""
from __future__ import annotations

import argparse

from ..errors import MrgenError

EPILOG = """\
examples:
  mrgen blend --model dance.pt --source 05_06 --keep-levels 3 --num 4 -o variations.bvh   # a training clip by name
  mrgen blend --model walk.pt --source take.npz --keep-levels all -o same.npz             # the source back
  mrgen blend --model walks.pt --coarse-labels normal --fine-labels happy --switch-level 3 --seconds 8 -o mix.npz
  mrgen blend --model walks.pt --source take.bvh --keep-levels 2 --coarse-labels normal --fine-labels happy \\
              --switch-level 4 -o happy_take.npz
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "blend", help="keep a motion's coarse structure and regenerate its detail; mix controls across levels",
        description="Blend with a trained model. With --source: the levels below --keep-levels come from the "
                    "source (timing, path, big poses) and the finer levels are regenerated with new noise "
                    "(1 = nearly all new, the number of levels or 'all' = the source back). With --coarse-labels/"
                    "--fine-labels/--switch-level: levels below the switch follow one control, the rest another.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, metavar="MODEL.pt", help="trained model file")
    p.add_argument("--source", metavar="MOTION",
                   help="source motion: a .npz/.bvh file or the name of one of the model's training clips")
    p.add_argument("--keep-levels", default="2", metavar="K",
                   help="levels taken from the source, 1..number of levels or 'all' (default 2)")
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
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output file: .npz or .bvh")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..io import motion_file_type, save_motion
    from .generate import output_paths

    motion_file_type(args.output)
    if args.num < 1:
        raise MrgenError(f"--num must be at least 1, got {args.num}")
    if args.seconds is not None and not (0 < args.seconds < float("inf")):
        raise MrgenError(f"--seconds must be positive, got {args.seconds}")
    from ..blending import blend, generate_mixed
    from ..sampling import load_model

    model = load_model(args.model, device=args.device)
    cleanup = not args.no_cleanup
    if args.source:
        motions = blend(model, args.source, args.keep_levels, seed=args.seed, num=args.num, labels=args.labels,
                        coarse_labels=args.coarse_labels, fine_labels=args.fine_labels,
                        switch_level=args.switch_level, cleanup=cleanup)
    else:
        if not (args.coarse_labels and args.fine_labels and args.switch_level is not None):
            raise MrgenError("give --source (to blend a motion) or --coarse-labels, --fine-labels and "
                             "--switch-level (to mix controls)")
        motions = generate_mixed(model, args.seconds, coarse_labels=args.coarse_labels,
                                 fine_labels=args.fine_labels, switch_level=args.switch_level, seed=args.seed,
                                 num=args.num, cleanup=cleanup)
    for m, path in zip(motions, output_paths(args.output, args.num)):
        save_motion(m, path)
        print(f"wrote {path}: {m.num_frames} frames at {m.fps:g} fps ({m.duration:.2f} s)")
    return 0
