"""``mrgen eval``: score generated motion (coverage, global/local diversity, foot skating, jitter).

Coverage and both diversities are printed (and written with ``--json``) twice, side by side: on the fair features
(heading removed, yaw rate added: mrgen's default; JSON top level and ``"fair"``) and on GANimator's literal ones
(with the heading; ``"literal"``), which published figures (GANimator, GenMM, SinMDM papers) use.

Two sources of samples:

* ``--model M.pt``: draws ``--samples`` motions of ``--frames`` frames (default: twice the total training length)
  with ``--seed`` and noise at the coarsest level only (GANimator's protocol), and scores them against the model's
  training clips (``model.training_motions()``, or ``--reference`` clips); adds the reconstruction error of
  ``G(z*)`` (``sampling.reconstruct``) when scoring against the model's own clips. A labelled model is scored
  label by label (``--samples`` under each label against the parts of the clips with it; ``--label`` for one).
* ``--samples-dir DIR --reference CLIP ...``: every .npz / .bvh in DIR (made by any tool), all loaded at ``--fps``.
"""
from __future__ import annotations

import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "eval", help="score generated motion: coverage, diversity, foot skating, jitter",
        description="Score generated motions against their training clips with GANimator's coverage and "
                    "global/local diversity, on the fair features (heading removed, turning kept) and on GANimator's "
                    "literal ones side by side, plus foot skating and jitter (also of the training clips).")
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
    p.add_argument("--label", metavar="NAME",
                   help="with --model: sample under this label only (a labelled model is otherwise scored label by "
                        "label: samples under each label against the parts of its clips with that label)")
    p.add_argument("--no-cleanup", action="store_true",
                   help="score the model's raw output (no foot-contact cleanup), e.g. to compare foot skating")
    p.add_argument("--json", metavar="OUT",
                   help="also write the figures to this JSON file (fair: top level and \"fair\"; GANimator's "
                        "literal: \"literal\")")
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
    """The figures as aligned text: coverage and diversities on the fair and the literal features side by side,
    then foot skating and jitter of the samples and of the training clips."""
    ref = res["reference"]
    fair, lit = res.get("fair", res), res.get("literal")

    def col(d, key):
        if d is None:
            return "n/a"
        return f"{d[key] * 100:.1f} %" if key == "coverage" else _fmt(d[key])

    rows = [("", "fair", "literal"),
            *((label, col(fair, key), col(lit, key)) for label, key in (
                ("coverage", "coverage"), ("global diversity", "global_diversity"),
                ("local diversity", "local_diversity"))),
            ("", "samples", "training"),
            ("foot skating (cm/s)", _fmt(res["foot_skating"]), _fmt(ref["foot_skating"])),
            ("jitter (m/s^2)", _fmt(res["jitter"]), _fmt(ref["jitter"]))]
    if "reconstruction_error" in res:
        rows.append(("reconstruction (cm)", "", _fmt(res["reconstruction_error"])))
        rows.append(("  pose only (cm)", "", _fmt(res["reconstruction_pose_error"])))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{a:<{w0}}  {b:>{w1}}  {c:>9}".rstrip() for a, b, c in rows]
    lines.append("fair: heading removed, turning (yaw rate) kept, mrgen's default; literal: GANimator's features, "
                 "with the heading, as published figures use")
    return "\n".join(lines)


def run(args) -> int:
    from ..tasks import evaluate

    bar, update = _progress_bar()
    try:
        res = evaluate(model=args.model, samples_dir=args.samples_dir, reference=args.reference,
                       samples=args.samples, seed=args.seed, frames=args.frames, fps=args.fps,
                       cleanup=not args.no_cleanup, label=args.label, json_path=args.json,
                       progress=update)
    finally:
        bar.close()
    print(f"{res['num_samples']} samples vs {len(res['protocol']['references'])} training clip(s) at "
          f"{res['fps']:g} fps")
    print(format_table(res))
    for name, lab in res.get("per_label", {}).items():
        lit = lab.get("literal")
        print(f"  {name}: {lab['num_samples']} samples vs {lab['windows']} windows: coverage "
              f"{lab['coverage'] * 100:.1f} %" + (f" / {lit['coverage'] * 100:.1f} %" if lit else "") +
              f", local diversity {lab['local_diversity']:.3f}" + (f" / {lit['local_diversity']:.3f}" if lit else ""))
    if args.json:
        print(f"wrote {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - convenience for `python -m`
    from . import main as cli_main

    return cli_main(["eval", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
