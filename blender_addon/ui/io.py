"""Import / Export section (and the SMPL mesh from the user's model file)."""
from __future__ import annotations

import bpy

from .common import SidebarPanel


class MRGEN_PT_io(SidebarPanel, bpy.types.Panel):
    bl_label = "Import / Export"
    bl_idname = "MRGEN_PT_io"
    bl_order = 4
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        col = self.layout.column(align=True)
        col.operator("mrgen.import_motion", icon="IMPORT")
        col.operator("mrgen.export_motion", icon="EXPORT")
        col.operator("mrgen.smpl_mesh", icon="OUTLINER_OB_MESH")
        col.label(text="FBX: File > Export > FBX")


CLASSES = (MRGEN_PT_io,)
