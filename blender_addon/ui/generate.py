"""Generate section: model, labels (or a schedule of segments), speech (models that follow audio), length, fps,
seed, variations."""
from __future__ import annotations

import bpy

from .. import jobs, preferences, props, rig
from .common import SidebarPanel, stacked, wrapped_label
from .direct import draw_generate_options


class MRGEN_UL_segments(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index=0):
        split = layout.split(factor=0.5, align=True)  # the label keeps half the row (a plain field: no search icons)
        split.prop(item, "label", text="")
        row = split.row(align=True)
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
        layout.label(text=f"On: {obj.name}" if rig.is_smpl_armature(obj) else "On: new SMPL armature",
                     icon="ARMATURE_DATA")
        row = layout.row(align=True)
        row.prop(s, "model", text="")
        row.operator("mrgen.load_model", text="", icon="FILE_REFRESH")
        if s.model == props.CUSTOM_MODEL:
            layout.prop(s, "model_file", text="")
        if s.model_info:
            wrapped_label(layout, s.model_info)
        layout.prop(s, "use_schedule")
        if s.use_schedule:
            col = layout.column(align=True)
            col.label(text="Label, start s, end s:")
            col.template_list("MRGEN_UL_segments", "", s, "segments", s, "segment_index", rows=3)
            row = col.row(align=True)  # below the list, so the list keeps the sidebar's whole width
            row.operator("mrgen.segment_add", text="Add", icon="ADD")
            row.operator("mrgen.segment_remove", text="Remove", icon="REMOVE")
            if len(s.labels_available):
                wrapped_label(layout, "Labels: " + ", ".join(x.name for x in s.labels_available))
        elif len(s.labels_available):
            layout.prop_search(s, "label", s, "labels_available")
        else:
            layout.prop(s, "label")
        if s.model_audio or s.audio_file:
            stacked(layout, s, "audio_file", "Speech (WAV):")
        if s.model_audio == "wavlm" and not preferences.wavlm_checkpoint(preferences.get_prefs(context)):
            wrapped_label(layout, "Set the WavLM checkpoint in the add-on preferences", icon="INFO")
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
        col = layout.column(align=True)
        col.prop(s, "place_at", text="At")
        col.prop(s, "fit_scene_range")
        row = layout.row()
        row.scale_y = 1.4
        row.enabled = not jobs.busy()
        row.operator("mrgen.generate", icon="PLAY")


CLASSES = (MRGEN_UL_segments, MRGEN_PT_generate)
