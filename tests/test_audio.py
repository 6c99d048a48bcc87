"""Audio features for co-speech control: alignment to motion frames, pitch, reading any WAV, clear errors."""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from scipy.io import wavfile

from mrgen_core.audio import audio_features, feature_names, load_wav, normalize, wavlm_features
from mrgen_core.errors import MotionFormatError, MrgenError

NAMES = feature_names()
ENERGY, F0, VOICED = NAMES.index("log_energy"), NAMES.index("f0_hz"), NAMES.index("voiced")


def _write(path, x, sr, dtype="int16"):
    """Write float samples in [-1, 1] (mono (N,) or (N, C)) as a WAV of the given sample type."""
    x = np.asarray(x, dtype=np.float64)
    if dtype == "int16":
        data = np.round(x * 32767).astype(np.int16)
    elif dtype == "int32":
        data = np.round(x * (2**31 - 1)).astype(np.int32)
    elif dtype == "uint8":
        data = np.round(x * 127 + 128).astype(np.uint8)
    else:
        data = x.astype(dtype)
    wavfile.write(path, sr, data)
    return path


def _burst(sr, seconds=2.5, start=1.0, stop=1.5, kind="noise", seed=0):
    t = np.arange(int(round(seconds * sr))) / sr
    x = np.zeros_like(t)
    m = (t >= start) & (t < stop)
    if kind == "noise":
        x[m] = np.random.default_rng(seed).uniform(-0.5, 0.5, m.sum())
    else:
        x[m] = 0.5 * np.sin(2 * np.pi * 220.0 * t[m])
    return x


def test_feature_names_match_channels(tmp_path):
    f = audio_features(_write(tmp_path / "a.wav", _burst(16000), 16000), fps=30)
    assert f.dtype == np.float32
    assert f.shape[1] == len(NAMES) == len(set(NAMES))
    assert np.all(np.isfinite(f))


@pytest.mark.parametrize("sr,fps,seconds,expected", [
    (44100, 30, 2.5, 75), (16000, 30, 2.5, 75), (16000, 24, 1.01, 25), (22050, 60, 0.5, 30), (8000, 30, 0.01, 1)])
def test_frame_count_is_ceil_of_duration(tmp_path, sr, fps, seconds, expected):
    x = 0.1 * np.sin(np.arange(int(round(seconds * sr))) * 0.05)
    f = audio_features(_write(tmp_path / "a.wav", x, sr), fps=fps)
    assert f.shape == (expected, len(NAMES))


def test_num_frames_pads_with_silence_and_trims(tmp_path):
    path = _write(tmp_path / "a.wav", _burst(16000, seconds=2.0, start=0.0, stop=2.0), 16000)
    full = audio_features(path, 30)
    assert full.shape[0] == 60
    longer = audio_features(path, 30, num_frames=90)
    shorter = audio_features(path, 30, num_frames=40)
    assert longer.shape[0] == 90 and shorter.shape[0] == 40
    np.testing.assert_allclose(shorter[:, ENERGY], full[:40, ENERGY], atol=1e-5)
    assert np.all(longer[61:, ENERGY] < -20)  # padded frames are silent
    assert np.all(longer[:59, ENERGY] > -5)


@pytest.mark.parametrize("sr,dtype", [(44100, "int16"), (16000, "float32"), (16000, "int32"), (44100, "float32"),
                                      (48000, "uint8")])
def test_energy_burst_lands_exactly_in_frames_30_to_44(tmp_path, sr, dtype):
    """A noise burst at 1.0-1.5 s is loud in exactly frames 30..44 at 30 fps (frame t covers [t/30, (t+1)/30))."""
    f = audio_features(_write(tmp_path / "b.wav", _burst(sr), sr, dtype), fps=30)
    e = f[:, ENERGY]
    loud = np.flatnonzero(e > e.max() - 3.0)
    assert loud.tolist() == list(range(30, 45)), e.round(1)
    # the neighbours hold only the resampling filter's ringing (> 25 dB down); the rest is silence
    assert e[29] < e.max() - 6 and e[45] < e.max() - 6
    assert np.all(e[:29] < e.max() - 10) and np.all(e[46:] < e.max() - 10)


@pytest.mark.parametrize("sr", [16000, 44100])
def test_pitch_of_220hz_tone_and_unvoiced_silence_and_noise(tmp_path, sr):
    t = np.arange(3 * sr) / sr
    x = np.zeros_like(t)
    tone = (t >= 1.0) & (t < 2.0)
    x[tone] = 0.3 * np.sin(2 * np.pi * 220.0 * t[tone])
    noise = t >= 2.0
    x[noise] = np.random.default_rng(1).normal(0, 0.2, noise.sum()).clip(-1, 1)
    f = audio_features(_write(tmp_path / "t.wav", x, sr), fps=30)
    inner = slice(32, 58)  # well inside the tone
    assert np.all(f[inner, VOICED] == 1)
    assert np.all(np.abs(f[inner, F0] - 220.0) < 0.03 * 220.0), f[inner, F0]
    assert np.all(f[:29, VOICED] == 0) and np.all(f[:29, F0] == 0)  # silence
    assert np.all(f[62:, VOICED] == 0) and np.all(f[62:, F0] == 0)  # white noise


