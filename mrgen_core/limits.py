"""Sane limits on every size a user or a file can ask for, and the checks that apply them before anything is
allocated, read or written (numpy only; no torch).

A limit is refused with one :class:`~mrgen_core.errors.MrgenError` line naming the argument or file and the limit.
The values are far above any real use (an hour of motion, 1000 fps, a 30-minute speech file) and far below what
would exhaust a laptop's memory.
"""
from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import Iterable, Sequence

from .errors import MrgenError

# --- motion --------------------------------------------------------------------------------------------------
#: Frame rates a motion may have (BVH ``Frame Time``, .npz ``mocap_framerate``, ``--fps``).
MIN_FPS, MAX_FPS = 1.0, 1000.0
#: Frames of one motion (read, resampled or generated): 1 h at 60 fps, about 0.2 GB of poses.
MAX_FRAMES = 216_000
#: Seconds of motion ``generate`` / ``blend`` may be asked for.
MAX_SECONDS = 3600.0
#: Variations one ``generate`` / ``blend`` may write (made and written in batches of ``NUM_BATCH``).
MAX_NUM = 1000
#: Longest easing of a path's speed changes (``generate --path --ease``), seconds.
MAX_EASE = 10.0
NUM_BATCH = 8
#: Largest absolute axis-angle component (radians) and root translation (metres) a motion may hold.
MAX_ANGLE = 1e4
MAX_TRANSLATION = 1e5
#: Largest absolute BVH channel value (degrees or file units).
MAX_BVH_VALUE = 1e7
#: Frames a training clip needs at least (after resampling to the training frame rate).
MIN_TRAIN_FRAMES = 8

# --- files ---------------------------------------------------------------------------------------------------
#: Largest input files read whole (motion, model, labels, mapping, audio).
MAX_FILE_BYTES = {"motion": 1 << 30, "model": 2 << 30, "labels": 16 << 20, "mapping": 16 << 20,
                  "audio": 1 << 30, "SMPL model": 1 << 30}
#: Largest uncompressed member of an .npz file.
MAX_NPZ_MEMBER_BYTES = 1 << 30

# --- audio ---------------------------------------------------------------------------------------------------
#: WAV sample rates accepted, and the longest audio (seconds) turned into features.
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1000, 384_000
MAX_AUDIO_SECONDS = 1800.0

# --- models --------------------------------------------------------------------------------------------------
MAX_LEVELS = 40
MAX_WIDTH = 64  # channels per body-part group of a hidden layer
MAX_LAYERS = 8
MAX_KERNEL = 31
MAX_EMBED = 1024
MAX_VOCAB = 1000
MAX_CONTINUOUS = 4096
#: Parameters all generators and discriminators of a model may hold together (dense, before masking): 4 GB.
MAX_PARAMETERS = 1 << 30

# --- worker --------------------------------------------------------------------------------------------------
#: Longest request line the worker reads (longer ones are refused and skipped), and deepest JSON nesting.
MAX_REQUEST_BYTES = 1 << 20
MAX_JSON_DEPTH = 64


