"""Train a multi-resolution motion GAN on a few clips, coarse to fine, one level at a time.

Read top to bottom:

1. ``prepare`` turns the clips into normalised features (one (C, T) tensor per clip) and per-frame controls
   (one-hot labels, continuous features), builds the model (number of levels from the receptive field), the
   noise amplitude of every level and each clip's reconstruction noise ``z*``.
2. ``train`` runs the levels coarsest first. For level ``i`` the levels below are frozen: a *bank* of their random
   samples (per clip, regenerated every ``bank_refresh`` steps) and their reconstructions of the clips are the
   inputs of level ``i``.
3. Every step takes ``batch`` random crops (``crop`` frames at this level, from any clip): the generator sees the
   bank's sample upsampled + noise on the crop (plus a margin for its valid convolutions, so a crop gives exactly
   the frames the whole sequence would), the discriminator scores real and generated crops per frame
   (Patch-GAN; it never needs the whole clip). So a step costs the same whatever the amount of training motion.
4. Losses: adversarial (WGAN-GP, or non-saturating + R1), L1 reconstruction of the crop from ``z*``, a patch
   nearest-neighbour loss (generated patches near real patches of their label and, the other way round, every real
   patch near a generated one: a fast, non-adversarial signal that lets a few hundred steps per level do what
   GANimator's 15,000 do; where a crop is a whole clip, each crop on its own must also hold every patch of its clip:
   per-sample recall), foot-contact consistency and foot sliding; above level 0, mode seeking (the same crops with
   fresh noise must differ, so a level's noise makes new detail). One generator forward serves the discriminator
   step and the generator step. With two labels or more, a share of the generated crops (``label_mix``) switch
   label part-way, as a label schedule does, and are judged frame by frame against the clips of each label.
5. Ctrl-C (or ``should_stop()``) stops between two steps and saves a checkpoint with everything needed to
   continue exactly: weights, optimiser states, RNG state, level, step, the bank (and the mixed-label entries).
   ``resume=`` continues it.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.profiler import record_function
from tqdm import tqdm

from mrgen_core import features as feat
from mrgen_core.checkpoint import load_checkpoint, save_checkpoint
from mrgen_core.control import ControlSpec, frame_labels, read_label_file, segments_for
from mrgen_core.errors import MrgenError
from mrgen_core.model.pyramid import MotionModel, default_config, downsample, interp_index, num_levels_for, upsample
from mrgen_core.motion import Motion
from mrgen_core.skeleton import OFFSETS

from . import losses
from .presets import MODEL_KEYS, get_preset


# --- 1. data and model ------------------------------------------------------------------------------------------

def load_clip(clip, fps: float) -> Motion:
    """A training clip (path to .bvh / .npz, or a Motion) at ``fps``."""
    if isinstance(clip, Motion):
        return clip if abs(clip.fps - fps) < 1e-9 else clip.resample(fps)
    from mrgen_core.io import load_motion

    m = load_motion(clip, fps=fps)
    if not m.name:
        m = m.copy(name=Path(clip).stem)
    return m


def clip_labels(motions: list[Motion], labels=None, label_per_clip=None) -> tuple[list[str], list[np.ndarray | None]]:
    """Vocabulary and per-frame label indices of every clip, from a labels file (path or parsed table), one label
    per clip (``label_per_clip``: one name for all or one per clip), or labels the Motions carry."""
    vocab: list[str] = []
    out: list[np.ndarray | None] = []
    table = None
    if labels is not None:
        table = labels if isinstance(labels, dict) else read_label_file(labels)
    if label_per_clip is not None:
        if isinstance(label_per_clip, str):
            label_per_clip = [label_per_clip]
        label_per_clip = list(label_per_clip)
        if len(label_per_clip) == 1:
            label_per_clip = label_per_clip * len(motions)
        if len(label_per_clip) != len(motions):
            raise MrgenError(f"{len(label_per_clip)} labels given for {len(motions)} clips: give one label per clip "
                             "or one for all")
    for k, m in enumerate(motions):
        segs = None
        if label_per_clip is not None:
            segs = [(0.0, None, str(label_per_clip[k]))]
        elif table is not None:
            segs = segments_for(m.name or m.source, table)
            if segs is None:
                raise MrgenError(f"clip {m.name!r} is not in the labels file", labels if isinstance(labels, str)
                                 else None)
        if segs is not None:
            out.append(frame_labels(segs, m.num_frames, m.fps, vocab))
        elif m.labels is not None and m.vocab:
            idx = np.array([vocab.index(v) if v in vocab else (vocab.append(v) or len(vocab) - 1)
                            for v in m.vocab])
            out.append(np.where(m.labels >= 0, idx[np.maximum(m.labels, 0)], -1))
        else:
            out.append(None)
    if vocab and any(o is None for o in out):
        raise MrgenError("some clips have labels and others have none: label every clip (or none)")
    return vocab, out


def prepare(clips, settings: dict, *, labels=None, label_per_clip=None, controls=None, fps: float = 30.0,
            generator: torch.Generator, control_source: str = "") -> MotionModel:
    """Load the clips, fit the normalisation, build the model and its per-level noise amplitudes and ``z*``."""
    if not clips:
        raise MrgenError("no training clips given")
    motions = [load_clip(c, fps) for c in clips]
    vocab, frame_lbls = clip_labels(motions, labels, label_per_clip)
    raws = [feat.encode(m) for m in motions]
    norm = feat.Normalizer.fit(raws)

    spec = ControlSpec(vocab=tuple(vocab))
    if controls is not None:
        if len(controls) != len(motions):
            raise MrgenError(f"{len(controls)} control arrays for {len(motions)} clips")
        cont = [np.asarray(c, dtype=np.float64) for c in controls]
        allc = np.concatenate(cont, axis=0)
        spec.continuous = allc.shape[1]
        spec.source = control_source
        spec.cont_mean = list(allc.mean(axis=0))
        spec.cont_std = list(np.maximum(allc.std(axis=0), 1e-6))
    else:
        cont = [None] * len(motions)

    g_rf = (len(settings["g_widths"]) + 1) * (settings["kernel_size"] - 1) + 1
    levels = num_levels_for(fps, settings["scale_factor"], g_rf, settings["coarse_seconds"])
    config = default_config(fps, num_levels=levels, control=spec.to_dict(), gender=motions[0].gender,
                            **{k: settings[k] for k in MODEL_KEYS if k != "coarse_seconds"})
    config["coarse_seconds"] = settings["coarse_seconds"]
    model = MotionModel(config)
    model.mean.copy_(torch.as_tensor(norm.mean, dtype=torch.float32))
    model.std.copy_(torch.as_tensor(norm.std, dtype=torch.float32))
    for m, raw, lb, c in zip(motions, raws, frame_lbls, cont):
        model.clips.append(dict(name=m.name or Path(m.source).stem, frames=m.num_frames, fps=m.fps,
                                credit=m.credit, source=str(m.source), start=feat.start_of(m).as_list(),
                                labels=None if lb is None else [int(v) for v in lb]))
        model.clip_features.append(torch.as_tensor(norm(raw).T, dtype=torch.float32))
        model.clip_controls.append(torch.as_tensor(spec.build(m.num_frames, labels=lb, continuous=c).T,
                                                   dtype=torch.float32))
    # noise amplitude of each level: RMS of what it adds to the level below (level 0: of the motion itself)
    pyramids = [real_pyramid(model, x) for x in model.clip_features]
    amps = []
    for i in range(levels):
        if i == 0:
            d = torch.cat([p[0].flatten() for p in pyramids])
        else:
            d = torch.cat([(p[i] - upsample(p[i - 1][None], p[i].shape[-1])[0]).flatten() for p in pyramids])
        amps.append(float(d.pow(2).mean().sqrt()))
    model.amps = amps
    m = model.margin
    model.z_star = [F.pad(torch.randn(feat.NUM_FEATURES, model.lengths(t)[0], generator=generator) * amps[0], (m, m))
                    for t in model.clip_lengths]  # quiet margins, like every noise input
    return model


def real_pyramid(model: MotionModel, x: torch.Tensor) -> list[torch.Tensor]:
    """A clip's normalised features (C, T) at every level (anti-aliased resampling)."""
    return [downsample(x[None], n)[0] for n in model.lengths(x.shape[-1])]


