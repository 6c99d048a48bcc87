"""The ``mrgen`` command line: one module per subcommand, each a thin call into the library.

Every subcommand module defines ``add_parser(subparsers)`` and ``run(args) -> int``. User errors
(:class:`~mrgen_core.errors.MrgenError`) print one line ``mrgen: error: <file>: <problem>`` and exit 2.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from ..errors import MrgenError

#: Subcommand modules in the order ``mrgen --help`` lists them.
COMMANDS = ("import_", "export", "info", "preview", "train", "generate", "blend", "eval")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="mrgen",
        description="Generate human motion from a few clips with a multi-resolution GAN (SMPL output).",
    )
    parser.add_argument("--version", action="version", version=f"mrgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numeric warnings would come before the error line
            return int(args.func(args) or 0)
    except MrgenError as e:
        print(f"mrgen: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `mrgen info x.npz | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("mrgen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
