"""Blend section: the active SMPL armature's Action as the source, levels kept, label mixing, seed."""
from __future__ import annotations

import bpy

from .. import jobs, rig
from .common import SidebarPanel, stacked, wrapped_label
from .direct import draw_blend_options


class MRGEN_PT_blend(SidebarPanel, bpy.types.Panel):
    bl_label = "Blend"
    bl_idname = "MRGEN_PT_blend"
    bl_order = 2
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        obj = context.active_object
        if not rig.is_smpl_armature(obj):
            wrapped_label(layout, "Select an SMPL armature (Generate or Import)", icon="INFO")
            return
        action = obj.animation_data.action if obj.animation_data else None
        wrapped_label(layout, f"Source: {action.name if action else 'no Action'}", icon="ACTION")
        s = obj.data.mrgen
        col = layout.column(align=True)
        col.prop(s, "keep_levels", slider=s.num_levels > 0)
        if s.num_levels:
            col.label(text=f"model has {s.num_levels} levels")
        stacked(layout, s, "coarse_labels", "Coarse labels (kept levels):")
        stacked(layout, s, "fine_labels", "Fine labels (new levels):")
        col = layout.column(align=True)
        col.prop(s, "switch_level")
        col.prop(s, "blend_seed")
        col.prop(s, "num")
        draw_blend_options(layout, s)
        row = layout.row()
        row.scale_y = 1.3
        row.enabled = not jobs.busy() and action is not None
        row.operator("mrgen.blend", icon="MOD_DATA_TRANSFER")


CLASSES = (MRGEN_PT_blend,)
