"""Add-on preferences: the worker's Python, device, training processes, model folder, SMPL model file, WavLM
checkpoint; the setup checklist."""
from __future__ import annotations

import os
import shutil
import sys

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

ADDON_ID = __package__  # "mrgen" (legacy add-on) or "bl_ext.<repo>.mrgen" (extension)
#: Where ``python build.py --worker-venv`` puts the worker environment by default (auto-detected here).
DEFAULT_WORKER_VENV = os.path.join(os.path.expanduser("~"), ".mrgen", "worker-venv")
MODEL_EXTENSIONS = (".pt", ".mrgen")


def get_prefs(context=None):
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    return addon.preferences if addon is not None else None


def venv_python(venv: str) -> str:
    return os.path.join(venv, "Scripts", "python.exe") if sys.platform == "win32" else os.path.join(venv, "bin",
                                                                                                  "python")


def worker_python(prefs=None) -> tuple[str, str]:
    """The interpreter that runs the worker and where it came from: the preference, ``$MRGEN_WORKER_PYTHON``, the
    venv made by ``build.py --worker-venv``, else ``python3`` on PATH. ('', reason) when none is found."""
    if prefs is not None and prefs.worker_python.strip():
        return bpy.path.abspath(prefs.worker_python.strip()), "preferences"
    env = os.environ.get("MRGEN_WORKER_PYTHON", "").strip()
    if env:
        return env, "MRGEN_WORKER_PYTHON"
    venv = venv_python(DEFAULT_WORKER_VENV)
    if os.path.isfile(venv):
        return venv, f"build.py venv ({DEFAULT_WORKER_VENV})"
    for name in ("python3", "python"):
        found = shutil.which(name)
        if found:
            return found, f"{name} on PATH"
    return "", "not found"


def bundled_model_folder() -> str:
    from .core import CORE_PATH

    return os.path.join(CORE_PATH, "mrgen_core", "models") if CORE_PATH else ""


def model_folder(prefs=None) -> str:
    if prefs is not None and prefs.model_folder.strip():
        return bpy.path.abspath(prefs.model_folder.strip())
    return bundled_model_folder()


#: How to fix a missing WavLM checkpoint (models trained on WavLM speech features need one).
WAVLM_FIX = "set 'WavLM checkpoint' in the MRGen add-on preferences"


def wavlm_checkpoint(prefs=None) -> str:
    """Absolute path of the local WavLM checkpoint folder ('' when the preference is empty)."""
    if prefs is None or not prefs.wavlm_checkpoint.strip():
        return ""
    return os.path.normpath(bpy.path.abspath(prefs.wavlm_checkpoint.strip()))


def list_models(folder: str) -> list[str]:
    """Model files in ``folder`` (sorted; a file named ``default*`` first; hidden names, such as the temporary file
    of a write that was killed, are skipped)."""
    try:
        files = [f for f in os.listdir(folder) if f.lower().endswith(MODEL_EXTENSIONS) and not f.startswith(".")]
    except OSError:
        return []
    return sorted(files, key=lambda f: (not f.lower().startswith("default"), f.lower()))


def worker_pythonpath() -> list[str]:
    """Put the add-on's own ``mrgen_core`` first on the worker's path, so both sides run the same code."""
    from .core import CORE_PATH

    return [CORE_PATH] if CORE_PATH else []


#: The checklist line of a worker nobody has run yet (not a problem: the first job checks it).
NOT_CHECKED = "worker not checked yet"
#: The one command that makes a worker Python (a venv with torch and mrgen), for a missing or broken worker.
WORKER_FIX = "run `python build.py --worker-venv` (a venv with torch), or set 'Worker Python' to a Python with torch"


def note_worker(prefs, ok: bool, report: str) -> None:
    """Remember what running the worker showed (the Check button, or the first job of a session)."""
    if prefs is not None:
        prefs.check_ok, prefs.check_report = ok, report


