"""The ``mrgen`` subcommands import, export, info and preview: in-process through ``main`` and once through the
installed console script."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import data_path
from mrgen_core import Motion
from mrgen_core.cli import main
from mrgen_core.io.bvh import read_bvh
from mrgen_core.motion_files import load_motion, save_motion
from mrgen_core.skeleton import JOINT_NAMES, Y_UP_TO_Z_UP

REPO = Path(__file__).resolve().parents[1]
MRGEN = REPO / ".venv" / "bin" / "mrgen"
CLIP = "cmu_mocap/cgspeed_motionbuilder/02_01.bvh"


def _motion(t: int = 60, fps: float = 60.0) -> Motion:
    rng = np.random.default_rng(0)
    poses = rng.normal(scale=0.2, size=(t, 24, 3))
    poses[:, 0] = [np.pi / 2, 0, 0]
    trans = np.c_[np.zeros(t), -np.linspace(0, 1, t), np.full(t, 0.95)]
    labels = np.r_[np.zeros(t // 2, int), np.ones(t - t // 2, int)]
    return Motion(poses, trans, fps, labels=labels, vocab=("walk", "wave"), name="demo", credit="test data")


@pytest.fixture
def clip(tmp_path) -> Path:
    p = tmp_path / "in" / "demo.npz"
    save_motion(_motion(), p)
    return p


def _run(argv, capsys) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- help ----------------------------------------------------------------------------------------------------------
def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("import", "export", "info", "preview"):
        assert cmd in out


@pytest.mark.parametrize("cmd", ["import", "export", "info", "preview"])
def test_subcommand_help_has_description_and_examples(capsys, cmd):
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: mrgen {cmd}" in out and "examples:" in out and f"mrgen {cmd} " in out.split("examples:")[1]


def test_console_script_help_and_error():
    assert MRGEN.exists(), f"console script missing: {MRGEN} (pip install -e .)"
    r = subprocess.run([str(MRGEN), "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "preview" in r.stdout and "import" in r.stdout
    r = subprocess.run([str(MRGEN), "info", "no_such_clip.npz"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == ["mrgen: error: no_such_clip.npz: file not found"]


# --- the happy paths on our own .npz --------------------------------------------------------------------------
def test_import_npz_resamples_and_credits(clip, tmp_path, capsys):
    out = tmp_path / "out" / "c30.npz"
    rc, stdout, err = _run(["import", clip, "-o", out, "--fps", 30, "--credit", "mine", "--name", "thirty"], capsys)
    assert rc == 0 and err == ""
    assert str(out) in stdout and "30 frames at 30 fps" in stdout
    m = load_motion(out)
    assert (m.fps, m.num_frames, m.credit, m.name) == (30.0, 30, "mine", "thirty")
    assert m.vocab == ("walk", "wave") and m.labels is not None


def test_export_npz_to_npz(clip, tmp_path, capsys):
    out = tmp_path / "copy.npz"
    rc, _, _ = _run(["export", clip, "-o", out], capsys)
    assert rc == 0
    a, b = load_motion(clip), load_motion(out)
    assert np.array_equal(a.poses, b.poses) and np.array_equal(a.trans, b.trans) and a.credit == b.credit


def test_info_text_and_json(clip, capsys):
    rc, out, _ = _run(["info", clip], capsys)
    assert rc == 0
    assert "60 at 60 fps (1.00 s)" in out
    assert "walk" in out and "frames 0-29" in out and "wave" in out and "frames 30-59" in out
    assert "left_knee" in out and "right_wrist" in out and "travelled" in out
    rc, out, _ = _run(["info", clip, "--json"], capsys)
    info = json.loads(out)
    assert info["frames"] == 60 and info["fps"] == 60.0 and info["credit"] == "test data"
    assert [s["label"] for s in info["labels"]] == ["walk", "wave"]
    assert abs(info["root"]["displacement_m"][1] + 1.0) < 1e-6 and abs(info["root"]["path_length_m"] - 1.0) < 1e-6
    knee = info["joint_ranges_deg"]["left_knee"]
    m = load_motion(clip)
    assert np.isclose(knee["angle"][1], np.degrees(np.linalg.norm(m.poses[:, 4], axis=-1)).max())


def test_preview_png_and_gif(clip, tmp_path, capsys):
    png, gif = tmp_path / "p.png", tmp_path / "p.gif"
    rc, _, _ = _run(["preview", clip, "-o", png, "--frames", 4], capsys)
    assert rc == 0 and np.asarray(Image.open(png).convert("L")).std() > 10
    rc, _, _ = _run(["preview", clip, "-o", gif, "--fps", 10, "--quiet"], capsys)
    assert rc == 0 and Image.open(gif).n_frames == 10


# --- bad input: exit 2, one line naming the file, no output -----------------------------------------------------
def _bad_npz(folder: Path, name: str, **arrays) -> Path:
    base = dict(poses=np.zeros((5, 72)), trans=np.zeros((5, 3)), mocap_framerate=np.array(30.0))
    base.update(arrays)
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    np.savez(p, **base)
    return p


def _error_cases(tmp_path: Path, clip: Path):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    wrong = _bad_npz(src, "wrong_shape.npz", poses=np.zeros((5, 70)))
    nan = _bad_npz(src, "nan.npz", trans=np.full((5, 3), np.nan))
    corrupt = src / "corrupt.npz"
    corrupt.write_bytes(clip.read_bytes()[:200])
    text = src / "notes.txt"
    text.write_text("hello")
    missing = src / "missing.npz"
    return [  # (argv without -o, output name, the file the error must name, a piece of the problem)
        (["import", missing], "o.npz", missing, "file not found"),
        (["import", wrong], "o.npz", wrong, "'poses' has shape (5, 70)"),
        (["import", nan], "o.npz", nan, "'trans' contains NaN"),
        (["import", corrupt], "o.npz", corrupt, "not a zip"),
        (["import", text], "o.npz", text, "unsupported file type .txt"),
        (["import", clip], "o.bvh", "o.bvh", "must be a .npz"),
        (["export", wrong], "o.bvh", wrong, "'poses' has shape"),
        (["export", clip], "o.txt", "o.txt", "unsupported file type .txt"),
        (["info", nan], None, nan, "NaN"),
        (["preview", missing], "o.png", missing, "file not found"),
        (["preview", clip], "o.jpg", "o.jpg", "unsupported preview type .jpg"),
        (["preview", clip, "--fps", "100"], "o.gif", "o.gif", "at most 50 fps"),
        (["import", clip, "--mapping", "map.json"], "o.npz", clip, "BVH input only"),
    ]


def test_bad_input_exits_2_with_one_line_and_no_output(clip, tmp_path, capsys):
    for argv, out_name, named, problem in _error_cases(tmp_path, clip):
        out_dir = tmp_path / "out"
        args = list(argv) + (["-o", out_dir / out_name] if out_name else [])
        rc, stdout, err = _run(args, capsys)
        where = named if isinstance(named, Path) else out_dir / named
        assert rc == 2, argv
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"mrgen: error: {where}: "), (argv, err)
        assert problem in lines[0], (argv, err)
        assert _files(out_dir) == [], (argv, _files(out_dir))


def test_mp4_without_ffmpeg(clip, tmp_path, capsys, monkeypatch):
    from matplotlib import animation

    monkeypatch.setattr(animation.FFMpegWriter, "isAvailable", classmethod(lambda cls: False))
    out = tmp_path / "o.mp4"
    rc, _, err = _run(["preview", clip, "-o", out], capsys)
    assert rc == 2 and err.strip() == f"mrgen: error: {out}: writing .mp4 needs ffmpeg on the PATH (not found); " \
                                      "write a .gif instead"
    assert not out.exists()


@pytest.mark.parametrize("argv", [["import", "x.npz"], ["import", "x.npz", "-o", "y.npz", "--fps", "-3"],
                                  ["preview", "x.npz", "-o", "y.png", "--frames", "0"], ["nosuch"]])
def test_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert "usage: mrgen" in capsys.readouterr().err


# --- a real clip end to end --------------------------------------------------------------------------------------
def test_real_clip_import_info_export_preview(tmp_path, capsys):
    bvh = data_path(CLIP)
    npz, out_bvh, png = tmp_path / "02_01.npz", tmp_path / "02_01_smpl.bvh", tmp_path / "02_01.png"
    rc, out, _ = _run(["import", bvh, "-o", npz, "--fps", 30, "--credit", "CMU mocap"], capsys)
    assert rc == 0 and "at 30 fps" in out
    m = load_motion(npz)
    assert m.fps == 30.0 and m.credit == "CMU mocap" and m.num_frames > 60
    joints = m.joints()
    assert abs(joints[..., 2].min()) < 0.05 and joints[:, 15, 2].mean() > 1.3  # on the floor, upright, Z up

    rc, out, _ = _run(["info", npz, "--json"], capsys)
    info = json.loads(out)
    assert rc == 0 and info["frames"] == m.num_frames and info["root"]["path_length_m"] > 1.0  # 02_01 walks

    rc, _, _ = _run(["export", npz, "-o", out_bvh], capsys)
    assert rc == 0
    assert load_motion(out_bvh).num_frames == m.num_frames  # our own BVH reads back through the retargeting layer
    bvh_file = read_bvh(out_bvh)  # and its own FK (Y-up, metres) puts the SMPL joints where ours are
    pos, _ = bvh_file.fk()
    pos = pos[:, [bvh_file.names.index(n) for n in JOINT_NAMES]] @ Y_UP_TO_Z_UP.T
    assert np.abs(pos - joints).max() < 1e-3

    rc, _, _ = _run(["preview", npz, "-o", png], capsys)
    assert rc == 0 and np.asarray(Image.open(png).convert("L")).std() > 10

    rc, out, _ = _run(["info", bvh], capsys)  # a BVH straight in
    assert rc == 0 and "120 fps" in out


def test_real_clip_bad_bvh(tmp_path, capsys):
    text = data_path(CLIP).read_text()
    truncated = tmp_path / "truncated.bvh"
    truncated.write_text(text[: len(text) // 3])
    head, motion = text.split("MOTION", 1)
    renamed = tmp_path / "renamed.bvh"
    names = [line.split()[1] for line in head.splitlines() if line.strip().split()[:1] in (["ROOT"], ["JOINT"])]
    for i, n in enumerate(sorted(names, key=len, reverse=True)):
        head = head.replace(f" {n}\n", f" Bone{i:02d}\n").replace(f" {n}\r\n", f" Bone{i:02d}\r\n")
    renamed.write_text(head + "MOTION" + motion)
    for src in (truncated, renamed):
        out = tmp_path / "out" / "x.npz"
        rc, _, err = _run(["import", src, "-o", out], capsys)
        assert rc == 2 and len(err.splitlines()) == 1 and err.startswith(f"mrgen: error: {src}: "), err
        assert _files(out.parent) == []
