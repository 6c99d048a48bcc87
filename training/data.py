"""What training reads: the clips as a model's data, each level's real crops and bank of samples, and batches.

1. ``prepare`` turns the clips into normalised features (one (C, T) tensor per clip) and per-frame controls
   (one-hot labels, continuous features), builds the model (number of levels from the receptive field), the
   noise amplitude of every level and each clip's reconstruction noise ``z*``.
2. ``LevelData`` is what level ``i`` reads while the levels below are frozen: the real clips and controls at this
   level, a *bank* of random samples of the levels below (per clip, regenerated every ``bank_refresh`` steps), their
   reconstructions of the clips, the real patches of the patch loss and, with label mixing, controls whose label
   switches mid-sequence (and samples made under them).
3. ``sample_batch`` takes random crops (``crop`` frames at this level, from any clip, plus a margin for the
   generator's valid convolutions, so a crop gives exactly the frames the whole sequence would);
   ``random_inputs`` / ``reconstruction_inputs`` build the generator's inputs for them, the noise returned.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mrgen_core import features as feat
from mrgen_core import path_control
from mrgen_core.clip_codes import code_names, label_codes
from mrgen_core.control import ControlSpec, frame_labels, read_label_file, segments_for
from mrgen_core.errors import MrgenError
from mrgen_core.limits import MIN_TRAIN_FRAMES
from mrgen_core.mirror import mirror_motion
from mrgen_core.model.pyramid import MotionModel, default_config, downsample, interp_index, num_levels_for, upsample
from mrgen_core.motion import Motion

from . import losses
from .presets import MODEL_KEYS


# --- clips and model ------------------------------------------------------------------------------------------

def load_clip(clip, fps: float) -> Motion:
    """A training clip (path to .bvh / .npz, or a Motion) at ``fps``."""
    if isinstance(clip, Motion):
        return clip if abs(clip.fps - fps) < 1e-9 else clip.resample(fps)
    from mrgen_core.motion_files import load_motion

    m = load_motion(clip, fps=fps)
    if m.num_frames < MIN_TRAIN_FRAMES:
        raise MrgenError(f"a training clip needs at least {MIN_TRAIN_FRAMES} frames at {fps:g} fps, this one has "
                         f"{m.num_frames}", clip)
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
    names = [m.name or Path(m.source).stem for m in motions]
    codes = bool(settings.get("clip_codes")) and not vocab and len(motions) > 1
    if codes:  # several unlabelled clips: each learnt under a label of its own (mrgen_core/clip_codes.py)
        vocab, frame_lbls = clip_labels(motions, label_per_clip=code_names(names))
    groups = None
    if settings.get("label_codes") and vocab:  # several clips under one label: a code per clip (clip_codes.py)
        one = [vocab[int(lb[0])] if lb is not None and len(set(lb.tolist())) == 1 and lb[0] >= 0 else None
               for lb in frame_lbls]
        found = label_codes(one, names)
        if found is not None:
            groups, per_clip = found
            vocab, frame_lbls = clip_labels(motions, label_per_clip=per_clip)
    if controls is not None and len(controls) != len(motions):
        raise MrgenError(f"{len(controls)} control arrays for {len(motions)} clips")
    if settings.get("mirror"):  # every clip also mirrored left to right, with its labels and control
        motions = motions + [mirror_motion(m) for m in motions]
        frame_lbls = frame_lbls * 2
        controls = None if controls is None else list(controls) * 2
    raws = [feat.encode(m) for m in motions]
    norm = feat.Normalizer.fit(raws)

    spec = ControlSpec(vocab=tuple(vocab))
    if control_source == path_control.SOURCE:  # the clips' own travel (``mrgen train --path-control``)
        if controls is not None:
            raise MrgenError("path control comes from the clips themselves: give no other control features")
        controls = [path_control.of_features(raw, m.fps) for raw, m in zip(raws, motions)]
    if controls is not None:
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
    if codes:
        config["clip_codes"] = True
    if groups:
        config["label_groups"] = groups
    model = MotionModel(config)
    model.mean.copy_(torch.as_tensor(norm.mean, dtype=torch.float32))
    model.std.copy_(torch.as_tensor(norm.std, dtype=torch.float32))
    for k, (m, raw, lb, c) in enumerate(zip(motions, raws, frame_lbls, cont)):
        model.clips.append(dict(name=m.name or Path(m.source).stem, frames=m.num_frames, fps=m.fps,
                                credit=m.credit, source=str(m.source), start=feat.start_of(m).as_list(),
                                labels=None if lb is None else [int(v) for v in lb]))
        if k >= len(clips):  # a mirrored copy (``mirror``): trained on, not one of the clips given
            model.clips[-1]["mirrored"] = True
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


def dominant_label(clip: dict) -> int:
    """The label index most of a clip's frames carry (-1 when unlabelled)."""
    lab = clip.get("labels")
    if lab is None or not any(v >= 0 for v in lab):
        return -1
    return int(np.bincount(np.asarray(lab)[np.asarray(lab) >= 0]).argmax())


