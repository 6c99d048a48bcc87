"""Setup helpers: check the worker Python, show the worker's log."""
from __future__ import annotations

import bpy

from .. import jobs, preferences
from ..worker_client import WorkerError, check_python


class MRGEN_OT_check_worker(bpy.types.Operator):
    """Run the worker Python once and report the versions of mrgen, torch and numpy it has"""

    bl_idname = "mrgen.check_worker"
    bl_label = "Check"

    def execute(self, context):
        prefs = preferences.get_prefs(context)
        python, source = preferences.worker_python(prefs)
        try:
            info = check_python(python, preferences.worker_pythonpath())
        except WorkerError as e:
            preferences.note_worker(prefs, False, e.message)
            self.report({"ERROR"}, e.message)
            return {"CANCELLED"}
        ok = bool(info.get("torch"))
        cuda = ", CUDA available" if info.get("cuda") else ""
        prefs.check_ok = ok
        prefs.check_report = (f"mrgen {info.get('mrgen')}, torch {info.get('torch') or 'MISSING'}, numpy "
                              f"{info.get('numpy')}, Python {info.get('python')}{cuda}")
        self.report({"INFO"} if ok else {"ERROR"}, prefs.check_report)
        return {"FINISHED"} if ok else {"CANCELLED"}


class MRGEN_OT_show_log(bpy.types.Operator):
    """Copy the worker's log (its stderr) into the text block 'MRGen worker log'"""

    bl_idname = "mrgen.show_log"
    bl_label = "Worker Log"

    def execute(self, context):
        client = jobs._client
        text = bpy.data.texts.get("MRGen worker log") or bpy.data.texts.new("MRGen worker log")
        text.clear()
        text.write(client.log_text() if client is not None else "(the worker has not run yet)")
        self.report({"INFO"}, "worker log in the text block 'MRGen worker log' (Text Editor)")
        return {"FINISHED"}


CLASSES = (MRGEN_OT_check_worker, MRGEN_OT_show_log)
