"""Client side of the worker protocol (see ``mrgen_core/worker.py``): start the worker, send requests, poll replies.

Plain Python (no bpy), so it is testable outside Blender. Two daemon threads drain the worker's stdout (JSON replies,
routed to their request) and stderr (kept as a log for the UI); the caller polls without ever blocking. A crash (the
process ends), a hang (no reply within ``timeout`` seconds) or a missing interpreter all become a
:class:`WorkerError` with a readable message on the request, and the next request starts a fresh worker.
"""
from __future__ import annotations

import atexit
import collections
import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
import weakref

#: Seconds a running request may go without any reply (progress or result) before the worker is considered hung.
DEFAULT_TIMEOUT = 120.0
#: Seconds after a cancel before the worker is killed if the job has not ended by itself.
CANCEL_GRACE = 5.0
#: A training job stops after its current step and writes a checkpoint first (with several training processes,
#: every one of them agrees on the step, then the first writes): it gets longer before the worker is killed.
TRAIN_CANCEL_GRACE = 60.0

_clients: "weakref.WeakSet[WorkerClient]" = weakref.WeakSet()


class WorkerError(Exception):
    """A failed request. ``kind``: user (bad input), cancelled, internal (bug in the worker), crashed, timeout,
    missing (no usable interpreter)."""

    def __init__(self, message: str, kind: str = "internal"):
        super().__init__(message)
        self.message = message
        self.kind = kind


class Request:
    """One request in flight. ``poll()`` it (through the client) until ``done``; then read ``result`` or ``error``."""

    def __init__(self, rid: int, cmd: str, params: dict):
        self.id = rid
        self.cmd = cmd
        self.params = params
        self.inbox: queue.Queue = queue.Queue()
        self.result: dict | None = None
        self.error: WorkerError | None = None
        self.fraction = 0.0
        self.message = "starting worker"
        self.started = time.monotonic()
        self.last_activity = self.started
        self.cancel_deadline: float | None = None

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None

    def _finish_error(self, err: WorkerError) -> None:
        if not self.done:
            self.error = err


