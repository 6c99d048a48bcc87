"""The model worker: a persistent process that speaks JSON lines on stdin/stdout (``python -m mrgen_core.worker``).

The Blender add-on (or any client) starts it with the Python that has torch, sends one request per line and reads
one reply per line. Only plain values and file paths cross the pipe; motions travel as AMASS-style ``.npz`` files
written atomically to a temporary folder. Logs go to stderr (anything a library prints to stdout is redirected
there too, so stdout carries protocol lines only).

Requests ``{"id": ..., "cmd": ..., ...}``:

=============  ==================================================================================================
``ping``       ``{"pong": true}`` at once, even while a job runs
``version``    versions of mrgen, Python, numpy, torch (``null`` if missing) and CUDA availability
``load_model`` ``model`` (path; ``"default"``: the shipped model), ``device`` -> ``labels``, ``fps``,
               ``num_levels``, ``clip_names``, ``clip_lengths``, ``audio`` (``"mfcc"``, ``"wavlm"`` or ``""``: what
               speech features the model follows)
``generate``   ``model``, ``device``, ``seconds`` or ``frames``, ``seed``, ``labels``, ``num``, ``out_dir``, ``name``,
               ``audio`` (a speech WAV: without ``seconds``/``frames`` the motion is as long as it), ``wavlm`` (its
               checkpoint folder, for models trained on WavLM features; ignored for others), ``loop`` (true: a
               seamless loop), ``cycles`` (with ``loop``, instead of ``seconds``: that many periods of the label),
               ``keys`` (a motion file) with ``key_frames`` (``"0,120,240"`` or a list: its frames to hit),
               ``key_root`` (also its root positions), ``mapping`` (for a ``keys`` BVH rig), ``root`` (``"keep"``
               or ``"in-place"``), ``path`` (floor waypoints to follow: a path file, or inline ``{"points": [[x, y],
               ...], "times": [...]}``), ``speed`` (m/s, an untimed path), ``facing`` (``"path"``, degrees or
               ``"X,Y"``), ``ease`` (seconds over which the path's stops and starts are spread) -> ``files`` (one
               ``.npz`` per variation), ``fps``, ``frames``, ``model_info``, ``warnings``
``blend``      ``model``, ``device``, ``source`` (motion file or training clip name), ``keep_levels``, ``seed``,
               ``num``, ``coarse_labels``, ``fine_labels``, ``switch_level``, ``keep_frames`` (``"0-30,200-240"``
               or a list of ``[start, end]``: source frames kept exactly, the rest regenerated; ``keep_levels`` 0
               keeps nothing else), ``loop`` (true: a seamless loop of the source), ``root``, ``out_dir``,
               ``name`` -> ``files``, ...
``train``      ``clips`` (paths), ``out_path``, ``preset``, ``labels``, ``label_per_clip``, ``audio`` (one speech
               WAV per clip: the model follows speech, as ``mrgen train --audio``), ``wavlm`` (with ``audio``: a
               local WavLM checkpoint folder, as ``--wavlm``), ``path_control`` (true: the model learns to follow
               paths, as ``--path-control``), ``mirror`` (true: the clips mirrored left to right too, as
               ``--mirror``), ``seed``, ``device``, ``resume``, ``procs``
               (data-parallel training processes, as ``--procs``; missing, null or 0: one per physical core)
               -> ``model`` (path), ``stopped_early``; progress comes from the first process
``smpl_mesh``  ``model_file`` (the user's licensed SMPL model), ``out_dir`` -> ``file``: an ``.npz`` with the rest
               ``vertices`` (template frame), ``faces``, skinning ``weights`` (V, 24) and ``joints``
``selftest``   ``steps``, ``delay``: a model-free job that reports progress and honours cancel (setup checks)
``cancel``     cancels the running job (at its next progress point: between levels or training steps) and any
               queued ones; the job answers with an error of kind ``cancelled`` (``train`` saves a checkpoint
               and answers its result with ``stopped_early``)
``shutdown``   cancels, answers ``{"bye": true}`` and exits 0
=============  ==================================================================================================

Each job is one method calling :mod:`mrgen_core.tasks` (the same tasks as the ``mrgen`` command line).
Replies: ``{"type": "ready", "protocol": 1, ...}`` once at start; then per request ``{"id", "type": "progress",
"fraction", "message"}`` (jobs only), and exactly one ``{"id", "type": "result", ...}`` or ``{"id", "type":
"error", "kind": "user" | "cancelled" | "internal", "message"}``. ``python -m mrgen_core.worker --check`` prints
the ``version`` reply as one JSON line and exits (the add-on's "Check" button).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import queue
import signal
import sys
import tempfile
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable

from . import limits, tasks
from .errors import MrgenError
from .tasks import Cancelled

PROTOCOL = 1
#: Commands answered by the reader thread at once; everything else is a job, run one at a time in order.
_IMMEDIATE = ("ping", "cancel", "shutdown")
_JOBS = ("version", "load_model", "generate", "blend", "train", "smpl_mesh", "selftest")

log = logging.getLogger("mrgen.worker")


def versions() -> dict:
    """Versions of what the worker runs on; ``torch`` is ``None`` when it cannot be imported."""
    import numpy

    from . import __version__

    info: dict[str, Any] = {"mrgen": __version__, "mrgen_path": str(Path(__file__).resolve().parent),
                            "python": platform.python_version(), "executable": sys.executable,
                            "numpy": numpy.__version__, "torch": None, "cuda": False, "protocol": PROTOCOL}
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = bool(torch.cuda.is_available())
    except Exception as e:  # noqa: BLE001 - any import failure means "no usable torch"
        info["torch_error"] = f"{type(e).__name__}: {e}"
    return info


class Worker:
    """The request loop. ``out`` is the protocol stream (the real stdout); ``inp`` yields request lines."""

    def __init__(self, inp, out):
        self.inp = inp
        self.out = out
        self._write_lock = threading.Lock()
        self._jobs: queue.Queue = queue.Queue()
        self._cancel_gen = 0  # a job submitted before the latest cancel (job gen < this) is cancelled
        self._models = tasks.ModelCache()
        self._tmp: str | None = None
        self.current: Any = None  # id of the running job

    # --- output ---------------------------------------------------------------------------------------------
    def send(self, msg: dict) -> None:
        line = json.dumps(msg, default=_json_default)
        with self._write_lock:
            self.out.write(line + "\n")
            self.out.flush()

    def _error(self, rid, kind: str, message: str) -> None:
        self.send({"id": rid, "type": "error", "kind": kind, "message": message})

    # --- main loop ------------------------------------------------------------------------------------------
    def serve(self) -> int:
        """Read requests until ``shutdown`` or end of input; returns the exit status. No line ends the worker: a
        line that is too long, not UTF-8, not a JSON object, nested too deep or of the wrong types gets an error
        reply and the worker reads the next one."""
        runner = threading.Thread(target=self._run_jobs, name="mrgen-jobs", daemon=True)
        runner.start()
        self.send({"type": "ready", "protocol": PROTOCOL, "pid": os.getpid(), **_light_versions()})
        for raw in _lines(self.inp):
            try:
                if self._handle(raw, runner):
                    return 0
            except Exception as e:  # noqa: BLE001 - a bug in request handling must not end the worker
                traceback.print_exc(file=sys.stderr)
                self._error(None, "internal", f"{type(e).__name__}: {e}")
        log.info("input closed; stopping")
        self._stop(runner)
        return 0

    def _handle(self, raw: bytes | str | None, runner: threading.Thread) -> bool:
        """Answer or queue one request line; True after ``shutdown``."""
        if raw is None:
            self._error(None, "user", f"bad request: longer than {limits.MAX_REQUEST_BYTES} bytes (skipped)")
            return False
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                self._error(None, "user", f"bad request: not UTF-8 text ({e.reason} at byte {e.start})")
                return False
        raw = raw.strip()
        if not raw:
            return False
        try:
            req = limits.json_loads(raw)
            if not isinstance(req, dict):
                raise ValueError("a request must be a JSON object")
        except (ValueError, RecursionError) as e:
            self._error(None, "user", f"bad request (not a JSON object): {str(e)[:200]}")
            return False
        rid, cmd = req.get("id"), req.get("cmd")
        if not isinstance(rid, (str, int, float, type(None))) or isinstance(rid, bool):
            self._error(None, "user", "bad request: 'id' must be a number or a string")
            return False
        if cmd in _JOBS:
            try:
                check_request(req)
            except MrgenError as e:
                self._error(rid, "user", str(e))
                return False
        if cmd == "ping":
            self.send({"id": rid, "type": "result", "pong": True, "busy": self.current is not None})
        elif cmd == "cancel":
            busy = self.current is not None or not self._jobs.empty()
            self._cancel_gen += 1
            self.send({"id": rid, "type": "result", "cancelled": busy})
        elif cmd == "shutdown":
            self._stop(runner)
            self.send({"id": rid, "type": "result", "bye": True})
            return True
        elif cmd in _JOBS:
            self._jobs.put((self._cancel_gen, req))
        else:
            known = ", ".join(_IMMEDIATE + _JOBS)
            self._error(rid, "user", f"unknown command {str(cmd)[:40]!r}; expected one of: {known}")
        return False

    def _stop(self, runner: threading.Thread, wait: float = 30.0) -> None:
        """Cancel the running and queued jobs, give the runner ``wait`` seconds to answer them, remove the
        worker's temporary folder (clients read each result file when its reply arrives)."""
        self._cancel_gen += 1
        self._jobs.put(None)
        runner.join(wait)
        if self._tmp is not None:
            import shutil

            shutil.rmtree(self._tmp, ignore_errors=True)

    def _run_jobs(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            gen, req = item
            rid = req.get("id")
            self.current = rid
            started = time.perf_counter()
            stop = lambda gen=gen: gen < self._cancel_gen  # noqa: E731
            try:
                if stop():
                    raise Cancelled()
                result = getattr(self, "_cmd_" + req["cmd"])(req, self._progress(rid), stop)
                self.send({"id": rid, "type": "result", **result})
                log.info("%s %s done in %.2f s", req["cmd"], rid, time.perf_counter() - started)
            except Cancelled:
                self._error(rid, "cancelled", "cancelled")
                log.info("%s %s cancelled", req["cmd"], rid)
            except MrgenError as e:
                self._error(rid, "user", str(e))
            except Exception as e:  # noqa: BLE001 - a bug: keep the traceback in the log, answer in one line
                traceback.print_exc(file=sys.stderr)
                self._error(rid, "internal", f"{type(e).__name__}: {e}")
            finally:
                self.current = None

    def _progress(self, rid) -> Callable[[float, str], None]:
        def progress(fraction: float, message: str = "") -> None:
            self.send({"id": rid, "type": "progress", "fraction": float(fraction), "message": str(message)})
        return progress

    # --- helpers --------------------------------------------------------------------------------------------
    def _out_dir(self, req: dict) -> Path:
        if req.get("out_dir"):
            d = Path(req["out_dir"])
        else:
            if self._tmp is None:
                self._tmp = tempfile.mkdtemp(prefix="mrgen-worker-")
            d = Path(self._tmp)
        limits.output_file(d / "x", "out_dir")  # a writable folder (or one that can be made)
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise MrgenError(f"cannot make the output folder ({e.strerror or e})", d) from None
        return d

    def _outputs(self, req: dict, default_name: str) -> list[Path]:
        """``<out_dir>/<name>_00.npz``, ``_01.npz``, ...: one file per variation."""
        num = tasks.check_num(req.get("num") or 1)
        out = self._out_dir(req)
        name = _safe_name(req.get("name") or default_name)
        return [out / f"{name}_{i:02d}.npz" for i in range(num)]

    # --- commands: each one task of mrgen_core.tasks ----------------------------------------------------------
    def _cmd_version(self, req, progress, stop) -> dict:
        return versions()

    def _cmd_selftest(self, req, progress, stop) -> dict:
        steps = int(req.get("steps") if req.get("steps") is not None else 5)
        delay = float(req.get("delay") if req.get("delay") is not None else 0.05)
        report = tasks.checked(progress, stop)
        for i in range(steps):
            report(i / max(steps, 1), f"step {i + 1}/{steps}")
            print(f"selftest: step {i + 1}/{steps}")  # stray prints land in the log (stderr), never on the pipe
            time.sleep(delay)
        report(1.0, "done")
        return {"steps": steps}

    def _cmd_load_model(self, req, progress, stop) -> dict:
        progress(0.0, "loading model")
        model = _model_path(req)
        return tasks.model_info(self._models.get(model, _device(req)), model)

    def _cmd_generate(self, req, progress, stop) -> dict:
        model = _model_path(req)
        seed = int(req.get("seed", 0))
        return tasks.generate(
            model, self._outputs(req, f"{Path(model).stem}_seed{seed}"), seconds=req.get("seconds"),
            frames=req.get("frames"), seed=seed, labels=req.get("labels"), audio=req.get("audio"),
            wavlm=req.get("wavlm"), wavlm_if_needed=True, loop=bool(req.get("loop")), cycles=req.get("cycles"),
            keys=req.get("keys"), key_frames=req.get("key_frames"), key_root=bool(req.get("key_root")),
            mapping=req.get("mapping"), root=req.get("root") or "keep", path=req.get("path"),
            speed=req.get("speed"), facing=req.get("facing"), ease=req.get("ease"), device=_device(req),
            models=self._models, progress=progress, should_stop=stop).as_dict()

    def _cmd_blend(self, req, progress, stop) -> dict:
        model = _model_path(req)
        if not req.get("source"):
            raise MrgenError("no source motion given for blending")
        mixing = bool(req.get("coarse_labels") or req.get("fine_labels"))
        return tasks.blend(
            model, self._outputs(req, f"{Path(req['source']).stem}_blend"), source=req["source"],
            keep_levels=req.get("keep_levels", 1), seed=int(req.get("seed", 0)), labels=req.get("labels"),
            coarse_labels=req.get("coarse_labels"), fine_labels=req.get("fine_labels"),
            switch_level=req.get("switch_level") if mixing else None, loop=bool(req.get("loop")),
            keep_frames=req.get("keep_frames"), root=req.get("root") or "keep", device=_device(req),
            models=self._models, progress=progress, should_stop=stop).as_dict()

    def _cmd_train(self, req, progress, stop) -> dict:
        if not (req.get("clips") or req.get("resume")):
            raise MrgenError("no clips given for training")
        if not req.get("out_path"):
            raise MrgenError("no output path given for the trained model")
        _require_torch()
        # cancel stops training through should_stop: a checkpoint is saved and the reply says stopped_early
        return tasks.train(
            list(req.get("clips") or ()), req["out_path"], preset=req.get("preset") or "default",
            labels=req.get("labels"), label_per_clip=req.get("label_per_clip"), audio=req.get("audio"),
            wavlm=req.get("wavlm"), seed=int(req.get("seed", 0)), device=_device(req), resume=req.get("resume"),
            procs=_procs(req), path_control=bool(req.get("path_control")), mirror=bool(req.get("mirror")),
            quiet=True, progress=progress, should_stop=stop).as_dict()

    def _cmd_smpl_mesh(self, req, progress, stop) -> dict:
        if not req.get("model_file"):
            raise MrgenError("no SMPL model file given (set it in the MRGen add-on preferences)")
        progress(0.0, "reading the SMPL model")
        out = self._out_dir(req) / f"{_safe_name(Path(req['model_file']).stem)}_mesh.npz"
        return tasks.smpl_mesh(req["model_file"], out)


_STR, _INT, _NUM, _BOOL = "a string", "a whole number", "a number", "true or false"
_LIST, _STRS, _OBJ = "a list", "a list of strings", "an object"
#: Types of the request fields (None or absent is always allowed: the default is used).
_FIELDS: dict[str, tuple[str, ...]] = {
    "model": (_STR,), "device": (_STR,), "out_dir": (_STR,), "name": (_STR,), "seconds": (_NUM,), "frames": (_INT,),
    "seed": (_INT,), "labels": (_STR,), "num": (_INT,), "audio": (_STR, _STRS), "wavlm": (_STR,),
    "source": (_STR,), "keep_levels": (_INT, _STR), "coarse_labels": (_STR,), "fine_labels": (_STR,),
    "switch_level": (_INT,), "clips": (_STRS,), "out_path": (_STR,), "preset": (_STR,),
    "label_per_clip": (_STR, _STRS), "resume": (_STR,), "model_file": (_STR,), "steps": (_INT,),
    "delay": (_NUM,), "procs": (_INT,), "loop": (_BOOL,), "cycles": (_INT,), "keys": (_STR,),
    "key_frames": (_STR, _LIST), "key_root": (_BOOL,), "mapping": (_STR,), "root": (_STR,),
    "keep_frames": (_STR, _LIST), "path": (_STR, _LIST, _OBJ), "speed": (_NUM,), "facing": (_STR,),
    "ease": (_NUM,), "path_control": (_BOOL,), "mirror": (_BOOL,),
}
_RANGES = {"seed": (-2**63, 2**63 - 1), "steps": (0, 100_000), "delay": (0.0, 60.0), "switch_level": (0, 1000),
           "keep_levels": (0, 1000), "procs": (0, 1 << 16), "cycles": (1, 100_000),
           "speed": (0.0, 100.0), "ease": (0.0, limits.MAX_EASE)}


def _is(value, kind: str) -> bool:
    if kind == _STR:
        return isinstance(value, str)
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _NUM:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _LIST:
        return isinstance(value, list)
    if kind == _OBJ:
        return isinstance(value, dict)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)  # _STRS


