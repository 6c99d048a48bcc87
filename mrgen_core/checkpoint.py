"""One model file: config, weights, normalisation, label vocabulary, noise, clips, format version.

Written with ``torch.save`` and read with ``torch.load(weights_only=True)``: the file holds only tensors, dicts,
lists, strings and numbers, so opening a model someone sent you cannot run code. Generator weights are stored
packed (only the entries the skeleton mask keeps), which makes a model about a quarter of its dense size.
A stopped training run adds a ``training`` entry (discriminators, optimisers, RNG, progress) that ``resume``
continues from.
"""
from __future__ import annotations

import math
import os
import zipfile

import torch

from . import __version__
from .atomic import writing
from . import limits
from .errors import ModelFileError, MrgenError
from .model.config import is_whole, check_config
from .limits import input_file

MAGIC = "mrgen-model"
#: Format of the files this version writes; it reads this and older ones.
FORMAT_VERSION = 1
_REQUIRED = ("config", "generators", "mean", "std", "amps", "clips", "clip_features", "clip_controls", "z_star")


def _pack(model) -> dict:
    """Generator parameters; masked convolution weights keep only their unmasked entries."""
    out = {}
    for name, mod in model.generators.named_modules():
        for pname, p in mod.named_parameters(recurse=False):
            key = f"{name}.{pname}" if name else pname
            if pname == "weight" and hasattr(mod, "mask"):
                out[key] = p.detach()[mod.mask.expand_as(p).bool()].cpu().clone()
            else:
                out[key] = p.detach().cpu().clone()
    return out


def _unpack(model, packed: dict, path) -> None:
    with torch.no_grad():
        for name, mod in model.generators.named_modules():
            for pname, p in mod.named_parameters(recurse=False):
                key = f"{name}.{pname}" if name else pname
                if key not in packed:
                    raise ModelFileError(f"corrupt mrgen model: generator weight {key!r} missing", path)
                v = packed[key]
                if pname == "weight" and hasattr(mod, "mask"):
                    sel = mod.mask.expand_as(p).bool()
                    if v.numel() != int(sel.sum()):
                        raise ModelFileError(f"corrupt mrgen model: generator weight {key!r} has the wrong size", path)
                    p.zero_()
                    p[sel] = v.to(p.dtype)
                else:
                    if v.shape != p.shape:
                        raise ModelFileError(f"corrupt mrgen model: generator weight {key!r} has shape "
                                             f"{tuple(v.shape)}, expected {tuple(p.shape)}", path)
                    p.copy_(v)


def save_checkpoint(model, path: str | os.PathLike, training: dict | None = None) -> None:
    """Write ``model`` (and, for a stopped run, its ``training`` state) to ``path`` atomically."""
    blob = dict(
        format=MAGIC, version=FORMAT_VERSION, mrgen_version=__version__,
        config=model.config, generators=_pack(model),
        mean=model.mean.detach().cpu().clone(), std=model.std.detach().cpu().clone(),
        amps=[float(a) for a in model.amps], clips=model.clips,
        clip_features=[x.detach().cpu().clone() for x in model.clip_features],
        clip_controls=[x.detach().cpu().clone() for x in model.clip_controls],
        z_star=[z.detach().cpu().clone() for z in model.z_star],
        trained_levels=int(model.trained_levels), train_seconds=float(model.train_seconds),
        training=None,
    )
    if training is not None:
        blob["training"] = dict(training, discriminators={k: v.detach().cpu().clone() for k, v in
                                                          model.discriminators.state_dict().items()})
    try:
        with writing(path) as tmp:
            torch.save(blob, tmp)
    except RuntimeError as e:  # torch's zip writer reports a failed write (disk full, file too large) this way
        raise ModelFileError(f"cannot write the model file ({' '.join(str(e).split())[:160]})", path) from None


