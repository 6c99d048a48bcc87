"""``mrgen.import_motion`` (.npz / .bvh -> a new SMPL armature with an Action) and ``mrgen.export_motion``
(the active SMPL armature's Action -> .npz or .bvh)."""
from __future__ import annotations

import os

import bpy
from bpy.props import EnumProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from .. import keyframes, preferences, rig
from ..core import MrgenError, load_motion, save_motion
from .common import blocking_prop, scene_fps


class MRGEN_OT_import_motion(bpy.types.Operator, ImportHelper):
    """Import a motion (.npz SMPL/AMASS, or .bvh retargeted to SMPL) as a new SMPL armature"""

    bl_idname = "mrgen.import_motion"
    bl_label = "Import Motion"
    bl_options = {"REGISTER", "UNDO"}

    filter_glob: StringProperty(default="*.npz;*.bvh", options={"HIDDEN"})
    blocking: blocking_prop()  # importing is synchronous anyway

    def execute(self, context):
        fps = scene_fps(context.scene)
        try:
            motion = load_motion(self.filepath, fps=fps)
        except MrgenError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        prefs = preferences.get_prefs(context)
        name = bpy.path.display_name_from_filepath(self.filepath) or "SMPL"
        obj = rig.build_smpl_armature(context, name, gender=motion.gender,
                                      body=prefs.stand_in_body if prefs is not None else True)
        action = rig.apply_motion(obj, motion, name, context.scene.frame_start,
                                  {"mrgen": {"kind": "import", "file": self.filepath, "fps": float(fps)}})
        lo, hi = keyframes.frame_range(obj, action)
        context.scene.frame_start, context.scene.frame_end = lo, hi
        self.report({"INFO"}, f"imported {os.path.basename(self.filepath)}: {motion.num_frames} frames at {fps:g} "
                              f"fps on {obj.name}")
        return {"FINISHED"}


def export_path(path: str, file_format: str | None) -> str:
    """The file Export writes: the chosen ``file_format`` ('NPZ'/'BVH') wins and fixes the extension ("a.npz"
    chosen as BVH -> "a.bvh"); without a choice the extension decides (default .npz)."""
    stem, ext = os.path.splitext(path)
    if ext.lower() not in (".npz", ".bvh"):
        stem, ext = path, ""
    if file_format is None:
        return stem + (ext or ".npz")
    want = ".bvh" if file_format == "BVH" else ".npz"
    return stem + (ext if ext.lower() == want else want)


class MRGEN_OT_export_motion(bpy.types.Operator, ExportHelper):
    """Export the active SMPL armature's Action as .npz (AMASS-style) or .bvh (SMPL skeleton)"""

    bl_idname = "mrgen.export_motion"
    bl_label = "Export Motion"

    filename_ext = ".npz"
    filter_glob: StringProperty(default="*.npz;*.bvh", options={"HIDDEN"})
    file_format: EnumProperty(name="Format", items=[("NPZ", ".npz", "AMASS-style SMPL parameters"),
                                                    ("BVH", ".bvh", "BVH on the SMPL skeleton")], default="NPZ")
    blocking: blocking_prop()  # exporting is synchronous anyway

    @classmethod
    def poll(cls, context):
        return rig.is_smpl_armature(context.active_object)

    def check(self, context):
        self.filename_ext = ".bvh" if self.file_format == "BVH" else ".npz"
        return super().check(context)

    def execute(self, context):
        obj = context.active_object
        path = export_path(self.filepath, self.file_format if self.properties.is_property_set("file_format")
                           else None)
        try:
            motion = rig.motion_from_action(obj)
            motion.credit = str(obj.animation_data.action.get("mrgen_credit", ""))
            save_motion(motion, path)
        except (MrgenError, ValueError) as e:
            self.report({"ERROR"}, getattr(e, "message", None) or str(e))
            return {"CANCELLED"}
        self.report({"INFO"}, f"exported {motion.num_frames} frames to {path}")
        return {"FINISHED"}


CLASSES = (MRGEN_OT_import_motion, MRGEN_OT_export_motion)
