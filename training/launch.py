"""``mrgen train --procs N``: how many training processes, and starting N of them on this machine.

:func:`plan` picks N: by default one per physical CPU core (one per GPU on CUDA), at most ``batch`` (one per crop
of a step's batch; with a batch per process each process takes ``batch`` crops, so a step takes at most
``batch`` squared); more than that is capped with a warning on stderr. :func:`launch` serves a TCP store on a port the
OS picks (so the port is never in use), starts ``python -m training.rank JOB`` N times with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` set as torchrun sets them (each in its own session, one torch thread each) and
waits, relaying:

- progress: rank 0 writes JSON lines to a pipe, passed on to ``progress(fraction, message)``;
- stopping: Ctrl-C here, or ``should_stop()``, sends every process one SIGINT; they agree on the step, stop
  together and rank 0 saves a checkpoint that ``--resume`` continues. A second Ctrl-C aborts them without saving.
  A process whose launcher is gone stops the same way;
- failure: when a process fails the others are stopped, and one :class:`~mrgen_core.errors.MrgenError` line says
  which process failed and why; the model file is only ever written whole (atomically, by rank 0).

Importing this module does not import torch (the add-on's worker and the command line count cores with it).
"""
from __future__ import annotations

import json
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from mrgen_core.errors import MrgenError

#: Environment of a launched process: the pipe it reports on, and its launcher's process id.
REPORT_ENV, PARENT_ENV = "MRGEN_REPORT_FD", "MRGEN_LAUNCHER_PID"
#: Seconds the other processes get to stop on their own after one fails, before they are terminated.
GRACE = 10.0
_LINE_MAX = 3500  # a report line stays below PIPE_BUF (4096): written in one piece, never interleaved


