"""``mrgen.cancel``: stop the running job (between the model's levels; the worker is killed if it does not stop)."""
from __future__ import annotations

import bpy

from .. import jobs
from .common import blocking_prop


class MRGEN_OT_cancel(bpy.types.Operator):
    """Cancel the running MRGen job"""

    bl_idname = "mrgen.cancel"
    bl_label = "Cancel"

    blocking: blocking_prop()  # wait until the job has ended

    @classmethod
    def poll(cls, context):
        return jobs.busy()

    def execute(self, context):
        job = jobs.ACTIVE
        if not jobs.cancel():
            return {"CANCELLED"}
        if self.blocking:
            jobs.run_blocking(context, job)
        self.report({"INFO"}, "cancelling the MRGen job")
        return {"FINISHED"}


CLASSES = (MRGEN_OT_cancel,)