def test_pitch_follows_a_sine_sweep(tmp_path):
    sr, secs, f_lo, f_hi = 16000, 2.0, 110.0, 440.0
    t = np.arange(int(secs * sr)) / sr
    inst = f_lo + (f_hi - f_lo) * t / secs  # linear chirp
    x = 0.4 * np.sin(2 * np.pi * np.cumsum(inst) / sr)
    f = audio_features(_write(tmp_path / "s.wav", x, sr, "float32"), fps=30)
    centre = (np.arange(len(f)) + 0.5) / 30
    expect = f_lo + (f_hi - f_lo) * centre / secs
    inner = slice(2, len(f) - 2)
    assert np.all(f[inner, VOICED] == 1)
    np.testing.assert_allclose(f[inner, F0], expect[inner], rtol=0.03)
    assert np.all(np.diff(f[inner, F0]) > 0)


def test_stereo_is_mixed_down(tmp_path):
    sr = 44100
    mono = _burst(sr, kind="tone")
    stereo = np.stack([mono, np.zeros_like(mono)], axis=1)  # tone on the left only
    fs = audio_features(_write(tmp_path / "st.wav", stereo, sr, "float32"), fps=30)
    fm = audio_features(_write(tmp_path / "mono.wav", mono / 2, sr, "float32"), fps=30)
    np.testing.assert_allclose(fs, fm, atol=1e-3)
    assert abs(np.median(fs[32:43, F0]) - 220) < 0.03 * 220


def test_load_wav_resamples_to_16k(tmp_path):
    sr = 44100
    x = 0.5 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)
    y = load_wav(_write(tmp_path / "r.wav", x, sr), 16000)
    assert y.dtype == np.float32 and len(y) == 16000
    spec = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spec) * 16000 / len(y) - 440) < 2
    assert 0.45 < np.abs(y).max() < 0.55


def test_text_file_renamed_wav_is_a_clear_error(tmp_path):
    bad = tmp_path / "speech.wav"
    bad.write_text("this is not audio\njust text\n")
    with pytest.raises(MotionFormatError) as err:
        audio_features(bad, fps=30)
    msg = str(err.value)
    assert "not a WAV audio file" in msg and str(bad) in msg and "\n" not in msg


def test_truncated_and_empty_and_missing_wavs_are_clear_errors(tmp_path):
    good = _write(tmp_path / "good.wav", _burst(16000), 16000)
    trunc = tmp_path / "trunc.wav"
    trunc.write_bytes(good.read_bytes()[:30])
    empty = _write(tmp_path / "empty.wav", np.zeros(0), 16000)
    for path, words in ((trunc, "not a WAV audio file"), (empty, "no audio samples"),
                        (tmp_path / "missing.wav", "not found")):
        with pytest.raises(MotionFormatError) as err:
            audio_features(path, fps=30)
        assert words in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(MrgenError, match="fps"):
        audio_features(good, fps=0)


def test_normalize_standardizes_and_reuses_stats(tmp_path):
    f = audio_features(_write(tmp_path / "a.wav", _burst(16000, kind="tone"), 16000), fps=30)
    z, stats = normalize(f)
    assert z.dtype == np.float32
    varying = f.std(axis=0) > 1e-6
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=0)[varying], 1, atol=1e-3)
    z2, _ = normalize(f[:10], stats)
    np.testing.assert_allclose(z2, z[:10], atol=1e-5)


def test_wavlm_without_transformers_says_how_to_get_it(tmp_path, monkeypatch):
    """transformers is not a dependency of mrgen: the optional WavLM path must say so in one clear line."""
    monkeypatch.setitem(sys.modules, "transformers", None)  # makes `import transformers` fail even if installed
    wav = _write(tmp_path / "a.wav", _burst(16000), 16000)
    with pytest.raises(MrgenError) as err:
        wavlm_features(wav, 30, tmp_path / "wavlm")
    assert "pip install transformers" in str(err.value) and "\n" not in str(err.value)


def test_spoken_sentence_features_vary_over_time(tmp_path):
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng) - no speech to test with")
    wav = tmp_path / "speech.wav"
    subprocess.run([espeak, "-w", str(wav), "Hello there. Motion follows the rhythm of speech, "
                    "with pauses between the phrases."], check=True, capture_output=True, timeout=60)
    sr, data = wavfile.read(wav)
    f = audio_features(wav, fps=30)
    assert f.shape[0] == int(np.ceil(len(data) / sr * 30))
    v = f[:, VOICED] == 1
    assert 0.2 < v.mean() < 0.9  # syllables and gaps
    assert f[:, ENERGY].std() > 1.0
    assert np.all((f[v, F0] > 60) & (f[v, F0] < 300))  # a plausible speaking pitch
    assert np.all(f[~v, F0] == 0)
    assert np.all(f[:, :13].std(axis=0) > 0.1)  # every MFCC moves
    assert np.corrcoef(f[:, ENERGY], f[:, NAMES.index("mfcc_0")])[0, 1] > 0.7
