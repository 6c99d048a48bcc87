"""Training: the loss falls and G(z*) reconstructs its clip, Ctrl-C/resume continues exactly, labels, bad input; the
pieces of the split (data: batches and the generator's inputs, the bank's checkpoint state; losses: pure functions).

Real clips (CMU 02_01 walk, CMU 002_03 run) on the ``tiny`` test preset: each run takes a few seconds.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import data_path

from mrgen_core.errors import MrgenError
from mrgen_core.features import NUM_FEATURES
from mrgen_core.motion_files import load_motion
from mrgen_core.sampling import generate, load_model
from training.presets import PRESETS, get_preset, parse_setting
from training import losses
from training.data import (Flat, clip_labels, crop_noise, steady_travel, prepare, random_inputs,
                           reconstruction_inputs, sample_batch)
from training.train import Trainer, level_iterations, train


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def walk():
    return load_motion(data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh"), fps=30)


@pytest.fixture(scope="module")
def run_clip():
    return load_motion(data_path("cmu_mocap/iclone_cc_rig/002_03.bvh"), fps=30)


def test_presets_are_plain_values_and_ordered():
    for name in ("fast", "default", "quality", "tiny"):
        p = get_preset(name)
        assert all(isinstance(v, (int, float, str, list, tuple)) for v in p.values()), name
    assert PRESETS["fast"]["iterations"] < PRESETS["default"]["iterations"] <= PRESETS["quality"]["iterations"]
    with pytest.raises(MrgenError, match="unknown preset"):
        get_preset("turbo")
    with pytest.raises(MrgenError, match="unknown training setting"):
        get_preset("fast", nonsense=1)


def test_generator_learns_to_reconstruct_its_clip(walk):
    """A short run on the coarsest level: the L1 reconstruction of G(z*) falls to a fraction of its start."""
    s = get_preset("tiny", iterations=150, rec_batch=4)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = prepare([walk], s, generator=gen)
    trainer = Trainer(model, s, gen, torch.device("cpu"))
    data, opt_g, opt_d = trainer.start_level(0, None)
    recs = [trainer.step(0, data, opt_g, opt_d, it)["rec"] for it in range(s["iterations"])]
    assert np.mean(recs[-10:]) < 0.5 * np.mean(recs[:5]), (recs[:5], recs[-10:])
    # the whole level-0 reconstruction, not only the crops
    with torch.no_grad():
        rec0 = model.reconstruct(0, stop_level=0)[-1][0]
    real0 = data.real.data
    assert (rec0 - real0).abs().mean() < 0.5 * real0.abs().mean()


@pytest.mark.parametrize("extra", [{}, {"label_mix": 0.5, "sample_recall": 3.0, "recall_memory": 4, "end_crops": 0.2,
                                         "patch_end": 3.0}],
                         ids=["plain", "label-mix-recall-memory-clip-ends"])
def test_train_resume_equals_uninterrupted(walk, run_clip, tmp_path, extra):
    """Stopping mid-run (as Ctrl-C does) and resuming gives exactly the weights and samples of a run that never
    stopped: RNG, optimiser states, level, step and the bank (and the mixed-label entries and the recall memory) are
    all restored."""
    kw = dict(preset="tiny", label_per_clip=["walk", "run"], seed=3, quiet=True,
              overrides=dict(iterations=12, **extra))
    full = train([walk, run_clip], tmp_path / "full.pt", **kw)
    steps = level_iterations(get_preset("tiny", iterations=12), load_model(full).num_levels)
    stop_at = steps[0] + steps[1] + 1  # one step into the third level (its bank made at step 0, refreshed at 10)
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > stop_at

    part = train([walk, run_clip], tmp_path / "part.pt", should_stop=stop, **kw)
    stopped = load_model(part)
    assert stopped.trained_levels == 2
    resumed = train([], tmp_path / "resumed.pt", resume=part, quiet=True)
    a, b = load_model(full), load_model(resumed)
    assert b.trained_levels == b.num_levels
    for ga, gb in zip(a.generators, b.generators):
        for (na, pa), (nb, pb) in zip(ga.named_parameters(), gb.named_parameters()):
            assert torch.equal(pa, pb), na
    sa = generate(a, frames=50, seed=7, labels="run")[0]
    sb = generate(b, frames=50, seed=7, labels="run")[0]
    assert np.array_equal(sa.poses, sb.poses) and np.array_equal(sa.trans, sb.trans)
    with pytest.raises(MrgenError, match="no training state"):
        train([], tmp_path / "again.pt", resume=full, quiet=True)


def test_a_run_saved_before_the_clip_end_settings_resumes(walk, tmp_path):
    """A stopped run whose settings predate ``end_crops`` / ``patch_end`` (saved by an earlier mrgen) resumes with
    both off, as it was trained, instead of failing on the missing keys."""
    kw = dict(preset="tiny", seed=1, quiet=True, overrides=dict(iterations=4))
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 5

    part = train([walk], tmp_path / "part.pt", should_stop=stop, **kw)
    blob = torch.load(part, map_location="cpu", weights_only=True)
    for key in ("end_crops", "patch_end", "patch_end_seconds"):
        del blob["training"]["settings"][key]
    torch.save(blob, part)
    resumed = load_model(train([], tmp_path / "resumed.pt", resume=part, quiet=True))
    assert resumed.trained_levels == resumed.num_levels


def test_label_mix_switches_the_label_inside_a_sample(walk, run_clip):
    """Label mixing: each mixed entry's control carries the clip's own label on one side of a switch and the other
    label on the other; above level 0 the entries come with samples of the levels below; a step trains on them."""
    s = get_preset("tiny", label_mix=0.5)
    gen = torch.Generator().manual_seed(0)
    model = prepare([walk, run_clip], s, label_per_clip=["walk", "run"], generator=gen)
    trainer = Trainer(model, s, gen, torch.device("cpu"))
    assert trainer.mixing
    for level in (0, 1):
        data, opt_g, opt_d = trainer.start_level(level, None)
        if level:
            data.make_bank(model, int(s["bank_frames"]), gen)
        data.make_mix(model, int(s["bank_frames"]), gen)
        k = data.mix_per_clip
        assert k >= 1 and len(data.mix_control.lengths) == 2 * k
        for e in range(2 * k):
            o, n = int(data.mix_control.offsets[e]), int(data.mix_control.lengths[e])
            c = data.mix_control.data[:2, o:o + n]  # walk, run channels
            own = e // k  # clip 0 is walk, clip 1 is run
            assert bool((c[own] > 0.9).any()) and bool((c[1 - own] > 0.9).any()), (level, e)
            assert torch.allclose(c.sum(0), torch.ones(n), atol=1e-5)  # a blend of the two, never neither
        assert (data.mix_bank is None) == (level == 0)
        if level:
            # samples of the level below, as long as the bank's of the same clip
            assert data.mix_bank.lengths.tolist() == [int(data.bank.lengths[data.bank_clip == e // k][0])
                                                      for e in range(2 * k)]
        logs = [trainer.step(level, data, opt_g, opt_d, it) for it in range(4)]
        assert all(np.isfinite(v) for lg in logs for v in lg.values())
    # one label only: nothing to mix
    solo = prepare([walk], s, label_per_clip=["walk"], generator=gen)
    assert not Trainer(solo, s, gen, torch.device("cpu")).mixing


def test_per_sample_recall_asks_each_sample_for_the_whole_clip():
    """Batch recall is nearly satisfied by two samples that each hold half of the clip; per-sample recall is not."""
    from training.losses import patch_nn_loss, patch_recall_per_sample, patches

    torch.manual_seed(0)
    real = torch.randn(1, 3, 40)
    pool = patches(real, 8)
    halves = torch.cat([torch.cat([real[..., :20]] * 2, -1), torch.cat([real[..., 20:]] * 2, -1)])
    assert float(patch_recall_per_sample(real, pool, 8)) == pytest.approx(0.0, abs=1e-3)
    batch_recall = float(patch_nn_loss(halves, pool, 8, recall=1.0) - patch_nn_loss(halves, pool, 8))
    # the batch misses only the patches across the middle; each half-sample misses half the clip
    assert float(patch_recall_per_sample(halves, pool, 8)) > 3 * batch_recall > 0


def test_recall_memory_counts_a_real_patch_reached_in_a_recent_step_as_covered():
    """``recall_memory``: a crop of a long clip is no longer asked for all of the clip at once. The half of the clip
    the previous step's crop held exerts no pull on this step's crop (the other half still does); a step older than
    the memory is forgotten; with a random subset of the pool, each remembered distance stays with its patch."""
    torch.manual_seed(0)
    size = 8
    real = torch.randn(1, 3, 40)
    pools = {0: losses.patches(real, size)}  # 33 patches
    first, second = real[..., :20], real[..., 20:]
    key = torch.zeros(13, dtype=torch.long)

    def recall_of(x, memory, **kw):
        q = losses.patches(x, size).requires_grad_(True)
        loss = losses.patch_nn_loss_by_key(q, key, pools, size, recall=1.0, memory=memory, **kw) \
            - losses.patch_nn_loss_by_key(q.detach(), key, pools, size, **kw)
        return float(loss.detach())

    plain = recall_of(second, None)
    memory = losses.RecallMemory(2)
    recall_of(first, memory)  # step 1: the first half
    held = recall_of(second, memory)  # step 2: the second half; the first half is remembered as covered
    assert held < 0.5 * plain
    recall_of(second, memory)  # step 3: the first half is two steps old, forgotten after this step
    again = recall_of(second, memory)
    assert again == pytest.approx(plain, rel=1e-5)
    # a random subset of the pool each step: remembered distances keep to their patches
    sub = losses.RecallMemory(4)
    g = torch.Generator().manual_seed(1)
    for _ in range(6):
        recall_of(first, sub, pool_max=20, generator=g)
    near_first = losses._nearest(losses.patches(first, size), pools[0], size)[1]
    best = torch.stack(sub.past[0]).min(dim=0).values
    seen = torch.isfinite(best)
    assert seen.sum() > 20 and torch.allclose(best[seen], near_first[seen], atol=1e-2)


def test_smooth_mode_seeking_asks_for_slow_variation_not_noise_passed_through():
    """``vary_smooth`` > 1: an output that passes its noise straight through (frame-to-frame change) no longer
    satisfies mode seeking and is penalised; one that varies as much but slowly does. Plain mode seeking takes
    either."""
    from training.losses import mode_seeking_loss

    gen = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(2, 1, 4, 120, generator=gen)
    dz = (z1 - z2).abs().mean()
    through = z1[..., 2:-2] - z2[..., 2:-2]  # the output moves with its noise, frame by frame
    t = torch.arange(116.0)
    slow = torch.sin(2 * torch.pi * t / 40).expand(1, 4, -1)
    slow = slow * dz / slow.abs().mean()  # as much change, over 40 frames
    zero = torch.zeros_like(slow)
    for fake in (through, slow):
        assert float(mode_seeking_loss(fake, zero, z1, z2, 2, 1.0)) < 0.05
    assert float(mode_seeking_loss(slow, zero, z1, z2, 2, 1.0, smooth=5)) < 0.2
    assert float(mode_seeking_loss(through, zero, z1, z2, 2, 1.0, smooth=5)) > 1.0
    assert float(mode_seeking_loss(through, zero, z1, z2, 2, 1.0, smooth=4)) > 1.0  # an even window keeps the length


def test_variation_loss_makes_a_level_follow_its_noise(walk):
    """Mode seeking above level 0 (``vary_weight``): the loss is ``vary_ratio`` for a level that ignores its noise
    (a fresh level's residual is zero), falls as the level's output comes to move with its noise, and enters the
    training step only when weighted and on the levels ``vary_from`` picks."""
    s = get_preset("tiny", vary_weight=100.0, vary_ratio=1.0)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = prepare([walk], s, generator=gen)
    trainer = Trainer(model, s, gen, torch.device("cpu"))
    model.trained_levels = 1
    data, opt_g, opt_d = trainer.start_level(1, None)
    data.make_bank(model, int(s["bank_frames"]), gen)
    G = model.generators[1]

    def loss_now() -> torch.Tensor:
        b = sample_batch(data, 4, int(s["crop"]), model.margin, gen)
        x, base, noise = random_inputs(model, data, b, gen)
        return trainer.variation_loss(G, data, b, G(x, None) + base, x, base, noise)

    assert float(loss_now().detach()) == pytest.approx(1.0, abs=1e-3)
    plain = Trainer(model, get_preset("tiny"), gen, torch.device("cpu"))
    for it in range(5):  # off zero (|a - b| has no gradient at a = b), with the other losses only
        assert "vary" not in plain.step(1, data, opt_g, opt_d, it)
    for _ in range(40):
        opt_g.zero_grad()
        loss_now().backward()
        opt_g.step()
    assert float(loss_now().detach()) < 0.3
    assert "vary" in trainer.step(1, data, opt_g, opt_d, 0)
    # vary_from: only the levels from that fraction of the pyramid up
    late = Trainer(model, get_preset("tiny", vary_weight=100.0, vary_from=1.0), gen, torch.device("cpu"))
    assert "vary" not in late.step(1, data, opt_g, opt_d, 0)


def test_batch_and_generator_inputs(walk, run_clip):
    """A batch's crops lie inside their clips; the random path's input is the level below's sample plus the noise
    the builder returns (noise only at level 0, quiet outside the clip); the reconstruction path draws nothing from
    the RNG; mixed crops take a mixed entry's control; the bank's checkpoint state restores the same tensors."""
    s = get_preset("tiny", label_mix=1.0)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = prepare([walk, run_clip], s, label_per_clip=["walk", "run"], generator=gen)
    trainer = Trainer(model, s, gen, torch.device("cpu"))
    m = model.margin
    for level in (0, 1):
        data, _, _ = trainer.start_level(level, None)
        trainer.refresh(data, 0)
        b = sample_batch(data, 6, int(s["crop"]), m, gen, label_mix=1.0)
        assert b.frames.shape == (6, b.n) and b.padded.shape == (6, b.n + 2 * m)
        assert bool((b.frames >= 0).all()) and bool((b.frames < data.n[b.clip][:, None]).all())
        assert torch.equal(b.real, data.real.window(b.clip, b.frames))
        assert bool(b.mixed[0].all())  # label_mix 1: every crop mixed
        assert torch.equal(b.ctrl_fake_pad, data.mix_control.window(b.mixed[1], b.padded))
        assert (b.mixed[1] // data.mix_per_clip).tolist() == b.clip.tolist()  # an entry of the crop's own clip
        x, base, noise = random_inputs(model, data, b, gen)
        assert x.shape == noise.shape == (6, NUM_FEATURES, b.n + 2 * m)
        outside = (b.padded < 0) | (b.padded >= data.n[b.clip][:, None])
        assert bool((noise.abs().sum(1)[outside] == 0).all()) and bool((noise != 0).any())
        if level == 0:
            assert base is None and torch.equal(x, noise)
        else:
            below = x - noise  # the mixed entries' samples of the level below, upsampled
            assert torch.allclose(below[..., m:b.n + m], base)
            assert torch.equal(below[..., m:b.n + m] + noise[..., m:b.n + m], x[..., m:b.n + m])
        before = gen.get_state()
        rb = b.first(2)
        x_rec, base_rec = reconstruction_inputs(model, data, rb)
        assert torch.equal(gen.get_state(), before) and rb.mixed is None and len(rb.clip) == 2
        assert torch.equal(rb.ctrl_fake_pad, b.ctrl_pad[:2])
        assert x_rec.shape == (2, NUM_FEATURES, b.n + 2 * m) and (base_rec is None) == (level == 0)
        # the bank's state for a checkpoint brings back the same sequences
        st = data.state()
        again, _, _ = trainer.start_level(level, None)
        again.restore(st, model.device)
        for name in ("bank", "mix_control", "mix_bank"):
            a, c = getattr(data, name), getattr(again, name)
            assert (a is None) == (c is None) == (level == 0 and name != "mix_control"), name
            if a is not None:
                assert torch.equal(a.data, c.data) and torch.equal(a.lengths, c.lengths), name


def test_end_crops_and_the_end_channel_tie_a_crop_at_its_clips_end_to_that_end(walk, run_clip):
    """``end_crops``: that share of the crops ends where its clip ends (0 draws nothing more from the RNG, so
    models trained without it are made as before). ``patch_end``: every real patch, and every generated crop, carries
    how near it lies to its clip's end (the weight on the last frame, 1/e of it ``patch_end_seconds`` before), so
    patch matching pairs a crop at a clip's end with that end rather than with the clip's middle."""
    assert get_preset("default")["end_crops"] == 0 and get_preset("default")["patch_end"] == 0  # opt-in
    s = get_preset("tiny")
    gen = torch.Generator().manual_seed(0)
    model = prepare([walk, run_clip], s, label_per_clip=["walk", "run"], generator=gen)
    trainer = Trainer(model, s, gen, torch.device("cpu"))
    level = model.num_levels - 1
    data, _, _ = trainer.start_level(level, None)
    m, crop = model.margin, int(s["crop"])
    state = gen.get_state()
    plain = sample_batch(data, 64, crop, m, gen)
    gen.set_state(state)
    assert torch.equal(sample_batch(data, 64, crop, m, gen, end_crops=0.0).frames, plain.frames)
    at_end = lambda b: b.frames[:, -1] == data.n[b.clip] - 1  # noqa: E731
    assert at_end(plain).float().mean() < 0.2
    assert bool(at_end(sample_batch(data, 64, crop, m, gen, end_crops=1.0)).all())
    half = at_end(sample_batch(data, 400, crop, m, gen, end_crops=0.5)).float().mean()
    assert 0.4 < half < 0.65

    data.make_pools(model, 4)
    width = data.pools[0].shape[1]
    data.pools.clear()
    data.make_pools(model, 4, end=2.0, end_seconds=0.5)
    assert data.pools[0].shape[1] == width + 4  # one more channel, 4 frames a patch
    b = sample_batch(data, 8, crop, m, gen, end_crops=1.0)
    ch = data.end_channel(b.clip, b.frames)[:, 0]  # (B, n)
    frames = round(0.5 * model.level_fps(level))
    assert torch.allclose(ch[:, -1], torch.tensor(2.0)) and bool((ch[:, 1:] >= ch[:, :-1]).all())
    assert torch.allclose(ch[:, -1 - frames], torch.tensor(2.0 / np.e), rtol=0.1)
    # the walk's real patches carry it: the weight on its last frame, fading towards its start
    walk_patches = data.clip_patches[0].reshape(-1, width // 4 + 1, 4)[:, -1]  # (P, 4) the channel per patch
    assert torch.allclose(walk_patches[-1, -1], torch.tensor(2.0))
    n = int(data.n[0])
    first = torch.tensor(2.0 * np.exp(-(n - 1) / data.end_frames), dtype=torch.float32)
    assert torch.allclose(walk_patches[0, 0], first, rtol=1e-4)
    assert walk_patches[0, 0] < 0.1 < walk_patches[-1, 0]


def test_steady_travel_crops_average_the_path_control_and_keep_the_labels(walk, run_clip):
    """Path control: the crops picked for a steadier travel (never the reconstruction's) see their travel averaged
    once more over ``width`` frames (ends held), for the real and the generated crop alike; the labels and the
    other crops are left as they were; share 0 changes nothing and draws nothing from the RNG."""
    assert get_preset("default")["path_steady"] == 0  # opt-in (--set path_steady=0.5)
    s = get_preset("tiny", path_steady=0.5)
    gen = torch.Generator().manual_seed(0)
    model = prepare([walk, run_clip], s, label_per_clip=["walk", "run"], generator=gen, control_source="path")
    trainer = Trainer(model, s, gen, torch.device("cpu"))
    assert trainer.steady == 0.5
    data, _, _ = trainer.start_level(model.num_levels - 1, None)
    k, m, width = len(model.labels), model.margin, 9
    b = sample_batch(data, 16, int(s["crop"]), m, gen)
    before = b.ctrl_pad.clone()
    assert before[:, k:].std(-1).min() > 0  # the clips' travel varies over a crop
    state = gen.get_state()
    steady_travel(b, 0.0, 2, k, width, gen)
    assert torch.equal(b.ctrl_pad, before) and torch.equal(gen.get_state(), state)
    steady_travel(b, 0.5, 2, k, width, gen)
    held = (b.ctrl_pad != before).any(-1).any(-1)
    assert not held[:2].any() and 0 < int(held.sum()) < 14
    assert torch.equal(b.ctrl_fake_pad, b.ctrl_pad) and torch.equal(b.ctrl_pad[:, :k], before[:, :k])
    assert torch.equal(b.ctrl_pad[~held], before[~held])
    w = before.shape[-1]
    idx = (torch.arange(w)[:, None] + torch.arange(width)[None] - width // 2).clamp(0, w - 1)  # ends held
    want = before[held][:, k:, idx].mean(-1)
    assert torch.allclose(b.ctrl_pad[held, k:], want, atol=1e-5)
    assert b.ctrl_pad[held, k:].std(-1).mean() < before[held, k:].std(-1).mean()  # steadier
    # a model without path control never holds anything
    plain = prepare([walk, run_clip], s, label_per_clip=["walk", "run"], generator=gen)
    assert Trainer(plain, s, gen, torch.device("cpu")).steady == 0


def test_split_losses_are_pure_functions_of_tensors():
    """The patch loss by label, per-sample recall and mode seeking take every input explicitly."""
    torch.manual_seed(0)
    size = 4
    real = [torch.randn(1, 3, 20), torch.randn(1, 3, 16)]
    pools = {0: losses.patches(real[0], size), 1: losses.patches(real[1], size)}
    fake = torch.randn(3, 3, 10)
    q = losses.patches(fake, size)  # 7 patches per crop
    key = torch.tensor([0, 1, 5]).repeat_interleave(7)  # key 5 has no pool: left out
    got = losses.patch_nn_loss_by_key(q, key, pools, size, recall=2.0)
    want = sum(losses.patch_nn_loss_patches(q[key == k], pools[k], size, 0.0, 2.0) * (7 / 21) for k in (0, 1))
    assert float(got) == pytest.approx(float(want), rel=1e-6)
    # a pool larger than pool_max: a random subset, drawn from the generator given
    g1, g2 = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    a = losses.patch_nn_loss_by_key(q, key, pools, size, pool_max=5, generator=g1)
    assert torch.equal(a, losses.patch_nn_loss_by_key(q, key, pools, size, pool_max=5, generator=g2))
    assert not torch.equal(g1.get_state(), torch.Generator().manual_seed(4).get_state())
    # per-sample recall: crops without a pool are left out; a crop that is its clip has none to recall
    whole = torch.cat([real[0], torch.cat([real[0][..., :10]] * 2, -1)])  # the clip; its first half twice
    r = losses.sample_recall_loss(whole, [pools[0], None], size, weight=3.0)
    assert float(r) == pytest.approx(0.0, abs=1e-4)
    r = losses.sample_recall_loss(whole, [None, pools[0]], size, weight=3.0)
    half = float(losses.patch_recall_per_sample(whole[1:], pools[0], size))
    assert half > 0.1 and float(r) == pytest.approx(3.0 / 2 * half)
    # mode seeking: outputs that ignore the noise cost `ratio`; outputs that move as much as it, nothing
    m = 2
    z1, z2 = torch.randn(4, 3, 10 + 2 * m), torch.randn(4, 3, 10 + 2 * m)
    out = torch.randn(4, 3, 10)
    assert float(losses.mode_seeking_loss(out, out, z1, z2, m, 1.5)) == pytest.approx(1.5)
    moved = out + (z2 - z1)[..., m:-m]
    assert float(losses.mode_seeking_loss(out, moved, z1, z2, m, 1.0)) == pytest.approx(0.0, abs=1e-5)


def test_progress_reports_and_seed_reproduces(walk, tmp_path):
    seen = []
    kw = dict(preset="tiny", seed=11, quiet=True, overrides=dict(iterations=4))
    a = train([walk], tmp_path / "a.pt", progress=lambda f, msg: seen.append((f, msg)), **kw)
    b = train([walk], tmp_path / "b.pt", **kw)
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("level" in msg for _, msg in seen)
    ma, mb = load_model(a), load_model(b)
    assert np.array_equal(generate(ma, frames=40, seed=1)[0].poses, generate(mb, frames=40, seed=1)[0].poses)
    assert ma.clip_names == ["02_01"] and ma.clip_lengths == [walk.num_frames] and ma.labels == ()


def test_labels_from_file_and_errors(walk, run_clip, tmp_path):
    lf = tmp_path / "labels.csv"
    lf.write_text("clip,start,end,label\n02_01,,,walk\n002_03,0,0.5,run\n002_03,0.5,,walk\n")
    vocab, per = clip_labels([walk, run_clip], str(lf))
    assert vocab == ["walk", "run"]
    assert (per[0] == 0).all() and per[1][0] == 1 and per[1][-1] == 0
    vocab, per = clip_labels([walk, run_clip], label_per_clip="move")
    assert vocab == ["move"] and all((p == 0).all() for p in per)
    with pytest.raises(MrgenError, match="3 labels given for 2 clips"):
        clip_labels([walk, run_clip], label_per_clip=["a", "b", "c"])
    lf.write_text("clip,start,end,label\n02_01,,,walk\n")
    with pytest.raises(MrgenError, match="not in the labels file"):
        clip_labels([walk, run_clip], str(lf))
    with pytest.raises(MrgenError, match="no training clips"):
        train([], tmp_path / "x.pt", preset="tiny", quiet=True)
    with pytest.raises(MrgenError, match="not found"):
        train([tmp_path / "missing.bvh"], tmp_path / "x.pt", preset="tiny", quiet=True)
    assert not (tmp_path / "x.pt").exists()


def test_cuda_request_without_cuda_is_a_clear_error(walk, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the error path cannot be exercised here")
    with pytest.raises(MrgenError, match="no CUDA device"):
        train([walk], tmp_path / "c.pt", preset="tiny", device="cuda", quiet=True)


def test_parse_setting_checks_key_and_kind():
    assert parse_setting("patch_recall=6") == ("patch_recall", 6.0) and isinstance(parse_setting("lr_g=1")[1], float)
    assert parse_setting("iterations=500") == ("iterations", 500)
    assert parse_setting("g_widths=[2, 4, 4]") == ("g_widths", [2, 4, 4])
    assert parse_setting("loss=ns-r1") == ("loss", "ns-r1")
    for bad, msg in [("iterations=1.5", "expected a value like"), ("nope=3", "unknown training setting 'nope'"),
                     ("iterations", "KEY=VALUE"), ("g_widths=3", "expected"), ("loss=3", "expected")]:
        with pytest.raises(MrgenError, match=msg):
            parse_setting(bad)


def test_cli_set_changes_the_preset(walk, tmp_path, capsys):
    from mrgen_core.cli import main
    from mrgen_core.motion_files import save_motion

    clip = tmp_path / "walk.npz"
    save_motion(walk, clip)
    out = tmp_path / "cli.pt"
    assert main(["train", str(clip), "--preset", "tiny", "--set", "iterations=3", "--set", "g_widths=[2, 3]",
                 "--seed", "5", "--procs", "1", "-o", str(out)]) == 0
    api = train([clip], tmp_path / "api.pt", preset="tiny", seed=5, quiet=True,
                overrides=dict(iterations=3, g_widths=[2, 3]))
    a, b = load_model(out), load_model(api)
    assert list(a.config["g_widths"]) == [2, 3]
    assert np.array_equal(generate(a, frames=40, seed=2)[0].poses, generate(b, frames=40, seed=2)[0].poses)
    capsys.readouterr()
    bad = tmp_path / "bad.pt"
    assert main(["train", str(clip), "--preset", "tiny", "--set", "iterations=lots", "-o", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "--set iterations" in err and err.count("\n") == 1 and not bad.exists()
