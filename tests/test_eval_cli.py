"""``mrgen eval``: --samples-dir and --model paths, the printed table, the JSON figures, clear errors."""
from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

import mrgen_core
from mrgen_core import Motion, cli
from mrgen_core import tasks
from mrgen_core.metrics import evaluate
from conftest import data_path
from test_metrics import synthetic_walk

KEYS = ("coverage", "global_diversity", "local_diversity", "foot_skating", "jitter")


@pytest.fixture(autouse=True)
def only_eval(monkeypatch):
    """Build the real dispatcher with only `eval`, so these tests do not depend on other subcommands."""
    monkeypatch.setattr(cli, "COMMANDS", ("eval",))


def test_eval_is_a_registered_command():
    import importlib

    cli_mod = importlib.reload(importlib.import_module("mrgen_core.cli"))
    assert "eval" in cli_mod.COMMANDS


def test_json_and_table_from_samples_dir_with_test_loader(tmp_path, monkeypatch, capsys):
    """The --samples-dir path end to end, reading a tiny test format (independent of mrgen_core.motion_files)."""
    def save(m: Motion, path):
        np.savez(path, poses=m.poses, trans=m.trans, fps=m.fps)

    def load(path, fps):
        with np.load(path) as z:
            m = Motion(z["poses"], z["trans"], float(z["fps"]), source=str(path))
        return m if abs(m.fps - fps) < 1e-9 else m.resample(fps)

    monkeypatch.setattr(tasks, "_load_motion", load)
    ref = synthetic_walk(150)
    samples = [ref, ref.copy(poses=ref.poses + np.random.default_rng(1).normal(scale=0.05, size=ref.poses.shape))]
    d = tmp_path / "samples"
    d.mkdir()
    for k, m in enumerate(samples):
        save(m, d / f"s{k}.npz")
    (d / "notes.txt").write_text("ignored")
    save(ref, tmp_path / "ref.npz")
    out = tmp_path / "figs" / "eval.json"
    rc = cli.main(["eval", "--samples-dir", str(d), "--reference", str(tmp_path / "ref.npz"), "--json", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "coverage" in printed and "global diversity" in printed and "jitter (m/s^2)" in printed
    figs = json.loads(out.read_text())
    expect = evaluate(samples, [ref])
    for k in KEYS:
        assert figs[k] == pytest.approx(expect[k], rel=1e-9)
    assert figs["reference"]["jitter"] == pytest.approx(expect["reference"]["jitter"], rel=1e-9)
    assert figs["num_samples"] == 2 and 0.0 <= figs["coverage"] <= 1.0
    assert f"{figs['coverage'] * 100:.1f} %" in printed


def test_fair_and_literal_side_by_side(tmp_path, capsys):
    """A copy of the clip turned to another heading: perfect on the fair features, not on GANimator's literal
    ones; the table prints both in one row per figure and the JSON keeps both."""
    from mrgen_core.motion_files import save_motion
    from test_metrics import rotate_about_z

    ref = synthetic_walk(150)
    (tmp_path / "s").mkdir()
    save_motion(rotate_about_z(ref, 2.0), tmp_path / "s" / "turned.npz")
    save_motion(ref, tmp_path / "ref.npz")
    out = tmp_path / "e.json"
    assert cli.main(["eval", "--samples-dir", str(tmp_path / "s"), "--reference", str(tmp_path / "ref.npz"),
                     "--json", str(out)]) == 0
    figs = json.loads(out.read_text())
    assert figs["fair"]["local_diversity"] < 1e-4 and figs["local_diversity"] == figs["fair"]["local_diversity"]
    assert figs["literal"]["local_diversity"] == pytest.approx(2 * np.sin(1.0), abs=0.02)
    assert set(figs["protocol"]["features"]) == {"fair", "literal"}
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["fair", "literal"]
    local = next(line for line in lines if line.startswith("local diversity")).split()
    assert local[2:] == ["0.000", f"{figs['literal']['local_diversity']:.3f}"]


def test_samples_dir_with_real_io_and_bvh_reference(tmp_path, capsys):
    """Samples saved as .npz by mrgen_core.motion_files, scored against a real BVH clip read at 30 fps."""
    from mrgen_core.motion_files import load_motion, save_motion

    bvh = data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh")
    clip = load_motion(bvh, fps=30)
    (tmp_path / "s").mkdir()
    save_motion(clip, tmp_path / "s" / "copy.npz")
    out = tmp_path / "e.json"
    rc = cli.main(["eval", "--samples-dir", str(tmp_path / "s"), "--reference", str(bvh), "--json", str(out)])
    assert rc == 0
    figs = json.loads(out.read_text())
    assert figs["coverage"] == 1.0 and figs["local_diversity"] < 1e-4 and figs["global_diversity"] < 1e-4
    assert figs["foot_skating"] == pytest.approx(figs["reference"]["foot_skating"], rel=1e-4)
    assert figs["protocol"]["references"] == [str(bvh)] and figs["fps"] == 30.0
    # a second, 60 fps copy is resampled to --fps on loading and scores the same
    save_motion(clip.resample(60), tmp_path / "s" / "copy60.npz")
    assert cli.main(["eval", "--samples-dir", str(tmp_path / "s"), "--reference", str(bvh), "--json", str(out)]) == 0
    figs = json.loads(out.read_text())
    assert figs["num_samples"] == 2 and figs["coverage"] == 1.0 and figs["global_diversity"] < 0.05


class FakeModel:
    fps = 30.0

    def __init__(self, clips):
        self.clips = clips
        self.clip_names = tuple(c.name for c in clips)
        self.clip_lengths = tuple(c.num_frames for c in clips)

    def training_motions(self):
        return list(self.clips)


def fake_sampling(monkeypatch, model, calls, sample_frames=None, recon_offset=None):
    def load_model(path, device="cpu"):
        calls.append(("load", str(path)))
        return model

    def generate(m, seconds=None, *, frames=None, seed=0, labels=None, num=1, progress=None, **kw):
        calls.append(("generate", frames, seed, num, kw.get("noise")))
        clip = m.clips[0]
        rng = np.random.default_rng(seed)
        n = sample_frames or frames
        out = []
        for k in range(num):
            idx = np.arange(n) % clip.num_frames  # loop the clip
            poses = clip.poses[idx] + rng.normal(scale=0.01 * k, size=(n, 24, 3))
            out.append(Motion(poses, clip.trans[idx], clip.fps, name=f"sample{k}"))
            if progress:
                progress((k + 1) / num, "")
        return out

    mod = types.ModuleType("mrgen_core.sampling")
    mod.load_model, mod.generate = load_model, generate
    if recon_offset is not None:
        mod.reconstruct = lambda m: [c.copy(trans=c.trans + recon_offset) for c in m.clips]
    monkeypatch.setitem(sys.modules, "mrgen_core.sampling", mod)
    monkeypatch.setattr(mrgen_core, "sampling", mod, raising=False)


def test_model_path_protocol(tmp_path, monkeypatch, capsys):
    clip = synthetic_walk(90, seed=2)
    calls = []
    fake_sampling(monkeypatch, FakeModel([clip]), calls, recon_offset=[0.0, 0.02, 0.0])
    out = tmp_path / "m.json"
    rc = cli.main(["eval", "--model", str(tmp_path / "m.pt"), "--samples", "3", "--seed", "7", "--json", str(out)])
    assert rc == 0
    # GANimator's protocol: samples twice the training length, the given seed and count, noise "auto" (the coarsest
    # level only for a model without path control: sampling.noise_mode, tested in test_path_control)
    assert ("generate", 180, 7, 3, "auto") in calls
    figs = json.loads(out.read_text())
    assert figs["num_samples"] == 3 and figs["protocol"]["frames"] == 180 and figs["protocol"]["seed"] == 7
    assert figs["coverage"] == 1.0  # the looped clip contains every training window
    for k in KEYS:
        assert k in figs
    assert figs["reconstruction_error"] == pytest.approx(2.0, rel=1e-9)  # G(z*) 2 cm off its clip
    printed = capsys.readouterr().out
    assert "3 samples vs 1 training clip(s) at 30 fps" in printed and "reconstruction (cm)" in printed


def test_model_without_training_clips_is_a_clear_error(tmp_path, monkeypatch, capsys):
    class Bare:
        fps = 30.0

    fake_sampling(monkeypatch, Bare(), [])
    rc = cli.main(["eval", "--model", str(tmp_path / "m.pt")])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("mrgen: error: ") and "m.pt" in err and "--reference" in err


def test_failed_eval_leaves_no_json(tmp_path, monkeypatch, capsys):
    clip = synthetic_walk(90)
    fake_sampling(monkeypatch, FakeModel([clip]), [], sample_frames=20)  # samples shorter than the window
    out = tmp_path / "never.json"
    rc = cli.main(["eval", "--model", str(tmp_path / "m.pt"), "--samples", "2", "--json", str(out)])
    assert rc == 2
    assert "20 frames" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["--samples-dir", "{tmp}/nowhere", "--reference", "{tmp}/r.npz"], "not a folder"),
    (["--samples-dir", "{tmp}", "--reference", "{tmp}/r.npz"], "no .npz or .bvh files"),
    (["--samples-dir", "{tmp}"], "--reference"),
    (["--model", "{tmp}/m.pt", "--samples", "0"], "--samples must be in [1, 1000]"),
])
def test_bad_arguments(tmp_path, capsys, argv, message):
    rc = cli.main(["eval", *[a.format(tmp=tmp_path) for a in argv]])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("mrgen: error: ") and message in err and "Traceback" not in err


