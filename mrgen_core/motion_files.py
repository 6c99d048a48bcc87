"""Any motion file to SMPL and back: :func:`load_motion` / :func:`save_motion`, one layer above :mod:`.io` (the
formats) and :mod:`.retarget` (BVH skeletons -> SMPL).

Both dispatch on the file extension: ``.npz`` (mrgen / AMASS, :mod:`mrgen_core.io.amass`) and ``.bvh`` (read through
the retargeting layer, :func:`mrgen_core.retarget.bvh_to_motion`; written on the SMPL skeleton by
:func:`mrgen_core.io.bvh.write_bvh`).
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import MotionFormatError, MrgenError
from .io.amass import read_npz, write_npz
from .io.bvh import write_bvh
from .limits import check_fps, input_file
from .motion import Motion
from .retarget import bvh_to_motion

#: Extensions :func:`load_motion` and :func:`save_motion` understand, with what they hold.
SUPPORTED = {".npz": "SMPL motion (mrgen or AMASS)", ".bvh": "BVH motion capture"}

__all__ = ["load_motion", "save_motion", "motion_file_type", "SUPPORTED"]


def motion_file_type(path: str | os.PathLike) -> str:
    """The lower-case extension of ``path`` if it is a supported motion file type, else :class:`MotionFormatError`."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        listed = ", ".join(f"{e} ({what})" for e, what in SUPPORTED.items())
        raise MotionFormatError(f"unsupported file type {ext or '(no extension)'!s}; supported: {listed}", path)
    return ext


def load_motion(path: str | os.PathLike, fps: float | None = None, mapping: dict | str | None = None,
                credit: str = "") -> Motion:
    """Read a ``.npz`` (mrgen or AMASS) or ``.bvh`` (retargeted to SMPL) file as a :class:`Motion`.

    ``fps``: resample to this frame rate (by time). ``mapping``: SMPL joint -> source joint(s), dict or JSON path,
    BVH only. ``credit``: licence / acknowledgement text to attach (replaces a stored one). Raises
    :class:`MotionFormatError` (or another :class:`MrgenError`) naming the file.
    """
    path = input_file(path, "motion")
    ext = motion_file_type(path)
    if fps is not None:
        try:
            check_fps(fps, "--fps")
        except MrgenError as e:
            raise MrgenError(e.message, path) from None
    if ext == ".bvh":
        return bvh_to_motion(path, mapping=mapping, fps=fps, credit=credit)
    if mapping is not None:
        raise MrgenError("a joint mapping applies to BVH input only", path)
    motion = read_npz(path)
    if credit:
        motion.credit = credit
    if fps is not None:
        motion = motion.resample(fps)
    return motion


def save_motion(motion: Motion, path: str | os.PathLike) -> None:
    """Write ``motion`` as ``.npz`` (AMASS-style, with mrgen's keys) or ``.bvh`` (SMPL skeleton); atomic."""
    path = Path(path)
    ext = motion_file_type(path)
    if ext == ".bvh":
        write_bvh(motion, path)
    else:
        write_npz(motion, path)
