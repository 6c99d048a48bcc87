"""``mrgen.smpl_mesh``: skin the active SMPL armature with the body from the user's licensed SMPL model file (read
by the worker: the file may need scipy, which Blender lacks)."""
from __future__ import annotations

import os

import bpy
import numpy as np

from .. import jobs, rig
from .common import JobOperator, UserError, blocking_prop, require_prefs, temp_dir


class MRGEN_OT_smpl_mesh(JobOperator, bpy.types.Operator):
    """Add the SMPL body mesh (from the SMPL model file set in the preferences) to the active SMPL armature"""

    bl_idname = "mrgen.smpl_mesh"
    bl_label = "Add SMPL Mesh"
    bl_options = {"UNDO"}

    blocking: blocking_prop()

    def make_job(self, context):
        prefs = require_prefs(context)
        obj = context.active_object
        if not rig.is_smpl_armature(obj):
            raise UserError("select an SMPL armature to skin")
        path = bpy.path.abspath(prefs.smpl_model_file.strip()) if prefs.smpl_model_file.strip() else ""
        if not path:
            raise UserError("set the SMPL model file in the MRGen add-on preferences (SMPL is licensed: download it "
                            "from smpl.is.tue.mpg.de)")
        name = obj.name

        def apply(ctx, result):
            arm = bpy.data.objects.get(name)
            if arm is None:
                return "the armature is gone"
            with np.load(result["file"], allow_pickle=False) as data:
                mesh = rig.build_smpl_mesh(ctx, arm, data["vertices"], data["faces"], data["weights"],
                                           data["joints"])
            os.remove(result["file"])
            yield f"built {mesh.name}"
            return f"{mesh.name}: {result['vertices']} vertices skinned to {arm.name}"

        return jobs.Job("smpl_mesh", "smpl_mesh", {"model_file": path, "out_dir": temp_dir()}, apply,
                        label="SMPL mesh")


CLASSES = (MRGEN_OT_smpl_mesh,)
