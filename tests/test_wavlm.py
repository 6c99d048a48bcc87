"""The optional WavLM audio features: loaded from a local checkpoint folder only, tested on a tiny randomly
initialised WavLM the test saves itself (no download), through the library and the train/generate CLI."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import data_path, tiny  # the tiny WavLM checkpoint is shared with the Blender tests
from scipy.io import wavfile

from mrgen_core.audio import control_features, wavlm_features
from mrgen_core.cli import main
from mrgen_core.errors import ModelFileError
from mrgen_core.motion_files import load_motion
from mrgen_core.sampling import load_model

pytest.importorskip("transformers", reason="the wavlm extra is not installed: pip install -e .[wavlm]")


HIDDEN = tiny.WAVLM_HIDDEN


@pytest.fixture(scope="module")
def wavlm_dir(tmp_path_factory):
    return tiny.save_tiny_wavlm(tmp_path_factory.mktemp("wavlm") / "tiny")


def _wav(path, seconds, seed=0, sr=16000):
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    x = 0.3 * np.sin(2 * np.pi * (150 + 100 * rng.random()) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
    wavfile.write(path, sr, np.round(x * 32767).astype(np.int16))
    return path


def test_wavlm_features_are_aligned_to_motion_frames(wavlm_dir, tmp_path):
    wav = _wav(tmp_path / "a.wav", 2.0)
    f = wavlm_features(wav, 30, wavlm_dir)
    assert f.shape == (60, HIDDEN) and f.dtype == np.float32 and np.isfinite(f).all()
    assert f.std(axis=0).mean() > 1e-3  # varies over time
    np.testing.assert_array_equal(wavlm_features(wav, 30, wavlm_dir), f)  # deterministic (eval mode)
    assert wavlm_features(wav, 30, wavlm_dir, num_frames=45).shape == (45, HIDDEN)
    first = wavlm_features(wav, 30, wavlm_dir, layer=1)
    assert first.shape == f.shape and not np.allclose(first, f)
    g, kind = control_features(_wav(tmp_path / "b.wav", 2.0, seed=1), 30, wavlm=wavlm_dir)
    assert kind == "wavlm" and g.shape == f.shape and not np.allclose(g, f)


def test_wavlm_bad_checkpoint_folder(wavlm_dir, tmp_path):
    wav = _wav(tmp_path / "a.wav", 1.0)
    with pytest.raises(ModelFileError, match="no config.json"):
        wavlm_features(wav, 30, tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((wavlm_dir / "config.json").read_text())
    (broken / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(ModelFileError, match="cannot load the WavLM checkpoint") as err:
        wavlm_features(wav, 30, broken)
    assert "\n" not in str(err.value)


def test_train_and_generate_with_wavlm(wavlm_dir, tmp_path, capsys):
    clip = data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh")
    frames = load_motion(clip, fps=30).num_frames
    train_wav = _wav(tmp_path / "train.wav", frames / 30)
    model = tmp_path / "m.pt"
    assert main(["train", str(clip), "--audio", str(train_wav), "--wavlm", str(wavlm_dir), "--preset", "tiny",
                 "--procs", "1", "-o", str(model)]) == 0
    spec = load_model(model).control_spec
    assert spec.source == "wavlm" and spec.continuous == HIDDEN
    speech = _wav(tmp_path / "speech.wav", 2.5, seed=2)
    out = tmp_path / "out.npz"
    assert main(["generate", "--model", str(model), "--audio", str(speech), "--wavlm", str(wavlm_dir),
                 "-o", str(out)]) == 0
    assert load_motion(out).num_frames == 75  # as long as the speech
    capsys.readouterr()
    # without the checkpoint folder: a clear one-line error, exit 2, no output
    missing = tmp_path / "missing.npz"
    assert main(["generate", "--model", str(model), "--audio", str(speech), "-o", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "--wavlm DIR" in err and err.count("\n") == 1 and not missing.exists()


def test_wavlm_needs_audio_when_training(wavlm_dir, tmp_path, capsys):
    clip = data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh")
    out = tmp_path / "m.pt"
    assert main(["train", str(clip), "--wavlm", str(wavlm_dir), "--preset", "tiny", "-o", str(out)]) == 2
    assert "--wavlm goes with --audio" in capsys.readouterr().err and not out.exists()