def read_blob(path: str | os.PathLike) -> dict:
    """The checked contents of a model file (ModelFileError for anything that is not a readable mrgen model)."""
    path = input_file(path, "model", missing="model file not found", error=ModelFileError)
    if not zipfile.is_zipfile(path):
        raise ModelFileError("not an mrgen model file (not a torch archive, or truncated)", path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises RuntimeError / UnpicklingError / EOFError ... for bad archives
        first = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
        if "weights_only" in str(e) or "Unsupported global" in str(e):
            raise ModelFileError("not an mrgen model file: it holds Python objects that could run code "
                                 "(refused; mrgen models hold plain data only)", path) from None
        raise ModelFileError(f"not a readable mrgen model file (truncated or damaged: {first[:160]})", path) from None
    if not isinstance(blob, dict) or blob.get("format") != MAGIC:
        raise ModelFileError("not an mrgen model file (a torch file of something else)", path)
    version = blob.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError("corrupt mrgen model: no format version", path)
    if version < 1:
        raise ModelFileError(f"corrupt mrgen model: format version {version} (versions start at 1)", path)
    if version > FORMAT_VERSION:
        raise ModelFileError(f"model format {version} is newer than this mrgen reads (up to {FORMAT_VERSION}); "
                             f"it was written by mrgen {blob.get('mrgen_version', '?')}, this is {__version__}: "
                             "update mrgen", path)
    missing = [k for k in _REQUIRED if k not in blob]
    if missing:
        raise ModelFileError(f"corrupt mrgen model: missing {', '.join(missing)}", path)
    try:
        check_config(blob["config"])
        _check_contents(blob)
    except MrgenError as e:
        raise ModelFileError(f"corrupt mrgen model: {e.message}", path) from None
    return blob


def _check_contents(blob: dict) -> None:
    """The tensors and lists a model file holds: types, shapes and finite values where sampling relies on them."""
    from .features import NUM_FEATURES

    levels = int(blob["config"]["num_levels"])
    for key in ("mean", "std"):
        t = blob[key]
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != (NUM_FEATURES,) or not torch.isfinite(t).all():
            raise MrgenError(f"{key!r} must be {NUM_FEATURES} finite numbers")
    amps = blob["amps"]
    if not (isinstance(amps, (list, tuple)) and len(amps) == levels
            and all(isinstance(a, (int, float)) and math.isfinite(a) for a in amps)):
        raise MrgenError(f"'amps' must be {levels} finite numbers")
    clips = blob["clips"]
    if not (isinstance(clips, list) and all(isinstance(c, dict) for c in clips)):
        raise MrgenError("'clips' must be a list of clip records")
    for c in clips:
        frames = c.get("frames")
        if not (is_whole(frames) and 1 <= frames <= limits.MAX_FRAMES):
            raise MrgenError(f"clip {str(c.get('name'))[:40]!r} has {frames!r} frames (1 to {limits.MAX_FRAMES})")
        start = c.get("start", [0.0, 0.0, 0.0])
        if not (isinstance(start, (list, tuple)) and len(start) == 3
                and all(isinstance(v, (int, float)) and math.isfinite(v) for v in start)):
            raise MrgenError(f"clip {str(c.get('name'))[:40]!r} has a bad start {start!r}"[:200])
    for key in ("clip_features", "clip_controls", "z_star"):
        v = blob[key]
        if not (isinstance(v, list) and all(isinstance(t, torch.Tensor) for t in v)):
            raise MrgenError(f"{key!r} must be a list of tensors")
        if key != "clip_controls" and len(v) != len(clips):
            raise MrgenError(f"{key!r} has {len(v)} entries for {len(clips)} clips")
    version = blob.get("trained_levels", levels)
    if not (is_whole(version) and 0 <= version <= levels):
        raise MrgenError(f"'trained_levels' must be a whole number from 0 to {levels}")


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu", training: bool = False):
    """``(model, training_state)`` from a model file; ``training_state`` is None for a finished model.

    With ``training=False`` the model has no discriminators (all sampling needs).
    """
    from .model.pyramid import MotionModel

    blob = read_blob(path)
    state = blob.get("training")
    try:
        model = MotionModel(blob["config"], with_discriminators=training)
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"corrupt mrgen model: bad config ({e.__class__.__name__}: {e})", path) from None
    _unpack(model, blob["generators"], path)
    with torch.no_grad():
        model.mean.copy_(blob["mean"])
        model.std.copy_(blob["std"])
    model.amps = [float(a) for a in blob["amps"]]
    model.clips = list(blob["clips"])
    model.clip_features = list(blob["clip_features"])
    model.clip_controls = list(blob["clip_controls"])
    model.z_star = list(blob["z_star"])
    model.trained_levels = int(blob.get("trained_levels", model.num_levels))
    model.train_seconds = float(blob.get("train_seconds", 0.0))
    if training and state is not None:
        try:
            model.discriminators.load_state_dict(state["discriminators"])
        except (KeyError, RuntimeError) as e:
            raise ModelFileError(f"corrupt training state ({e.__class__.__name__})", path) from None
    model.to(device)
    model.eval() if not training else model.train()
    return model, state
