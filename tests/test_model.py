"""The model: skeletal convolution mask, FiLM, generator/discriminator shapes, the pyramid and its control path."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mrgen_core import features as feat
from mrgen_core.control import ControlSpec
from mrgen_core.model.discriminator import LevelDiscriminator
from mrgen_core.model.generator import LevelGenerator
from mrgen_core.model.layers import FiLM, SkeletalConv, hidden_groups
from mrgen_core.model.pyramid import (MotionModel, default_config, interp_index, level_lengths, num_levels_for, pad,
                                      upsample)

C = feat.NUM_FEATURES


def _model(vocab=("walk", "hop"), levels=4, **changes) -> MotionModel:
    torch.manual_seed(0)
    cfg = default_config(30.0, num_levels=levels, g_widths=[2, 3], d_widths=[2, 3], embed_dim=8,
                         control=ControlSpec(vocab=tuple(vocab)).to_dict(), **changes)
    model = MotionModel(cfg)
    for g in model.generators:  # a random (untrained) residual, so every level does something
        torch.nn.init.normal_(g.convs[-1].weight, std=0.05)
        g.convs[-1].weight.data *= g.convs[-1].mask
    return model


def test_skeletal_conv_reads_only_joints_within_distance_two():
    """Gradient check: a joint's output channels do not depend on joints more than 2 edges away."""
    torch.manual_seed(0)
    adj = feat.group_neighbours(2)
    groups = feat.channel_groups()
    conv = SkeletalConv(groups, hidden_groups(3, feat.NUM_GROUPS), adj, 5, padding="same")
    x = torch.randn(1, C, 20, requires_grad=True)
    y = conv(x)
    dist = feat.joint_distances()
    for joint in (0, 7, 15, 20):
        (grad,) = torch.autograd.grad(y[0, joint * 3:(joint + 1) * 3].sum(), x, retain_graph=True)
        seen = grad[0].abs().sum(dim=1) > 0  # (C,) input channels with any influence
        seen_joints = set(groups[seen.numpy()][groups[seen.numpy()] < 24].tolist())
        assert seen_joints == set(np.flatnonzero(dist[joint] <= 2).tolist()), joint
    # the contact group of the left toe reads its foot's neighbourhood, not the head
    c = feat.CONTACT_GROUPS[1] * 3
    (grad,) = torch.autograd.grad(y[0, c:c + 3].sum(), x, retain_graph=True)
    assert grad[0, feat.ROT][15 * 6:16 * 6].abs().sum() == 0
    assert grad[0, 10 * 6:11 * 6].abs().sum() > 0
    # the mask survives training: masked weights get no gradient
    y.pow(2).sum().backward()
    assert torch.all(conv.weight.grad[conv.mask.expand_as(conv.weight) == 0] == 0)


def test_film_shapes_and_identity_start():
    film = FiLM(8, 30)
    h, y = torch.randn(2, 30, 11), torch.randn(2, 8, 11)
    gamma, delta = film.params(y)
    assert gamma.shape == delta.shape == (2, 30, 11)
    assert torch.equal(film(h, y), h)  # zero-initialised: the identity
    torch.nn.init.normal_(film.proj.weight)
    gamma, delta = film.params(y)
    assert torch.allclose(film(h, y), h * (1 + gamma) + delta)


def test_generator_valid_convolutions_and_crops():
    """A crop of the padded input gives exactly the same frames as the whole sequence."""
    torch.manual_seed(0)
    g = LevelGenerator(feat.channel_groups(), [2, 3], feat.group_neighbours(), 5, control_dim=2, embed_dim=8)
    torch.nn.init.normal_(g.convs[-1].weight, std=0.1)
    g.convs[-1].weight.data *= g.convs[-1].mask
    for f in g.films:
        torch.nn.init.normal_(f.proj.weight, std=0.1)
    m = g.margin
    assert m == 6
    x, c = torch.randn(1, C, 50 + 2 * m), torch.randn(1, 2, 50 + 2 * m)
    full = g(x, c)
    assert full.shape == (1, C, 50)
    part = g(x[..., 10:10 + 20 + 2 * m], c[..., 10:10 + 20 + 2 * m])
    assert torch.allclose(part, full[..., 10:30], atol=1e-5)


def test_discriminator_scores_every_frame():
    d = LevelDiscriminator(feat.channel_groups(), [2, 3], feat.group_neighbours(), 5, control_dim=3)
    assert d(torch.randn(4, C, 33), torch.randn(4, 3, 33)).shape == (4, 1, 33)
    assert d.receptive_field == 13
    # a frame's score depends only on frames within the receptive field
    x = torch.randn(1, C, 40, requires_grad=True)
    (grad,) = torch.autograd.grad(d(x, torch.zeros(1, 3, 40))[0, 0, 20], x)
    touched = torch.nonzero(grad[0].abs().sum(0)).flatten()
    assert touched.min() >= 20 - 6 and touched.max() <= 20 + 6


