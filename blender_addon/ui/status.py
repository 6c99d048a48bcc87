"""The top MRGen panel: setup state, the running job's progress and Cancel, the last error."""
from __future__ import annotations

import bpy

from .. import preferences
from .common import SidebarPanel, draw_progress


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
                box.label(text=p)
            box.operator("screen.userpref_show", text="Open Preferences", icon="PREFERENCES")
            box.operator("mrgen.check_worker", icon="CHECKMARK")
        if st.running:
            draw_progress(layout, st)
            layout.operator("mrgen.cancel", icon="CANCEL")
        elif st.status:
            layout.label(text=st.status, icon="INFO")
        if st.error:
            col = layout.column(align=True)
            col.alert = True
            for i, chunk in enumerate(_wrap(st.error, 48)):
                col.label(text=chunk, icon="ERROR" if i == 0 else "BLANK1")
            layout.operator("mrgen.show_log", icon="TEXT")


def _wrap(text: str, width: int) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        lines.append(cur)
    return lines[:6]


CLASSES = (MRGEN_PT_main,)