# --- 2. per-level data: flat tensors, windows gathered for a batch of crops ------------------------------------

class Flat:
    """Sequences of different lengths (each (C, T_k)) side by side in one (C, sum T) tensor, so a batch of windows
    from any of them is one gather."""

    def __init__(self, seqs: list[torch.Tensor]):
        self.lengths = torch.tensor([s.shape[-1] for s in seqs])
        self.offsets = torch.cumsum(self.lengths, 0) - self.lengths
        self.data = torch.cat(seqs, dim=-1)

    def window(self, which: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """(B, C, W) values of sequences ``which`` (B,) at ``frames`` (B, W), clamped to each (replicate)."""
        n = self.lengths[which][:, None]
        idx = self.offsets[which][:, None] + torch.minimum(frames.clamp(min=0), n - 1)
        return self.data[:, idx].permute(1, 0, 2)

    def upsampled(self, which: torch.Tensor, n_dst: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """(B, C, W): sequences ``which`` linearly upsampled to ``n_dst`` (B,) frames, read at ``frames``."""
        n_src = self.lengths[which][:, None]
        i0, i1, w = interp_index(n_src, n_dst[:, None], frames)
        off = self.offsets[which][:, None]
        a, b = self.data[:, off + i0], self.data[:, off + i1]
        return torch.lerp(a, b, w[None].to(a.device)).permute(1, 0, 2)


class LevelData:
    """What training level ``i`` reads: real clips and controls at this level, and (above level 0) the bank of
    samples and the reconstructions of the level below."""

    def __init__(self, model: MotionModel, level: int):
        self.level = level
        lengths = [model.lengths(t) for t in model.clip_lengths]
        self.n = torch.tensor([ls[level] for ls in lengths])  # clip lengths at this level
        self.real = Flat([real_pyramid(model, x.to(model.device))[level] for x in model.clip_features])
        ctrl = [model.control_levels(c.T.cpu().numpy(), ls)[level] for c, ls in zip(model.clip_controls, lengths)]
        self.control = Flat([c[0] for c in ctrl]) if model.control_spec.size else None
        self.rec_below = None
        self.bank = None  # Flat of bank samples; entry e belongs to clip bank_clip[e]
        self.bank_clip = None
        self.pools: dict = {}  # real patches a generated crop is compared with, by pool key
        self.clip_patches: list = []  # ... of each clip
        self.patch_size = 0
        self.pool_key: list = []  # pool key of each clip (its dominant label; one pool when unlabelled)
        # label mixing (``label_mix`` > 0): per clip, controls whose label switches mid-sequence (at this level) and,
        # above level 0, samples of the levels below made under them; entry e belongs to clip e // mix_per_clip
        self.mix_control = None
        self.mix_bank = None
        self.mix_per_clip = 0

    def make_pools(self, model: MotionModel, size: int, scale: float = 1.0) -> None:
        """Real patches of ``size`` frames at this level, pooled by the clips' dominant label; with continuous
        control, each patch carries its control (times ``scale``) so a generated patch is matched to real patches
        made under a similar control."""
        keys = [dominant_label(c) for c in model.clips]
        self.pool_key = keys
        seqs = [self.real.data[:, o:o + n] for o, n in zip(self.real.offsets.tolist(), self.real.lengths.tolist())]
        if model.control_spec.continuous:  # match patches in (motion, continuous control) space
            ctrl = [control_part(model, self.control.data[:, o:o + n], scale)
                    for o, n in zip(self.control.offsets.tolist(), self.control.lengths.tolist())]
            seqs = [torch.cat([x, c]) for x, c in zip(seqs, ctrl)]
        self.patch_size = min(size, int(self.n.min()))  # a crop is never shorter than the shortest clip
        self.clip_patches = [losses.patches(x[None], self.patch_size) for x in seqs]
        for k in sorted(set(keys)):
            self.pools[k] = torch.cat([p for p, kk in zip(self.clip_patches, keys) if kk == k])

    def make_bank(self, model: MotionModel, bank_frames: int, generator: torch.Generator) -> None:
        """Random samples of the frozen levels below (per clip ~``bank_frames`` frames in all, at least one)."""
        seqs, owner = [], []
        with torch.no_grad():
            for c, t in enumerate(model.clip_lengths):
                k = max(1, int(round(bank_frames / t)))
                ls = model.lengths(t)
                ctrl = model.control_levels(model.clip_controls[c].T.cpu().numpy(), ls)
                out = model.synthesize(ls, ctrl, batch=k, generator=generator, stop_level=self.level - 1)[-1]
                seqs += list(out)
                owner += [c] * k
        self.bank = Flat(seqs)
        self.bank_clip = torch.tensor(owner)

    def make_mix(self, model: MotionModel, bank_frames: int, generator: torch.Generator) -> None:
        """Label mixing: per clip ~``bank_frames`` frames of controls that switch, at a random point in the middle
        half, to another label on one side (as a schedule would), and above level 0 samples of the levels below
        made under them. A generated crop under such a control is judged, frame by frame, against the real clips
        of each side's label: the generator learns to follow a label where it is, not where the clip is."""
        k = max(1, int(round(bank_frames / max(model.clip_lengths))))
        nlab = len(model.labels)
        own = [dominant_label(c) for c in model.clips]
        controls, samples = [], []
        for c, t in enumerate(model.clip_lengths):
            ls = model.lengths(t)
            per_level = []
            for _ in range(k):
                full = model.clip_controls[c].T.cpu().numpy().copy()
                others = [v for v in range(nlab) if v != own[c]]
                other = others[int(torch.randint(len(others), (1,), generator=generator))]
                split = int(t * (0.25 + 0.5 * float(torch.rand(1, generator=generator))))
                side = slice(split, None) if float(torch.rand(1, generator=generator)) < 0.5 else slice(0, split)
                full[side, :nlab] = 0.0
                full[side, other] = 1.0
                per_level.append(model.control_levels(full, ls))
            ctrl = [torch.cat([p[i] for p in per_level]) for i in range(len(ls))]  # (k, K, n_i) per level
            controls += list(ctrl[self.level])
            if self.level > 0:
                with torch.no_grad():
                    samples += list(model.synthesize(ls, ctrl, batch=k, generator=generator,
                                                     stop_level=self.level - 1)[-1])
        self.mix_per_clip = k
        self.mix_control = Flat(controls)
        self.mix_bank = Flat(samples) if samples else None

    def make_rec_below(self, model: MotionModel) -> None:
        with torch.no_grad():
            self.rec_below = Flat([model.reconstruct(c, stop_level=self.level - 1)[-1][0]
                                   for c in range(len(model.clip_lengths))])


def dominant_label(clip: dict) -> int:
    """The label index most of a clip's frames carry (-1 when unlabelled)."""
    lab = clip.get("labels")
    if lab is None or not any(v >= 0 for v in lab):
        return -1
    return int(np.bincount(np.asarray(lab)[np.asarray(lab) >= 0]).argmax())


def control_part(model: MotionModel, control: torch.Tensor, scale: float) -> torch.Tensor:
    """The continuous channels of a control tensor (..., K, T), times ``scale`` (for patch matching)."""
    return control[..., len(model.labels):, :] * scale


def sample_batch(data: LevelData, batch: int, crop: int, margin: int, generator: torch.Generator) -> dict:
    """Random crops: clip of each item (chance ~ its length), first frame, the frames with margins."""
    n = int(min(crop, int(data.n.min())))
    weights = (data.n - n + 1).double()
    clip = torch.multinomial(weights, batch, replacement=True, generator=generator)
    start = (torch.rand(batch, generator=generator) * (data.n[clip] - n + 1)).long()
    frames = start[:, None] + torch.arange(n)[None]
    padded = start[:, None] + torch.arange(-margin, n + margin)[None]
    return dict(clip=clip, n=n, frames=frames, padded=padded)


# --- 3. the loop --------------------------------------------------------------------------------------------------

def train(clips, out_path, *, preset: str = "default", labels=None, label_per_clip=None, seed: int = 0,
          device: str = "cpu", resume=None, progress=None, should_stop=None, controls=None, fps: float = 30.0,
          overrides: dict | None = None, quiet: bool = False, control_source: str = "") -> str:
    """Train a model on ``clips`` (paths or Motions) and save it to ``out_path``; returns the path.

    ``labels``: labels file (JSON/CSV) or parsed table; ``label_per_clip``: one label for all clips or one per
    clip; ``controls``: per-clip continuous control arrays (T_c, F) aligned with the clips' frames at ``fps``
    (``control_source`` records what they are: "audio" or "wavlm" for the CLI's audio paths).
    ``progress(fraction, message)`` is called as training goes; when ``should_stop()`` returns True (or on
    Ctrl-C) training stops after the current step and saves a checkpoint that ``resume=`` continues exactly.
    ``overrides``: preset values to change (see :mod:`training.presets`).
    """
    dev = resolve_device(device)
    if resume is not None:
        model, state = load_checkpoint(resume, device="cpu", training=True)
        if state is None:
            raise MrgenError("this model holds no training state to resume (it finished training)", resume)
        settings = state["settings"]
        gen = torch.Generator()
        gen.set_state(state["rng"])
    else:
        settings = get_preset(preset, **(overrides or {}))
        gen = torch.Generator().manual_seed(int(seed))
        with torch.random.fork_rng(devices=[]):  # weight init from the seed, the caller's RNG left alone
            torch.manual_seed(int(seed))
            model = prepare(clips, settings, labels=labels, label_per_clip=label_per_clip, controls=controls,
                            fps=fps, generator=gen, control_source=control_source)
        state = dict(settings=settings, level=0, iteration=0, elapsed=0.0, seed=int(seed))
    threads = int(settings.get("threads") or 0) or (os.cpu_count() or 1)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model.to(dev)
        trainer = Trainer(model, settings, gen, dev)
        return trainer.run(state, out_path, progress=progress, should_stop=should_stop, quiet=quiet)
    finally:
        torch.set_num_threads(old_threads)


def level_iterations(settings: dict, levels: int) -> list[int]:
    """Steps of every level: ``iterations`` on average, ``coarse_boost`` shifting them towards the coarse levels
    (where the structure of the motion is learnt) from the fine ones (detail, learnt faster)."""
    n, boost = int(settings["iterations"]), float(settings.get("coarse_boost", 0.0))
    if levels == 1:
        return [n]
    return [max(1, int(round(n * (1 + boost * (0.5 - i / (levels - 1)))))) for i in range(levels)]


def resolve_device(device: str) -> torch.device:
    if device == "cuda" and not torch.cuda.is_available():
        raise MrgenError("--device cuda: no CUDA device is available (torch reports none); use --device cpu")
    try:
        return torch.device(device)
    except RuntimeError:
        raise MrgenError(f"unknown device {device!r}; use cpu or cuda") from None


class Trainer:
    """One training run: the model, settings, RNG and the optimisers of the level in training."""

    def __init__(self, model: MotionModel, settings: dict, generator: torch.Generator, device: torch.device):
        self.model, self.s, self.gen, self.device = model, settings, generator, device
        self.offsets = torch.as_tensor(OFFSETS[model.config.get("gender", "neutral")], dtype=torch.float32,
                                       device=device)
        # label mixing needs two labels at least
        self.mixing = float(settings.get("label_mix", 0.0)) > 0 and len(model.labels) >= 2

    def run(self, state: dict, out_path, progress=None, should_stop=None, quiet=False) -> str:
        model, s = self.model, self.s
        levels = model.num_levels
        per_level = level_iterations(s, levels)
        total = sum(per_level)
        done = sum(per_level[:state["level"]]) + state["iteration"]
        t0 = time.perf_counter() - state["elapsed"]
        bar = tqdm(total=total, initial=done, disable=quiet, unit="step", dynamic_ncols=True)
        stopped = False
        with _stop_on_sigint() as interrupted:
            for level in range(state["level"], levels):
                start_it = state["iteration"] if level == state["level"] else 0
                data, opt_g, opt_d = self.start_level(level, state if start_it else None)
                iters = per_level[level]
                for it in range(start_it, iters):
                    if interrupted() or (should_stop is not None and should_stop()):
                        stopped = True
                        break
                    if level > 0 and (data.bank is None or it % int(s["bank_refresh"]) == 0):
                        data.make_bank(model, int(s["bank_frames"]), self.gen)
                    if self.mixing and (data.mix_control is None or it % int(s["bank_refresh"]) == 0):
                        data.make_mix(model, int(s["bank_frames"]), self.gen)
                    logs = self.step(level, data, opt_g, opt_d, it)
                    bar.update(1)
                    if it % 10 == 0 or it == iters - 1:
                        bar.set_description(f"level {level + 1}/{levels}")
                        bar.set_postfix_str(" ".join(f"{k} {v:.3f}" for k, v in logs.items()))
                        if progress is not None:
                            progress((sum(per_level[:level]) + it + 1) / total,
                                     f"level {level + 1}/{levels}, step {it + 1}/{iters}")
                if stopped:
                    state.update(level=level, iteration=it, elapsed=time.perf_counter() - t0)
                    self.save(out_path, state, data, opt_g, opt_d, trained_levels=level)
                    break
                model.trained_levels = level + 1
                state.update(level=level + 1, iteration=0)
        bar.close()
        if stopped:
            msg = (f"training stopped at level {state['level'] + 1}/{levels}, step {state['iteration']}/"
                   f"{per_level[state['level']]}; "
                   f"checkpoint saved to {out_path} (continue with --resume {out_path})")
        else:
            state.update(elapsed=time.perf_counter() - t0)
            model.train_seconds = state["elapsed"]
            self.save(out_path, None, None, None, None, trained_levels=levels)
            msg = f"trained {levels} levels in {state['elapsed']:.0f} s; model saved to {out_path}"
        if progress is not None:
            progress(1.0 if not stopped else (sum(per_level[:state["level"]]) + state["iteration"]) / total, msg)
        if not quiet:
            print(msg)
        return str(out_path)

    def start_level(self, level: int, state: dict | None):
        """Data and optimisers of ``level`` (restored from ``state`` when resuming mid-level)."""
        model, s = self.model, self.s
        for i, (g, d) in enumerate(zip(model.generators, model.discriminators)):
            g.requires_grad_(i == level)
            d.requires_grad_(i == level)
        data = LevelData(model, level)
        if level > 0:
            data.make_rec_below(model)
        opt_g = torch.optim.Adam(model.generators[level].parameters(), lr=s["lr_g"], betas=tuple(s["betas"]),
                                 foreach=True)
        opt_d = torch.optim.Adam(model.discriminators[level].parameters(), lr=s["lr_d"], betas=tuple(s["betas"]),
                                 foreach=True)
        if state is not None:
            opt_g.load_state_dict(state["opt_g"])
            opt_d.load_state_dict(state["opt_d"])
            if state.get("bank") is not None:
                data.bank = Flat([x.to(model.device) for x in state["bank"]])
                data.bank_clip = state["bank_clip"]
            if state.get("mix_control") is not None:
                data.mix_per_clip = int(state["mix_per_clip"])
                data.mix_control = Flat([x.to(model.device) for x in state["mix_control"]])
                if state.get("mix_bank") is not None:
                    data.mix_bank = Flat([x.to(model.device) for x in state["mix_bank"]])
        return data, opt_g, opt_d

    def inputs(self, data: LevelData, b: dict, noise: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Generator input windows (B, C, n + 2m) for a batch and the base (upsampled level below, (B, C, n)).

        ``noise``: random (bank sample + noise, the noise kept in ``b["noise"]``) or reconstruction (``z*`` at level 0,
        reconstruction below)."""
        model, level, m = self.model, data.level, self.model.margin
        clip, padded = b["clip"], b["padded"]
        bsz, width = padded.shape
        if level == 0:
            if noise:
                x = b["noise"] = self.crop_noise(data, b)
            else:
                zs = Flat([z.to(model.device) for z in model.z_star])
                # z* covers the padded clip: frame f of the level sits at column f + margin
                x = zs.window(clip, padded + m)
            return x, None
        if noise:
            # one bank sample of each item's clip (bank entries are grouped by clip)
            counts = torch.bincount(data.bank_clip, minlength=len(data.n))[clip]
            pick = (torch.rand(bsz, generator=self.gen) * counts).long()
            source, which = data.bank, torch.searchsorted(data.bank_clip, clip) + pick
        else:
            source, which = data.rec_below, clip
        full = source.upsampled(which, data.n[clip], padded)
        if noise and b.get("mixed") is not None and data.mix_bank is not None:
            mask, entry = b["mixed"]
            mixed = data.mix_bank.upsampled(entry, data.n[clip], padded)
            full = torch.where(mask.to(full.device)[:, None, None], mixed, full)
        if noise:
            b["noise"] = self.crop_noise(data, b)
        x = full + b["noise"] if noise else full
        return x, full[..., m:width - m]

    def crop_noise(self, data: LevelData, b: dict) -> torch.Tensor:
        """Noise at this level's amplitude for the crops' padded windows (B, C, n + 2m), zero on frames outside
        their sequence: the quiet margin tells the generator where a motion starts and ends."""
        padded = b["padded"]
        inside = ((padded >= 0) & (padded < data.n[b["clip"]][:, None])).to(torch.float32)[:, None, :]
        return self.model.noise(data.level, padded.shape[0], b["n"], self.gen) * inside.to(self.model.device)

    def control(self, data: LevelData, b: dict):
        if data.control is None:
            return None, None
        c = data.control.window(b["clip"], b["padded"])
        m = self.model.margin
        return c, c[..., m:c.shape[-1] - m]

    def pick_mix(self, data: LevelData, b: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Label mixing: which random crops (about ``label_mix`` of them) take a mixed-label entry of their clip
        (its control and, above level 0, its sample of the levels below), and which entry: (mask, entries)."""
        clip = b["clip"]
        mask = torch.rand(len(clip), generator=self.gen) < float(self.s["label_mix"])
        pick = (torch.rand(len(clip), generator=self.gen) * data.mix_per_clip).long()
        return mask, clip * data.mix_per_clip + pick

    def mixed_control(self, data: LevelData, b: dict, ctrl_pad: torch.Tensor) -> torch.Tensor:
        """The padded control of the random crops: the mixed entry's where ``b["mixed"]`` says so."""
        mask, which = b["mixed"]
        return torch.where(mask.to(ctrl_pad.device)[:, None, None], data.mix_control.window(which, b["padded"]),
                           ctrl_pad)

    def step(self, level: int, data: LevelData, opt_g, opt_d, it: int = 0) -> dict:
        """One training step of ``level``: discriminator step(s), then one generator step."""
        model, s = self.model, self.s
        G, D = model.generators[level], model.discriminators[level]
        with record_function("batch"):
            b = sample_batch(data, int(s["batch"]), int(s["crop"]), model.margin, self.gen)
            ctrl_pad, ctrl = self.control(data, b)
            real = data.real.window(b["clip"], b["frames"])
            ctrl_fake_pad, ctrl_fake = ctrl_pad, ctrl
            if self.mixing:
                b["mixed"] = self.pick_mix(data, b)
                ctrl_fake_pad = self.mixed_control(data, b, ctrl_pad)
                ctrl_fake = ctrl_fake_pad[..., model.margin:ctrl_fake_pad.shape[-1] - model.margin]
            x_fake, base_fake = self.inputs(data, b, noise=True)
            # the reconstruction path on the first rec_batch crops
            nrec = min(int(s["rec_batch"]), real.shape[0])
            rb = {k: (v[:nrec] if torch.is_tensor(v) else v) for k, v in b.items()}
            x_rec, base_rec = self.inputs(data, rb, noise=False)
            bsz = real.shape[0]
        with record_function("G forward"):
            # one generator forward for the random and the reconstruction path
            cp = None if ctrl_pad is None else torch.cat([ctrl_fake_pad, ctrl_pad[:nrec]])
            out = G(torch.cat([x_fake, x_rec]), cp)
            if base_fake is not None:
                out = out + torch.cat([base_fake, base_rec])
            fake, rec = out[:bsz], out[bsz:]

        # discriminator: real vs generated crops, scored per frame
        kind = s["loss"]
        every = max(1, int(s["penalty_every"]))
        ctrl2 = None if ctrl is None else torch.cat([ctrl, ctrl_fake])
        for k in range(int(s["d_steps"])):
            with record_function("D step"):
                if k == 0:
                    fk = fake.detach()
                else:  # later steps see fresh fakes
                    with torch.no_grad():
                        xf, bf = self.inputs(data, dict(b), noise=True)  # b keeps the first fakes' noise
                        fk = G(xf, ctrl_fake_pad) + (0 if bf is None else bf)
                opt_d.zero_grad(set_to_none=True)
                penalize = (it * int(s["d_steps"]) + k) % every == 0
                penalty = real.new_zeros(())
                if kind == "wgan-gp":
                    scores = D(torch.cat([real, fk]), ctrl2)  # one pass for real and fake
                    loss_d = losses.d_loss(kind, scores[:bsz], scores[bsz:])
                    if penalize:
                        with record_function("gradient penalty"):
                            penalty = losses.gradient_penalty(D, real, fk, ctrl, self.gen)
                elif penalize:
                    penalty, real_scores = losses.r1_penalty(D, real, ctrl)
                    loss_d = losses.d_loss(kind, real_scores, D(fk, ctrl_fake))
                else:
                    scores = D(torch.cat([real, fk]), ctrl2)
                    loss_d = losses.d_loss(kind, scores[:bsz], scores[bsz:])
                (loss_d + s["gp_weight"] * every * penalty).backward()
                opt_d.step()

        # generator: fool D, reconstruct the clip from z*, patches near real ones, planted feet still
        with record_function("G step"):
            opt_g.zero_grad(set_to_none=True)
            D.requires_grad_(False)
            adv = losses.g_loss(kind, D(fake, ctrl_fake))
            D.requires_grad_(True)
            rec_loss = losses.reconstruction_loss(rec, real[:nrec])
            total = adv + s["rec_weight"] * rec_loss
            logs = dict(D=loss_d.item(), G=adv.item(), rec=rec_loss.item())
            if s["patch_weight"]:
                with record_function("patch loss"):
                    p_loss = self.patch_loss(data, b, fake, ctrl_fake)
                total = total + s["patch_weight"] * p_loss
                logs["patch"] = p_loss.item()
            if s["vary_weight"] and level > 0 and level >= float(s["vary_from"]) * (model.num_levels - 1):
                with record_function("variation loss"):
                    v_loss = self.variation_loss(G, data, b, x_fake, base_fake, fake, ctrl_fake_pad)
                total = total + s["vary_weight"] * v_loss
                logs["vary"] = v_loss.item()
            if s["contact_weight"] or s["slide_weight"]:
                with record_function("foot losses"):
                    c_loss, f_loss = losses.foot_losses(model.denormalize(fake), model.level_fps(level),
                                                        self.offsets)
                total = total + s["contact_weight"] * c_loss + s["slide_weight"] * f_loss
                logs["contact"], logs["slide"] = c_loss.item(), f_loss.item()
            total.backward()
            opt_g.step()
        return logs

    def variation_loss(self, G, data: LevelData, b: dict, x: torch.Tensor, base: torch.Tensor, fake: torch.Tensor,
                       ctrl_pad: torch.Tensor | None) -> torch.Tensor:
        """Mode seeking (Mao et al. 2019) above level 0: the same crops with fresh noise must differ by at least
        ``vary_ratio`` times the noise difference (mean absolute values), so a level's noise makes new detail
        (what blending resamples) instead of being ignored."""
        m = self.model.margin
        z2 = self.crop_noise(data, b)
        fake2 = G(x - b["noise"] + z2, ctrl_pad) + base
        dz = (b["noise"] - z2)[..., m:x.shape[-1] - m].abs().mean(dim=(1, 2))
        ratio = (fake - fake2).abs().mean(dim=(1, 2)) / (dz + 1e-8)
        return F.relu(float(self.s["vary_ratio"]) - ratio).mean()

    def patch_loss(self, data: LevelData, b: dict, fake: torch.Tensor, ctrl: torch.Tensor | None) -> torch.Tensor:
        """Patch nearest-neighbour loss of the generated crops against the real patches of their label (and, with
        continuous control, of a similar control); a patch of a mixed-label crop takes the label its control mostly
        carries."""
        s = self.s
        if not data.pools:
            data.make_pools(self.model, int(s["patch_size"]), float(s["patch_control"]))
        size = data.patch_size
        if self.model.control_spec.continuous:
            fake = torch.cat([fake, control_part(self.model, ctrl, float(s["patch_control"]))], dim=1)
        total = self.sample_recall_loss(data, b, fake) if s["sample_recall"] else fake.new_zeros(())
        q = losses.patches(fake, size)  # (B * P, C * size), crop by crop
        key = torch.tensor([data.pool_key[c] for c in b["clip"].tolist()])[:, None].expand(-1, q.shape[0] // len(fake))
        if b.get("mixed") is not None:
            lab = ctrl[:, :len(self.model.labels)].unfold(-1, size, 1).mean(-1).argmax(1).cpu()  # (B, P)
            key = torch.where(b["mixed"][0][:, None], lab, key)
        key = key.flatten()
        for k in torch.unique(key).tolist():
            if k not in data.pools:  # a label no clip mostly carries
                continue
            sel = torch.nonzero(key == k).flatten().to(q.device)
            pool = data.pools[k]
            if pool.shape[0] > int(s["patch_pool"]):
                pool = pool[torch.randperm(pool.shape[0], generator=self.gen)[:int(s["patch_pool"])]]
            loss = losses.patch_nn_loss_patches(q[sel], pool, size, s["patch_margin"], s["patch_recall"])
            total = total + loss * (len(sel) / len(key))
        return total

    def sample_recall_loss(self, data: LevelData, b: dict, fake: torch.Tensor) -> torch.Tensor:
        """Per-sample recall (times ``sample_recall``) of the crops that are a whole clip (the coarse levels) and
        keep its label: each should hold every patch of its own clip, as coverage asks of every sample."""
        clip = b["clip"]
        whole = data.n[clip] <= b["n"]
        if b.get("mixed") is not None:
            whole &= ~b["mixed"][0]
        total = fake.new_zeros(())
        for i in torch.nonzero(whole).flatten().tolist():
            total = total + losses.patch_recall_per_sample(fake[i:i + 1], data.clip_patches[int(clip[i])],
                                                           data.patch_size, self.s["patch_margin"])
        return total * (float(self.s["sample_recall"]) / len(clip))

    def save(self, out_path, state, data, opt_g, opt_d, trained_levels: int) -> None:
        train_state = None
        if state is not None:
            train_state = dict(state, rng=self.gen.get_state(), opt_g=opt_g.state_dict(), opt_d=opt_d.state_dict(),
                               bank=None, bank_clip=None)
            if data is not None and data.bank is not None:
                train_state["bank"] = _unflat(data.bank)
                train_state["bank_clip"] = data.bank_clip.clone()
            if data is not None and data.mix_control is not None:
                train_state.update(mix_per_clip=data.mix_per_clip, mix_control=_unflat(data.mix_control),
                                   mix_bank=None if data.mix_bank is None else _unflat(data.mix_bank))
        self.model.trained_levels = trained_levels
        save_checkpoint(self.model, out_path, training=train_state)


def _unflat(f: Flat) -> list[torch.Tensor]:
    """A Flat's sequences, as CPU copies (for a checkpoint)."""
    return [f.data[:, o:o + n].cpu().clone() for o, n in zip(f.offsets.tolist(), f.lengths.tolist())]


@contextmanager
def _stop_on_sigint():
    """Within the block, the first Ctrl-C only raises a flag (checked between steps); a second one interrupts."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag.is_set
        return

    def handler(signum, frame):
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set()
        print("\nmrgen: stopping after this step (Ctrl-C again to abort without saving)", flush=True)

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield flag.is_set
    finally:
        signal.signal(signal.SIGINT, old)
