"""What the job operators share: the ``blocking`` switch, the modal timer loop and error reporting."""
from __future__ import annotations

import os
import tempfile

import bpy
from bpy.props import BoolProperty

from .. import jobs, preferences
from ..core import MrgenError
from ..worker_client import WorkerError

#: Seconds between two polls of the worker while a modal job runs.
POLL_INTERVAL = 0.1
_tmp_dir: str | None = None


class UserError(Exception):
    """A problem the user can fix (reported as an error, no traceback)."""


def temp_dir() -> str:
    """A folder for motion files sent to the worker (one per Blender session)."""
    global _tmp_dir
    if _tmp_dir is None or not os.path.isdir(_tmp_dir):
        _tmp_dir = tempfile.mkdtemp(prefix="mrgen-blender-")
    return _tmp_dir


def cleanup_temp() -> None:
    """Remove this session's temporary folder (called when the add-on is disabled)."""
    global _tmp_dir
    if _tmp_dir is not None:
        import shutil

        shutil.rmtree(_tmp_dir, ignore_errors=True)
        _tmp_dir = None


def scene_fps(scene) -> float:
    return scene.render.fps / scene.render.fps_base


def blocking_prop():
    return BoolProperty(name="Blocking", default=False, options={"SKIP_SAVE"},
                        description="Run to completion before returning (for scripts and tests)")


class JobOperator:
    """Mixin for operators that run a worker job: modal with a timer from the UI, synchronous with
    ``blocking=True``, from ``execute`` (scripts) and in background mode."""

    _timer = None

    @classmethod
    def poll(cls, context):
        return not jobs.busy()

    def make_job(self, context) -> jobs.Job:  # pragma: no cover - each operator defines it
        raise NotImplementedError

    def _start(self, context):
        if jobs.busy():
            self.report({"ERROR"}, "another MRGen job is running (cancel it first)")
            return None
        try:
            job = self.make_job(context)
        except (UserError, MrgenError, WorkerError, ValueError, OSError) as e:
            msg = getattr(e, "message", None) or str(e)
            context.window_manager.mrgen_job.error = msg
            self.report({"ERROR"}, msg)
            return None
        jobs.start(context, job)
        if job.finished:
            self._end(job)
            return None
        return job

    def _end(self, job):
        if job.phase == "done":
            self.report({"INFO"}, f"{job.label}: {job.summary}")
            return {"FINISHED"}
        if job.phase == "cancelled":
            self.report({"WARNING"}, f"{job.label}: cancelled")
            return {"CANCELLED"}
        self.report({"ERROR"}, job.error or f"{job.label} failed")
        return {"CANCELLED"}

    def execute(self, context):
        job = self._start(context)
        if job is None:
            return {"CANCELLED"}
        jobs.run_blocking(context, job)
        return self._end(job)

    def invoke(self, context, event):
        if self.blocking or bpy.app.background or context.window is None:
            return self.execute(context)
        job = self._start(context)
        if job is None:
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(POLL_INTERVAL, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        job = jobs.ACTIVE
        if job is None or job.step(context):
            self._stop_timer(context)
            jobs._redraw()  # the buttons greyed while it ran come back at once
            return self._end(job) if job is not None else {"CANCELLED"}
        return {"PASS_THROUGH"}

    def cancel(self, context):
        self._stop_timer(context)

    def _stop_timer(self, context):
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None


def require_prefs(context):
    prefs = preferences.get_prefs(context)
    if prefs is None:
        raise UserError("the MRGen add-on preferences are missing (is the add-on enabled?)")
    return prefs
