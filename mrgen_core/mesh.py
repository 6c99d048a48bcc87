"""Optional SMPL mesh: vertices for a motion from a user's official SMPL model file, through ``smplx``.

The SMPL model files are licensed, so mrgen never ships or downloads them; a user who has one passes its path.
Both the ``.npz`` and the official ``.pkl`` files load, the latter without chumpy installed: a restricted unpickler
maps chumpy classes to a stand-in that keeps their stored array (and refuses any other kind of object, so a
model file cannot run code). ``torch`` and ``smplx`` are imported only when vertices are computed.

Conventions: the motion's root orientation already contains the Y-up -> Z-up rotation and SMPL places the pelvis at
``transl + J_0``, exactly as :meth:`mrgen_core.skeleton.Skeleton.fk`, so the vertices are in the motion's
Z-up world and follow its joints.
"""
from __future__ import annotations

import contextlib
import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np

from .errors import ModelFileError
from .motion import Motion
from .skeleton import NUM_JOINTS

#: Arrays an SMPL model file must hold.
REQUIRED_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
_NUM_POSE_BASIS = (NUM_JOINTS - 1) * 9


class _ChumpyStandIn:
    """Takes the place of a chumpy class while unpickling; keeps the pickled state (a plain ``Ch`` stores its
    value as ``x``)."""

    chumpy_class = "chumpy.ch.Ch"

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __setstate__(self, state):
        self.__dict__["_state"] = state

    def value(self, key: str, path) -> np.ndarray:
        state = self.__dict__.get("_state")
        if isinstance(state, dict) and "x" in state:
            x = state["x"]
            return x.value(key, path) if isinstance(x, _ChumpyStandIn) else np.asarray(x)
        raise ModelFileError(f"'{key}' is a chumpy expression ({self.chumpy_class}) that needs chumpy to evaluate; "
                             "use a model file whose arrays are stored as plain chumpy values or numpy arrays", path)


class _ModelUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays, scipy sparse matrices, basic containers and chumpy values; nothing else."""

    _ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"),
        ("__builtin__", "object"), ("builtins", "object"), ("__builtin__", "set"), ("builtins", "set"),
        ("builtins", "frozenset"), ("__builtin__", "frozenset"), ("collections", "OrderedDict"),
        ("_codecs", "encode"),  # bytes in protocol-2 pickles written by Python 3
    }

    def __init__(self, file, path):
        super().__init__(file, encoding="latin1")
        self._path = path
        self._standins: dict[str, type] = {}

    def find_class(self, module: str, name: str):
        if module == "chumpy" or module.startswith("chumpy."):
            full = f"{module}.{name}"
            if full not in self._standins:
                self._standins[full] = type(name, (_ChumpyStandIn,), {"chumpy_class": full})
            return self._standins[full]
        if module.startswith("scipy.sparse") and (name.endswith("_matrix") or name.endswith("_array")):
            import scipy.sparse

            if hasattr(scipy.sparse, name):
                return getattr(scipy.sparse, name)
        if (module, name) in self._ALLOWED:
            if module.startswith("numpy.core"):
                module = "numpy._core" + module[len("numpy.core"):]  # numpy 2 name; avoids the deprecation shim
            return super().find_class(module, name)
        raise ModelFileError(f"unexpected object type {module}.{name} in the pickle; not an SMPL model file",
                             self._path)


def _plain(value, key: str, path):
    if isinstance(value, _ChumpyStandIn):
        return value.value(key, path)
    if hasattr(value, "toarray") and "scipy.sparse" in type(value).__module__:
        return np.asarray(value.toarray())
    return value


def _load_pkl(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            data = _ModelUnpickler(f, path).load()
    except ModelFileError:
        raise
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, AttributeError, ImportError,
            IndexError, KeyError, UnicodeDecodeError) as e:
        raise ModelFileError(f"not a readable SMPL .pkl ({' '.join(str(e).split()) or type(e).__name__})",
                             path) from None
    if not isinstance(data, dict):
        raise ModelFileError(f"not an SMPL model file (the pickle holds a {type(data).__name__}, not a dict)", path)
    return data


def _load_npz(path: Path) -> dict:
    if not zipfile.is_zipfile(path):
        raise ModelFileError("not an .npz file (not a zip archive)", path)
    out = {}
    try:
        with np.load(path, allow_pickle=False) as data:
            for key in data.files:
                try:
                    out[key] = data[key]
                except ValueError:  # an object array (pickled): only an error if it is one we need
                    if key in REQUIRED_KEYS:
                        raise ModelFileError(f"'{key}' holds pickled Python objects, which mrgen never loads",
                                             path) from None
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise ModelFileError(f"not a readable .npz ({' '.join(str(e).split())})", path) from None
    return out


def load_smpl_model(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read an SMPL model file (``.npz`` or the official chumpy ``.pkl``) into plain numpy arrays.

    Returns the :data:`REQUIRED_KEYS` (``J_regressor`` dense, ``kintree_table`` int64, ``f`` int64, the rest float64).
    Raises :class:`ModelFileError` naming the file for anything else (missing keys, wrong shapes, not 24 joints).
    """
    from .limits import input_file

    path = input_file(path, "SMPL model", error=ModelFileError)
    ext = path.suffix.lower()
    if ext == ".pkl":
        raw = _load_pkl(path)
    elif ext == ".npz":
        raw = _load_npz(path)
    else:
        raise ModelFileError(f"unsupported SMPL model file type {ext or '(no extension)'}; expected .pkl or .npz",
                             path)
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise ModelFileError(f"not an SMPL model file: missing {', '.join(missing)}", path)
    model = {}
    for key in REQUIRED_KEYS:
        try:
            a = np.asarray(_plain(raw[key], key, path))
            model[key] = a.astype(np.int64 if key in ("kintree_table", "f") else np.float64)
        except (TypeError, ValueError, AttributeError) as e:
            raise ModelFileError(f"'{key}' is not a numeric array ({' '.join(str(e).split())})", path) from None
    _check_shapes(model, path)
    return model


