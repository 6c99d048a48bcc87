"""Continuous (audio) control end to end, with synthetic paired data: a real clip whose control feature is a known
function of its motion energy. After training, the generated motion's energy follows a *new* control signal."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import torch
from conftest import DANCE, data_path, envelope_wav, motion_energy
from scipy.io import wavfile

from mrgen_core.cli import main
from mrgen_core.motion_files import load_motion

FPS = 30


@pytest.fixture(scope="module")
def dance():
    return load_motion(data_path(DANCE), fps=FPS)


def test_generated_energy_follows_a_new_control(dance, tmp_path):
    from mrgen_core.sampling import generate, load_model
    from training.train import train

    torch.set_num_threads(1)
    e = motion_energy(dance)
    out = tmp_path / "energy.pt"
    train([dance], out, preset="tiny", controls=[e[:, None]], seed=0, quiet=True)
    model = load_model(out)
    n = 300
    t = np.arange(n) / FPS
    new = e.min() + (e.max() - e.min()) * 0.5 * (1 + np.sin(2 * np.pi * t / 5))  # a slow swell, 5 s period
    corr = [np.corrcoef(motion_energy(generate(model, frames=n, seed=s, control=new[:, None])[0]), new)[0, 1]
            for s in range(3)]
    print("energy vs new control, correlation per seed:", np.round(corr, 3))
    assert min(corr) > 0.7
    flat = generate(model, frames=n, seed=0, control=np.full((n, 1), e.min()))[0]
    assert motion_energy(flat).mean() < 0.5 * e.max()  # a quiet control gives a quiet motion


def test_cli_audio_training_and_generation(tiny_audio_model, tmp_path, capsys):
    """`mrgen train --audio` pairs a WAV with the clip (the ``tiny_audio_model`` fixture: the dance paired with a WAV
    whose loudness follows its energy); `mrgen generate --audio` is as long as the new WAV and its energy follows
    the new WAV's loudness."""
    torch.set_num_threads(1)
    speech = tmp_path / "new.wav"
    n = 240
    swell = 0.2 + 0.5 * (1 + np.sin(2 * np.pi * np.arange(n) / FPS / 4))
    envelope_wav(speech, swell, seed=1)
    model = tiny_audio_model
    corr = []
    for seed in range(3):
        out = tmp_path / f"gesture{seed}.npz"
        assert main(["generate", "--model", str(model), "--audio", str(speech), "--seed", str(seed),
                     "-o", str(out)]) == 0
        motion = load_motion(out)
        assert motion.num_frames == n  # as long as the audio
        corr.append(np.corrcoef(motion_energy(motion), swell)[0, 1])
    print(f"CLI: generated energy vs the new audio's loudness envelope, r per seed: {np.round(corr, 3)}")
    assert np.mean(corr) > 0.7
    capsys.readouterr()
    # errors: a text file that is not audio; audio for a model trained without it
    bogus = tmp_path / "bogus.wav"
    bogus.write_text("not audio at all")
    assert main(["generate", "--model", str(model), "--audio", str(bogus), "-o", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert "bogus.wav" in err and "not a WAV" in err and err.count("\n") == 1


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed: no speech WAV to drive "
                    "generation (scripts/setup.sh installs it)")
def test_speech_wav_drives_generation(tiny_audio_model, tmp_path):
    torch.set_num_threads(1)
    model = tiny_audio_model
    speech = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(speech), "Generate a few seconds of gestures while I am speaking."],
                   check=True, capture_output=True)
    sr, x = wavfile.read(speech)
    out = tmp_path / "talk.bvh"
    assert main(["generate", "--model", str(model), "--audio", str(speech), "-o", str(out)]) == 0
    motion = load_motion(out)
    assert abs(motion.num_frames - np.ceil(len(x) / sr * FPS)) <= 1
    assert np.isfinite(motion.poses).all() and motion_energy(motion).std() > 0
