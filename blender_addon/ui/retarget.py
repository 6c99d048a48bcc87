"""Retarget section: target armature, editable bone map (with detection and JSON presets), hips scaling."""
from __future__ import annotations

import bpy

from .. import rig
from .common import SidebarPanel, stacked, wrapped_label


def joint_label(joint: str) -> str:
    """A short name for an SMPL joint in a narrow list: ``left_shoulder`` -> ``L shoulder``."""
    for side, short in (("left_", "L "), ("right_", "R ")):
        if joint.startswith(side):
            return short + joint[len(side):]
    return joint


class MRGEN_UL_bone_map(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index=0):
        split = layout.split(factor=0.3, align=True)  # "L knee" | the bone name gets most of the row
        split.label(text=joint_label(item.name))
        tgt = getattr(data, "id_data", None)
        if tgt is not None and hasattr(tgt, "bones"):
            split.prop_search(item, "bone", tgt, "bones", text="", icon="NONE")
        else:
            split.prop(item, "bone", text="")


class MRGEN_PT_retarget(SidebarPanel, bpy.types.Panel):
    bl_label = "Retarget"
    bl_idname = "MRGEN_PT_retarget"
    bl_order = 3
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        src = context.active_object
        if not rig.is_smpl_armature(src):
            wrapped_label(layout, "Select the SMPL armature (the source)", icon="INFO")
            return
        s = src.data.mrgen
        stacked(layout, s, "retarget_target", "Target armature:")
        col = layout.column(align=True)
        col.prop(s, "scale_hips", text="Scale hips motion")
        col.prop(s, "ground_feet")
        sub = col.row(align=True)
        sub.enabled = s.ground_feet
        sub.prop(s, "floor_offset")
        tgt = s.retarget_target
        if tgt is not None and tgt.type == "ARMATURE":
            ts = tgt.data.mrgen
            row = layout.row(align=True)
            row.operator("mrgen.bone_map_detect", icon="VIEWZOOM")
            row.operator("mrgen.bone_map_load", text="", icon="FILEBROWSER")
            row.operator("mrgen.bone_map_save", text="", icon="FILE_TICK")
            if ts.bone_map_preset:
                layout.label(text=f"Bone map: {ts.bone_map_preset}")
            if len(ts.bone_map):
                layout.template_list("MRGEN_UL_bone_map", "", ts, "bone_map", ts, "bone_map_index", rows=5)
        row = layout.row()
        row.scale_y = 1.3
        row.operator("mrgen.retarget", icon="CON_ARMATURE")


CLASSES = (MRGEN_UL_bone_map, MRGEN_PT_retarget)
