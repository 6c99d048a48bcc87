"""Sampling from a trained model: :func:`load_model` and :func:`generate` (torch is imported here, lazily by
callers: importing :mod:`mrgen_core` does not import this module)."""
from __future__ import annotations

import math
import os
from contextlib import contextmanager

import numpy as np
import torch

from .checkpoint import load_checkpoint
from .control import fit_length, parse_schedule, schedule_end, schedule_onehot
from .errors import MrgenError
from .limits import MAX_FRAMES, check_frames
from . import features as feat, path_control
from .cleanup import cleanup_feet
from .clip_codes import (groups_of, label_indices, loop_code, public_labels, public_track, resolve, tour,
                         uses_clip_codes)
from .features import Start
from .model.pyramid import MotionModel
from .motion import Motion


#: The shipped default model (CMU clips, one label per clip; recipe in training/recipes/default_model.sh).
DEFAULT_MODEL = os.path.join(os.path.dirname(__file__), "models", "default.pt")


@contextmanager
def _threads(n: int | None):
    """Run torch on ``n`` threads within the block (unchanged if None)."""
    if not n:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def load_model(path: str | os.PathLike = "default", device: str = "cpu") -> MotionModel:
    """Load a model file for sampling (:class:`~mrgen_core.errors.ModelFileError` if it is not a usable one);
    ``"default"`` is the shipped default model."""
    if str(path) == "default":
        path = DEFAULT_MODEL
    if device == "cuda" and not torch.cuda.is_available():
        raise MrgenError("device cuda: no CUDA device is available; use cpu")
    model, _ = load_checkpoint(path, device=device)
    return model


def _frames(model: MotionModel, seconds, frames, schedule) -> int:
    """Frames to generate, within :data:`~mrgen_core.limits.MAX_FRAMES` (checked before anything is allocated)."""
    if frames is not None:
        n, what = float(frames), "frames"
    elif seconds is not None:
        n, what = round(float(seconds) * model.fps), f"--seconds {seconds:g}"
    elif schedule is not None and schedule_end(schedule) is not None:
        n, what = round(schedule_end(schedule) * model.fps), f"the --labels schedule (to {schedule_end(schedule):g} s)"
    else:
        n, what = (model.clip_lengths[0] if model.clips else round(10 * model.fps)), "the model's first clip"
    if not math.isfinite(n) or n > MAX_FRAMES:
        check_frames(MAX_FRAMES + 1 if not math.isfinite(n) else int(n), what, model.fps)
    n = int(n)
    if n < 1:
        raise MrgenError(f"motion length must be at least one frame, got {n} "
                         f"({seconds if seconds is not None else frames} {'s' if frames is None else 'frames'})")
    return n


