"""AMASS-style ``.npz`` motion files: read ours and real AMASS files, write ours.

Our files hold the AMASS keys ``poses`` (T, 72) axis-angle, ``trans`` (T, 3), ``betas``, ``gender`` and
``mocap_framerate``, plus mrgen's own: ``mrgen_format`` (the format version), ``labels`` (T,) int and ``vocab``
(label names), ``name``, ``source``, ``credit`` and ``meta`` (JSON text, how the motion was made). World convention as AMASS (Z up, metres, up-axis rotation folded
into the root orientation), so no conversion happens in either direction.

Reading accepts AMASS SMPL-H (``poses`` 156 = 52 joints) and SMPL-X (165 = 55 joints) files: the 22 body joints are
kept and SMPL's hand joints 22/23 are set to zero. Files are opened with ``allow_pickle=False``: a ``.npz`` from
someone else never runs code; strings are stored as unicode arrays.
"""
from __future__ import annotations

import json
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..atomic import writing
from ..errors import MotionFormatError, MrgenError
from ..limits import MAX_FRAMES, input_file, npz_members
from ..motion import Motion
from ..skeleton import GENDERS, NUM_JOINTS

#: Version of the keys mrgen writes; files with a newer version are refused.
FORMAT_VERSION = 1

#: Joint counts of known body models in ``poses``: SMPL body-only (22), SMPL (24), SMPL-H (52), SMPL-X (55).
_KNOWN_JOINT_COUNTS = {22: "SMPL body", 24: "SMPL", 52: "SMPL-H", 55: "SMPL-X"}
_FPS_KEYS = ("mocap_framerate", "mocap_frame_rate", "fps", "framerate")


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _string(arr: np.ndarray, key: str, path) -> str:
    """A string stored as a 0-d or 1-element unicode/bytes array."""
    a = np.asarray(arr)
    if a.size == 0:
        return ""
    if a.dtype.kind not in "US":
        raise MotionFormatError(f"'{key}' must be a string, got an array of {a.dtype}", path)
    v = a.reshape(-1)[0].item()
    return v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)


def _array(data, key: str, path) -> np.ndarray:
    try:
        return data[key]
    except ValueError as e:
        if "pickle" in str(e):  # an object array
            raise MotionFormatError(f"'{key}' holds pickled Python objects, which mrgen never loads", path) from None
        raise MotionFormatError(f"'{key}' is unreadable ({_one_line(e)})", path) from None


def _float_array(data, key: str, path) -> np.ndarray:
    a = _array(data, key, path)
    if a.dtype.kind not in "biuf":
        raise MotionFormatError(f"'{key}' must be numeric, got {a.dtype}", path)
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise MotionFormatError(f"'{key}' contains NaN or infinite values", path)
    return a


def _poses_24(poses: np.ndarray, path) -> np.ndarray:
    """``poses`` (T, 3J) or (T, J, 3) of a known body model -> (T, 24, 3) SMPL axis-angle."""
    if poses.ndim == 3 and poses.shape[2] == 3:
        poses = poses.reshape(poses.shape[0], -1)
    if poses.ndim != 2 or poses.shape[1] % 3 or poses.shape[1] // 3 not in _KNOWN_JOINT_COUNTS:
        known = ", ".join(f"{3 * j} ({n})" for j, n in _KNOWN_JOINT_COUNTS.items())
        raise MotionFormatError(f"'poses' has shape {poses.shape}; expected (frames, N) with N one of {known}", path)
    if poses.shape[0] == 0:
        raise MotionFormatError("motion has no frames", path)
    joints = poses.reshape(poses.shape[0], -1, 3)
    if joints.shape[1] == NUM_JOINTS:
        return joints
    out = np.zeros((joints.shape[0], NUM_JOINTS, 3))
    out[:, :22] = joints[:, :22]  # the body joints share SMPL's order; SMPL hands (22, 23) stay at rest
    return out


def _fps(data, path) -> float:
    for key in _FPS_KEYS:
        if key in data.files:
            a = _float_array(data, key, path)
            if a.size != 1:
                raise MotionFormatError(f"'{key}' must be a single number, got shape {a.shape}", path)
            fps = float(a.reshape(-1)[0])
            if not fps > 0:
                raise MotionFormatError(f"frame rate '{key}' must be positive, got {fps:g}", path)
            return fps
    raise MotionFormatError("frame rate missing (no 'mocap_framerate' or 'mocap_frame_rate' key)", path)


def _gender(data, path) -> str:
    if "gender" not in data.files:
        return "neutral"
    g = _string(_array(data, "gender", path), "gender", path).strip().lower()
    if g not in GENDERS:
        raise MotionFormatError(f"unknown gender {g!r}; expected one of {', '.join(GENDERS)}", path)
    return g