def _check_shapes(m: dict, path) -> None:
    v = m["v_template"]
    if v.ndim != 2 or v.shape[1] != 3 or len(v) < 1:
        raise ModelFileError(f"'v_template' must have shape (V, 3), got {v.shape}", path)
    nv = len(v)
    nj = m["J_regressor"].shape[0] if m["J_regressor"].ndim == 2 else -1
    if nj != NUM_JOINTS:
        raise ModelFileError(f"expected an SMPL model with {NUM_JOINTS} joints; 'J_regressor' has shape "
                             f"{m['J_regressor'].shape} (SMPL-H / SMPL-X model files are not supported)", path)
    expect = {
        "J_regressor": (NUM_JOINTS, nv),
        "weights": (nv, NUM_JOINTS),
        "kintree_table": (2, NUM_JOINTS),
    }
    for key, shape in expect.items():
        if m[key].shape != shape:
            raise ModelFileError(f"'{key}' must have shape {shape}, got {m[key].shape}", path)
    if m["shapedirs"].ndim != 3 or m["shapedirs"].shape[:2] != (nv, 3):
        raise ModelFileError(f"'shapedirs' must have shape ({nv}, 3, betas), got {m['shapedirs'].shape}", path)
    if m["posedirs"].reshape(-1).size != nv * 3 * _NUM_POSE_BASIS:
        raise ModelFileError(f"'posedirs' must have shape ({nv}, 3, {_NUM_POSE_BASIS}), got {m['posedirs'].shape}",
                             path)
    m["posedirs"] = m["posedirs"].reshape(nv, 3, _NUM_POSE_BASIS)
    f = m["f"]
    if f.ndim != 2 or f.shape[1] != 3 or (f.size and (f.min() < 0 or f.max() >= nv)):
        raise ModelFileError(f"'f' must hold (F, 3) vertex indices below {nv}", path)
    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights"):
        if not np.all(np.isfinite(m[key])):
            raise ModelFileError(f"'{key}' contains NaN or infinite values", path)


def smpl_layer(model: dict[str, np.ndarray]):
    """An ``smplx.SMPLLayer`` (rotation-matrix input) built from :func:`load_smpl_model`'s arrays."""
    import smplx
    from smplx.utils import Struct
    from smplx.vertex_ids import vertex_ids as smplx_vertex_ids

    nv = len(model["v_template"])
    # smplx appends extra joints picked from fixed vertex ids of the 6890-vertex mesh; keep them valid for any mesh
    ids = {k: min(int(i), nv - 1) for k, i in smplx_vertex_ids["smplh"].items()}
    with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a note about 10-component shape spaces
        return smplx.SMPLLayer(model_path="", data_struct=Struct(**model), num_betas=model["shapedirs"].shape[-1],
                               vertex_ids=ids)


def motion_vertices(motion: Motion, model_path: str | os.PathLike, *, use_betas: bool = True,
                    batch_frames: int = 256, progress: bool = True) -> np.ndarray:
    """Mesh vertices ``(T, V, 3)`` float32, metres, Z-up world, for ``motion`` posed on the SMPL model file.

    ``use_betas``: shape the body with ``motion.betas`` (truncated / zero-padded to the model's shape space);
    otherwise the model's mean shape (whose joints match mrgen's skeleton for that gender).
    """
    import torch

    from .rotations import axis_angle_to_matrix

    model = load_smpl_model(model_path)
    layer = smpl_layer(model)
    nb = layer.num_betas
    betas = np.zeros(nb)
    if use_betas:
        b = motion.betas[:nb]
        betas[: len(b)] = b
    t = motion.num_frames
    out = np.empty((t, len(model["v_template"]), 3), dtype=np.float32)
    from tqdm import tqdm

    with torch.no_grad(), tqdm(total=t, desc="mesh", unit="frame", disable=not progress or t < batch_frames) as bar:
        for s in range(0, t, batch_frames):
            e = min(t, s + batch_frames)
            rot = axis_angle_to_matrix(torch.as_tensor(motion.poses[s:e], dtype=torch.float32))
            res = layer(betas=torch.as_tensor(betas, dtype=torch.float32).expand(e - s, nb),
                        global_orient=rot[:, :1], body_pose=rot[:, 1:],
                        transl=torch.as_tensor(motion.trans[s:e], dtype=torch.float32))
            out[s:e] = res.vertices.numpy()
            bar.update(e - s)
    return out