def test_model_and_samples_dir_are_exclusive(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["eval", "--model", "m.pt", "--samples-dir", str(tmp_path)])
    assert e.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


@pytest.mark.slow
def test_model_end_to_end_with_a_tiny_trained_model(tiny_model, tmp_path, monkeypatch, capsys):
    """`mrgen eval --model` on a tiny real model (tests/conftest.py)."""
    monkeypatch.delitem(sys.modules, "mrgen_core.sampling", raising=False)  # the real one
    out = tmp_path / "eval.json"
    rc = cli.main(["eval", "--model", str(tiny_model), "--samples", "2", "--seed", "3", "--json", str(out)])
    assert rc == 0
    figs = json.loads(out.read_text())
    from mrgen_core.sampling import load_model

    trained_frames = sum(load_model(tiny_model).clip_lengths)
    assert figs["num_samples"] == 2 and figs["protocol"]["frames"] == 2 * trained_frames  # GANimator's protocol
    assert [p["frames"] for p in figs["per_sample"]] == [2 * trained_frames] * 2
    assert 0.0 <= figs["coverage"] <= 1.0 and figs["global_diversity"] > 0 and figs["local_diversity"] > 0
    assert figs["reconstruction_error"] > 0 and figs["reconstruction_pose_error"] > 0
    assert figs["reference"]["jitter"] > 0
    assert "reconstruction (cm)" in capsys.readouterr().out


