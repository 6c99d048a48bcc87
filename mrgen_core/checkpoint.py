"""One model file: config, weights, normalisation, label vocabulary, noise, clips, format version.

Written with ``torch.save`` and read with ``torch.load(weights_only=True)``: the file holds only tensors, dicts,
lists, strings and numbers, so opening a model someone sent you cannot run code. Generator weights are stored
packed (only the entries the skeleton mask keeps), which makes a model about a quarter of its dense size.
A stopped training run adds a ``training`` entry (discriminators, optimisers, RNG, progress) that ``resume``
continues from.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import torch

from . import __version__
from .atomic import writing
from .errors import ModelFileError
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
    if not isinstance(version, int):
        raise ModelFileError("corrupt mrgen model: no format version", path)
    if version > FORMAT_VERSION:
        raise ModelFileError(f"model format {version} is newer than this mrgen reads (up to {FORMAT_VERSION}); "
                             f"it was written by mrgen {blob.get('mrgen_version', '?')}, this is {__version__}: "
                             "update mrgen", path)
    missing = [k for k in _REQUIRED if k not in blob]
    if missing:
        raise ModelFileError(f"corrupt mrgen model: missing {', '.join(missing)}", path)
    return blob


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