def finite_number(value, what: str, lo: float, hi: float, *, lo_open: bool = False, integer: bool = False
                  ) -> float:
    """``value`` as a finite number within ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``), else MrgenError naming
    ``what``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer:
        ok = isinstance(value, int) or (math.isfinite(value) and float(value).is_integer())
    if not ok:
        raise MrgenError(f"{what} must be {'a whole number' if integer else 'a number'}, got {value!r}")
    v = float(value)
    if not (math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi):
        left = "(" if lo_open else "["
        raise MrgenError(f"{what} must be in {left}{lo:g}, {hi:g}], got {value!r}")
    return int(v) if integer else v


def check_frames(frames: int, what: str, fps: float | None = None) -> int:
    """``frames`` within 1..``MAX_FRAMES`` (MrgenError naming ``what``, with seconds when ``fps`` is known)."""
    if frames > MAX_FRAMES:
        extra = f" ({MAX_FRAMES / fps:g} s at {fps:g} fps)" if fps else ""
        raise MrgenError(f"{what} asks for {frames} frames; the limit is {MAX_FRAMES} frames{extra}")
    if frames < 1:
        raise MrgenError(f"{what} asks for {frames} frames; a motion needs at least one")
    return int(frames)


def check_fps(fps, what: str = "--fps") -> float:
    return finite_number(fps, what, MIN_FPS, MAX_FPS)


# --- files ---------------------------------------------------------------------------------------------------
def input_file(path: str | os.PathLike, kind: str = "motion", missing: str = "file not found",
               error: type[MrgenError] | None = None) -> Path:
    """``path`` if it is a readable regular file within the size limit for ``kind`` (see ``MAX_FILE_BYTES``);
    otherwise MrgenError naming it: missing, a folder, a device or FIFO (which would read forever or hang), a link
    loop, unreadable, or too big. Checked with ``stat`` only: nothing is opened. ``error``: the MrgenError subclass
    raised (default :class:`~mrgen_core.errors.MotionFormatError`)."""
    from .errors import MotionFormatError

    err = error or MotionFormatError
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise err(missing, p) from None
    except OSError as e:  # ELOOP (a link to itself), ENAMETOOLONG, EACCES on a folder on the way, ...
        raise err(f"cannot read file ({e.strerror or e})", p) from None
    if stat.S_ISDIR(st.st_mode):
        raise err(f"is a folder, not a {kind} file", p)
    if not stat.S_ISREG(st.st_mode):
        raise err(f"not a regular file (a device, FIFO or socket); give a {kind} file", p)
    if not os.access(p, os.R_OK):
        raise err("cannot read file (permission denied)", p)
    limit = MAX_FILE_BYTES.get(kind, 1 << 30)
    if st.st_size > limit:
        raise err(f"file is {st.st_size / 2**20:.0f} MB; the limit for a {kind} file is "
                                f"{limit / 2**20:.0f} MB", p)
    return p


def output_file(path: str | os.PathLike, what: str = "output") -> Path:
    """Check before any work that ``path`` can be written: not a folder or device, and its folder (or the nearest
    one that exists, where the missing ones would be made) a writable folder. MrgenError naming ``path``."""
    p = Path(path)
    if not p.name or p.name in (".", ".."):
        raise MrgenError(f"the {what} must be a file name, not a folder", p)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise MrgenError(f"cannot write {what} ({e.strerror or e})", p) from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise MrgenError(f"the {what} is a folder; give a file name", p)
        if not stat.S_ISREG(st.st_mode):
            raise MrgenError(f"the {what} is not a regular file (a device, FIFO or socket)", p)
    folder = p.parent if str(p.parent) else Path(".")
    while True:
        try:
            fst = os.stat(folder)
        except FileNotFoundError:
            if folder.parent == folder:
                break
            folder = folder.parent
            continue
        except OSError as e:
            raise MrgenError(f"cannot write {what} ({e.strerror or e})", p) from None
        if not stat.S_ISDIR(fst.st_mode):
            raise MrgenError(f"cannot write {what}: {folder} is not a folder", p)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise MrgenError(f"cannot write {what}: the folder {folder} is not writable", p)
        break
    return p


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` name the same file (the same path, or the same file through links)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        pass
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError):
        return False


def not_over_inputs(outputs: Iterable[str | os.PathLike], inputs: Iterable[str | os.PathLike | None],
                    what: str = "output") -> None:
    """MrgenError when an output names one of the inputs (same path or same file through a link): no command may
    write its output over what it reads."""
    ins = [i for i in inputs if i]
    for out in outputs:
        for i in ins:
            if same_file(out, i):
                raise MrgenError(f"the {what} would overwrite the input {os.fspath(i)}; choose another file name",
                                 out)


def distinct_outputs(outputs: Sequence[str | os.PathLike]) -> None:
    seen: list = []
    for o in outputs:
        if any(same_file(o, s) for s in seen):
            raise MrgenError("two outputs name the same file", o)
        seen.append(o)


def json_depth(text: str) -> int:
    """The deepest nesting of ``[`` / ``{`` in JSON ``text`` (brackets inside strings are skipped)."""
    depth = deepest = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif ch in "]}":
            depth -= 1
    return deepest


def npz_members(zf, path, error: type[MrgenError] = MrgenError) -> None:
    """Refuse an .npz (``zf``, its open :class:`zipfile.ZipFile`) with a member that would unpack beyond
    ``MAX_NPZ_MEMBER_BYTES``, from the zip directory alone (before any array is read)."""
    for info in zf.infolist():
        if info.file_size > MAX_NPZ_MEMBER_BYTES:
            raise error(f"'{info.filename}' unpacks to {info.file_size / 2**20:.0f} MB; the limit is "
                        f"{MAX_NPZ_MEMBER_BYTES / 2**20:.0f} MB", path)


def json_loads(text: str | bytes, max_depth: int = MAX_JSON_DEPTH):
    """``json.loads`` that refuses nesting deeper than ``max_depth`` (ValueError) instead of a RecursionError."""
    import json

    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if text.count("[") + text.count("{") > max_depth and json_depth(text) > max_depth:  # scan only when it may be
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    return json.loads(text)


# --- training settings (``--set KEY=VALUE``) -----------------------------------------------------------------
#: Range of every numeric training setting: (low, high, low excluded). Lists: each entry's range.
SETTING_RANGES: dict[str, tuple[float, float, bool]] = {
    "scale_factor": (1.0, 4.0, True), "coarse_seconds": (0.0, 600.0, True), "kernel_size": (3, MAX_KERNEL, False),
    "g_widths": (1, MAX_WIDTH, False), "d_widths": (1, MAX_WIDTH, False), "embed_dim": (1, MAX_EMBED, False),
    "neighbour_distance": (0, 64, False), "iterations": (1, 10_000_000, False), "coarse_boost": (-2.0, 2.0, False),
    "batch": (1, 1024, False), "crop": (4, 100_000, False), "d_steps": (1, 100, False), "rec_batch": (0, 1024, False),
    "penalty_every": (1, 1000, False), "lr_g": (0.0, 1.0, True), "lr_d": (0.0, 1.0, True), "betas": (0.0, 0.9999, False),
    "gp_weight": (0.0, 1e6, False), "rec_weight": (0.0, 1e6, False), "contact_weight": (0.0, 1e6, False),
    "slide_weight": (0.0, 1e6, False), "path_weight": (0.0, 1e6, False), "patch_weight": (0.0, 1e6, False), "patch_size": (1, 10_000, False),
    "patch_margin": (0.0, 1e6, False), "patch_recall": (0.0, 1e6, False), "sample_recall": (0.0, 1e6, False),
    "recall_memory": (0, 100_000, False),
    "vary_weight": (0.0, 1e6, False), "vary_ratio": (0.0, 1e6, False), "vary_from": (0.0, 1.0, False),
    "vary_smooth": (1, 31, False),
    "patch_pool": (1, 1_000_000, False), "patch_control": (0.0, 1e6, False), "label_mix": (0.0, 1.0, False),
    "bank_frames": (1, MAX_FRAMES, False), "bank_refresh": (1, 10_000_000, False), "threads": (0, 1024, False),
    "batch_per_process_seconds": (0.0, 1e9, False),
}
#: Settings that take one of a few words.
SETTING_CHOICES = {"loss": ("wgan-gp", "ns-r1")}


def check_setting(key: str, value) -> None:
    """MrgenError (naming ``--set KEY``) when ``value`` is out of the setting's range (or not one of its words)."""
    what = f"--set {key}"
    if key in SETTING_CHOICES:
        if value not in SETTING_CHOICES[key]:
            raise MrgenError(f"{what} must be one of {', '.join(SETTING_CHOICES[key])}, got {value!r}")
        return
    if key not in SETTING_RANGES:
        return
    lo, hi, lo_open = SETTING_RANGES[key]
    integer = isinstance(lo, int) and isinstance(hi, int)
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if isinstance(value, (list, tuple)):
        limit = 2 if key == "betas" else MAX_LAYERS
        if not (1 <= len(values) <= limit) or (key == "betas" and len(values) != 2):
            raise MrgenError(f"{what} must hold {'two' if key == 'betas' else f'1 to {limit}'} values, got {value!r}")
    for v in values:
        finite_number(v, what, lo, hi, lo_open=lo_open, integer=integer)
    if key == "kernel_size" and int(value) % 2 == 0:
        raise MrgenError(f"{what} must be odd, got {value!r}")
