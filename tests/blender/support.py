"""Shared constants and helpers of the Blender tests."""
from __future__ import annotations

import importlib
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MRGEN_DATA", REPO.parent / "shared" / "data" / "raw"))
WORKER_PYTHON = os.environ.get("MRGEN_WORKER_PYTHON") or str(REPO / ".venv" / "bin" / "python")
EXT_MODULE = "bl_ext.user_default.mrgen"


def addon_module(name: str):
    """A submodule of the installed extension (e.g. ``rig``, ``operators.generate``)."""
    return importlib.import_module(f"{EXT_MODULE}.{name}")
