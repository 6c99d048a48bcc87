"""Operators, one user action each: generate, blend, train, retarget, import/export, SMPL mesh, cancel, setup."""
import bpy

from . import blend, cancel, generate, io, lists, mesh, retarget, setup, train

CLASSES = (*generate.CLASSES, *blend.CLASSES, *train.CLASSES, *retarget.CLASSES, *io.CLASSES, *mesh.CLASSES,
           *cancel.CLASSES, *setup.CLASSES, *lists.CLASSES)


def register():
    for c in CLASSES:
        bpy.utils.register_class(c)


def unregister():
    for c in reversed(CLASSES):
        bpy.utils.unregister_class(c)