def label_control(model: MotionModel, labels: str | list | None, n: int
                  ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """One-hot control (n, K) and per-frame label indices for a schedule string (or a single label name, or an
    already parsed schedule); a label of a model trained with label codes plays a tour of its clips
    (:func:`mrgen_core.clip_codes.resolve`, seed 0; :func:`generate` resolves each sample's own first)."""
    if not model.labels:
        if labels:
            raise MrgenError(f"this model was trained without labels; cannot use --labels {labels!r}")
        return None, None
    schedule = (labels if isinstance(labels, list) else parse_schedule(labels)) if labels else \
        [(0.0, None, public_labels(model)[0])]
    for _, _, name in schedule:
        label_indices(model, name)  # a label, a group of label codes, or a code; else a one-line error
    oh = schedule_onehot(resolve(model, schedule, n, 0), model.labels, n, model.fps)
    return oh, oh.argmax(axis=1)


def audio_control(model: MotionModel, audio=None, wavlm=None, model_path=None) -> np.ndarray | None:
    """The per-frame control features of a speech file for a model trained with audio (None without ``audio``),
    checked against what the model was trained on: MrgenError for audio given to a model without audio control, a
    model that follows audio given none, or WavLM features where MFCC ones are wanted (or the other way)."""
    spec = model.control_spec
    if path_control.follows_paths(model):
        if audio or wavlm:
            raise MrgenError("this model follows paths (trained with --path-control), not audio: leave out --audio",
                             model_path)
        return None
    if spec.source == "wavlm" and audio and not wavlm:
        raise MrgenError("this model follows WavLM speech features: give the local WavLM checkpoint folder it was "
                         "trained with (--wavlm DIR; in Blender, 'WavLM checkpoint' in the MRGen add-on preferences)",
                         model_path)
    if wavlm and spec.continuous and spec.source != "wavlm":
        raise MrgenError("this model was trained on MFCC audio features, not WavLM: leave out --wavlm", model_path)
    if not audio:
        if spec.continuous:
            raise MrgenError("this model follows audio: give a speech WAV file (--audio WAV)", model_path)
        return None
    if not spec.continuous:
        raise MrgenError("this model was trained without audio (train it with --audio)", model_path)
    from .audio import control_features

    control, _ = control_features(audio, model.fps, wavlm=wavlm)
    if control.shape[1] != spec.continuous:
        raise MrgenError(f"the audio features have {control.shape[1]} channels, the model expects "
                         f"{spec.continuous} (another WavLM checkpoint?)", wavlm or audio)
    return control


def build_control(model: MotionModel, n: int, labels: str | None = None, control: np.ndarray | None = None,
                  seed: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The full-rate control (n, K) of a request, and per-frame label indices (or None). A model trained with path
    control and given none travels as its clips of the label do (from a point drawn by ``seed``, if given)."""
    oh, idx = label_control(model, labels, n)
    spec = model.control_spec
    if control is not None and not spec.continuous:
        raise MrgenError("this model takes no continuous control features")
    if control is not None:
        control = fit_length(np.asarray(control, dtype=np.float64), n)
    elif path_control.follows_paths(model):  # no path: travel as the label's training clips do
        control = path_control.free_control(model, idx, n, seed)
    return spec.build(n, onehot_labels=oh, continuous=control), idx


def finish(model: MotionModel, x: torch.Tensor, *, start: Start | None, name: str, labels: np.ndarray | None,
           cleanup: bool) -> Motion:
    """Decode one normalised (C, T) output; with ``cleanup``, pin the feet on the model's predicted contacts."""
    motion = model.to_motion(x, start=start, name=name)
    if labels is not None:
        labels, vocab = public_track(model, labels)
        motion = motion.copy(labels=labels, vocab=vocab)
    if cleanup:
        raw = model.denormalize(x.detach().float()).T.cpu().double().numpy()
        motion = cleanup_feet(motion, contacts=feat.contacts_of(raw))
    return motion


def noise_mode(model: MotionModel, noise: str = "auto") -> str:
    """``"coarsest"`` or ``"all"``; ``"auto"``: every level for a model trained with path control (its steps come
    from the noise of the levels fast enough to hold them: with noise at the coarsest level only, a steady path
    gives them nothing to step by and the body glides), else the coarsest only."""
    if noise not in ("all", "coarsest", "auto"):
        raise MrgenError(f"noise must be 'auto', 'all' or 'coarsest', got {noise!r}")
    if noise == "auto":
        return "all" if path_control.follows_paths(model) else "coarsest"
    return noise


def _travel_controls(model: MotionModel, n: int, labels: str | None, idx: np.ndarray | None, lengths: list[int],
                     seed: int, loop: bool) -> list[torch.Tensor]:
    """Per-level controls of one free sample of a path-controlled model: its labels' travel from points drawn by
    ``seed``; a loop's averaged (so the control is periodic too); with labels, every label's own travel appended
    (lanes: each label's run of the crossfade at a switch takes its own, :mod:`mrgen_core.model.crossfade`)."""
    k = len(model.labels)
    travel, lanes = path_control.free_control(model, idx, n, seed, lanes=True)
    own, _ = build_control(model, n, labels, travel)
    if loop:
        own[:, k:] = own[:, k:].mean(axis=0)
    elif k:
        step = path_control.CHANNELS
        own = np.concatenate([own] + [model.control_spec.normalize(lanes[:, j:j + step])
                                      for j in range(0, lanes.shape[1], step)], axis=1)
    return model.control_levels(own, lengths, crossfade=True)


@torch.no_grad()
def generate(model: MotionModel, seconds: float | None = None, *, frames: int | None = None, seed: int = 0,
             labels: str | None = None, num: int = 1, progress=None, control: np.ndarray | None = None,
             noise: str = "auto", noise_scale: float = 1.0, start: Start | None = None,
             cleanup: bool = True, threads: int = 1, loop: bool = False, keys=None) -> list[Motion]:
    """``num`` new motions of ``seconds`` (or ``frames``) at the model's frame rate.

    ``labels``: a schedule ``"walk:0-4,jump:4-6"`` (seconds; gaps take the nearest label) or one label name;
    default the model's first label, except that a free sample of a model trained with clip codes visits every
    clip in turn (:func:`mrgen_core.clip_codes.tour`); a loop follows one clip, picked by the seed (a label of a
    model trained with label codes too: :func:`mrgen_core.clip_codes.loop_code`). ``control``: continuous
    per-frame control (T, F) for models trained with it. ``noise``: ``"coarsest"`` (only level 0 draws noise,
    GANimator's evaluation protocol; the finer levels add detail deterministically), ``"all"`` (every level adds
    noise: more variation in the detail) or ``"auto"`` (default: :func:`noise_mode`).
    Sample ``k`` uses seed ``seed + k``, so it does not depend on ``num``. ``progress(fraction, message)``.
    ``cleanup``: pin the feet where the model predicts contact (:func:`mrgen_core.cleanup.cleanup_feet`).
    ``threads``: torch threads while sampling (one is fastest for these small convolutions, and safe on a busy
    machine, where oversubscribed threads slow sampling down several times).
    ``loop``: one period of a seamless loop (:mod:`mrgen_core.directing`); ``keys``: a
    :class:`mrgen_core.keys.KeyPoses` to hit.
    """
    if num < 1:
        raise MrgenError(f"--num must be at least 1, got {num}")
    noise = noise_mode(model, noise)
    schedule = parse_schedule(labels) if labels else None
    n = _frames(model, seconds, frames, schedule)
    lengths = model.lengths(n)
    asked = [labels]  # one request for every sample, or (clip codes, free samples) a tour of the clips each
    if not labels and uses_clip_codes(model):  # a loop follows one clip, picked by the seed (loop_code)
        asked = [[(0.0, None, loop_code(model, None, int(seed) + k))] if loop else tour(model, n, int(seed) + k)
                 for k in range(num)]
    elif groups_of(model):  # label codes: each sample tours its labels' clips in its own order (a loop: one clip)
        wanted = schedule or [(0.0, None, public_labels(model)[0])]
        if loop:
            asked = [[(a, b, loop_code(model, lab, int(seed) + k)) for a, b, lab in wanted] for k in range(num)]
        else:
            asked = [resolve(model, wanted, n, int(seed) + k) for k in range(num)]
    own = (lambda k: k) if len(asked) > 1 else (lambda k: 0)  # sample k's request
    if control is None and path_control.follows_paths(model):  # each sample travels its own way
        idxs = [label_control(model, a, n)[1] for a in asked]
        controls = [_travel_controls(model, n, asked[own(k)], idxs[own(k)], lengths, int(seed) + k, loop)
                    for k in range(num)]
    else:
        built = [build_control(model, n, a, control) for a in asked]
        idxs = [i for _, i in built]
        per_request = [model.control_levels(full, lengths, crossfade=True) for full, _ in built]
        controls = [per_request[own(k)] for k in range(num)]
    idx = idxs[0]
    pins = constrain = None
    if loop or keys is not None:
        from . import directing

        if loop and keys is not None:
            raise MrgenError("--loop and --keys cannot be combined")
        if loop:
            directing.check_loop(model, n, idx)
        else:
            pins = keys.pins(n, model.fps)
            constrain = directing.pin_constraint(model, pins, lengths)
    model.eval()
    noise_levels = None if noise == "all" else [0]
    gens = [torch.Generator().manual_seed(int(seed) + k) for k in range(num)]
    outs = [None] * num
    with _threads(threads):
        for i in range(model.num_levels):
            # one sample at a time: a batch would change the float rounding, and sample k must not depend on num
            for k in range(num):
                outs[k] = model.synthesize(lengths, controls[k], generator=gens[k], noise_levels=noise_levels,
                                           noise_scale=noise_scale, start_level=i, stop_level=i, base=outs[k],
                                           crossfade=True, circular=loop, constrain=constrain)[-1]
            if progress is not None:
                progress((i + 1) / model.num_levels, f"level {i + 1}/{model.num_levels}")
    if loop or pins is not None:
        return [directing.finish(model, out[0], start=start, name=f"{'loop' if loop else 'keys'}_{int(seed) + k}",
                                 labels=idxs[own(k)], cleanup=cleanup, loop=loop, pins=pins)
                for k, out in enumerate(outs)]
    return [finish(model, out[0], start=start, name=f"sample_{int(seed) + k}", labels=idxs[own(k)], cleanup=cleanup)
            for k, out in enumerate(outs)]


@torch.no_grad()
def reconstruct(model: MotionModel) -> list[Motion]:
    """``G(z*)`` of every training clip, decoded from the clip's own start (how well the model fits its data)."""
    model.eval()
    out = []
    for c, clip in enumerate(model.clips):
        x = model.reconstruct(c)[-1][0]
        out.append(model.to_motion(x, start=Start(*clip["start"]), name=f"{clip['name']}_reconstruction"))
    return out
