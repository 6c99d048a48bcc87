"""The panel rows for loops, root motion, NLA strips (Generate) and kept frames (Blend): short labels, stacked rows
for the default sidebar width, details in the tooltips."""
from __future__ import annotations


def draw_generate_options(layout, s) -> None:
    """Follow curve [Curve, Timing], Loop [Cycles], Root: Keep | In place, NLA strip."""
    import bpy

    col = layout.column(align=True)
    col.prop(s, "follow_curve")
    if s.follow_curve:
        col.prop_search(s, "path_curve", bpy.data, "objects", text="Curve", icon="CURVE_DATA")
        obj = bpy.data.objects.get(s.path_curve)
        if obj is None or obj.type == "CURVE":
            col.prop(s, "path_timing", text="Timing")
        else:
            col.label(text="Timed by its keys", icon="KEYFRAME")
    col = layout.column(align=True)
    row = col.row(align=True)
    row.prop(s, "loop")
    sub = row.row(align=True)
    sub.enabled = s.loop and not s.audio_file
    sub.prop(s, "cycles")
    col.row(align=True).prop(s, "root_mode", expand=True)
    col.prop(s, "use_nla")


def draw_blend_options(layout, s) -> None:
    """Keep keyed frames [Frames], Root, NLA strip."""
    col = layout.column(align=True)
    col.prop(s, "keep_keyed")
    if s.keep_keyed:
        col.prop(s, "keep_range", text="Frames")
    col.row(align=True).prop(s, "root_mode", expand=True)
    col.prop(s, "use_nla")
