"""The N-panel (View3D > Sidebar > MRGen), one module per section."""
import bpy

from . import blend, generate, io, retarget, status, train

CLASSES = (*status.CLASSES, *generate.CLASSES, *blend.CLASSES, *retarget.CLASSES, *io.CLASSES, *train.CLASSES)


def register():
    for c in CLASSES:
        bpy.utils.register_class(c)


def unregister():
    for c in reversed(CLASSES):
        bpy.utils.unregister_class(c)
