"""A tiny array-backend shim so one implementation serves numpy arrays and torch tensors.

torch is never imported here: a tensor argument means torch is already loaded.
"""
from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np


def is_torch(x) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def _np_cross(a, b):
    """Cross product over the last axis (component-wise: much faster than np.cross on large batches)."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def _np_exclusive_cumsum(x, axis):
    """Sums of the elements before each one along ``axis`` (0 first): the running sum shifted by one."""
    x = np.moveaxis(np.asarray(x), axis, 0)
    out = np.zeros_like(x)
    np.cumsum(x[:-1], axis=0, out=out[1:])
    return np.moveaxis(out, 0, axis)


def _np_ops() -> SimpleNamespace:
    return SimpleNamespace(
        name="numpy",
        sqrt=np.sqrt, sin=np.sin, cos=np.cos, atan2=np.arctan2, abs=np.abs, sign=np.sign,
        where=np.where, einsum=np.einsum, cross=_np_cross,
        stack=lambda xs, axis=0: np.stack(xs, axis=axis),
        cat=lambda xs, axis=0: np.concatenate(xs, axis=axis),
        clip=np.clip, maximum=np.maximum, minimum=np.minimum,
        norm=lambda x, axis=-1, keepdims=False: np.linalg.norm(x, axis=axis, keepdims=keepdims),
        sum=lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims),
        argmax=lambda x, axis: np.argmax(x, axis=axis),
        take_along_axis=lambda x, idx, axis: np.take_along_axis(x, idx, axis=axis),
        zeros_like=np.zeros_like, ones_like=np.ones_like,
        full_like=lambda x, v: np.full_like(x, v),
        expand_dims=np.expand_dims,
        broadcast_to=np.broadcast_to,
        broadcast_arrays=np.broadcast_arrays,
        swap_last=lambda x: np.swapaxes(x, -1, -2),
        asarray_like=lambda v, like: np.asarray(v, dtype=like.dtype),
        cumsum=lambda x, axis: np.cumsum(x, axis=axis),
        exclusive_cumsum=_np_exclusive_cumsum,
        moveaxis=np.moveaxis,
        contiguous=np.ascontiguousarray,
    )


def _torch_ops() -> SimpleNamespace:
    torch = sys.modules["torch"]
    return SimpleNamespace(
        name="torch",
        sqrt=torch.sqrt, sin=torch.sin, cos=torch.cos, atan2=torch.atan2, abs=torch.abs, sign=torch.sign,
        where=torch.where, einsum=torch.einsum, cross=lambda a, b: torch.linalg.cross(a, b, dim=-1),
        stack=lambda xs, axis=0: torch.stack(list(xs), dim=axis),
        cat=lambda xs, axis=0: torch.cat(list(xs), dim=axis),
        clip=torch.clamp, maximum=torch.maximum, minimum=torch.minimum,
        norm=lambda x, axis=-1, keepdims=False: torch.linalg.vector_norm(x, dim=axis, keepdim=keepdims),
        sum=lambda x, axis=None, keepdims=False: (x.sum() if axis is None else x.sum(dim=axis, keepdim=keepdims)),
        argmax=lambda x, axis: torch.argmax(x, dim=axis),
        take_along_axis=lambda x, idx, axis: torch.gather(x, axis, idx),
        zeros_like=torch.zeros_like, ones_like=torch.ones_like,
        full_like=lambda x, v: torch.full_like(x, v),
        expand_dims=lambda x, axis: x.unsqueeze(axis),
        broadcast_to=lambda x, shape: x.expand(*shape),
        broadcast_arrays=torch.broadcast_tensors,
        swap_last=lambda x: x.transpose(-1, -2),
        asarray_like=lambda v, like: torch.as_tensor(np.asarray(v), dtype=like.dtype, device=like.device),
        cumsum=lambda x, axis: torch.cumsum(x, dim=axis),
        # the running sum minus the element: one op on the autograd graph (equal to numpy's shifted running sum up
        # to rounding; the training losses' foot kinematics have always integrated this way)
        exclusive_cumsum=lambda x, axis: torch.cumsum(x, dim=axis) - x,
        moveaxis=torch.movedim,
        contiguous=lambda x: x.contiguous(),
    )


_NP = _np_ops()
_TORCH_CACHE: list = []


def ops(x) -> SimpleNamespace:
    """The operations namespace matching ``x``'s array library."""
    if is_torch(x):
        if not _TORCH_CACHE:
            _TORCH_CACHE.append(_torch_ops())
        return _TORCH_CACHE[0]
    return _NP
