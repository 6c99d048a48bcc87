"""``mrgen train``: train a model on a few clips (BVH or .npz), with optional labels."""
from __future__ import annotations

import argparse

EPILOG = """\
examples:
  mrgen train 05_06.bvh -o dance.pt                          # one clip, default preset (minutes on a laptop CPU)
  mrgen train 131_01.bvh 131_02.bvh 131_03.bvh --label walk --label walk --label hop -o walk_hop.pt
  mrgen train clips/*.bvh --labels labels.json --preset fast -o model.pt
  mrgen train 131_01.bvh 131_02.bvh --label walk --label walk --path-control -o walk_path.pt  # steerable by --path
  mrgen train 131_01.bvh 131_02.bvh --path-control --mirror -o walk_path.pt  # turns both ways: clips mirrored too
  mrgen train --resume model.pt -o model.pt                  # continue a run stopped with Ctrl-C
  mrgen train clips/*.bvh --procs 1 -o model.pt              # one process (exactly the models of mrgen <= 0.1)
  torchrun --nproc_per_node 4 -m mrgen_core.cli train clips/*.bvh --labels labels.json --device cuda -o model.pt

labels file: JSON {"131_01": "walk", "131_03": [[0, 2.5, "walk"], [2.5, 9.2, "hop"]]}
             or CSV rows  clip,start,end,label  (seconds; empty start/end = whole clip)
no labels, several clips: each clip is learnt under a label named after it (clip codes), and a
             free sample visits every clip in turn; `generate --labels CLIP` asks for one (--set clip_codes=false: off)
several clips under one label, --set label_codes=true: each clip is learnt under a code of its own (label/clip),
             and the label plays a tour of its clips; users still ask for the label (`--labels walk/CLIP`: one clip)
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
    p.add_argument("--path-control", action="store_true",
                   help="learn to follow the clips' own travel (speed, sideways drift, turning) at every level, so "
                        "`mrgen generate --path` steers the model (without it --path time-warps a free gait)")
    p.add_argument("--mirror", action="store_true",
                   help="also train on every clip mirrored left to right: the model turns both ways and sees twice "
                        "the motion (an asymmetric style, e.g. a limp, is learned on both sides)")
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
    p.add_argument("--procs", type=int, metavar="N",
                   help="data-parallel training processes, each taking a share of every step's crops (default: "
                        "one per physical CPU core, or per GPU with --device cuda, at most the 4 crops of a step; "
                        "a resumed run: as many as before. With --preset default on up to 15 s of motion, and with "
                        "--set batch_per_process=true on any, each takes 4 crops: a larger batch). --procs 1: one "
                        "process. Under torchrun, leave it out")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..tasks import train

    result = train(args.clips, args.output, preset=args.preset, settings=args.set, labels=args.labels,
                   label_per_clip=args.label, audio=args.audio, wavlm=args.wavlm, fps=args.fps, seed=args.seed,
                   device=args.device, resume=args.resume, procs=args.procs,
                   path_control=args.path_control, mirror=args.mirror)
    return 130 if result.stopped_early else 0  # Ctrl-C: the checkpoint is saved, but the run did not finish