def check_request(req: dict) -> None:
    """MrgenError (a ``user`` error) for a field of the wrong type or out of its range, before the job is queued."""
    for key, kinds in _FIELDS.items():
        value = req.get(key)
        if value is None:
            continue
        if not any(_is(value, k) for k in kinds):
            raise MrgenError(f"request field {key!r} must be {' or '.join(kinds)}, got {type(value).__name__}")
        if key in _RANGES and not isinstance(value, str):
            lo, hi = _RANGES[key]
            limits.finite_number(value, f"request field {key!r}", lo, hi, integer=_INT in kinds)
    if req.get("num") is not None:
        tasks.check_num(req["num"])


def _lines(stream):
    """Request lines of ``stream`` (bytes or text), each at most ``MAX_REQUEST_BYTES``; None for a longer line (whose rest
    is read and dropped)."""
    limit = limits.MAX_REQUEST_BYTES
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        nl = b"\n" if isinstance(line, bytes) else "\n"
        if len(line) > limit and not line.endswith(nl):
            while line and not line.endswith(nl):
                line = stream.readline(limit + 1)
            yield None
            continue
        yield line


def _model_path(req: dict) -> str:
    """The request's model file (torch must be importable to load it)."""
    if not req.get("model"):
        raise MrgenError("no model given (choose a model file or folder in the MRGen panel)")
    _require_torch()
    return req["model"]


