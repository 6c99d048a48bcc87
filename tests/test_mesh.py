"""Optional SMPL mesh (mrgen_core.mesh) on a small synthetic SMPL model file the test writes itself.

The synthetic model puts a few vertices around every SMPL joint (zero-mean offsets, so the averaging J_regressor
gives back exactly mrgen's rest joints) and binds each rigidly to its joint (one-hot skinning weights, no pose
blend shapes). Then every posed vertex must sit at ``R_global(joint) @ offset + joint position`` as mrgen's own FK
computes them, which checks rotations, the Z-up root orientation and the translation together.
"""
from __future__ import annotations

import importlib.util
import os
import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse

from mrgen_core import ModelFileError, Motion
from mrgen_core.geometry import forward_kinematics
from mrgen_core.mesh import load_smpl_model, motion_vertices
from mrgen_core.rotations import axis_angle_to_matrix
from mrgen_core.skeleton import OFFSETS, PARENTS, Skeleton

PER_JOINT = 8


def _model(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    joints = Skeleton.smpl("neutral").rest_positions()
    d = rng.normal(scale=0.04, size=(24, PER_JOINT, 3))
    d -= d.mean(axis=1, keepdims=True)
    owner = np.repeat(np.arange(24), PER_JOINT)
    nv = 24 * PER_JOINT
    reg = np.zeros((24, nv))
    reg[owner, np.arange(nv)] = 1.0 / PER_JOINT
    return {
        "v_template": (joints[:, None] + d).reshape(nv, 3),
        "shapedirs": rng.normal(scale=0.02, size=(nv, 3, 10)),
        "posedirs": np.zeros((nv, 3, 207)),
        "J_regressor": reg,
        "weights": np.eye(24)[owner],
        "kintree_table": np.stack([np.where(PARENTS < 0, 4294967295, PARENTS), np.arange(24)]).astype(np.int64),
        "f": rng.integers(0, nv, size=(60, 3)),
    }


def _write_chumpy_pkl(path, model: dict, protocol: int = 2) -> None:
    """Pickle like the official SMPL files: chumpy ``Ch`` objects (state dict with ``x``), a scipy sparse
    J_regressor, protocol 2 (Python 2's cPickle.HIGHEST_PROTOCOL). The fake chumpy module exists only while
    pickling."""
    chumpy, ch = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            # the state chumpy's Ch.__getstate__ keeps (it drops _parents and _cache)
            self.__dict__.update(x=np.asarray(x), _dirty_vars=set(), _itr=None, _depends_on_deps={},
                                 _make_dense=False, _make_sparse=False)

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    ch.Ch, chumpy.ch = Ch, ch
    sys.modules["chumpy"], sys.modules["chumpy.ch"] = chumpy, ch
    try:
        data = dict(model)
        for key in ("v_template", "shapedirs", "posedirs"):
            data[key] = Ch(model[key])
        data["J_regressor"] = scipy.sparse.csc_matrix(model["J_regressor"])
        data.update(bs_style="lbs", bs_type="lrotmin", J=Ch(model["J_regressor"] @ model["v_template"]))
        with open(path, "wb") as f:
            pickle.dump(data, f, protocol=protocol)
    finally:
        del sys.modules["chumpy"], sys.modules["chumpy.ch"]


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("smpl")
    model = _model()
    npz, pkl = folder / "SMPL_NEUTRAL.npz", folder / "SMPL_NEUTRAL.pkl"
    np.savez(npz, **model)
    _write_chumpy_pkl(pkl, model)
    _write_chumpy_pkl(folder / "SMPL_proto0.pkl", model, protocol=0)  # copy_reg._reconstructor style
    return model, npz, pkl


def _motion(t: int = 6, seed: int = 3) -> Motion:
    rng = np.random.default_rng(seed)
    poses = rng.normal(scale=0.5, size=(t, 24, 3))
    poses[:, 0] = [np.pi / 2, 0, 0]  # the Y-up -> Z-up fold, plus a turn about the vertical over time
    poses[:, 0, 2] = np.linspace(0, 1, t)
    trans = np.c_[np.linspace(0, 2, t), np.linspace(0, -1, t), np.full(t, 0.3)]
    return Motion(poses, trans, 30.0)


def _expected_vertices(model: dict, motion: Motion) -> np.ndarray:
    pos, rot = forward_kinematics(axis_angle_to_matrix(motion.poses), motion.trans + OFFSETS["neutral"][0],
                                  OFFSETS["neutral"], PARENTS)
    owner = np.repeat(np.arange(24), PER_JOINT)
    rest = Skeleton.smpl("neutral").rest_positions()
    offs = model["v_template"] - rest[owner]  # (V, 3)
    return np.einsum("tvij,vj->tvi", rot[:, owner], offs) + pos[:, owner]


def test_chumpy_is_not_installed():
    assert importlib.util.find_spec("chumpy") is None, "this test proves loading without chumpy"


def test_pkl_with_chumpy_objects_loads_like_the_npz(model_files):
    model, npz, pkl = model_files
    assert "chumpy" not in sys.modules
    a, b, c = load_smpl_model(npz), load_smpl_model(pkl), load_smpl_model(pkl.parent / "SMPL_proto0.pkl")
    assert "chumpy" not in sys.modules
    for key in model:
        for loaded in (a, b, c):
            assert np.array_equal(loaded[key], model[key]), key
    assert b["J_regressor"].shape == (24, 24 * PER_JOINT) and b["f"].dtype == np.int64


@pytest.mark.parametrize("which", ["npz", "pkl"])
def test_vertices_follow_the_joints(model_files, which):
    model, npz, pkl = model_files
    motion = _motion()
    verts = motion_vertices(motion, npz if which == "npz" else pkl, progress=False)
    assert verts.shape == (motion.num_frames, 24 * PER_JOINT, 3) and verts.dtype == np.float32
    np.testing.assert_allclose(verts, _expected_vertices(model, motion), atol=2e-5)
    # the pelvis vertices centre on trans + J_0 (SMPL/AMASS root placement, J_0 not rotated)
    np.testing.assert_allclose(verts[:, :PER_JOINT].mean(axis=1), motion.trans + OFFSETS["neutral"][0], atol=1e-5)


def test_upright_rest_pose_stands_on_z(model_files):
    model, npz, _ = model_files
    t = 2
    poses = np.zeros((t, 24, 3))
    poses[:, 0] = [np.pi / 2, 0, 0]
    motion = Motion(poses, np.zeros((t, 3)), 30.0)
    v = motion_vertices(motion, npz, progress=False)
    head = v[0, 15 * PER_JOINT:16 * PER_JOINT].mean(axis=0)
    toes = v[0, 10 * PER_JOINT:11 * PER_JOINT].mean(axis=0)
    assert head[2] - toes[2] > 1.2  # tall along +Z
    assert toes[1] < head[1]  # toes point to -Y: a zero-pose body faces -Y in the Z-up world
    assert v[0, 1 * PER_JOINT:2 * PER_JOINT, 0].mean() > 0  # left hip on +X


def test_betas_shape_the_body_unless_turned_off(model_files):
    _, npz, _ = model_files
    m = _motion(t=2)
    base = motion_vertices(m, npz, progress=False)
    shaped = m.copy(betas=np.r_[1.0, -1.0, np.zeros(14)])  # 16 betas: truncated to the model's 10
    assert np.abs(motion_vertices(shaped, npz, progress=False) - base).max() > 1e-3
    np.testing.assert_array_equal(motion_vertices(shaped, npz, use_betas=False, progress=False), base)


def test_batches_give_the_same_vertices(model_files):
    _, npz, _ = model_files
    m = _motion(t=7)
    np.testing.assert_allclose(motion_vertices(m, npz, batch_frames=3, progress=False),
                               motion_vertices(m, npz, progress=False), atol=1e-6)  # float32 batch rounding


def test_bad_model_files(tmp_path):
    model = _model()
    cases = {}
    p = tmp_path / "missing.npz"
    np.savez(p, **{k: v for k, v in model.items() if k != "weights"})
    cases[p] = "missing weights"
    p = tmp_path / "smplh.npz"
    np.savez(p, **dict(model, J_regressor=np.zeros((52, 24 * PER_JOINT))))
    cases[p] = "24 joints"
    p = tmp_path / "weights.npz"
    np.savez(p, **dict(model, weights=np.zeros((5, 24))))
    cases[p] = "'weights' must have shape"
    p = tmp_path / "nan.npz"
    np.savez(p, **dict(model, v_template=np.full_like(model["v_template"], np.nan)))
    cases[p] = "NaN"
    p = tmp_path / "text.pkl"
    p.write_text("not a pickle")
    cases[p] = "not a readable SMPL .pkl"
    p = tmp_path / "list.pkl"
    p.write_bytes(pickle.dumps([1, 2]))
    cases[p] = "not a dict"
    p = tmp_path / "model.obj"
    p.write_text("v 0 0 0")
    cases[p] = "expected .pkl or .npz"
    cases[tmp_path / "absent.pkl"] = "file not found"
    for path, pattern in cases.items():
        with pytest.raises(ModelFileError, match=pattern) as e:
            load_smpl_model(path)
        assert str(e.value).startswith(f"{path}: ") and "\n" not in str(e.value)


class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return os.mkdir, (self.target,)


def test_pickle_cannot_run_code(tmp_path):
    target = tmp_path / "pwned"
    p = tmp_path / "evil.pkl"
    p.write_bytes(pickle.dumps({"v_template": _Evil(str(target))}, protocol=2))
    with pytest.raises(ModelFileError, match="unexpected object type"):
        load_smpl_model(p)
    assert not target.exists()