class WorkerClient:
    """A persistent worker process for one interpreter.

    ``python``: the interpreter with torch; ``pythonpath``: folders to put first on the worker's ``PYTHONPATH``
    (the add-on's bundled ``mrgen_core``), ``timeout``: seconds without a reply before a running request fails.
    """

    def __init__(self, python: str, *, pythonpath: list[str] | None = None, timeout: float = DEFAULT_TIMEOUT,
                 extra_env: dict | None = None, log_lines: int = 500):
        self.python = python
        self.pythonpath = [p for p in (pythonpath or []) if p]
        self.timeout = float(timeout)
        self.extra_env = dict(extra_env or {})
        self.log: collections.deque[str] = collections.deque(maxlen=log_lines)
        self.proc: subprocess.Popen | None = None
        self.ready: dict | None = None
        self._requests: dict[int, Request] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._exit_note: str | None = None
        _clients.add(self)

    # --- process ---------------------------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        if self.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(self.pythonpath)
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONIOENCODING"] = "utf-8"
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        """Start a fresh worker process (stopping any previous one)."""
        if self.proc is not None:
            self.kill("the worker was restarted")
        if not self.python:
            raise WorkerError("no worker Python set: choose the interpreter that has torch in the MRGen add-on "
                              "preferences (or run `python build.py --worker-venv`)", "missing")
        if os.path.isabs(self.python) and not os.path.isfile(self.python):
            raise WorkerError(f"worker Python not found: {self.python} (fix it in the MRGen add-on preferences "
                              f"or run `python build.py --worker-venv`)", "missing")
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if sys.platform == "win32" else 0
        try:
            proc = subprocess.Popen([self.python, "-u", "-m", "mrgen_core.worker"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self._env(), text=True,
                                    encoding="utf-8", errors="replace", bufsize=1, creationflags=flags)
        except OSError as e:
            raise WorkerError(f"cannot start the worker Python {self.python}: {e.strerror or e} (fix it in the "
                              f"MRGen add-on preferences)", "missing") from None
        self.proc = proc
        self.ready = None
        self._exit_note = None
        self.log.append(f"--- worker started: {self.python} (pid {proc.pid})")
        threading.Thread(target=self._read_stdout, args=(proc,), name="mrgen-worker-out", daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(proc,), name="mrgen-worker-err", daemon=True).start()

    def _read_stdout(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                self.log.append(f"(stdout) {line}")
                continue
            if not isinstance(msg, dict):
                continue
            if msg.get("type") == "ready":
                self.ready = msg
                continue
            with self._lock:
                req = self._requests.get(msg.get("id"))
            if req is not None:
                req.inbox.put(msg)
            elif msg.get("type") == "error":
                self.log.append(f"worker error: {msg.get('message')}")
        rc = proc.wait()
        if proc is self.proc:
            self._on_exit(proc, rc)

    def _read_stderr(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:
            self.log.append(line.rstrip("\n"))

    def _on_exit(self, proc: subprocess.Popen, rc: int) -> None:
        time.sleep(0.05)  # let the stderr reader catch the last lines
        if self._exit_note:  # kill() already failed the pending requests
            return
        err = WorkerError(f"the worker stopped unexpectedly (exit code {rc}){_last_lines(self.log)}", "crashed")
        with self._lock:
            pending = [r for r in self._requests.values() if not r.done]
        for r in pending:
            r.inbox.put({"type": "_exit", "error": err})

    def kill(self, reason: str = "stopped", kind: str = "stopped") -> None:
        """Stop the worker at once; pending requests fail with ``reason`` (a :class:`WorkerError` of ``kind``)."""
        proc = self.proc
        if proc is None:
            return
        self._exit_note = reason
        if proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover - a process that survives SIGKILL
                pass
        self.log.append(f"--- worker {proc.pid} stopped: {reason}")
        with self._lock:
            pending = [r for r in self._requests.values() if not r.done]
        for r in pending:
            r._finish_error(WorkerError(reason, kind))
        self.proc = None

    def shutdown(self, wait: float = 3.0) -> None:
        """Ask the worker to exit; kill it if it has not after ``wait`` seconds."""
        proc = self.proc
        if proc is None:
            return
        self._exit_note = "the worker was shut down"
        if proc.poll() is None:
            try:
                proc.stdin.write(json.dumps({"id": 0, "cmd": "shutdown"}) + "\n")
                proc.stdin.flush()
                proc.wait(timeout=wait)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
        self.kill("the worker was shut down")

    # --- requests --------------------------------------------------------------------------------------------
    def submit(self, cmd: str, **params) -> Request:
        """Send a request (starting the worker if needed) and return it at once."""
        if not self.alive:
            self.start()
        rid = next(self._ids)
        req = Request(rid, cmd, params)
        with self._lock:
            self._requests[rid] = req
        try:
            self.proc.stdin.write(json.dumps({"id": rid, "cmd": cmd, **params}) + "\n")
            self.proc.stdin.flush()
        except (OSError, ValueError):
            try:
                rc = self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                rc = "unknown"
            time.sleep(0.1)  # the stderr reader catches the last lines
            req._finish_error(WorkerError(f"the worker stopped unexpectedly (exit code {rc})"
                                          f"{_last_lines(self.log)}", "crashed"))
        return req

    def poll(self, req: Request) -> list[dict]:
        """Apply the replies that arrived for ``req`` (progress, result, error) and check for hangs; never blocks.

        Returns the new messages. After it, ``req.done`` tells whether the request has ended.
        """
        msgs = []
        while True:
            try:
                msg = req.inbox.get_nowait()
            except queue.Empty:
                break
            msgs.append(msg)
            req.last_activity = time.monotonic()
            kind = msg.get("type")
            if kind == "progress":
                req.fraction = float(msg.get("fraction", 0.0))
                req.message = str(msg.get("message", ""))
            elif kind == "result":
                if not req.done:
                    req.result = {k: v for k, v in msg.items() if k not in ("id", "type")}
                    req.fraction = 1.0
            elif kind == "error":
                req._finish_error(WorkerError(str(msg.get("message", "unknown error")), msg.get("kind", "internal")))
            elif kind == "_exit":
                req._finish_error(msg["error"])
        if req.done:
            self._forget(req)
            return msgs
        now = time.monotonic()
        if req.cancel_deadline is not None and now > req.cancel_deadline:
            self.kill("cancelled (the worker did not stop in time and was stopped)", "cancelled")
        elif now - req.last_activity > self.timeout:
            self.kill(f"the worker did not answer for {self.timeout:g} s and was stopped{_last_lines(self.log)}",
                      "timeout")
        elif self.proc is None:
            req._finish_error(WorkerError("the worker was stopped", "stopped"))
        if req.done:
            self._forget(req)
        return msgs

    def _forget(self, req: Request) -> None:
        with self._lock:
            self._requests.pop(req.id, None)

    def cancel(self, req: Request | None = None, grace: float = CANCEL_GRACE) -> None:
        """Ask the worker to cancel its job; if ``req`` has not ended ``grace`` seconds later, the worker is killed."""
        if self.alive:
            try:
                self.proc.stdin.write(json.dumps({"id": 0, "cmd": "cancel"}) + "\n")
                self.proc.stdin.flush()
            except (OSError, ValueError):
                pass
        if req is not None and not req.done:
            req.cancel_deadline = time.monotonic() + grace
            req.message = "cancelling"

    def wait(self, req: Request, timeout: float | None = None, on_progress=None, interval: float = 0.02) -> dict:
        """Poll ``req`` until it ends and return its result (raises :class:`WorkerError`). For scripts and tests."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            for m in self.poll(req):
                if on_progress is not None and m.get("type") == "progress":
                    on_progress(float(m.get("fraction", 0.0)), str(m.get("message", "")))
            if req.done:
                break
            if end is not None and time.monotonic() > end:
                self.kill(f"no result after {timeout:g} s; the worker was stopped", "timeout")
                self.poll(req)
                break
            time.sleep(interval)
        if req.error is not None:
            raise req.error
        return req.result

    def call(self, cmd: str, timeout: float | None = None, **params) -> dict:
        """Submit and wait: a blocking request."""
        return self.wait(self.submit(cmd, **params), timeout=timeout)

    def log_text(self) -> str:
        return "\n".join(self.log)


def _last_lines(log, n: int = 3) -> str:
    lines = [ln.strip() for ln in list(log) if ln.strip() and not ln.startswith("---")][-n:]
    return (": " + " | ".join(lines)) if lines else ""


def check_python(python: str, pythonpath: list[str] | None = None, timeout: float = 60.0) -> dict:
    """Run ``python -m mrgen_core.worker --check``: versions of mrgen, torch, numpy (raises :class:`WorkerError`)."""
    if not python:
        raise WorkerError("no worker Python set", "missing")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(p for p in pythonpath if p)
    try:
        cp = subprocess.run([python, "-m", "mrgen_core.worker", "--check"], capture_output=True, text=True,
                            env=env, timeout=timeout)
    except FileNotFoundError:
        raise WorkerError(f"worker Python not found: {python}", "missing") from None
    except OSError as e:
        raise WorkerError(f"cannot run {python}: {e.strerror or e}", "missing") from None
    except subprocess.TimeoutExpired:
        raise WorkerError(f"{python} did not answer within {timeout:g} s", "timeout") from None
    for line in reversed(cp.stdout.splitlines()):
        try:
            info = json.loads(line)
        except ValueError:
            continue
        if isinstance(info, dict) and "mrgen" in info:
            return info
    tail = [ln for ln in (cp.stderr or "").splitlines() if ln.strip()][-1:] or ["no output"]
    raise WorkerError(f"{python} cannot run the mrgen worker: {tail[0].strip()}", "missing")


@atexit.register
def _stop_all() -> None:  # pragma: no cover - process exit
    for c in list(_clients):
        try:
            c.kill("Blender is exiting")
        except Exception:  # noqa: BLE001
            pass
