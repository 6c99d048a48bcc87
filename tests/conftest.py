"""Shared fixtures: the real motion clips from ../shared/data/raw (never copied into the repository), and the tiny
trained models several test files use (each trained once per session, in a session temporary folder)."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MRGEN_DATA", REPO.parent / "shared" / "data" / "raw"))
WALK = "cmu_mocap/cgspeed_motionbuilder/02_01.bvh"
RUN = "cmu_mocap/iclone_cc_rig/002_03.bvh"
DANCE = "cmu_mocap/cgspeed_motionbuilder/05_06.bvh"


def _load_tiny():
    spec = importlib.util.spec_from_file_location("mrgen_tiny_model", REPO / "tests" / "blender" / "tiny_model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


#: tests/blender/tiny_model.py: the tiny model and tiny WavLM recipes, shared with the Blender tests.
tiny = _load_tiny()


def data_path(rel: str) -> Path:
    """Path of a clip under the shared raw data folder; fails loudly (not a skip) when it is missing."""
    p = DATA / rel
    if not p.exists():
        pytest.fail(f"test data missing: {p} (set MRGEN_DATA to the shared/data/raw folder)")
    return p


def all_bvh() -> list[Path]:
    if not DATA.is_dir():
        raise RuntimeError(f"test data folder missing: {DATA} (set MRGEN_DATA)")
    return sorted(DATA.rglob("*.bvh"))


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"test data folder missing: {DATA} (set MRGEN_DATA)")
    return DATA


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny networks run fastest on one torch thread (and the machine is shared); restored afterwards. Use with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def motion_energy(motion) -> np.ndarray:
    """Mean joint speed per frame (m/s), lightly smoothed."""
    from mrgen_core.control import smooth

    v = np.linalg.norm(np.diff(motion.joints(), axis=0), axis=-1).mean(axis=1) * motion.fps
    return smooth(np.concatenate([v[:1], v])[:, None], 9)[:, 0]


def envelope_wav(path, envelope: np.ndarray, fps: float = 30.0, rate: int = 16000, seed: int = 0) -> None:
    """A WAV whose loudness follows ``envelope`` (one value per motion frame): amplitude-modulated noise."""
    from scipy.io import wavfile

    rng = np.random.default_rng(seed)
    n = int(len(envelope) / fps * rate)
    amp = np.interp(np.arange(n) / rate * fps, np.arange(len(envelope)), envelope)
    x = rng.normal(size=n) * amp / amp.max() * 0.5
    wavfile.write(path, rate, (x * 32767).astype(np.int16))


def _one_thread(make):
    """Run ``make()`` on one torch thread (tiny networks train fastest so, and the result does not depend on which
    test first asked for the model)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return make()
    finally:
        torch.set_num_threads(old)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, data_root) -> Path:
    """A tiny model on the CMU walk (label ``walk``, ``tiny`` preset, seed 0): tests/blender/tiny_model.py's."""
    out = tmp_path_factory.mktemp("tiny_model") / "tiny.pt"
    return Path(_one_thread(lambda: tiny.train_tiny(out, data_root)))


@pytest.fixture(scope="session")
def tiny_labelled_model(tmp_path_factory) -> Path:
    """`mrgen train` on the CMU walk and run, labelled ``walk`` and ``run`` (``tiny`` preset, seed 0)."""
    from mrgen_core.cli import main

    out = tmp_path_factory.mktemp("tiny_labelled") / "walk_run.pt"
    rc = _one_thread(lambda: main(["train", str(data_path(WALK)), str(data_path(RUN)), "--label", "walk",
                                   "--label", "run", "--preset", "tiny", "--seed", "0", "--procs", "1", "-o",
                                   str(out)]))
    assert rc == 0 and out.is_file()
    return out


@pytest.fixture(scope="session")
def tiny_path_model(tmp_path_factory) -> Path:
    """`mrgen train --path-control` on the CMU walk and run, labelled ``walk`` and ``run`` (``tiny`` preset, seed 0)."""
    from mrgen_core.cli import main

    out = tmp_path_factory.mktemp("tiny_path") / "walk_run_path.pt"
    rc = _one_thread(lambda: main(["train", str(data_path(WALK)), str(data_path(RUN)), "--label", "walk",
                                   "--label", "run", "--path-control", "--preset", "tiny", "--seed", "0", "--procs",
                                   "1", "-o", str(out)]))
    assert rc == 0 and out.is_file()
    return out


@pytest.fixture(scope="session")
def tiny_audio_model(tmp_path_factory) -> Path:
    """`mrgen train --audio` on the CMU dance paired with a WAV whose loudness follows the dance's motion energy
    (:func:`envelope_wav` of :func:`motion_energy`; MFCC features, ``tiny`` preset, seed 0): a model whose motion
    energy follows the loudness of the audio it is given."""
    from mrgen_core.cli import main
    from mrgen_core.motion_files import load_motion

    root = tmp_path_factory.mktemp("tiny_audio")
    paired, out = root / "paired.wav", root / "audio.pt"
    envelope_wav(paired, motion_energy(load_motion(data_path(DANCE), fps=30)))
    rc = _one_thread(lambda: main(["train", str(data_path(DANCE)), "--audio", str(paired), "--preset", "tiny",
                                   "--procs", "1", "-o", str(out)]))
    assert rc == 0 and out.is_file()
    return out