def control_part(model: MotionModel, control: torch.Tensor, scale: float) -> torch.Tensor:
    """The continuous channels of a control tensor (..., K, T), times ``scale`` (for patch matching)."""
    return control[..., len(model.labels):, :] * scale


# --- per-level data: flat tensors, windows gathered for a batch of crops ------------------------------------

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

    def unflat(self) -> list[torch.Tensor]:
        """The sequences, as CPU copies (for a checkpoint)."""
        return [self.data[:, o:o + n].cpu().clone() for o, n in zip(self.offsets.tolist(), self.lengths.tolist())]


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
        self.end_weight = 0.0  # the end channel's weight in patch matching (``patch_end``; 0: none) ...
        self.end_frames = 1.0  # ... and its length scale, in this level's frames
        self.recall_memory: losses.RecallMemory | None = None  # recall over the last steps (``recall_memory``)
        self.pool_key: list = []  # pool key of each clip (its dominant label; one pool when unlabelled)
        # label mixing (``label_mix`` > 0): per clip, controls whose label switches mid-sequence (at this level) and,
        # above level 0, samples of the levels below made under them; entry e belongs to clip e // mix_per_clip
        self.mix_control = None
        self.mix_bank = None
        self.mix_per_clip = 0

    def make_pools(self, model: MotionModel, size: int, scale: float = 1.0, end: float = 0.0,
                   end_seconds: float = 1.0) -> None:
        """Real patches of ``size`` frames at this level, pooled by the clips' dominant label; with continuous
        control, each patch carries its control (times ``scale``) so a generated patch is matched to real patches
        made under a similar control; with ``end`` > 0, how near it lies to its clip's end (:meth:`end_channel`)."""
        keys = [dominant_label(c) for c in model.clips]
        self.pool_key = keys
        seqs = [self.real.data[:, o:o + n] for o, n in zip(self.real.offsets.tolist(), self.real.lengths.tolist())]
        if model.control_spec.continuous:  # match patches in (motion, continuous control) space
            ctrl = [control_part(model, self.control.data[:, o:o + n], scale)
                    for o, n in zip(self.control.offsets.tolist(), self.control.lengths.tolist())]
            seqs = [torch.cat([x, c]) for x, c in zip(seqs, ctrl)]
        self.end_weight = float(end)
        if self.end_weight > 0:
            # this level's frames per second of clip as its clips were resampled (within 0.4 % of
            # model.level_fps; kept so that models trained with it stay bit for bit)
            level_fps = model.fps * float(self.n.sum()) / float(sum(model.clip_lengths))
            self.end_frames = max(float(end_seconds) * level_fps, 1e-3)
            seqs = [torch.cat([x, self.end_channel(torch.tensor([c]), torch.arange(n)[None])[0].to(x.device)])
                    for c, (x, n) in enumerate(zip(seqs, self.n.tolist()))]
        self.patch_size = min(size, int(self.n.min()))  # a crop is never shorter than the shortest clip
        self.clip_patches = [losses.patches(x[None], self.patch_size) for x in seqs]
        for k in sorted(set(keys)):
            self.pools[k] = torch.cat([p for p, kk in zip(self.clip_patches, keys) if kk == k])

    def end_channel(self, clip: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """(B, 1, n): how near frames (B, n) of clips (B,) lie to their clip's end, ``exp(-d / end_frames)`` times
        the weight (all of it on the last frame): patch matching then pairs a crop at a clip's end with that end."""
        last = (self.n[clip] - 1)[:, None].to(frames.dtype)
        d = (last - frames).clamp(min=0).to(torch.float32)[:, None]
        return torch.exp(-d / self.end_frames) * self.end_weight

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
        """The reconstructions of the clips by the frozen levels below."""
        with torch.no_grad():
            self.rec_below = Flat([model.reconstruct(c, stop_level=self.level - 1)[-1][0]
                                   for c in range(len(model.clip_lengths))])

    def state(self) -> dict:
        """The bank (and the mixed-label entries) as plain CPU tensors, for a checkpoint."""
        out = dict(bank=None, bank_clip=None)
        if self.recall_memory is not None:
            out.update(recall_memory=self.recall_memory.state())
        if self.bank is not None:
            out.update(bank=self.bank.unflat(), bank_clip=self.bank_clip.clone())
        if self.mix_control is not None:
            out.update(mix_per_clip=self.mix_per_clip, mix_control=self.mix_control.unflat(),
                       mix_bank=None if self.mix_bank is None else self.mix_bank.unflat())
        return out

    def restore(self, state: dict, device) -> None:
        """Take back the bank (and the mixed-label entries) of a checkpoint's :meth:`state`."""
        if state.get("recall_memory") is not None:
            self.recall_memory = losses.RecallMemory(0)
            self.recall_memory.restore(state["recall_memory"], device)
        if state.get("bank") is not None:
            self.bank = Flat([x.to(device) for x in state["bank"]])
            self.bank_clip = state["bank_clip"]
        if state.get("mix_control") is not None:
            self.mix_per_clip = int(state["mix_per_clip"])
            self.mix_control = Flat([x.to(device) for x in state["mix_control"]])
            if state.get("mix_bank") is not None:
                self.mix_bank = Flat([x.to(device) for x in state["mix_bank"]])

    def patch_keys(self, b: Batch, count: int, num_labels: int) -> torch.Tensor:
        """Pool key of the ``count`` patches of every generated crop, flattened (B * count,): its clip's; a patch
        of a mixed-label crop takes the label its control mostly carries."""
        key = torch.tensor([self.pool_key[c] for c in b.clip.tolist()])[:, None].expand(-1, count)
        if b.mixed is not None:
            lab = b.ctrl_fake[:, :num_labels].unfold(-1, self.patch_size, 1).mean(-1).argmax(1).cpu()  # (B, P)
            key = torch.where(b.mixed[0][:, None], lab, key)
        return key.flatten()

    def whole_crops(self, b: Batch) -> torch.Tensor:
        """(B,) bool: crops that are a whole clip and keep its label (per-sample recall asks them for every patch
        of their clip)."""
        whole = self.n[b.clip] <= b.n
        if b.mixed is not None:
            whole &= ~b.mixed[0]
        return whole


# --- batches and the generator's inputs -------------------------------------------------------------------------

def _inner(x: torch.Tensor | None, margin: int) -> torch.Tensor | None:
    return None if x is None else x[..., margin:x.shape[-1] - margin]


@dataclass
class Batch:
    """Random crops of the clips at one level and what a step reads of them."""

    clip: torch.Tensor              # (B,) clip of each crop
    n: int                          # frames per crop
    frames: torch.Tensor            # (B, n) the crop's frames
    padded: torch.Tensor            # (B, n + 2m) ... with the generator's margins
    margin: int                     # m
    real: torch.Tensor              # (B, C, n) real features on the crops
    ctrl_pad: torch.Tensor | None = None       # (B, K, n + 2m) the clips' control (None without control)
    ctrl_fake_pad: torch.Tensor | None = None  # ... the generated crops' (a mixed entry's where ``mixed`` says)
    mixed: tuple[torch.Tensor, torch.Tensor] | None = None  # label mixing: (which crops (B,), mixed entry (B,))

    @property
    def ctrl(self) -> torch.Tensor | None:
        """(B, K, n) control of the real crops."""
        return _inner(self.ctrl_pad, self.margin)

    @property
    def ctrl_fake(self) -> torch.Tensor | None:
        """(B, K, n) control of the generated crops."""
        return _inner(self.ctrl_fake_pad, self.margin)

    def first(self, k: int) -> Batch:
        """The first ``k`` crops, unmixed (the reconstruction path)."""
        ctrl = None if self.ctrl_pad is None else self.ctrl_pad[:k]
        return replace(self, clip=self.clip[:k], frames=self.frames[:k], padded=self.padded[:k], real=self.real[:k],
                       ctrl_pad=ctrl, ctrl_fake_pad=ctrl, mixed=None)


def sample_batch(data: LevelData, batch: int, crop: int, margin: int, generator: torch.Generator,
                 label_mix: float = 0.0, end_crops: float = 0.0) -> Batch:
    """Random crops: clip of each item (chance ~ its length), first frame, the frames with margins; with
    ``end_crops`` > 0, about that share of them end where their clip ends; with ``label_mix`` > 0, about that
    share take a random mixed-label entry of their clip (its control and, above level 0, its sample of the levels
    below)."""
    n = int(min(crop, int(data.n.min())))
    weights = (data.n - n + 1).double()
    clip = torch.multinomial(weights, batch, replacement=True, generator=generator)
    start = (torch.rand(batch, generator=generator) * (data.n[clip] - n + 1)).long()
    if end_crops > 0:
        start = torch.where(torch.rand(batch, generator=generator) < float(end_crops), data.n[clip] - n, start)
    frames = start[:, None] + torch.arange(n)[None]
    padded = start[:, None] + torch.arange(-margin, n + margin)[None]
    mixed = None
    if label_mix > 0:
        mask = torch.rand(batch, generator=generator) < float(label_mix)
        pick = (torch.rand(batch, generator=generator) * data.mix_per_clip).long()
        mixed = (mask, clip * data.mix_per_clip + pick)
    b = Batch(clip=clip, n=n, frames=frames, padded=padded, margin=margin, real=data.real.window(clip, frames),
              mixed=mixed)
    if data.control is not None:
        b.ctrl_pad = b.ctrl_fake_pad = data.control.window(clip, padded)
        if mixed is not None:
            b.ctrl_fake_pad = torch.where(mixed[0].to(b.ctrl_pad.device)[:, None, None],
                                          data.mix_control.window(mixed[1], padded), b.ctrl_pad)
    return b


def steady_travel(b: Batch, share: float, skip: int, labels: int, width: int, generator: torch.Generator) -> None:
    """Path control: about ``share`` of the crops after the first ``skip`` (those train the reconstruction) see
    their travel averaged once more, over ``width`` frames (ends held), for the real and the generated crop alike
    (in place). A clip's 1 s-averaged travel still carries a trace of its steps; under a steady control (a straight
    path at an even speed) the model must step, and plant its feet, without that rhythm. A moving average, not the
    crop's mean: at the coarse levels a crop spans a whole clip, whose starts, stops and turns must stay."""
    if share <= 0 or b.ctrl_pad is None or width <= 1:
        return
    pick = torch.rand(len(b.clip), generator=generator) < float(share)
    pick[:skip] = False
    if not bool(pick.any()):
        return
    sel = pick.to(b.ctrl_pad.device)[:, None, None]
    for t in {id(b.ctrl_pad): b.ctrl_pad, id(b.ctrl_fake_pad): b.ctrl_fake_pad}.values():
        travel = t[:, labels:]
        steadier = F.avg_pool1d(F.pad(travel, (width // 2, (width - 1) // 2), mode="replicate"), width, stride=1)
        t[:, labels:] = torch.where(sel, steadier, travel)


def crop_noise(model: MotionModel, data: LevelData, b: Batch, generator: torch.Generator) -> torch.Tensor:
    """Noise at this level's amplitude for the crops' padded windows (B, C, n + 2m), zero on frames outside
    their sequence: the quiet margin tells the generator where a motion starts and ends."""
    inside = ((b.padded >= 0) & (b.padded < data.n[b.clip][:, None])).to(torch.float32)[:, None, :]
    return model.noise(data.level, b.padded.shape[0], b.n, generator) * inside.to(model.device)


def random_inputs(model: MotionModel, data: LevelData, b: Batch, generator: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """The random path's generator input (B, C, n + 2m), its base (the upsampled sample of the levels below,
    (B, C, n); None at level 0) and the noise in the input: noise at level 0; above, a bank sample of each crop's
    clip (a mixed entry's sample where the crop is mixed), upsampled, plus noise."""
    m = model.margin
    if data.level == 0:
        noise = crop_noise(model, data, b, generator)
        return noise, None, noise
    # one bank sample of each item's clip (bank entries are grouped by clip)
    counts = torch.bincount(data.bank_clip, minlength=len(data.n))[b.clip]
    pick = (torch.rand(len(b.clip), generator=generator) * counts).long()
    full = data.bank.upsampled(torch.searchsorted(data.bank_clip, b.clip) + pick, data.n[b.clip], b.padded)
    if b.mixed is not None and data.mix_bank is not None:
        mask, entry = b.mixed
        mixed = data.mix_bank.upsampled(entry, data.n[b.clip], b.padded)
        full = torch.where(mask.to(full.device)[:, None, None], mixed, full)
    noise = crop_noise(model, data, b, generator)
    return full + noise, full[..., m:b.padded.shape[1] - m], noise


def reconstruction_inputs(model: MotionModel, data: LevelData, b: Batch) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The reconstruction path's generator input (B, C, n + 2m) and base (B, C, n): ``z*`` at level 0 (no base),
    above the levels below's reconstruction of the clip, upsampled (no noise)."""
    m = model.margin
    if data.level == 0:
        zs = Flat([z.to(model.device) for z in model.z_star])
        return zs.window(b.clip, b.padded + m), None  # z* covers the padded clip: frame f sits at column f + m
    full = data.rec_below.upsampled(b.clip, data.n[b.clip], b.padded)
    return full, full[..., m:b.padded.shape[1] - m]
