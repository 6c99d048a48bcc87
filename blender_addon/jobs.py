"""Worker jobs inside Blender: one job at a time, advanced in small steps that never block the UI.

A :class:`Job` sends one request to the worker, then each :meth:`Job.step` (from a modal operator's TIMER event in
the UI, or from a loop in the blocking path used by scripts and background mode) drains the replies without waiting,
updates ``WindowManager.mrgen_job`` (progress bar, status text, error) and, once the result is there, applies it one
piece per step (one Action per step), so the main thread never stalls.
"""
from __future__ import annotations

import time

import bpy

from . import preferences
from .worker_client import CANCEL_GRACE, TRAIN_CANCEL_GRACE, WorkerClient, WorkerError

_client: WorkerClient | None = None
_client_key: tuple | None = None
ACTIVE: "Job | None" = None
#: Seconds taken by every Job.step call (the benchmark checks that the UI thread never blocks > 0.1 s).
STEP_TIMES: list[float] = []
#: Share of the progress bar for the worker's part; the rest is for writing the keys.
WORKER_SHARE = 0.9


def get_client(context=None) -> WorkerClient:
    """The persistent worker client for the interpreter set in the preferences (recreated when it changes)."""
    global _client, _client_key
    prefs = preferences.get_prefs(context)
    python, _ = preferences.worker_python(prefs)
    timeout = prefs.timeout if prefs is not None else 120.0
    key = (python, tuple(preferences.worker_pythonpath()))
    if _client is None or _client_key != key:
        if _client is not None:
            _client.shutdown()
        _client = WorkerClient(python, pythonpath=list(key[1]))
        _client_key = key
    _client.timeout = float(timeout)
    return _client


def shutdown_client() -> None:
    global _client, _client_key
    if _client is not None:
        _client.shutdown()
    _client = None
    _client_key = None


def busy() -> bool:
    return ACTIVE is not None and not ACTIVE.finished


def _state(context=None):
    return (context or bpy.context).window_manager.mrgen_job


def _redraw() -> None:
    wm = bpy.context.window_manager
    for win in getattr(wm, "windows", ()):
        for area in win.screen.areas:
            if area.type in ("VIEW_3D", "PROPERTIES"):
                area.tag_redraw()


