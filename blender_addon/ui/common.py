"""Shared panel bits: the sidebar location and the progress bar (a real one on 4.0+, a slider before)."""
from __future__ import annotations

CATEGORY = "MRGen"


class SidebarPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = CATEGORY


def draw_progress(layout, state) -> None:
    if hasattr(layout, "progress"):  # Blender 4.0+
        layout.progress(factor=state.progress, type="BAR", text=state.status or "working")
    else:
        row = layout.row()
        row.enabled = False
        row.prop(state, "progress", text=state.status or "Progress", slider=True)
