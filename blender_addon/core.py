"""The add-on's door to ``mrgen_core`` (its numpy parts: skeleton, motion, file formats, retargeting).

Zips built by ``build.py`` bundle ``mrgen_core`` in ``vendor/``, imported as a sub-module of the add-on
(``<add-on>.vendor.mrgen_core``, as Blender's extension guidelines suggest for vendored pure-Python code; ``sys.path``
is left alone, so another copy elsewhere cannot clash). Run from a source checkout (no ``vendor/``), the repository's
own ``mrgen_core`` is used. The worker process gets :data:`CORE_PATH` on its ``PYTHONPATH`` so both sides run the
same code.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_VENDOR = os.path.join(_HERE, "vendor")

if os.path.isfile(os.path.join(_VENDOR, "mrgen_core", "__init__.py")):
    CORE_PATH: str | None = _VENDOR
    BASE = f"{__package__}.vendor.mrgen_core"
else:  # a source checkout: blender_addon/ next to mrgen_core/
    _repo = os.path.dirname(_HERE)
    CORE_PATH = _repo if os.path.isfile(os.path.join(_repo, "mrgen_core", "__init__.py")) else None
    BASE = "mrgen_core"
    if CORE_PATH and importlib.util.find_spec("mrgen_core") is None:
        sys.path.append(CORE_PATH)


def sub(name: str = ""):
    """A module of mrgen_core, e.g. ``sub("io.amass")``."""
    return importlib.import_module(f"{BASE}.{name}" if name else BASE)


__version__ = sub().__version__
MrgenError = sub("errors").MrgenError
Motion = sub("motion").Motion
JOINT_NAMES = sub("skeleton").JOINT_NAMES
PARENTS = sub("skeleton").PARENTS
read_npz = sub("io.amass").read_npz
write_npz = sub("io.amass").write_npz
load_motion = sub("motion_files").load_motion
save_motion = sub("motion_files").save_motion
target = sub("retarget.target")