def checklist(prefs) -> list[tuple[bool, str, str]]:
    """What the setup needs: (ok, what, how to fix) per item."""
    from .core import CORE_PATH

    items = []
    try:
        import numpy

        items.append((True, f"numpy {numpy.__version__} in Blender", ""))
    except ImportError:
        items.append((False, "numpy is missing in Blender's Python",
                      "install numpy for Blender's Python (Debian/Ubuntu: apt install python3-numpy)"))
    items.append((CORE_PATH is not None, f"mrgen_core bundled ({CORE_PATH or 'missing'})",
                  "reinstall the add-on from a zip built with build.py"))
    py, src = worker_python(prefs)
    exists = bool(py) and (os.path.isfile(py) or shutil.which(py) is not None)
    items.append((exists, f"worker Python: {py or 'none'} ({src})",
                  WORKER_FIX))
    if prefs is not None and prefs.check_report:
        items.append((prefs.check_ok, prefs.check_report, "" if prefs.check_ok else WORKER_FIX))
    else:
        items.append((False, NOT_CHECKED, "checked by the first Generate, or press Check"))
    folder = model_folder(prefs)
    models = list_models(folder)
    items.append((bool(models), f"{len(models)} model(s) in {folder or '(no folder)'}",
                  "choose a model folder, or train a model: mrgen train CLIPS -o models/mine.pt"))
    return items


def draw_checklist(layout, prefs) -> bool:
    """Draw the checklist; returns whether everything is ready."""
    ok_all = True
    col = layout.column(align=True)
    for ok, what, fix in checklist(prefs):
        ok_all &= ok
        col.label(text=what, icon="CHECKMARK" if ok else "ERROR")
        if not ok and fix:
            col.label(text="    " + fix)
    return ok_all


class MRGEN_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    worker_python: StringProperty(
        name="Worker Python", subtype="FILE_PATH", default="",
        description="Python interpreter with torch that runs the model (empty: auto-detect the venv made by "
                    "build.py --worker-venv, then python3 on PATH)")
    device: EnumProperty(name="Device", items=[("cpu", "CPU", "Run the model on the CPU"),
                                                ("cuda", "CUDA", "Run the model on an NVIDIA GPU")], default="cpu")
    train_procs: IntProperty(
        name="Training processes", default=0, min=0, max=256,
        description="Processes that train a model together, each on a share of every step's crops (0: one per "
                    "physical CPU core, or per GPU with CUDA; 1: a single process)")
    model_folder: StringProperty(name="Model folder", subtype="DIR_PATH", default="",
                                 description="Folder with trained models (empty: the models shipped with the add-on)")
    smpl_model_file: StringProperty(name="SMPL model file (optional)", subtype="FILE_PATH", default="",
                                    description="Licensed SMPL body model (.pkl/.npz) for a skinned mesh; without it "
                                                "a simple stand-in body is built")
    wavlm_checkpoint: StringProperty(name="WavLM checkpoint", subtype="DIR_PATH", default="",
                                     description="Local folder of a WavLM model (Hugging Face format, e.g. "
                                                 "wavlm-base-plus) for models trained on WavLM speech features; "
                                                 "loaded from disk only, never downloaded")
    timeout: FloatProperty(name="Worker timeout (s)", default=120.0, min=1.0, max=3600.0,
                           description="A running job that sends no progress for this long is considered hung and "
                                       "the worker is restarted")
    stand_in_body: BoolProperty(name="Stand-in body", default=True,
                                description="Give new SMPL armatures a simple capsule body so motion reads clearly")
    check_report: StringProperty(default="")
    check_ok: BoolProperty(default=False)

    def draw(self, context):
        layout = self.layout
        col = layout.column()
        col.prop(self, "worker_python")
        py, src = worker_python(self)
        col.label(text=f"Using: {py or 'none'} ({src})")
        row = col.row()
        row.operator("mrgen.check_worker", icon="CHECKMARK")
        row.operator("mrgen.show_log", icon="TEXT")
        col.prop(self, "device")
        col.prop(self, "train_procs")
        col.prop(self, "model_folder")
        if not self.model_folder:
            col.label(text=f"Shipped models: {bundled_model_folder() or 'none'}")
        col.prop(self, "smpl_model_file")
        col.prop(self, "wavlm_checkpoint")
        folder = wavlm_checkpoint(self)
        if folder and not os.path.isdir(folder):
            col.label(text=f"WavLM checkpoint folder not found: {folder}", icon="ERROR")
        col.prop(self, "timeout")
        col.prop(self, "stand_in_body")
        box = layout.box()
        box.label(text="Setup checklist")
        draw_checklist(box, self)


def register():
    bpy.utils.register_class(MRGEN_AddonPreferences)


def unregister():
    bpy.utils.unregister_class(MRGEN_AddonPreferences)
