"""Generate section: model, labels (or a schedule of segments), speech (models that follow audio), length, fps,
seed, variations."""
from __future__ import annotations

import bpy

from .. import jobs, preferences, props, rig
from .common import SidebarPanel
from .direct import draw_generate_options


class MRGEN_UL_segments(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index=0):
        row = layout.row(align=True)
        if len(data.labels_available):
            row.prop_search(item, "label", data, "labels_available", text="")
        else:
            row.prop(item, "label", text="")
        row.prop(item, "start", text="")
        row.prop(item, "end", text="")


class MRGEN_PT_generate(SidebarPanel, bpy.types.Panel):
    bl_label = "Generate"
    bl_idname = "MRGEN_PT_generate"
    bl_order = 1

    def draw(self, context):
        layout = self.layout
        s = props.settings_for(context)
        obj = context.active_object
        layout.label(text=f"On: {obj.name}" if rig.is_smpl_armature(obj) else "On: a new SMPL armature",
                     icon="ARMATURE_DATA")
        row = layout.row(align=True)
        row.prop(s, "model", text="")
        row.operator("mrgen.load_model", text="", icon="FILE_REFRESH")
        if s.model == props.CUSTOM_MODEL:
            layout.prop(s, "model_file", text="")
        if s.model_info:
            layout.label(text=s.model_info)
        layout.prop(s, "use_schedule")
        if s.use_schedule:
            row = layout.row()
            row.template_list("MRGEN_UL_segments", "", s, "segments", s, "segment_index", rows=3)
            col = row.column(align=True)
            col.operator("mrgen.segment_add", text="", icon="ADD")
            col.operator("mrgen.segment_remove", text="", icon="REMOVE")
        elif len(s.labels_available):
            layout.prop_search(s, "label", s, "labels_available")
        else:
            layout.prop(s, "label")
        if s.model_audio or s.audio_file:
            layout.prop(s, "audio_file")
        if s.model_audio == "wavlm" and not preferences.wavlm_checkpoint(preferences.get_prefs(context)):
            layout.label(text="Set the WavLM checkpoint in the add-on preferences", icon="INFO")
        col = layout.column(align=True)
        sub = col.row()
        sub.enabled = not s.audio_file and not (s.loop and s.cycles)  # speech (or a loop's cycles) sets the length
        sub.prop(s, "seconds")
        row = col.row(align=True)
        row.prop(s, "use_scene_fps")
        sub = row.row(align=True)
        sub.enabled = not s.use_scene_fps
        sub.prop(s, "fps")
        col.prop(s, "seed")
        col.prop(s, "num")
        draw_generate_options(layout, s)
        row = layout.row()
        row.scale_y = 1.4
        row.enabled = not jobs.busy()
        row.operator("mrgen.generate", icon="PLAY")


CLASSES = (MRGEN_UL_segments, MRGEN_PT_generate)
