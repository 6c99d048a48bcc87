"""One training process started by :func:`training.launch.launch`: ``python -m training.rank JOB``.

It runs :func:`training.train.train` as one rank of the run and reports to its launcher on a pipe (JSON lines:
progress from rank 0, the result, or one line saying why it failed).
"""
from __future__ import annotations

import json
import os
import pickle
import signal
import sys
from pathlib import Path

from mrgen_core.errors import MrgenError

from .launch import _LINE_MAX, PARENT_ENV, REPORT_ENV


def _report(fd: int, **msg) -> None:
    line = json.dumps(msg)
    if len(line) > _LINE_MAX and "error" in msg:
        line = json.dumps(dict(msg, error=msg["error"][:_LINE_MAX - 200] + " ..."))
    os.write(fd, (line + "\n").encode())


def _one_line(e: BaseException) -> str:
    """``Type: message (file:line)`` of an unexpected error, the line being the innermost frame of mrgen's code."""
    import traceback

    where = ""
    for frame in traceback.extract_tb(e.__traceback__):
        path = Path(frame.filename)
        if path.parent.name in ("training", "mrgen_core") or "mrgen_core" in path.parts:
            where = f" ({path.parent.name}/{path.name}:{frame.lineno})"
    text = " ".join(str(e).split()) or "(no message)"
    return f"{type(e).__name__}: {text}{where}"


def main(argv: list[str] | None = None) -> int:
    """One launched training process: ``python -m training.rank JOB`` (see :func:`training.launch.launch`)."""
    argv = sys.argv[1:] if argv is None else argv
    job = pickle.loads(Path(argv[0]).read_bytes())
    rank, fd, parent = int(os.environ["RANK"]), int(os.environ[REPORT_ENV]), int(os.environ[PARENT_ENV])
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # atomic writes clean up
    early = []  # a stop asked for before training's own Ctrl-C handler is in place (while starting up)
    signal.signal(signal.SIGINT, lambda signum, frame: early.append(signum))

    def progress(fraction: float, message: str) -> None:
        _report(fd, progress=fraction, message=message)

    from .distributed import is_peer_error
    from .train import train

    quiet = bool(job.pop("quiet", False)) or rank > 0
    outcome: dict = {}
    try:
        path = train(**job, progress=progress if rank == 0 else None, quiet=quiet, outcome=outcome,
                     should_stop=lambda: bool(early) or os.getppid() != parent)
        if rank == 0:
            _report(fd, result=str(path), stopped=bool(outcome.get("stopped")))
        return 0
    except MrgenError as e:
        _report(fd, rank=rank, kind="user", error=str(e))
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - reported to the launcher in one line
        _report(fd, rank=rank, kind="peer" if is_peer_error(e) else "internal", error=_one_line(e))
        return 1


if __name__ == "__main__":
    code = main()
    # Leave without the interpreter's teardown: its C++ destructors (torch.distributed's store and gloo threads)
    # can abort a finished rank ("terminate called without an active exception", SIGABRT), which the launcher
    # would report as a failed run although every report is sent and the model written.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
