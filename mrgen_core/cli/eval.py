"""``mrgen eval``: score generated motion (coverage, global/local diversity, foot skating, jitter).

Two sources of samples:

* ``--model M.pt``: draws ``--samples`` motions of ``--frames`` frames (default: twice the total training length)
  with ``--seed`` and noise at the coarsest level only (GANimator's protocol), and scores them against the model's
  training clips (``model.training_motions()``, or ``--reference`` clips); adds the reconstruction error of
  ``G(z*)`` (``sampling.reconstruct``) when scoring against the model's own clips.
* ``--samples-dir DIR --reference CLIP ...``: every .npz / .bvh in DIR (made by any tool), all loaded at ``--fps``.
"""
from __future__ import annotations

import sys


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


def _progress_bar():
    """A progress bar on stderr (hidden when stderr is not a terminal) and the task's callback that moves it."""
    from tqdm import tqdm

    bar = tqdm(total=100, unit="%", file=sys.stderr, leave=False, disable=None)

    def update(fraction: float, message: str = "") -> None:
        bar.set_description(message, refresh=False)
        bar.n = round(fraction * 100)
        bar.refresh()

    return bar, update


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
    from ..tasks import evaluate

    bar, update = _progress_bar()
    try:
        res = evaluate(model=args.model, samples_dir=args.samples_dir, reference=args.reference,
                       samples=args.samples, seed=args.seed, frames=args.frames, fps=args.fps,
                       keep_heading=args.keep_heading, cleanup=not args.no_cleanup, json_path=args.json,
                       progress=update)
    finally:
        bar.close()
    print(f"{res['num_samples']} samples vs {len(res['protocol']['references'])} training clip(s) at "
          f"{res['fps']:g} fps")
    print(format_table(res))
    if args.json:
        print(f"wrote {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - convenience for `python -m`
    from . import main as cli_main

    return cli_main(["eval", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