class Job:
    """One request and what to do with its result.

    ``apply(context, result)`` is a generator: each ``next`` does one piece of Blender work (e.g. one Action) and
    yields a status line; its return value (``StopIteration.value``) is the final status text.
    """

    def __init__(self, kind: str, cmd: str, params: dict, apply=None, label: str = ""):
        self.kind = kind
        self.cmd = cmd
        self.params = params
        self.apply = apply
        self.label = label or kind
        self.client: WorkerClient | None = None
        self.request = None
        self.phase = "new"  # new, worker, applying, done, failed, cancelled
        self.result: dict | None = None
        self.error: str = ""
        self.summary: str = ""
        self._apply_iter = None
        self._apply_done = 0
        self._apply_total = 1
        self.cancel_requested = False

    @property
    def finished(self) -> bool:
        return self.phase in ("done", "failed", "cancelled")

    def start(self, context) -> None:
        st = _state(context)
        st.running, st.kind, st.progress, st.error = True, self.kind, 0.0, ""
        st.status = f"{self.label}: starting the worker"
        try:
            self.client = get_client(context)
            self.request = self.client.submit(self.cmd, **self.params)
        except WorkerError as e:
            self._fail(context, e.message, e.kind)
            return
        self.phase = "worker"
        _redraw()

    def _fail(self, context, message: str, kind: str = "internal") -> None:
        st = _state(context)
        if kind == "cancelled":
            self.phase = "cancelled"
            self.error = "cancelled"
            st.status = f"{self.label}: cancelled"
            st.error = ""
        else:
            if kind == "missing":  # the worker Python cannot run the worker: show it in the setup checklist
                preferences.note_worker(preferences.get_prefs(context), False, message)
            self.phase = "failed"
            self.error = f"{self.label} failed: {message}"
            st.status = f"{self.label}: failed"
            st.error = self.error
        st.running = False
        _redraw()

    def step(self, context) -> bool:
        """Advance without blocking; returns True once the job has finished (done, failed or cancelled)."""
        t0 = time.perf_counter()
        try:
            self._step(context)
        except Exception as e:  # noqa: BLE001 - a failure while applying must end the job visibly, never hang it
            import traceback

            traceback.print_exc()
            self._fail(context, f"{type(e).__name__}: {e}")
        STEP_TIMES.append(time.perf_counter() - t0)
        return self.finished

    def _step(self, context) -> None:
        st = _state(context)
        if self.phase == "worker":
            req = self.request
            msgs = self.client.poll(req)
            if req.error is not None:
                self._fail(context, req.error.message, req.error.kind)
                return
            if req.result is not None:
                self.result = req.result
                self.phase = "applying"
                if self.apply is None:
                    self._finish(context, "done")
                    return
                self._apply_iter = self.apply(context, self.result)
                self._apply_total = max(1, len(self.result.get("files", ())) + 1)
                st.status = f"{self.label}: writing keys"
                st.progress = WORKER_SHARE
                _redraw()
                return
            if msgs:
                st.progress = WORKER_SHARE * max(0.0, min(1.0, req.fraction))
                st.status = f"{self.label}: {req.message}"
                _redraw()
        elif self.phase == "applying":
            if self.cancel_requested:
                self._fail(context, "cancelled", "cancelled")
                return
            try:
                line = next(self._apply_iter)
            except StopIteration as stop:
                self._finish(context, stop.value or "done")
                return
            self._apply_done += 1
            st.progress = WORKER_SHARE + (1 - WORKER_SHARE) * min(1.0, self._apply_done / self._apply_total)
            st.status = f"{self.label}: {line}"
            _redraw()

    def _finish(self, context, summary: str) -> None:
        st = _state(context)
        prefs = preferences.get_prefs(context)
        if prefs is not None and not prefs.check_ok and self.client is not None:  # the worker works: checked
            ready = self.client.ready or {}
            preferences.note_worker(prefs, True, f"mrgen {ready.get('mrgen', '?')}, Python "
                                                 f"{ready.get('python', '?')}: ran {self.label}")
        self.phase = "done"
        self.summary = summary
        st.running = False
        st.progress = 1.0
        st.status = summary  # short: the sidebar is narrow
        _redraw()

    def cancel(self) -> None:
        self.cancel_requested = True
        if self.phase == "worker" and self.client is not None and self.request is not None:
            grace = TRAIN_CANCEL_GRACE if self.cmd == "train" else CANCEL_GRACE
            self.client.cancel(self.request, grace=grace)
            _state().status = f"{self.label}: cancelling"
            _redraw()


def start(context, job: Job) -> Job:
    """Make ``job`` the active one and send its request (check ``job.finished`` / ``job.error`` afterwards)."""
    global ACTIVE
    if busy():
        raise RuntimeError("another MRGen job is running")
    ACTIVE = job
    job.start(context)
    return job


def run_blocking(context, job: Job, interval: float = 0.02) -> Job:
    """Step ``job`` to completion (scripts, tests and background mode, where modal operators do not run)."""
    while not job.step(context):
        time.sleep(interval)
    return job


def cancel() -> bool:
    if busy():
        ACTIVE.cancel()
        return True
    return False


@bpy.app.handlers.persistent
def _on_load_pre(*_args):
    """A new file: cancel the running job (its target objects are going away)."""
    global ACTIVE
    if busy():
        ACTIVE.cancel()
        if ACTIVE.phase in ("applying", "new"):
            ACTIVE.phase = "cancelled"
    ACTIVE = None


def register():
    bpy.app.handlers.load_pre.append(_on_load_pre)


def unregister():
    global ACTIVE
    if _on_load_pre in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_on_load_pre)
    if busy():
        ACTIVE.cancel()
    ACTIVE = None
    shutdown_client()
