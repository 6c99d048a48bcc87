"""``mrgen train``: train a model on a few clips (BVH or .npz), with optional labels."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import MrgenError

EPILOG = """\
examples:
  mrgen train 05_06.bvh -o dance.pt                          # one clip, default preset (minutes on a laptop CPU)
  mrgen train 131_01.bvh 131_02.bvh 131_03.bvh --label walk --label walk --label hop -o walk_hop.pt
  mrgen train clips/*.bvh --labels labels.json --preset fast -o model.pt
  mrgen train --resume model.pt -o model.pt                  # continue a run stopped with Ctrl-C

labels file: JSON {"131_01": "walk", "131_03": [[0, 2.5, "walk"], [2.5, 9.2, "hop"]]}
             or CSV rows  clip,start,end,label  (seconds; empty start/end = whole clip)
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train a motion model on a few clips",
        description="Train a multi-resolution motion GAN on one or more clips (BVH is retargeted to SMPL). "
                    "Ctrl-C stops after the current step and saves a checkpoint that --resume continues exactly.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("clips", nargs="*", metavar="CLIP", help="training clips: .bvh or .npz")
    p.add_argument("-o", "--output", metavar="MODEL.pt", required=True, help="model file to write")
    p.add_argument("--labels", metavar="FILE", help="labels file (JSON or CSV: clip, start, end, label in seconds)")
    p.add_argument("--label", action="append", metavar="NAME",
                   help="label of each clip (repeat once per clip, or give one for all)")
    p.add_argument("--audio", action="append", metavar="WAV",
                   help="speech audio paired with each clip (repeat once per clip, in order): the model learns "
                        "to follow audio features (MFCC, energy, pitch); generate with --audio")
    p.add_argument("--wavlm", metavar="DIR",
                   help="with --audio: use the hidden states of a local WavLM checkpoint folder (Hugging Face "
                        "format; needs the transformers package) instead of MFCC features")
    p.add_argument("--preset", default="default", metavar="NAME",
                   help="fast (~2-3 min on a laptop CPU), default (~5-10 min) or quality (longer); default: "
                        "default")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                   help="change one setting of the preset (repeatable), e.g. --set iterations=500 --set lr_g=1e-3; "
                        "the settings are listed in training/presets.py")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate the clips are resampled to (default 30)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same model")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--resume", metavar="CKPT", help="continue a stopped run from its checkpoint")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training.presets import PRESETS, PUBLIC_PRESETS, parse_setting

    if args.preset not in PRESETS:
        raise MrgenError(f"unknown preset {args.preset!r}; choose one of {', '.join(PUBLIC_PRESETS)}")
    overrides = dict(parse_setting(item, args.preset) for item in args.set)
    if overrides and args.resume:
        raise MrgenError("--set cannot change a run being resumed (its settings are in the checkpoint)")
    if not args.resume and not args.clips:
        raise MrgenError("no training clips given (or --resume CKPT to continue a run)")
    if args.labels and args.label:
        raise MrgenError("give either --labels FILE or --label NAME, not both")
    if not (args.fps > 0):
        raise MrgenError(f"--fps must be positive, got {args.fps}")
    if Path(args.output).suffix.lower() != ".pt":
        raise MrgenError("the model file must end in .pt", args.output)
    for c in args.clips:
        if not Path(c).is_file():
            raise MrgenError("no such file", c)
    if args.labels and not Path(args.labels).is_file():
        raise MrgenError("no such labels file", args.labels)
    clips, controls, source = list(args.clips), None, ""
    if args.audio:
        if len(args.audio) != len(args.clips):
            raise MrgenError(f"give one --audio file per clip: {len(args.clips)} clip(s), {len(args.audio)} audio "
                             "file(s)")
        from ..audio import control_features
        from training.train import load_clip

        clips = [load_clip(c, args.fps) for c in args.clips]  # loaded once: their lengths align the audio
        controls = [control_features(wav, args.fps, m.num_frames, args.wavlm) for m, wav in zip(clips, args.audio)]
        source = controls[0][1]
        controls = [c for c, _ in controls]
    elif args.wavlm:
        raise MrgenError("--wavlm goes with --audio (the speech paired with each clip)")
    from training.train import train

    train(clips, args.output, preset=args.preset, labels=args.labels, label_per_clip=args.label,
          seed=args.seed, device=args.device, resume=args.resume, fps=args.fps, controls=controls,
          control_source=source, overrides=overrides or None)
    return 0
