"""The top MRGen panel: setup state, the running job's progress and Cancel, the last error."""
from __future__ import annotations

import bpy

from .. import preferences
from .common import SidebarPanel, draw_progress, wrapped_label


class MRGEN_PT_main(SidebarPanel, bpy.types.Panel):
    bl_label = "MRGen"
    bl_idname = "MRGEN_PT_main"
    bl_order = 0

    def draw(self, context):
        layout = self.layout
        st = context.window_manager.mrgen_job
        prefs = preferences.get_prefs(context)
        problems = [what for ok, what, _ in preferences.checklist(prefs)
                    if not ok and what != preferences.NOT_CHECKED]  # the first job checks the worker
        if problems:
            box = layout.box()
            box.label(text="Setup incomplete:", icon="ERROR")
            for p in problems[:3]:
                wrapped_label(box, p)
            row = box.row(align=True)
            row.operator("screen.userpref_show", text="Preferences", icon="PREFERENCES")
            row.operator("mrgen.check_worker", icon="CHECKMARK")
        if st.running:
            draw_progress(layout, st)
            layout.operator("mrgen.cancel", icon="CANCEL")
        elif st.status:
            wrapped_label(layout, st.status, icon="INFO")
        if st.error:
            col = layout.column(align=True)
            col.alert = True
            wrapped_label(col, st.error, icon="ERROR")
            layout.operator("mrgen.show_log", icon="TEXT")


CLASSES = (MRGEN_PT_main,)
