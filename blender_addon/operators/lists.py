"""Add/remove rows of the label schedule."""
from __future__ import annotations

import bpy

from .. import props


class MRGEN_OT_segment_add(bpy.types.Operator):
    """Add a label segment after the last one"""

    bl_idname = "mrgen.segment_add"
    bl_label = "Add Segment"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        s = props.settings_for(context)
        start = max((seg.end for seg in s.segments), default=0.0)
        seg = s.segments.add()
        seg.start, seg.end = start, start + 2.0
        seg.label = s.labels_available[0].name if len(s.labels_available) else ""
        s.segment_index = len(s.segments) - 1
        s.seconds = max(s.seconds, seg.end)
        return {"FINISHED"}


class MRGEN_OT_segment_remove(bpy.types.Operator):
    """Remove the selected label segment"""

    bl_idname = "mrgen.segment_remove"
    bl_label = "Remove Segment"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        s = props.settings_for(context)
        if 0 <= s.segment_index < len(s.segments):
            s.segments.remove(s.segment_index)
            s.segment_index = max(0, s.segment_index - 1)
        return {"FINISHED"}


CLASSES = (MRGEN_OT_segment_add, MRGEN_OT_segment_remove)