def read_npz(path: str | os.PathLike) -> Motion:
    """Read an mrgen or AMASS ``.npz`` into a :class:`Motion`.

    Raises :class:`MotionFormatError` naming ``path`` for anything unreadable: not a zip, missing ``poses`` /
    ``trans`` / frame rate, wrong shapes, NaN, pickled objects, a newer mrgen format. ``source`` is the provenance
    stored in the file (our files) or ``path`` itself; ``name`` defaults to the file stem.
    """
    path = input_file(path, "motion")
    try:
        if not zipfile.is_zipfile(path):
            raise MotionFormatError("not an .npz file (not a zip archive)", path)
        _check_sizes(path)
        data = np.load(path, allow_pickle=False)
        if not hasattr(data, "files"):  # pragma: no cover - np.load returns an NpzFile for every zip
            raise MotionFormatError("not an .npz archive", path)
        try:
            return _motion_from(data, path)
        finally:
            data.close()
    except MrgenError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, struct.error, OSError, ValueError, EOFError,
            KeyError, TypeError, IndexError, NotImplementedError, RuntimeError, UnicodeDecodeError, OverflowError,
            MemoryError) as e:
        raise MotionFormatError(f"not a readable .npz motion file ({_one_line(e)})", path) from None


def _check_sizes(path: Path) -> None:
    """Refuse members that would unpack beyond the limits (checked from the zip directory and the ``poses`` header,
    before any array is read): a small file of zeros can hold millions of frames."""
    with zipfile.ZipFile(path) as zf:
        npz_members(zf, path, MotionFormatError)
        if "poses.npy" in zf.namelist():
            with zf.open("poses.npy") as f:
                version = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                    np.lib.format.read_array_header_2_0
                shape = read(f)[0]
            if shape and shape[0] > MAX_FRAMES:
                raise MotionFormatError(f"'poses' holds {shape[0]} frames; the limit is {MAX_FRAMES}", path)


def _motion_from(data, path: Path) -> Motion:
    for key in ("poses", "trans"):
        if key not in data.files:
            present = ", ".join("".join(c if c.isprintable() else "?" for c in k) for k in data.files[:20])
            raise MotionFormatError(f"missing '{key}' (keys present: {present or 'none'})", path)
    ours = "mrgen_format" in data.files
    if ours:
        version = _float_array(data, "mrgen_format", path).reshape(-1)
        if version.size != 1 or version[0] > FORMAT_VERSION:
            raise MotionFormatError(f"written by a newer mrgen (format {version.tolist()}); this mrgen reads "
                                    f"format {FORMAT_VERSION}", path)
    poses = _poses_24(_float_array(data, "poses", path), path)
    trans = _float_array(data, "trans", path)
    if trans.shape != (poses.shape[0], 3):
        raise MotionFormatError(f"'trans' has shape {trans.shape}; expected ({poses.shape[0]}, 3) to match "
                                f"'poses'", path)
    fps = _fps(data, path)
    betas = _float_array(data, "betas", path).reshape(-1) if "betas" in data.files else np.zeros(10)
    fields = dict(poses=poses, trans=trans, fps=fps, betas=betas, gender=_gender(data, path), name=path.stem,
                  source=str(path))
    if ours:
        if "labels" in data.files:
            labels = _array(data, "labels", path)
            if labels.dtype.kind not in "iu":
                raise MotionFormatError(f"'labels' must be integers, got {labels.dtype}", path)
            fields["labels"] = labels
            vocab = _array(data, "vocab", path) if "vocab" in data.files else np.zeros(0, dtype=str)
            if vocab.size and vocab.dtype.kind not in "US":
                raise MotionFormatError(f"'vocab' must hold strings, got {vocab.dtype}", path)
            fields["vocab"] = tuple(v.decode() if isinstance(v, bytes) else str(v) for v in vocab.reshape(-1))
        for key in ("name", "source", "credit"):
            if key in data.files:
                value = _string(_array(data, key, path), key, path)
                if value:
                    fields[key] = value
        if "meta" in data.files:
            try:
                meta = json.loads(_string(_array(data, "meta", path), "meta", path))
            except ValueError:
                raise MotionFormatError("'meta' is not valid JSON", path) from None
            if isinstance(meta, dict):
                fields["meta"] = meta
    try:
        return Motion(**fields)
    except MotionFormatError as e:
        raise MotionFormatError(e.message, path) from None


def write_npz(motion: Motion, path: str | os.PathLike) -> None:
    """Write ``motion`` as an AMASS-style ``.npz`` (compressed) with mrgen's extra keys; atomic."""
    motion.validate()
    t = motion.num_frames
    arrays = {
        "poses": motion.poses.reshape(t, NUM_JOINTS * 3),
        "trans": motion.trans,
        "betas": motion.betas,
        "gender": np.array(motion.gender),
        "mocap_framerate": np.array(motion.fps),
        "mrgen_format": np.array(FORMAT_VERSION),
        "name": np.array(motion.name),
        "source": np.array(motion.source),
        "credit": np.array(motion.credit),
        "vocab": np.array(list(motion.vocab), dtype=str) if motion.vocab else np.zeros(0, dtype="<U1"),
    }
    if motion.meta:
        arrays["meta"] = np.array(json.dumps(motion.meta, allow_nan=False))
    if motion.labels is not None:
        arrays["labels"] = motion.labels.astype(np.int64)
    with writing(path) as tmp, open(tmp, "wb") as f:  # a file handle: np.savez would append ".npz"
        np.savez_compressed(f, **arrays)