def _procs(req: dict) -> int | None:
    """The request's training processes: None (automatic) when missing, null or 0."""
    value = req.get("procs")
    if value in (None, 0):
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MrgenError(f"procs must be a whole number of training processes, got {value!r}")
    return value


def _device(req: dict) -> str:
    return req.get("device") or "cpu"


def _require_torch() -> None:
    """A missing torch is a user error that says how to fix it."""
    try:
        import torch  # noqa: F401
    except ImportError as e:
        raise MrgenError(f"torch cannot be imported in the worker Python {sys.executable} ({e}); install it there "
                         f"with `pip install torch==2.13.0` or set up a worker with `python build.py "
                         f"--worker-venv`") from None


def _safe_name(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))
    return keep.strip("._") or "motion"


def _light_versions() -> dict:
    from . import __version__

    return {"mrgen": __version__, "python": platform.python_version()}


def _json_default(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _protocol_stream():
    """Keep the real stdout for protocol lines and send everything else written to fd 1 to stderr."""
    sys.stdout.flush()
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mrgen_core.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print versions as one JSON line and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="mrgen-worker %(levelname)s: %(message)s")
    if args.check:
        print(json.dumps(versions()), flush=True)
        return 0
    warnings.simplefilter("ignore", RuntimeWarning)  # numeric warnings are not protocol lines nor user errors
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # exit through atexit: temporary files removed
    out = _protocol_stream()
    inp = open(sys.stdin.fileno(), "rb", closefd=False)
    return Worker(inp, out).serve()


if __name__ == "__main__":
    sys.exit(main())