def test_interp_index_matches_torch_interpolate():
    x = torch.randn(2, 5, 17)
    for n in (17, 23, 40):
        ref = F.interpolate(x, size=n, mode="linear", align_corners=False)
        frames = torch.arange(-3, n + 3)
        i0, i1, w = interp_index(17, n, frames)
        ours = torch.lerp(x[..., i0], x[..., i1], w)
        assert torch.allclose(ours[..., 3:n + 3], ref, atol=1e-5)
        assert torch.allclose(ours[..., :3], ref[..., :1].expand(-1, -1, 3))  # replicate padding at the ends
        assert torch.allclose(upsample(x, n), ref)


def test_pyramid_lengths_and_levels():
    assert level_lengths(222, 7, 4 / 3) == [40, 53, 70, 94, 125, 166, 222]
    assert num_levels_for(30.0, 4 / 3, 17, 3.0) == 7  # GANimator's 7 levels for a 30 fps clip
    assert num_levels_for(30.0, 4 / 3, 17, 0.5) == 1  # the receptive field already spans 0.5 s
    assert level_lengths(3, 5, 4 / 3)[0] == 1


def test_pyramid_shapes_at_every_level():
    model = _model(levels=4)
    lengths = model.lengths(80)
    ctrl = model.control_levels(np.tile([1.0, 0.0], (80, 1)), lengths)
    outs = model.synthesize(lengths, ctrl, batch=3, generator=torch.Generator().manual_seed(0))
    assert [o.shape for o in outs] == [(3, C, n) for n in lengths]
    assert [c.shape for c in ctrl] == [(1, 2, n) for n in lengths]
    fps = [model.level_fps(i) for i in range(4)]
    assert fps[-1] == 30.0 and fps[0] == pytest.approx(30.0 * 0.75 ** 3)


def test_control_changes_the_output_at_every_level():
    """The control path reaches every level: with the same noise, another label gives another output at each
    level, even when the level below is held fixed."""
    model = _model(levels=4)
    for g in list(model.generators):
        for f in g.films:
            torch.nn.init.normal_(f.proj.weight, std=0.2)
    lengths = model.lengths(60)
    walk = model.control_levels(np.tile([1.0, 0.0], (60, 1)), lengths)
    hop = model.control_levels(np.tile([0.0, 1.0], (60, 1)), lengths)
    a = model.synthesize(lengths, walk, generator=torch.Generator().manual_seed(1))
    b = model.synthesize(lengths, hop, generator=torch.Generator().manual_seed(1))
    for i in range(4):
        assert not torch.allclose(a[i], b[i]), i
        base = None if i == 0 else upsample(a[i - 1], lengths[i])
        z = model.noise(i, 1, lengths[i], torch.Generator().manual_seed(2))
        assert not torch.allclose(model.level_step(i, base, lengths[i], walk[i], z),
                                  model.level_step(i, base, lengths[i], hop[i], z)), i
    # the discriminators are conditioned too
    for i, d in enumerate(model.discriminators):
        for f in d.films:
            torch.nn.init.normal_(f.proj.weight, std=0.2)
        assert not torch.allclose(d(a[i], walk[i]), d(a[i], hop[i])), i


def test_unconditional_model_has_no_control_path():
    model = _model(vocab=())
    assert model.control_spec.size == 0
    assert not hasattr(model.generators[0], "embed")
    lengths = model.lengths(40)
    assert model.control_levels(None, lengths) == [None] * 4
    out = model.synthesize(lengths, [None] * 4)
    assert out[-1].shape == (1, C, 40)


def test_noise_levels_and_reconstruction_noise():
    model = _model(vocab=())
    lengths = model.lengths(40)
    gen = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    full = model.synthesize(lengths, [None] * 4, generator=gen())
    coarse = model.synthesize(lengths, [None] * 4, generator=gen(), noise_levels=[0])
    assert torch.equal(full[0], coarse[0]) and not torch.allclose(full[-1], coarse[-1])
    z0 = torch.randn(1, C, lengths[0] + 2 * model.margin)
    r1 = model.synthesize(lengths, [None] * 4, z0=z0, noise_levels=[])
    r2 = model.synthesize(lengths, [None] * 4, z0=z0, noise_levels=[])
    assert torch.equal(r1[-1], r2[-1])


def test_untrained_level_passes_the_level_below_through():
    torch.manual_seed(0)
    g = LevelGenerator(feat.channel_groups(), [2], feat.group_neighbours(), 5)
    assert torch.count_nonzero(g(torch.randn(1, C, 30))) == 0
    assert torch.equal(pad(torch.arange(3.0).view(1, 1, 3), 2), torch.tensor([[[0.0, 0, 0, 1, 2, 2, 2]]]))
