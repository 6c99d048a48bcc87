"""``mrgen train`` and ``mrgen generate`` end to end on real clips (``tiny`` test preset), and their errors."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import REPO, data_path

from mrgen_core.cli import main
from mrgen_core.motion_files import load_motion

WALK = "cmu_mocap/cgspeed_motionbuilder/02_01.bvh"
RUN = "cmu_mocap/iclone_cc_rig/002_03.bvh"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model_file(tiny_labelled_model):
    """`mrgen train` on the walk and the run, labelled (tests/conftest.py)."""
    return tiny_labelled_model


def _fail(argv, capsys, *needles):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("mrgen: error: ") and err.count("\n") == 1, err
    for n in needles:
        assert n in err, err
    return err


def test_generate_several_files(model_file, tmp_path, capsys):
    out = tmp_path / "takes.npz"
    assert main(["generate", "--model", str(model_file), "--seconds", "3", "--seed", "5", "--num", "2",
                 "--labels", "walk:0-1.5,run:1.5-3", "-o", str(out)]) == 0
    files = sorted(tmp_path.glob("takes_*.npz"))
    assert [f.name for f in files] == ["takes_000.npz", "takes_001.npz"]
    a, b = (load_motion(f) for f in files)
    assert a.num_frames == 90 and a.fps == 30.0
    assert not np.allclose(a.poses, b.poses)
    assert "wrote" in capsys.readouterr().out
    # the same seed gives the same motion: sample k uses seed + k, whatever --num
    single = tmp_path / "one.npz"
    assert main(["generate", "--model", str(model_file), "--seconds", "3", "--seed", "6",
                 "--labels", "walk:0-1.5,run:1.5-3", "-o", str(single)]) == 0
    assert np.array_equal(load_motion(single).poses, b.poses)


def test_generate_bvh(model_file, tmp_path):
    out = tmp_path / "walk.bvh"
    assert main(["generate", "--model", str(model_file), "--seconds", "2", "--labels", "walk", "-o", str(out)]) == 0
    m = load_motion(out, fps=30)
    assert abs(m.num_frames - 60) <= 1


def test_generate_errors(model_file, tmp_path, capsys):
    out = tmp_path / "x.npz"
    _fail(["generate", "--model", str(model_file), "--seconds", "2", "--labels", "jump:0-2", "-o", str(out)],
          capsys, "unknown label 'jump'", "walk, run")
    _fail(["generate", "--model", str(model_file), "--seconds", "2", "--labels", "walk:0", "-o", str(out)],
          capsys, "LABEL:START-END")
    junk = tmp_path / "junk.pt"
    junk.write_text("not a model")
    _fail(["generate", "--model", str(junk), "--seconds", "2", "-o", str(out)], capsys, str(junk),
          "not an mrgen model")
    _fail(["generate", "--model", str(model_file), "--seconds", "2", "-o", str(tmp_path / "x.txt")], capsys,
          "unsupported file type")
    _fail(["generate", "--model", str(model_file), "--seconds", "-1", "-o", str(out)], capsys, "--seconds")
    _fail(["generate", "--model", str(model_file), "--num", "0", "-o", str(out)], capsys, "--num")
    assert not list(tmp_path.glob("x*"))


def test_train_errors(tmp_path, capsys):
    out = tmp_path / "m.pt"
    _fail(["train", "-o", str(out)], capsys, "no training clips")
    _fail(["train", str(data_path(WALK)), "--preset", "turbo", "-o", str(out)], capsys, "unknown preset",
          "fast, default, quality")
    _fail(["train", str(data_path(WALK)), str(data_path(RUN)), "--label", "a", "--label", "b", "--label", "c",
           "--preset", "tiny", "-o", str(out)], capsys, "3 labels given for 2 clips")
    _fail(["train", str(tmp_path / "nope.bvh"), "-o", str(out)], capsys, "nope.bvh", "no such file")
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nnonsense\n")
    _fail(["train", str(bad), "--preset", "tiny", "-o", str(out)], capsys, "bad.bvh")
    _fail(["train", str(data_path(WALK)), "--preset", "tiny", "-o", str(tmp_path / "m.npz")], capsys, ".pt")
    assert not list(tmp_path.glob("m*"))


def test_console_script_runs(model_file, tmp_path):
    """The installed ``mrgen`` entry point (a fresh process) generates from the trained model."""
    out = tmp_path / "cli.npz"
    exe = REPO / ".venv" / "bin" / "mrgen"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "mrgen_core"]
    r = subprocess.run([*cmd, "generate", "--model", str(model_file), "--seconds", "1", "--labels", "run",
                        "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert load_motion(out).num_frames == 30