def physical_cores() -> int:
    """Physical CPU cores this process may use: hyper-threads counted once (where Linux says which are which), at
    most the container's CPU quota; at least 1."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = list(range(os.cpu_count() or 1))
    cores = set()
    for c in cpus:
        topo = Path(f"/sys/devices/system/cpu/cpu{c}/topology")
        try:
            cores.add(((topo / "physical_package_id").read_text().strip(), (topo / "core_id").read_text().strip()))
        except OSError:
            cores.add(("cpu", str(c)))
    n = len(cores)
    try:  # cgroup v2 quota, "max 100000" or "200000 100000"
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def _warn(text: str) -> None:
    print(f"mrgen: warning: {text}", file=sys.stderr, flush=True)


def plan(procs: int | None, device: str, batch: int) -> int:
    """Number of training processes: ``procs`` (None: one per physical core, or per GPU with ``device`` cuda),
    capped (with a warning) at the cores or GPUs there are and at ``batch``, the crops of a step (each process
    takes at least one)."""
    if procs is not None and int(procs) < 1:
        raise MrgenError(f"--procs must be at least 1, got {procs}")
    if str(device).split(":")[0] == "cuda":
        import torch

        avail, what = torch.cuda.device_count(), "CUDA device(s)"
        if avail == 0:
            raise MrgenError("--device cuda: no CUDA device is available (torch reports none); use --device cpu")
    else:
        avail, what = physical_cores(), "physical CPU core(s)"
    if procs is None:
        return max(1, min(avail, batch))
    n = int(procs)
    if n > avail:
        _warn(f"--procs {n}: this machine has {avail} {what}; using {avail}")
        n = avail
    if n > batch:
        _warn(f"--procs {n}: at most {batch} training processes with batch={batch} (a process takes at least one "
              f"crop of a step); using {batch} (--set batch=N for more)")
        n = batch
    return n


def launch(n: int, job: dict, *, progress=None, should_stop=None, outcome: dict | None = None) -> str:
    """Run :func:`training.train.train` (keyword arguments ``job``) as ``n`` data-parallel processes here; returns
    the model path (``outcome["stopped"]``: whether rank 0 stopped early and saved a checkpoint). Raises
    MrgenError (one line) when a process fails, KeyboardInterrupt on a second Ctrl-C."""
    import torch.distributed as dist

    from .distributed import STORE_ENV

    out = Path(job["out_path"])
    before = _stamp(out)
    store = dist.TCPStore("127.0.0.1", 0, None, True, wait_for_workers=False)  # port 0: the OS picks a free one
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="mrgen-train-") as tmp:
        job_file = Path(tmp) / "job.pickle"
        job_file.write_bytes(pickle.dumps(job))
        rfd, wfd = os.pipe()
        env = dict(os.environ, WORLD_SIZE=str(n), LOCAL_WORLD_SIZE=str(n), **{
            STORE_ENV: f"127.0.0.1:{store.port}", REPORT_ENV: str(wfd), PARENT_ENV: str(os.getpid())})
        env.setdefault("OMP_NUM_THREADS", "1")
        env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1])]
                                            + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        try:
            try:
                for r in range(n):
                    procs.append(subprocess.Popen(
                        [sys.executable, "-m", "training.rank", str(job_file)], stdin=subprocess.DEVNULL,
                        env=dict(env, RANK=str(r), LOCAL_RANK=str(r)), pass_fds=(wfd,), start_new_session=True))
            finally:
                os.close(wfd)
            with _forward_sigint(procs) as interrupts:
                reports = _supervise(procs, rfd, progress, should_stop)
        finally:
            os.close(rfd)
            _end(procs)
    codes = [p.returncode for p in procs]
    if all(c == 0 for c in codes):
        if outcome is not None:
            outcome["stopped"] = any(bool(r.get("stopped")) for r in reports if "result" in r)
        return next((r["result"] for r in reports if "result" in r), str(out))
    if interrupts() >= 2:  # the user aborted: no checkpoint
        raise KeyboardInterrupt
    raise MrgenError(_failure(reports, codes, out, before))


def _stamp(path: Path):
    try:
        st = path.stat()
        return st.st_mtime_ns, st.st_size
    except OSError:
        return None


def _failure(reports: list[dict], codes: list[int], out: Path, before) -> str:
    """One line: which process failed and why (its own error, not the others' "connection closed")."""
    errors = [r for r in reports if "error" in r]
    n, said = len(codes), {r.get("rank") for r in errors}
    ours = (0, -signal.SIGTERM, 128 + signal.SIGTERM)  # exit statuses of processes stopped from here
    silent = [(r, c) for r, c in enumerate(codes) if c not in ours and r not in said]
    user = [r for r in errors if r.get("kind") == "user"]
    own = [r for r in errors if r.get("kind") == "internal"]
    if user:  # bad input every rank found: say it as the one-process run would
        return user[0]["error"]
    if own:
        what = f"training process {own[0]['rank']} of {n} failed: {own[0]['error']}"
    elif silent:  # died without a word: killed (out of memory?) or crashed in native code
        rank, code = silent[0]
        how = f"was killed by signal {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
        what = f"training process {rank} of {n} {how}"
    elif errors:
        what = f"training process {errors[0]['rank']} of {n} lost contact with the others: {errors[0]['error']}"
    else:
        rank, code = next((r, c) for r, c in enumerate(codes) if c)
        what = f"training process {rank} of {n} exited with status {code}"
    kept = "" if _stamp(out) != before else f"; all stopped, {out} not written"
    return what + kept


def _supervise(procs, rfd: int, progress, should_stop) -> list[dict]:
    """Relay rank 0's progress, pass a stop request on, stop the rest when one fails; returns the report lines."""
    reports, buf, eof = [], b"", False
    stop_sent, failed_at = False, None
    while True:
        if not eof:
            ready, _, _ = select.select([rfd], [], [], 0.1)
            if ready:
                chunk = os.read(rfd, 65536)
                eof = not chunk
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    try:
                        msg = json.loads(line)
                    except ValueError:
                        continue
                    reports.append(msg)
                    if "progress" in msg and progress is not None:
                        progress(float(msg["progress"]), str(msg.get("message", "")))
        else:
            time.sleep(0.1)
        codes = [p.poll() for p in procs]
        if all(c is not None for c in codes) and eof:
            return reports
        if should_stop is not None and not stop_sent and should_stop():
            stop_sent = True
            _signal(procs, signal.SIGINT)
        if any(c not in (None, 0) for c in codes):
            failed_at = failed_at or time.monotonic()
            waited = time.monotonic() - failed_at
            if waited > 2 * GRACE:
                _signal(procs, signal.SIGKILL)
            elif waited > GRACE:
                _signal(procs, signal.SIGTERM)


def _signal(procs, sig) -> None:
    for p in procs:
        if p.poll() is None:
            try:
                p.send_signal(sig)
            except ProcessLookupError:
                pass


def _end(procs) -> None:
    """No process outlives the launch (on an error here, or a second Ctrl-C)."""
    if any(p.poll() is None for p in procs):
        _signal(procs, signal.SIGTERM)
        deadline = time.monotonic() + GRACE
        for p in procs:
            try:
                p.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@contextmanager
def _forward_sigint(procs):
    """Within the block, Ctrl-C here is passed on to every process (they started in their own sessions, so the
    terminal's signal reaches them only this way: once per press). Yields the count of presses."""
    import threading

    count = [0]
    if threading.current_thread() is not threading.main_thread():
        yield lambda: count[0]
        return

    def handler(signum, frame):
        count[0] += 1
        _signal(procs, signal.SIGINT)

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: count[0]
    finally:
        signal.signal(signal.SIGINT, old)
