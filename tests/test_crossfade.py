"""Label schedules at sampling: each level runs once per label and the outputs crossfade (rotations along the
shortest arc, the rest linearly)."""
from __future__ import annotations

import numpy as np
import torch

from mrgen_core import features as feat
from mrgen_core.model.crossfade import crossfade_step, label_weights
from mrgen_core.rotations import axis_angle_to_6d, sixd_to_axis_angle

ANGLE = np.deg2rad(170.0)  # far apart: a linear blend of the two 6D rotations snaps through the middle


def _fake_step(base, control, noise):
    """A 'generator' whose output depends on the label only: label 0 holds every joint at rest with the root
    still, label 1 turns every joint 170 degrees about x and walks at 1 m/s (6D rotations as a network gives
    them: not orthonormal)."""
    b, _, n = control.shape
    out = torch.zeros(b, feat.NUM_FEATURES, n, dtype=torch.float64)
    rest = 2.0 * torch.as_tensor(axis_angle_to_6d(np.zeros(3)))
    turned = 0.5 * torch.as_tensor(axis_angle_to_6d(np.array([ANGLE, 0.0, 0.0])))
    for i in range(b):
        six = turned if control[i, 1, 0] > 0.5 else rest
        assert torch.all(control[i, :2].sum(0) == 1) and torch.all(control[i, :2] == control[i, :2, :1])  # one label
        out[i, feat.ROT] = six.repeat(feat.NUM_JOINTS)[:, None]
        out[i, feat.VEL_X] = float(control[i, 1, 0])
    return out


def _schedule(n: int) -> torch.Tensor:
    w1 = torch.clamp(torch.linspace(-0.5, 1.5, n, dtype=torch.float64), 0, 1)
    return torch.stack([1 - w1, w1])[None]  # (1, 2, n): label 0, a ramp, label 1


def _weights(n: int) -> torch.Tensor:
    return torch.cat([_schedule(n), torch.zeros(1, 1, n, dtype=torch.float64)], dim=1)  # and no unlabelled frame


def test_label_weights_only_where_labels_change():
    ramp = _schedule(20)
    assert torch.equal(label_weights(ramp, 2), _weights(20))
    assert label_weights(torch.stack([torch.ones(20), torch.zeros(20)])[None], 2) is None  # one label throughout
    assert label_weights(torch.zeros(1, 2, 20), 2) is None  # unlabelled throughout
    half = torch.cat([torch.ones(1, 1, 10), torch.zeros(1, 1, 10)], dim=2)  # labelled, then not
    assert torch.equal(label_weights(half, 1), torch.cat([half, 1 - half], dim=1))
    assert label_weights(ramp, 0) is None and label_weights(None, 2) is None


def test_crossfade_turns_rotations_evenly_and_blends_the_rest_linearly():
    n = 41
    w = _schedule(n)
    stats = torch.zeros(feat.NUM_FEATURES, dtype=torch.float64), torch.ones(feat.NUM_FEATURES, dtype=torch.float64)
    base, noise = torch.zeros(3, feat.NUM_FEATURES, n, dtype=torch.float64), None  # a batch of 3, one control
    out = crossfade_step(_fake_step, _weights(n), base, w.clone(), noise, *stats)
    assert out.shape == (3, feat.NUM_FEATURES, n)
    np.testing.assert_allclose(out[:, feat.VEL_X].numpy(), np.broadcast_to(w[0, 1].numpy(), (3, n)), atol=1e-12)
    aa = sixd_to_axis_angle(out[0, feat.ROT].T.reshape(n, feat.NUM_JOINTS, 6).numpy())  # (n, J, 3)
    angle = np.linalg.norm(aa, axis=-1)
    np.testing.assert_allclose(angle, np.broadcast_to(ANGLE * w[0, 1].numpy()[:, None], angle.shape), atol=1e-6)
    assert np.allclose(aa[..., 1:], 0, atol=1e-9)  # about x all the way: the shortest arc
    # where one label holds, its own output exactly
    assert torch.equal(out[:, :, :5], _fake_step(None, torch.tensor([[1.0], [0.0]]).expand(3, 2, 5), None))
    assert torch.equal(out[:, :, -5:], _fake_step(None, torch.tensor([[0.0], [1.0]]).expand(3, 2, 5), None))


def test_upsampling_across_a_switch_turns_along_the_shortest_arc():
    """A switch at a coarse level can put two far-apart poses on neighbouring frames; upsampling them linearly in
    6D would snap through a near-degenerate rotation mid-way."""
    from mrgen_core.model.crossfade import upsample_rotations
    from mrgen_core.model.pyramid import upsample

    m, n = 6, 24
    label = torch.tensor([0, 0, 0, 1, 1, 1])
    pure = [_fake_step(None, torch.tensor([[[1.0 - k] * m, [float(k)] * m]]), None) for k in (0, 1)]
    prev = torch.where(label.bool(), pure[1], pure[0])  # at rest, then turned 170 degrees
    w = torch.stack([1.0 - label, label.double(), torch.zeros(m, dtype=torch.float64)])[None]
    stats = torch.zeros(feat.NUM_FEATURES, dtype=torch.float64), torch.ones(feat.NUM_FEATURES, dtype=torch.float64)
    lin = upsample(prev, n)
    up = upsample_rotations(prev, lin, w, *stats)
    angle = np.linalg.norm(sixd_to_axis_angle(up[0, feat.ROT].T.reshape(n, feat.NUM_JOINTS, 6).numpy()), axis=-1)
    step = np.diff(angle[:, 0])
    assert np.all(step >= -1e-9) and step.max() < 0.3 * ANGLE  # turns evenly across the switch, no snap
    naive = np.linalg.norm(sixd_to_axis_angle(lin[0, feat.ROT].T.reshape(n, feat.NUM_JOINTS, 6).numpy()), axis=-1)
    assert np.diff(naive[:, 0]).max() > 0.5 * ANGLE  # what the linear upsampling alone does
    away = torch.ones(n, dtype=torch.bool)
    away[8:16] = False  # the frames between the two coarse frames around the switch
    assert torch.equal(up[..., away], lin[..., away])  # elsewhere, the plain upsampling
    assert upsample_rotations(prev, lin, None, *stats) is lin
