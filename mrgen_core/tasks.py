"""The tasks behind both front doors (the ``mrgen`` command line and the worker the Blender add-on talks to):
generate, blend, train and evaluate, each from plain values (paths, numbers, label strings) to files.

Every task takes ``progress(fraction, message)`` and ``should_stop()`` callbacks (both optional) and returns plain
results: the files written, their frame rate and lengths, what the model is. A task that is asked to stop raises
:class:`Cancelled` at its next progress point (between levels or variations); training instead stops after the
current step and saves a checkpoint that ``resume`` continues. Bad input raises
:class:`~mrgen_core.errors.MrgenError` before any output is written; every file is written atomically.

Importing this module does not import torch (the model code is imported inside the tasks).
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .atomic import is_temporary, writing
from . import limits
from .control import PATH_SOURCE, follows_paths
from .clip_codes import public_labels, uses_clip_codes
from .errors import MrgenError

Progress = Callable[[float, str], None]
ShouldStop = Callable[[], bool]
PathLike = str | os.PathLike

#: Motion files :func:`evaluate` reads from a samples folder.
MOTION_SUFFIXES = (".npz", ".bvh")

log = logging.getLogger("mrgen.tasks")


class Cancelled(Exception):
    """Raised inside a task when its ``should_stop()`` says so."""


@dataclass
class MotionFiles:
    """What :func:`generate` and :func:`blend` wrote: one file per variation."""

    files: list[str]
    fps: float | None
    frames: list[int]
    model_info: dict
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainedModel:
    """What :func:`train` wrote: the model file, and whether ``should_stop()`` ended the run early."""

    model: str
    stopped_early: bool

    def as_dict(self) -> dict:
        return asdict(self)


def stop_point(should_stop: ShouldStop | None) -> None:
    """Raise :class:`Cancelled` when ``should_stop()`` is true."""
    if should_stop is not None and should_stop():
        raise Cancelled()


def checked(progress: Progress | None, should_stop: ShouldStop | None) -> Progress:
    """``progress`` that is first a :func:`stop_point` (either may be None)."""
    def report(fraction: float, message: str = "") -> None:
        stop_point(should_stop)
        if progress is not None:
            progress(fraction, message)
    return report


# --- models -----------------------------------------------------------------------------------------------------
class ModelCache:
    """One loaded model kept in memory, reloaded when its file changes (the worker's models between requests)."""

    def __init__(self):
        self._key: tuple | None = None
        self._model: Any = None

    def get(self, path: PathLike, device: str = "cpu"):
        from . import sampling

        path = sampling.DEFAULT_MODEL if str(path) == "default" else str(Path(path).expanduser())
        try:
            stamp = os.stat(path).st_mtime_ns
        except OSError:
            raise MrgenError("model file not found", path) from None
        key = (path, device, stamp)
        if key != self._key:
            self._key, self._model = None, None  # keep one model in memory
            t0 = time.perf_counter()
            self._model = sampling.load_model(path, device=device)
            self._key = key
            log.info("loaded %s on %s in %.2f s", path, device, time.perf_counter() - t0)
        return self._model


def load_model(model: PathLike, device: str = "cpu", models: ModelCache | None = None):
    """The model file ``model`` (``"default"``: the shipped one), through ``models`` when given."""
    if models is not None:
        return models.get(model, device)
    from . import sampling

    return sampling.load_model(model, device=device)


def model_info(model, path: PathLike) -> dict:
    """What a client needs to know about a loaded model (plain values)."""
    labels = public_labels(model) if getattr(model, "labels", None) else ()
    return {"model": str(path), "labels": [str(x) for x in labels],
            "fps": float(getattr(model, "fps", 0) or 0), "num_levels": int(getattr(model, "num_levels", 0) or 0),
            "clip_names": [str(x) for x in (getattr(model, "clip_names", ()) or ())],
            "clip_lengths": [int(x) for x in (getattr(model, "clip_lengths", ()) or ())],
            "audio": audio_kind(model), "path_control": follows_paths(model),
            "clip_codes": uses_clip_codes(model)}


def audio_kind(model) -> str:
    """What audio a model follows: "mfcc" (mrgen's own features), "wavlm", or "" (none)."""
    spec = getattr(model, "control_spec", None)
    if spec is None or not spec.continuous or follows_paths(model):
        return ""
    return "wavlm" if spec.source == "wavlm" else "mfcc"


# --- generate and blend -----------------------------------------------------------------------------------------
def _outputs(outputs: Sequence[PathLike], inputs: Sequence[PathLike | None] = ()) -> list[Path]:
    """The output paths, checked before any work: each of a motion file type, writable, none over an input or
    another output, at most ``limits.MAX_NUM``."""
    from .motion_files import motion_file_type

    paths = [Path(p) for p in outputs]
    if not paths:
        raise MrgenError("--num must be at least 1, got 0")
    check_num(len(paths))
    for p in paths:
        motion_file_type(p)
        limits.output_file(p)
    limits.distinct_outputs(paths)
    limits.not_over_inputs(paths, [i for i in inputs if i and str(i) != "default"])
    return paths


def check_num(num) -> int:
    """``--num`` within 1..``limits.MAX_NUM``."""
    return limits.finite_number(num, "--num", 1, limits.MAX_NUM, integer=True)


def _check_seconds(seconds: float | None) -> None:
    if seconds is not None:
        limits.finite_number(seconds, "--seconds", 0.0, limits.MAX_SECONDS, lo_open=True)


def _check_frames(frames: int | None) -> None:
    if frames is not None:
        limits.finite_number(frames, "frames", 1, limits.MAX_FRAMES, integer=True)


def _check_schedules(**schedules: str | None) -> None:
    """Parse every label schedule given; MrgenError naming its option (``--labels``, ...)."""
    from .control import parse_schedule

    for name, text in schedules.items():
        if text is None:
            continue
        if not isinstance(text, str):
            raise MrgenError(f"--{name.replace('_', '-')} must be a label or a schedule string")
        try:
            parse_schedule(text)
        except MrgenError as e:
            raise MrgenError(f"--{name.replace('_', '-')}: {e.message}") from None


def _write(motions, outputs: list[Path]) -> None:
    from .motion_files import save_motion

    for m, path in zip(motions, outputs):
        save_motion(m, path)


def _in_batches(make, outputs: list[Path], report: Progress, model, model_path: PathLike) -> MotionFiles:
    """Make and write the variations ``limits.NUM_BATCH`` at a time (``make(first, count, progress)`` returns
    motions ``first .. first + count - 1``), so memory does not grow with their number."""
    frames, fps = [], None
    n = len(outputs)
    for first in range(0, n, limits.NUM_BATCH):
        count = min(limits.NUM_BATCH, n - first)
        part = lambda f, msg="", a=first, c=count: report((a + f * c) / n, msg)  # noqa: E731
        motions = make(first, count, part)
        _write(motions, outputs[first:first + count])
        frames += [m.num_frames for m in motions]
        fps = fps if fps is not None else (motions[0].fps if motions else None)
    return MotionFiles(files=[str(p) for p in outputs], fps=fps, frames=frames,
                       model_info=model_info(model, model_path))


def generate(model: PathLike, outputs: Sequence[PathLike], *, seconds: float | None = None,
             frames: int | None = None, seed: int = 0, labels: str | None = None, noise: str = "auto",
             audio: PathLike | None = None, wavlm: PathLike | None = None, wavlm_if_needed: bool = False,
             cleanup: bool = True, loop: bool = False, cycles: int | None = None, keys: PathLike | None = None,
             key_frames: str | Sequence[int] | None = None, key_root: bool = False, mapping: PathLike | None = None,
             root: str = "keep", path: PathLike | dict | list | None = None, speed: float | None = None,
             facing: str | None = None, ease: float | None = None, device: str = "cpu",
             models: ModelCache | None = None, progress: Progress | None = None,
             should_stop: ShouldStop | None = None) -> MotionFiles:
    """New motion from ``model``, one variation per path of ``outputs`` (.npz or .bvh; variation ``k`` uses seed
    ``seed + k``).

    Length: ``frames``, else ``seconds``, else the speech's length with ``audio`` (a WAV for models trained with
    audio), else ``cycles`` periods (loops), else the keys motion's length (``keys``), else the end of the
    ``labels`` schedule, else the model's first training clip. ``wavlm``: the local WavLM checkpoint folder of
    models trained on its features; ``wavlm_if_needed`` drops it for other models (a client that sends its
    preference before it knows the model) instead of refusing it.

    ``loop``: one period of a seamless loop (``cycles``: that many periods of the label's training clips).
    ``keys`` (.npz / .bvh; a BVH rig without a preset needs ``mapping``) with ``key_frames``: hit the poses of that
    motion at those frames (``key_root``: its root positions and headings too). ``root``: ``keep`` or
    ``in-place`` (no horizontal root travel).

    ``path`` (a .json / .csv / .npz / .bvh file, or the parsed JSON of one): follow these floor waypoints
    (:mod:`mrgen_core.path_follow`, the model-agnostic warp; an untimed path takes ``seconds`` or ``speed`` m/s, else
    the gait's own speed), facing ``facing`` (``path``, degrees or a look-at ``X,Y``:
    :func:`mrgen_core.paths.parse_facing`), ``ease`` > 0: the path's speed changes (stops, starts) spread over that
    many seconds (:func:`mrgen_core.path_follow.ease_timing`). Warnings (speeds or turns outside the training clips')
    come back in the result.
    """
    outputs = _outputs(outputs, [model, audio, path if isinstance(path, (str, os.PathLike)) else None])
    _check_seconds(seconds)
    _check_frames(frames)
    if path not in (None, ""):
        return _follow_path(model, outputs, path, seconds=seconds, frames=frames, speed=speed, facing=facing,
                            ease=ease, seed=seed, labels=labels, noise=noise, audio=audio, cleanup=cleanup, loop=loop,
                            keys=keys, mapping=mapping, root=root, device=device, models=models,
                            progress=progress, should_stop=should_stop)
    for flag, given in (("--speed", speed is not None), ("--facing", facing not in (None, "", "path")),
                        ("--ease", ease not in (None, 0, 0.0))):
        if given:
            raise MrgenError(f"{flag} goes with --path")
    key_poses = _directions(loop, cycles, seconds, frames, keys, key_frames, key_root, mapping, root)
    from . import sampling

    _check_schedules(labels=labels)  # a bad schedule is refused before the model loads
    report = checked(progress, should_stop)
    report(0.0, "loading model")
    m = load_model(model, device, models)
    if wavlm_if_needed and m.control_spec.source != "wavlm":
        wavlm = None
    control = sampling.audio_control(m, audio or None, wavlm or None, model)
    if control is not None and seconds is None and frames is None:
        frames = len(control)  # as long as the speech
    if cycles is not None and frames is None:
        from .directing import cycles_seconds

        seconds = cycles_seconds(m, cycles, labels or None)
        _check_seconds(seconds)
    if key_poses is not None and seconds is None and frames is None:
        frames = key_poses.default_frames(m.fps)

    def make(first: int, count: int, part: Progress):
        motions = sampling.generate(m, seconds, frames=frames, seed=seed + first, labels=labels or None, num=count,
                                    noise=noise, control=control, cleanup=cleanup, progress=part, loop=loop,
                                    keys=key_poses)
        return _root_mode(motions, root)

    result = _in_batches(make, outputs, report, m, model)
    report(1.0, "written")
    return result


def _follow_path(model, outputs, path, *, seconds, frames, speed, facing, ease, seed, labels, noise, audio, cleanup,
                 loop, keys, mapping, root, device, models, progress, should_stop) -> MotionFiles:
    """generate with ``path``: checked before any work, then :func:`mrgen_core.path_follow.follow`."""
    from .path_follow import check_ease, follow
    from .paths import parse_facing, read_path

    for flag, given in (("--loop", loop), ("--keys", keys), ("--audio", audio), ("--frames", frames is not None),
                        ("--root in-place", root not in (None, "", "keep"))):
        if given:
            raise MrgenError(f"--path cannot be combined with {flag}")
    face = parse_facing(facing)
    ease = check_ease(ease)
    floor = read_path(path, mapping=mapping or None)
    _check_schedules(labels=labels)  # a bad schedule is refused before the model loads

    report = checked(progress, should_stop)
    report(0.0, "loading model")
    m = load_model(model, device, models)
    warnings: list[str] = []

    def make(first: int, count: int, part: Progress):
        motions, said = follow(m, floor, seconds=seconds, speed=speed, facing=face, labels=labels or None,
                               seed=seed + first, num=count, noise=noise, cleanup=cleanup, progress=part, ease=ease)
        warnings.extend(w for w in said if w not in warnings)
        return motions

    result = _in_batches(make, outputs, report, m, model)
    result.warnings = warnings
    report(1.0, "written")
    return result


def _directions(loop, cycles, seconds, frames, keys, key_frames, key_root, mapping, root):
    """Check the loop / key pose / root options of generate before any work; the key poses (or None)."""
    from .keys import KeyPoses
    from .root_motion import check_root_mode

    check_root_mode(root)
    if cycles is not None:
        if not loop:
            raise MrgenError("--cycles goes with --loop")
        if seconds is not None or frames is not None:
            raise MrgenError("give the loop's length as --seconds or as --cycles, not both")
        limits.finite_number(cycles, "--cycles", 1, limits.MAX_FRAMES, integer=True)
    if bool(keys) != (key_frames not in (None, "", [])):
        raise MrgenError("--keys and --key-frames go together (a motion file and the frames of its key poses)")
    if (key_root or mapping) and not keys:
        raise MrgenError(f"{'--key-root' if key_root else '--mapping'} goes with --keys")
    if not keys:
        return None
    if loop:
        raise MrgenError("--loop and --keys cannot be combined")
    return KeyPoses.load(keys, key_frames, with_root=bool(key_root), mapping=mapping or None)


def _root_mode(motions, root: str):
    from .root_motion import apply_root_mode

    return [apply_root_mode(m, root) for m in motions]


def blend(model: PathLike, outputs: Sequence[PathLike], *, source: PathLike | None = None,
          keep_levels: int | str = 2, seed: int = 0, labels: str | None = None, coarse_labels: str | None = None,
          fine_labels: str | None = None, switch_level: int | None = None, seconds: float | None = None,
          cleanup: bool = True, loop: bool = False, keep_frames: str | Sequence | None = None, root: str = "keep",
          device: str = "cpu", models: ModelCache | None = None,
          progress: Progress | None = None, should_stop: ShouldStop | None = None) -> MotionFiles:
    """Blend with ``model``, one variation per path of ``outputs``: with ``source`` (a motion file or one of the
    model's training clips by name), keep its levels below ``keep_levels`` and regenerate the rest
    (:func:`mrgen_core.blending.blend`; short sources are padded and cut back); without, new motion of
    ``seconds`` whose levels below ``switch_level`` follow ``coarse_labels`` and the rest ``fine_labels``.

    ``keep_frames`` (ranges of the source's frames, ``"0-30,200-240"``): keep those frames exactly and regenerate
    between them (``keep_levels`` of the source kept there too; 0: none). ``loop``: a seamless loop with the
    source's kept levels. ``root``: ``keep`` or ``in-place`` (:func:`mrgen_core.blend_directed.blend`).
    """
    outputs = _outputs(outputs, [model, source if source and Path(source).suffix else None])
    _check_seconds(seconds)
    from .root_motion import check_root_mode

    check_root_mode(root)
    directed = loop or keep_frames not in (None, "", [])
    if directed:
        if not source:
            raise MrgenError(f"{'--loop' if loop else '--keep-frames'} in blend needs --source")
        if coarse_labels or fine_labels or switch_level is not None:
            raise MrgenError("control mixing (--coarse-labels, --fine-labels, --switch-level) cannot be combined "
                             "with --loop or --keep-frames")
        if keep_frames not in (None, "", []):
            from .keys import parse_frame_ranges

            parse_frame_ranges(keep_frames)
    elif not source and not (coarse_labels and fine_labels and switch_level is not None):
        raise MrgenError("give --source (to blend a motion) or --coarse-labels, --fine-labels and "
                         "--switch-level (to mix controls)")
    _check_schedules(labels=labels, coarse_labels=coarse_labels, fine_labels=fine_labels)
    if source and Path(source).suffix.lower() in MOTION_SUFFIXES:
        from .motion_files import load_motion

        source = load_motion(source)  # a bad source file is refused before the model loads; read once for all
    report = checked(progress, should_stop)
    report(0.0, "loading model")
    m = load_model(model, device, models)
    from .blend_directed import blend as blend_directed
    from .blending import blend as blend_source, generate_mixed

    def make(first: int, count: int, part: Progress):
        if directed:
            motions = blend_directed(m, source, keep_levels, keep_frames=keep_frames or None, loop=loop,
                                     seed=seed + first, num=count, labels=labels or None, cleanup=cleanup,
                                     progress=part)
        elif source:
            motions = blend_source(m, source, keep_levels, seed=seed + first, num=count, labels=labels or None,
                                   coarse_labels=coarse_labels or None, fine_labels=fine_labels or None,
                                   switch_level=switch_level, cleanup=cleanup, progress=part)
        else:
            motions = generate_mixed(m, seconds, coarse_labels=coarse_labels, fine_labels=fine_labels,
                                     switch_level=switch_level, seed=seed + first, num=count, cleanup=cleanup,
                                     progress=part)
        return _root_mode(motions, root)

    result = _in_batches(make, outputs, report, m, model)
    report(1.0, "written")
    return result


# --- train ------------------------------------------------------------------------------------------------------
def train(clips: Sequence[PathLike], out: PathLike, *, preset: str = "default", settings: Sequence[str] = (),
          labels: PathLike | dict | None = None, label_per_clip: str | Sequence[str] | None = None,
          audio: Sequence[PathLike] | None = None, wavlm: PathLike | None = None, fps: float = 30.0, seed: int = 0,
          device: str = "cpu", resume: PathLike | None = None, quiet: bool = False, procs: int | None = None,
          path_control: bool = False, mirror: bool = False, progress: Progress | None = None,
          should_stop: ShouldStop | None = None) -> TrainedModel:
    """Train a model on ``clips`` (.bvh / .npz) and write it to ``out`` (.pt).

    ``settings``: ``KEY=VALUE`` changes to the preset (:func:`training.presets.parse_setting`). ``labels``: a
    labels file (JSON / CSV) or parsed table; ``label_per_clip``: one label for all clips or one per clip.
    ``audio``: one speech WAV per clip: the model learns to follow its features (MFCC, energy, pitch; with
    ``wavlm``, a local WavLM checkpoint folder, its hidden states). ``resume``: continue a stopped run from its
    checkpoint. ``path_control``: the model learns to follow the clips' own travel (pelvis velocity and turning,
    :mod:`mrgen_core.path_control`), so ``--path`` steers it. ``mirror``: also train on every clip mirrored left to
    right (:mod:`mrgen_core.mirror`; the same as the setting ``mirror=true``). ``progress`` is called as training
    goes; when ``should_stop()`` is true, training stops after the current step and saves a checkpoint
    (``stopped_early`` in the result). ``procs``: data-parallel training processes (None: one per physical core, at
    most the step's crops; a resumed run: as many as before; 1: one process, exactly as before data-parallel
    training; under torchrun: torchrun's), see :mod:`training.distributed`.
    """
    from training.presets import PRESETS, PUBLIC_PRESETS, parse_setting

    if preset not in PRESETS:
        raise MrgenError(f"unknown preset {preset!r}; choose one of {', '.join(PUBLIC_PRESETS)}")
    overrides = dict(parse_setting(item, preset) for item in settings)
    if mirror:
        overrides["mirror"] = True
    if overrides and resume:
        raise MrgenError("--set and --mirror cannot change a run being resumed (its settings are in the checkpoint)")
    if resume and (clips or labels or label_per_clip or audio or wavlm or path_control):
        raise MrgenError("--resume continues a run on its own clips, labels and control: leave out the clips, "
                         "--labels, --label, --audio and --path-control")
    if audio and path_control:
        raise MrgenError("a model follows either speech (--audio) or paths (--path-control), not both")
    if not resume and not clips:
        raise MrgenError("no training clips given (or --resume CKPT to continue a run)")
    if labels and label_per_clip:
        raise MrgenError("give either --labels FILE or --label NAME, not both")
    limits.check_fps(fps)
    if procs is not None:
        limits.finite_number(procs, "--procs", 1, 1 << 16, integer=True)
    if Path(out).suffix.lower() != ".pt":
        raise MrgenError("the model file must end in .pt", out)
    limits.output_file(out, "model file")  # before the work: a run must not end in an unwritable path
    for c in clips:
        limits.input_file(c, "motion", missing="no such file")
    if isinstance(labels, (str, os.PathLike)):
        limits.input_file(labels, "labels", missing="no such labels file", error=MrgenError)
    for a in audio or ():
        limits.input_file(a, "audio", missing="audio file not found")
    if resume:
        limits.input_file(resume, "model", missing="model file not found")
    # the output may replace the run it resumes (atomically), never a clip, labels or audio file
    limits.not_over_inputs([out], [*clips, *(audio or ()), labels if isinstance(labels, (str, os.PathLike))
                                   else None], "model file")
    clips, controls, source = list(clips), None, ""
    if audio:
        if len(audio) != len(clips):
            raise MrgenError(f"give one --audio file per clip: {len(clips)} clip(s), {len(audio)} audio "
                             "file(s)")
        from training.train import load_clip

        from .audio import control_features

        clips = [load_clip(c, fps) for c in clips]  # loaded once: their lengths align the audio
        controls = []
        for m, wav in zip(clips, audio):
            stop_point(should_stop)
            controls.append(control_features(wav, fps, m.num_frames, wavlm))
        source = controls[0][1]
        controls = [c for c, _ in controls]
    elif wavlm:
        raise MrgenError("--wavlm goes with --audio (the speech paired with each clip)")
    elif path_control:
        source = PATH_SOURCE
    from training.train import train as train_model

    outcome: dict = {}
    path = train_model(clips, out, preset=preset, labels=labels, label_per_clip=label_per_clip, seed=seed,
                       device=device, resume=resume, fps=fps, controls=controls, control_source=source,
                       overrides=overrides or None, progress=progress, should_stop=should_stop, quiet=quiet,
                       procs=procs, outcome=outcome)
    return TrainedModel(model=str(path), stopped_early=bool(outcome.get("stopped")))


# --- evaluate ---------------------------------------------------------------------------------------------------
def _load_motion(path: PathLike, fps: float):
    from .motion_files import load_motion

    if not Path(path).is_file():
        raise MrgenError("no such file", path)
    return load_motion(path, fps=fps)


def _model_samples(model: PathLike, reference, samples: int, seed: int, frames: int | None, cleanup: bool,
                   report: Progress, label: str | None = None) -> tuple[list, list, list | None, dict]:
    """Samples of ``model`` (noise at the coarsest level only: GANimator's protocol; at every level for a model
    trained with path control, :func:`mrgen_core.sampling.noise_mode`), the clips to score them
    against, and ``G(z*)`` of every training clip when they are the model's own. A labelled model scored
    against its own clips: one group of samples per label (or ``label`` alone), each scored against the parts of
    the clips that carry its label (returned as ``[(label, samples, refs), ...]`` in place of samples and refs).
    A model trained with clip codes is scored as an unlabelled one: its free samples against all its clips."""
    from . import sampling

    m = sampling.load_model(model)
    fps = float(m.fps)
    vocab = public_labels(m) if getattr(m, "labels", None) else ()
    if label is not None and label not in vocab:
        raise MrgenError(f"--label {label!r}: the model's labels are {', '.join(vocab) or 'none'}", model)
    if reference:
        refs = [_load_motion(c, fps) for c in reference]
    else:
        get = getattr(m, "training_motions", None)
        if get is None:
            raise MrgenError("this model does not carry its training clips; name them with --reference CLIP ...",
                             model)
        refs = list(get())
    refs = [r if abs(r.fps - fps) < 1e-6 else r.resample(fps) for r in refs]
    recs = None
    reconstruct = getattr(sampling, "reconstruct", None)  # G(z*) of every training clip, in training_motions order
    if reconstruct is not None and not reference:
        recs = list(reconstruct(m))
    protocol = {"model": str(model), "seed": seed}
    if not reference and ((len(vocab) > 1 and not uses_clip_codes(m)) or label is not None):
        groups = []
        names = [label] if label is not None else list(vocab)
        for k, name in enumerate(names):
            parts = _label_parts(refs, name)
            if not parts:
                continue
            n = frames or 2 * sum(r.num_frames for r in parts)
            out = sampling.generate(m, frames=n, seed=seed, num=samples, noise="auto", cleanup=cleanup,
                                    labels=name, progress=lambda f, _="", k=k: report(
                                        0.5 * (k + f) / len(names), f"sampling {name}"))
            groups.append((name, out, parts))
        if not groups:
            raise MrgenError("no labelled part of the training clips is long enough to score "
                             f"({', '.join(names)})", model)
        return groups, refs, recs, {**protocol, "labels": [g[0] for g in groups],
                                    "frames": {g[0]: g[1][0].num_frames for g in groups}}
    frames = frames or 2 * sum(r.num_frames for r in refs)
    out = sampling.generate(m, frames=frames, seed=seed, num=samples, noise="auto", cleanup=cleanup,
                            labels=label, progress=lambda f, _="": report(0.5 * f, "sampling"))
    return out, refs, recs, {**protocol, "frames": frames, **({"labels": [label]} if label else {})}


def _label_parts(refs, name: str) -> list:
    """The runs of frames labelled ``name`` in the clips, each at least the metrics' longest window."""
    from .metrics import COVERAGE_WINDOW, LOCAL_WINDOW, SEGMENT_MIN

    need = max(COVERAGE_WINDOW, LOCAL_WINDOW, SEGMENT_MIN)
    parts = []
    for r in refs:
        names = r.label_names()
        start = None
        for t, n in enumerate([*names, None]):
            if n == name and start is None:
                start = t
            elif n != name and start is not None:
                if t - start >= need:
                    parts.append(r.slice(start, t))
                start = None
    return parts


def _merge_labels(results: list[tuple[str, dict]], refs, recs) -> dict:
    """One result from per-label ones: coverage weighted by each label's training windows, every other figure
    averaged over all samples; the training clips' skating and jitter, and reconstruction, over all clips."""
    import numpy as np

    from .metrics import foot_skating, jitter, reconstruction_error

    sets = results[0][1]["features"]
    out = {}
    for name in sets:
        windows = [res["per_sample"][0][name]["windows"] for _, res in results]
        n = [res["num_samples"] for _, res in results]
        out[name] = {"coverage": float(np.average([res[name]["coverage"] for _, res in results], weights=windows)),
                     **{k: float(np.average([res[name][k] for _, res in results], weights=n))
                        for k in ("global_diversity", "local_diversity")}}
    out.update(out[sets[0]])
    per_sample = [{**p, "label": lab} for lab, res in results for p in res["per_sample"]]
    skate = [p["foot_skating"] for p in per_sample if p["foot_skating"] is not None]
    ref_skate = [v for v in (foot_skating(r) for r in refs) if v is not None]
    out.update(features=sets, foot_skating=float(np.mean(skate)) if skate else None,
               jitter=float(np.mean([p["jitter"] for p in per_sample])),
               reference={"foot_skating": float(np.mean(ref_skate)) if ref_skate else None,
                          "jitter": float(np.mean([jitter(r) for r in refs]))})
    if recs is not None:
        out["reconstruction_error"] = float(np.mean([reconstruction_error(a, b) for a, b in zip(recs, refs)]))
        out["reconstruction_pose_error"] = float(np.mean([reconstruction_error(a, b, root_relative=True)
                                                          for a, b in zip(recs, refs)]))
    out["per_label"] = {lab: {**{k: res[k] for k in ("coverage", "global_diversity", "local_diversity")},
                              **{name: res[name] for name in sets}, "num_samples": res["num_samples"],
                              "windows": res["per_sample"][0]["windows"]} for lab, res in results}
    out["num_samples"] = len(per_sample)
    out["fps"] = results[0][1]["fps"]
    out["per_sample"] = per_sample
    return out


def _folder_samples(folder: PathLike, reference, fps: float) -> tuple[list, list, None, dict]:
    folder = Path(folder)
    if not reference:
        raise MrgenError("--samples-dir needs the training clips: --reference CLIP [CLIP ...]")
    if not folder.is_dir():
        raise MrgenError("not a folder", folder)
    files = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in MOTION_SUFFIXES and p.is_file() and not is_temporary(p))
    if not files:
        raise MrgenError("no .npz or .bvh files in this folder", folder)
    refs = [_load_motion(c, fps) for c in reference]
    return [_load_motion(p, fps) for p in files], refs, None, {"samples_dir": str(folder)}


