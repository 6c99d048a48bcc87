"""``mrgen generate``: sample new motion from a trained model."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..limits import MAX_NUM, MAX_SECONDS, NUM_BATCH

EPILOG = """\
examples:
  mrgen generate --labels "walk:0-4,jump:4-7,walk:7-10" -o demo.bvh       # the shipped default model
  mrgen generate --model dance.pt --seconds 20 --seed 3 -o dance.bvh
  mrgen generate --model walk_hop.pt --seconds 12 --labels "walk:0-4,hop:4-8,walk:8-12" -o mix.npz
  mrgen generate --model dance.pt --seconds 10 --num 5 -o takes.npz      # takes_000.npz ... takes_004.npz
  mrgen generate --labels walk --loop --cycles 4 --root in-place -o walk_cycle.bvh   # a seamless in-place loop
  mrgen generate --labels walk --seconds 10 --keys poses.bvh --key-frames 0,150,299 -o keyed.npz
  mrgen generate --labels run --path circle.json -o circle.npz         # follow timed waypoints (x, y, t)
  mrgen generate --labels run --path points.csv --speed 2.2 -o along.bvh   # untimed points at 2.2 m/s
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "generate", help="generate new motion with a trained model",
        description="Generate motion of any length with a trained model; the output format follows the "
                    "extension (.npz: SMPL parameters, .bvh: SMPL skeleton).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default", metavar="MODEL.pt",
                   help="trained model file (default: the shipped default model, trained on CMU clips with the "
                        "labels walk, run, hop, jump, punch, dance, salsa)")
    p.add_argument("--seconds", type=float, metavar="S",
                   help=f"length in seconds, at most {MAX_SECONDS:g} (default: the end of --labels, else the first "
                        "training clip's length)")
    p.add_argument("--seed", type=int, default=0, help="random seed (sample k uses seed + k)")
    p.add_argument("--labels", metavar="SCHEDULE",
                   help='a label, or a schedule in seconds: "walk:0-4,jump:4-6" (smooth transitions); segments '
                        'may not overlap; a gap between segments takes the nearest segment\'s label')
    p.add_argument("--audio", metavar="WAV",
                   help="speech audio to follow (models trained with --audio); the motion is as long as the audio")
    p.add_argument("--wavlm", metavar="DIR",
                   help="the local WavLM checkpoint folder the model was trained with (models trained with --wavlm)")
    p.add_argument("--no-cleanup", action="store_true",
                   help="keep the raw output (no foot-contact cleanup of sliding feet)")
    p.add_argument("--num", type=int, default=1,
                   help=f"number of motions (files OUT_000.ext, OUT_001.ext, ...; at most {MAX_NUM}, made and "
                        f"written {NUM_BATCH} at a time)")
    p.add_argument("--noise", choices=("auto", "coarsest", "all"), default="auto",
                   help="levels that get random noise: coarsest, or all (more variation in detail); auto (default): "
                        "all for models trained with --path-control (their steps come from it), else coarsest")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    add_direction_args(p)
    add_path_args(p)
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output file: .npz or .bvh")
    p.set_defaults(func=run)


def add_direction_args(p) -> None:
    """Loops, key poses and root options (generate)."""
    g = p.add_argument_group("loops, key poses and root motion")
    g.add_argument("--loop", action="store_true",
                   help="make a seamless loop: the last frame runs on into the first (the root moves on by a "
                        "constant offset per cycle); its length is --seconds or --cycles")
    g.add_argument("--cycles", type=int, metavar="N",
                   help="with --loop: N periods of the label's training clips (e.g. walk strides)")
    g.add_argument("--keys", metavar="KEYS.npz|.bvh", help="a motion whose poses at --key-frames the result hits")
    g.add_argument("--key-frames", metavar="F,F,...", help="frames of --keys (its own frame rate) to hit, at the "
                                                           "same times, e.g. 0,120,240")
    g.add_argument("--key-root", action="store_true",
                   help="also hit the keys' root positions and headings (default: poses only, the path is free)")
    g.add_argument("--mapping", metavar="MAP.json", help="joint mapping JSON for a --keys BVH rig (as import)")
    add_root_arg(g)


def add_path_args(p) -> None:
    """Path following (generate)."""
    g = p.add_argument_group("follow a path (a model trained with --path-control steers along it and is nudged "
                             "onto it; any other model: a generated gait time-warped and re-placed onto the path; "
                             "feet cleaned up)")
    g.add_argument("--path", metavar="PATH.json|.csv|.npz|.bvh",
                   help="floor waypoints in metres: x,y[,t] rows (JSON list, CSV, or .npz 'points'/'times') or a "
                        "motion whose root path to follow; untimed points take --seconds or --speed (default: "
                        "the gait's own speed)")
    g.add_argument("--speed", type=float, metavar="M/S", help="with an untimed --path: walk it at this speed")
    g.add_argument("--facing", metavar="path|DEG|X,Y",
                   help="with --path: face along the path (default), a fixed direction (degrees counter-clockwise "
                        "from +X) or a floor point X,Y")
    g.add_argument("--ease", type=float, metavar="S",
                   help="with --path: spread the path's speed changes (stops, starts) over S seconds, so the body "
                        "slows down and speeds up instead of stopping dead; it is then up to ~0.09 x S x speed off "
                        "the path's timing (reported as ease.shift_cm in the output's metadata)")


def add_root_arg(p) -> None:
    p.add_argument("--root", choices=("keep", "in-place"), default="keep",
                   help="keep the root's travel (default) or in-place: no horizontal root travel (height and "
                        "heading kept)")


def output_paths(out: str | Path, num: int) -> list[Path]:
    """``out`` itself for one motion; ``out_000.ext``, ``out_001.ext``, ... for several."""
    out = Path(out)
    if num == 1:
        return [out]
    return [out.with_name(f"{out.stem}_{k:03d}{out.suffix}") for k in range(num)]


def run(args: argparse.Namespace) -> int:
    from ..tasks import generate

    from ..tasks import check_num

    check_num(args.num)  # before making the output names
    result = generate(args.model, output_paths(args.output, args.num), seconds=args.seconds, seed=args.seed,
                      labels=args.labels, noise=args.noise, audio=args.audio, wavlm=args.wavlm,
                      cleanup=not args.no_cleanup, loop=args.loop, cycles=args.cycles, keys=args.keys,
                      key_frames=args.key_frames, key_root=args.key_root, mapping=args.mapping, root=args.root,
                      path=args.path, speed=args.speed, facing=args.facing, ease=args.ease, device=args.device)
    print_written(result)
    return 0


def print_written(result) -> None:
    """One line per file written: frames, frame rate and duration (and any warnings, on stderr)."""
    import sys

    for w in getattr(result, "warnings", ()) or ():
        print(f"warning: {w}", file=sys.stderr)
    for path, frames in zip(result.files, result.frames):
        print(f"wrote {path}: {frames} frames at {result.fps:g} fps ({frames / result.fps:.2f} s)")
