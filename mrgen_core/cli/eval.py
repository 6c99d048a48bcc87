"""``mrgen eval``: score generated motion (coverage, global/local diversity, foot skating, jitter).

Two sources of samples:

* ``--model M.pt``: draws ``--samples`` motions of ``--frames`` frames (default: twice the total training length)
  with ``--seed`` and noise at the coarsest level only (GANimator's protocol), and scores them against the model's
  training clips (``model.training_motions()``, or ``--reference`` clips); adds the reconstruction error of
  ``G(z*)`` (``sampling.reconstruct``) when scoring against the model's own clips.
* ``--samples-dir DIR --reference CLIP ...``: every .npz / .bvh in DIR (made by any tool), all loaded at ``--fps``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import MrgenError
from ..io.atomic import atomic_path

MOTION_SUFFIXES = (".npz", ".bvh")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "eval", help="score generated motion: coverage, diversity, foot skating, jitter",
        description="Score generated motions against their training clips with GANimator's coverage and "
                    "global/local diversity, plus foot skating and jitter (also of the training clips).")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", metavar="M.pt", help="a trained mrgen model: sample it and score the samples")
    src.add_argument("--samples-dir", metavar="DIR", help="a folder of .npz / .bvh motions to score")
    p.add_argument("--reference", nargs="+", metavar="CLIP",
                   help="training clips (.npz / .bvh); required with --samples-dir, optional with --model")
    p.add_argument("--samples", type=int, default=20, help="samples to draw from the model (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed for sampling (default 0)")
    p.add_argument("--frames", type=int, default=None,
                   help="frames per sample (default: twice the total length of the training clips)")
    p.add_argument("--fps", type=float, default=30.0,
                   help="frame rate everything is resampled to with --samples-dir (default 30; the windows are "
                        "30 and 15 frames, as in GANimator)")
    p.add_argument("--keep-heading", action="store_true",
                   help="compare root orientations with their heading (GANimator's literal features)")
    p.add_argument("--no-cleanup", action="store_true",
                   help="score the model's raw output (no foot-contact cleanup), e.g. to compare foot skating")
    p.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    p.set_defaults(func=run)


def _load_motion(path, fps):
    try:
        from ..io import load_motion
    except ImportError as e:  # issue 2 not landed
        raise MrgenError(f"reading motion files needs mrgen_core.io.load_motion, which is missing ({e})",
                         path) from None
    if not Path(path).is_file():
        raise MrgenError("no such file", path)
    return load_motion(path, fps=fps)


def _progress_bar(total: int, desc: str, unit: str = "sample"):
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, disable=None)

    def update(fraction: float, message: str = "") -> None:
        bar.n = round(fraction * total)
        bar.refresh()

    return bar, update


def _from_model(args) -> tuple[list, list, list | None, dict]:
    try:
        from .. import sampling
    except ImportError as e:
        raise MrgenError(f"mrgen eval --model needs the model package (mrgen_core.sampling), which is missing ({e})",
                         args.model) from None
    model = sampling.load_model(args.model)
    fps = float(model.fps)
    if args.reference:
        refs = [_load_motion(c, fps) for c in args.reference]
    else:
        get = getattr(model, "training_motions", None)
        if get is None:
            raise MrgenError("this model does not carry its training clips; name them with --reference CLIP ...",
                             args.model)
        refs = list(get())
    refs = [r if abs(r.fps - fps) < 1e-6 else r.resample(fps) for r in refs]
    frames = args.frames or 2 * sum(r.num_frames for r in refs)
    bar, update = _progress_bar(100, "sampling", "%")
    try:  # noise at the coarsest level only: the evaluation protocol
        samples = sampling.generate(model, frames=frames, seed=args.seed, num=args.samples, progress=update,
                                    noise="coarsest", cleanup=not args.no_cleanup)
    finally:
        bar.close()
    recs = None
    reconstruct = getattr(sampling, "reconstruct", None)  # G(z*) of every training clip, in training_motions order
    if reconstruct is not None and not args.reference:
        recs = list(reconstruct(model))
    return samples, refs, recs, {"model": str(args.model), "seed": args.seed, "frames": frames}


def _from_dir(args) -> tuple[list, list, None, dict]:
    folder = Path(args.samples_dir)
    if not args.reference:
        raise MrgenError("--samples-dir needs the training clips: --reference CLIP [CLIP ...]")
    if not folder.is_dir():
        raise MrgenError("not a folder", folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in MOTION_SUFFIXES and p.is_file())
    if not files:
        raise MrgenError("no .npz or .bvh files in this folder", folder)
    refs = [_load_motion(c, args.fps) for c in args.reference]
    samples = [_load_motion(p, args.fps) for p in files]
    return samples, refs, None, {"samples_dir": str(folder)}


def _fmt(v, unit: str = "") -> str:
    return "n/a" if v is None else f"{v:.3f}{unit}"


def format_table(res: dict) -> str:
    """The figures as an aligned text table (samples vs training clips)."""
    ref = res["reference"]
    rows = [("", "samples", "training"),
            ("coverage", f"{res['coverage'] * 100:.1f} %", ""),
            ("global diversity", _fmt(res["global_diversity"]), ""),
            ("local diversity", _fmt(res["local_diversity"]), ""),
            ("foot skating (cm/s)", _fmt(res["foot_skating"]), _fmt(ref["foot_skating"])),
            ("jitter (m/s^2)", _fmt(res["jitter"]), _fmt(ref["jitter"]))]
    if "reconstruction_error" in res:
        rows.append(("reconstruction (cm)", "", _fmt(res["reconstruction_error"])))
        rows.append(("  pose only (cm)", "", _fmt(res["reconstruction_pose_error"])))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{w0}}  {b:>{w1}}  {c:>9}".rstrip() for a, b, c in rows)


def run(args) -> int:
    from ..metrics import evaluate

    if args.samples < 1:
        raise MrgenError(f"--samples must be at least 1, got {args.samples}")
    if args.frames is not None and args.frames < 1:
        raise MrgenError(f"--frames must be positive, got {args.frames}")
    if not (args.fps > 0):
        raise MrgenError(f"--fps must be positive, got {args.fps}")
    samples, refs, recs, protocol = _from_model(args) if args.model else _from_dir(args)
    bar, update = _progress_bar(len(samples), "evaluating")
    try:
        res = evaluate(samples, refs, reconstructions=recs, heading_invariant=not args.keep_heading,
                       progress=update)
    finally:
        bar.close()
    res["protocol"] = {**protocol, "num_samples": len(samples), "fps": res["fps"],
                       "references": [r.source or r.name for r in refs],
                       "heading_invariant": not args.keep_heading}
    print(f"{len(samples)} samples vs {len(refs)} training clip(s) at {res['fps']:g} fps")
    print(format_table(res))
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(res, indent=2, allow_nan=False) + "\n")
        print(f"wrote {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - convenience for `python -m`
    from . import main as cli_main

    return cli_main(["eval", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