def test_a_labelled_model_is_scored_label_by_label(tiny_labelled_model, tmp_path, monkeypatch, capsys):
    """Samples under each label, each group against the part of the clips with its label; --label for one."""
    monkeypatch.delitem(sys.modules, "mrgen_core.sampling", raising=False)  # the real one
    from mrgen_core.metrics import evaluate as score
    from mrgen_core.sampling import generate, load_model

    out = tmp_path / "eval.json"
    assert cli.main(["eval", "--model", str(tiny_labelled_model), "--samples", "2", "--json", str(out)]) == 0
    figs = json.loads(out.read_text())
    m = load_model(tiny_labelled_model)
    clips = {r.label_names()[0]: r for r in m.training_motions()}
    assert figs["protocol"]["labels"] == ["walk", "run"] and figs["num_samples"] == 4
    assert figs["protocol"]["frames"] == {k: 2 * clips[k].num_frames for k in ("walk", "run")}
    run = score(generate(m, frames=2 * clips["run"].num_frames, seed=0, num=2, labels="run", noise="coarsest"),
                [clips["run"]])
    for key in ("coverage", "local_diversity"):
        assert figs["per_label"]["run"][key] == pytest.approx(run[key], rel=1e-9)
        assert figs["per_label"]["run"]["literal"][key] == pytest.approx(run["literal"][key], rel=1e-9)
    w = {k: figs["per_label"][k]["windows"] for k in ("walk", "run")}
    assert w == {k: clips[k].num_frames - 29 for k in ("walk", "run")}
    assert figs["coverage"] == pytest.approx(
        sum(figs["per_label"][k]["coverage"] * w[k] for k in w) / sum(w.values()), rel=1e-9)
    assert "  run: 2 samples" in capsys.readouterr().out
    assert cli.main(["eval", "--model", str(tiny_labelled_model), "--samples", "1", "--label", "run",
                     "--json", str(out)]) == 0
    one = json.loads(out.read_text())
    assert list(one["per_label"]) == ["run"] and one["num_samples"] == 1
    assert cli.main(["eval", "--model", str(tiny_labelled_model), "--label", "swim"]) == 2
    assert "--label 'swim'" in capsys.readouterr().err
