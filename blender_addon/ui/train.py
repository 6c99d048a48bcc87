"""Train section: the selected SMPL armatures' Actions as clips, labels, preset, output file."""
from __future__ import annotations

import bpy

from .. import jobs, props, rig
from .common import SidebarPanel, stacked


class MRGEN_PT_train(SidebarPanel, bpy.types.Panel):
    bl_label = "Train"
    bl_idname = "MRGEN_PT_train"
    bl_order = 5
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        clips = [o.name for o in context.selected_objects if rig.is_smpl_armature(o) and o.animation_data
                 and o.animation_data.action]
        layout.label(text=f"Clips: {len(clips)} selected", icon="ACTION")
        s = props.settings_for(context)
        stacked(layout, s, "train_labels", "Labels (one, or per clip):")
        layout.prop(s, "train_preset")
        layout.prop(s, "train_path_control")
        layout.prop(s, "train_mirror")
        stacked(layout, s, "train_output", "Save as:")
        row = layout.row()
        row.enabled = not jobs.busy() and bool(clips)
        row.operator("mrgen.train", icon="EXPERIMENTAL")


CLASSES = (MRGEN_PT_train,)
