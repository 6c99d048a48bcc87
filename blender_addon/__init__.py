"""MRGen: generate, blend and retarget SMPL human motion in Blender (View3D > Sidebar > MRGen).

The model runs in a separate worker process (a Python with torch, set in the add-on preferences); Blender itself never
imports torch. The numpy-only parts of ``mrgen_core`` (skeleton, rotations, motion files, retargeting) are bundled
in ``vendor/`` by ``build.py`` and reached through :mod:`.core`.
"""

bl_info = {
    "name": "MRGen Motion",
    "author": "mrgen developers",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "View3D > Sidebar > MRGen",
    "description": "Generate and blend human motion (SMPL) with a multi-resolution GAN; retarget it to your rig",
    "category": "Animation",
}

from . import core, jobs, preferences, props  # noqa: E402,F401
from .core import CORE_PATH  # noqa: E402,F401
from .operators import register as _register_operators, unregister as _unregister_operators  # noqa: E402
from .ui import register as _register_ui, unregister as _unregister_ui  # noqa: E402


def register():
    preferences.register()
    props.register()
    _register_operators()
    _register_ui()
    jobs.register()


def unregister():
    jobs.unregister()
    from .operators.common import cleanup_temp

    cleanup_temp()
    _unregister_ui()
    _unregister_operators()
    props.unregister()
    preferences.unregister()
