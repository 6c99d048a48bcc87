"""Property-based tests for every rotation round trip, in numpy and torch, incl. angles near 0 and pi."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.transform import Rotation

from mrgen_core import rotations as R

finite = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)
unit_axis = arrays(np.float64, (3,), elements=finite).filter(lambda v: np.linalg.norm(v) > 1e-3)
# angles concentrated at the hard places: 0, tiny, and pi
angle = st.one_of(st.floats(0.0, np.pi), st.floats(0.0, 1e-6), st.floats(np.pi - 1e-6, np.pi), st.just(0.0),
                  st.just(np.pi))
BACKENDS = ["numpy", "torch"]


def _aa(axis: np.ndarray, theta: float) -> np.ndarray:
    return axis / np.linalg.norm(axis) * theta


def _to(x: np.ndarray, backend: str):
    return torch.tensor(x, dtype=torch.float64) if backend == "torch" else x


def _np(x) -> np.ndarray:
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _same_rotation(a: np.ndarray, b: np.ndarray, atol: float = 1e-7) -> None:
    np.testing.assert_allclose(R.axis_angle_to_matrix(a), R.axis_angle_to_matrix(b), atol=atol)


@settings(max_examples=300, deadline=None)
@given(axis=unit_axis, theta=angle, backend=st.sampled_from(BACKENDS))
def test_axis_angle_matrix_round_trip(axis, theta, backend):
    aa = _aa(axis, theta)
    m = R.axis_angle_to_matrix(_to(aa, backend))
    np.testing.assert_allclose(_np(m), Rotation.from_rotvec(aa).as_matrix(), atol=1e-9)
    back = _np(R.matrix_to_axis_angle(m))
    assert np.linalg.norm(back) <= np.pi + 1e-9
    _same_rotation(back, aa)


@settings(max_examples=300, deadline=None)
@given(axis=unit_axis, theta=angle, backend=st.sampled_from(BACKENDS))
def test_axis_angle_quat_round_trip(axis, theta, backend):
    aa = _aa(axis, theta)
    q = R.axis_angle_to_quat(_to(aa, backend))
    np.testing.assert_allclose(np.linalg.norm(_np(q)), 1.0, atol=1e-12)
    back = _np(R.quat_to_axis_angle(q))
    _same_rotation(back, aa)
    if theta < np.pi - 1e-3:  # away from pi the axis-angle is unique
        np.testing.assert_allclose(back, aa, atol=1e-9)


@settings(max_examples=300, deadline=None)
@given(axis=unit_axis, theta=angle, backend=st.sampled_from(BACKENDS))
def test_quat_matrix_round_trip(axis, theta, backend):
    q = Rotation.from_rotvec(_aa(axis, theta)).as_quat()[[3, 0, 1, 2]]
    m = R.quat_to_matrix(_to(q, backend))
    back = _np(R.matrix_to_quat(m))
    assert back[0] >= 0
    np.testing.assert_allclose(np.abs(back @ q), 1.0, atol=1e-9)  # same rotation, either sign


@settings(max_examples=300, deadline=None)
@given(axis=unit_axis, theta=angle, backend=st.sampled_from(BACKENDS))
def test_matrix_6d_round_trip(axis, theta, backend):
    m = Rotation.from_rotvec(_aa(axis, theta)).as_matrix()
    d6 = R.matrix_to_6d(_to(m, backend))
    assert d6.shape == (6,)
    np.testing.assert_allclose(_np(R.sixd_to_matrix(d6)), m, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(v=arrays(np.float64, (6,), elements=st.floats(-3, 3)).filter(
    lambda v: np.linalg.norm(np.cross(v[:3], v[3:])) > 1e-2))
def test_6d_gram_schmidt_gives_rotation(v):
    m = R.sixd_to_matrix(v)
    np.testing.assert_allclose(m.T @ m, np.eye(3), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(m), 1.0, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(angles=arrays(np.float64, (3,), elements=st.floats(-1.5, 1.5)),
       order=st.sampled_from(["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"]))
def test_euler_round_trip(angles, order):
    m = R.euler_to_matrix(angles, order)
    np.testing.assert_allclose(m, Rotation.from_euler(order, angles).as_matrix(), atol=1e-9)
    np.testing.assert_allclose(R.euler_to_matrix(R.matrix_to_euler(m, order), order), m, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(a=unit_axis, ta=angle, b=unit_axis, tb=angle, t=st.floats(0, 1))
def test_slerp_matches_scipy(a, ta, b, tb, t):
    from scipy.spatial.transform import Slerp

    ra, rb = Rotation.from_rotvec(_aa(a, ta)), Rotation.from_rotvec(_aa(b, tb))
    q0, q1 = ra.as_quat()[[3, 0, 1, 2]], rb.as_quat()[[3, 0, 1, 2]]
    ours = R.slerp(q0, q1, np.float64(t))
    ref = Slerp([0, 1], Rotation.concatenate([ra, rb]))([t]).as_quat()[0][[3, 0, 1, 2]]
    np.testing.assert_allclose(abs(ours @ ref), 1.0, atol=1e-7)
    np.testing.assert_allclose(abs(R.slerp(q0, q1, np.float64(0.0)) @ q0), 1.0, atol=1e-9)


def test_quat_mul_and_rotate_agree_with_matrices():
    rng = np.random.default_rng(0)
    a, b = Rotation.random(50, random_state=1), Rotation.random(50, random_state=2)
    qa, qb = a.as_quat()[:, [3, 0, 1, 2]], b.as_quat()[:, [3, 0, 1, 2]]
    np.testing.assert_allclose(R.quat_to_matrix(R.quat_mul(qa, qb)), a.as_matrix() @ b.as_matrix(), atol=1e-12)
    v = rng.normal(size=(50, 3))
    np.testing.assert_allclose(R.quat_rotate(qa, v), np.einsum("nij,nj->ni", a.as_matrix(), v), atol=1e-12)
    np.testing.assert_allclose(R.quat_mul(qa, R.quat_conj(qa)), np.tile([1.0, 0, 0, 0], (50, 1)), atol=1e-12)


def test_quat_continuous_removes_sign_flips():
    q = Rotation.from_rotvec(np.linspace([0, 0, 0], [0, 0, 6], 100)).as_quat()[:, [3, 0, 1, 2]]
    q[::3] *= -1
    c = R.quat_continuous(q)
    assert np.all(np.sum(c[1:] * c[:-1], axis=-1) > 0)
    np.testing.assert_allclose(np.abs(np.sum(c * q, axis=-1)), 1.0)


@pytest.mark.parametrize("theta", [0.0, 1e-9, 1e-4, np.pi - 1e-7, np.pi])
def test_torch_gradients_are_finite(theta):
    aa = torch.tensor([[theta, 0.0, 0.0], [0.0, theta * 0.6, theta * 0.8]], dtype=torch.float64, requires_grad=True)
    (R.axis_angle_to_matrix(aa).sum() + R.axis_angle_to_quat(aa).sum()).backward()
    assert torch.isfinite(aa.grad).all()
    d6 = torch.tensor([[1.0, 0, 0, 0, 1, 0]], dtype=torch.float64, requires_grad=True)
    R.sixd_to_matrix(d6).sum().backward()
    assert torch.isfinite(d6.grad).all()


def test_batched_shapes():
    aa = np.zeros((5, 7, 24, 3))
    assert R.axis_angle_to_matrix(aa).shape == (5, 7, 24, 3, 3)
    assert R.axis_angle_to_quat(aa).shape == (5, 7, 24, 4)
    assert R.matrix_to_6d(R.axis_angle_to_matrix(aa)).shape == (5, 7, 24, 6)
    assert R.matrix_to_axis_angle(np.broadcast_to(np.eye(3), (4, 3, 3))).shape == (4, 3)