def evaluate(*, model: PathLike | None = None, samples_dir: PathLike | None = None,
             reference: Sequence[PathLike] | None = None, samples: int = 20, seed: int = 0,
             frames: int | None = None, fps: float = 30.0, cleanup: bool = True, label: str | None = None,
             json_path: PathLike | None = None, progress: Progress | None = None,
             should_stop: ShouldStop | None = None) -> dict:
    """Score generated motion (:func:`mrgen_core.metrics.evaluate`): ``samples`` motions of ``frames`` frames
    (default twice the training clips' length) drawn from ``model`` and scored against its training clips (or
    ``reference``), or every .npz / .bvh in ``samples_dir`` scored against ``reference`` at ``fps``. A labelled
    model scored against its own clips: ``samples`` samples under each label (or ``label`` alone), each group
    against the parts of the clips with its label; coverage weighted by their windows, the rest averaged over all
    samples, per label under ``"per_label"``. Coverage and both diversities come on the fair features (top level
    and ``"fair"``) and on GANimator's literal ones (``"literal"``; what published figures use). Returns the
    figures with their ``protocol``; ``json_path``: also write them there."""
    from .metrics import evaluate as score

    if (model is None) == (samples_dir is None):
        raise MrgenError("give a model to sample or a folder of samples (--model or --samples-dir), not both")
    if json_path:
        limits.output_file(json_path, "--json file")
        limits.not_over_inputs([json_path], [model, *(reference or ())], "--json file")
        if samples_dir and Path(samples_dir).is_dir():
            limits.not_over_inputs([json_path], [p for p in Path(samples_dir).iterdir()
                                                 if p.suffix.lower() in MOTION_SUFFIXES], "--json file")
    limits.finite_number(samples, "--samples", 1, limits.MAX_NUM, integer=True)
    if frames is not None:
        limits.finite_number(frames, "--frames", 1, limits.MAX_FRAMES, integer=True)
    limits.check_fps(fps)
    report = checked(progress, should_stop)
    if label is not None and model is None:
        raise MrgenError("--label goes with --model (the label to sample under)")
    if model is not None:
        motions, refs, recs, protocol = _model_samples(model, reference, samples, seed, frames, cleanup, report,
                                                       label)
        done = 0.5
    else:
        motions, refs, recs, protocol = _folder_samples(samples_dir, reference, fps)
        done = 0.0
    if motions and isinstance(motions[0], tuple):  # per label: samples under each label vs its part of the clips
        results = []
        for k, (name, group, parts) in enumerate(motions):
            results.append((name, score(group, parts, progress=lambda f, _="", k=k: report(
                done + (1 - done) * (k + f) / len(motions), f"evaluating {name}"))))
        res = _merge_labels(results, refs, recs)
    else:
        res = score(motions, refs, reconstructions=recs,
                    progress=lambda f, _="": report(done + (1 - done) * f, "evaluating"))
    res["protocol"] = {**protocol, "num_samples": res["num_samples"], "fps": res["fps"],
                       "references": [r.source or r.name for r in refs],
                       "features": {"fair": "heading removed, yaw rate added (mrgen's default)",
                                    "literal": "GANimator's, with the heading (published figures use these)"}}
    if json_path:
        with writing(json_path) as tmp:
            tmp.write_text(json.dumps(res, indent=2, allow_nan=False) + "\n")
    return res


# --- the SMPL body ----------------------------------------------------------------------------------------------
def smpl_mesh(model_file: PathLike, out: PathLike) -> dict:
    """The rest mesh of the user's licensed SMPL model file as ``out`` (.npz: ``vertices`` of the template,
    ``faces``, skinning ``weights`` (V, 24) and ``joints``)."""
    import numpy as np

    from .mesh import load_smpl_model

    m = load_smpl_model(model_file)
    v = m["v_template"]
    with writing(out) as tmp, open(tmp, "wb") as f:
        np.savez(f, vertices=v.astype(np.float32), faces=m["f"].astype(np.int32),
                 weights=m["weights"].astype(np.float32), joints=m["J_regressor"] @ v)
    return {"file": str(out), "vertices": int(len(v)), "faces": int(len(m["f"]))}
