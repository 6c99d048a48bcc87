"""Stick-figure previews (mrgen_core.preview): PNG filmstrips and GIF animations."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mrgen_core import Motion, MrgenError
from mrgen_core.preview import LEFT_COLOR, RIGHT_COLOR, render_animation, render_filmstrip

REPO = Path(__file__).resolve().parents[1]


def _walk(seconds: float = 2.0, fps: float = 60.0) -> Motion:
    """A synthetic walk along -Y: the body faces -Y (its zero pose after the Z-up fold), legs and arms swing."""
    t = np.arange(int(seconds * fps)) / fps
    poses = np.zeros((len(t), 24, 3))
    poses[:, 0] = [np.pi / 2, 0, 0]
    swing = 0.5 * np.sin(2 * np.pi * t)
    poses[:, 1, 0], poses[:, 2, 0] = swing, -swing
    poses[:, 4, 0], poses[:, 5, 0] = 0.4 * (1 + np.cos(2 * np.pi * t)), 0.4 * (1 - np.cos(2 * np.pi * t))
    poses[:, 16, 2], poses[:, 17, 2] = -1.2, 1.2  # arms down
    trans = np.c_[np.zeros_like(t), -1.2 * t, np.full_like(t, 0.95)]
    labels = (t >= seconds / 2).astype(int)
    return Motion(poses, trans, fps, labels=labels, vocab=("walk", "stride"))


def _rgb(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(float)


def _hex(c: str) -> np.ndarray:
    return np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)], float)


def _mask(img: np.ndarray, color: str, tol: float = 40.0) -> np.ndarray:
    return np.linalg.norm(img - _hex(color), axis=-1) < tol


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if ".tmp-" in p.name]


def test_filmstrip_png(tmp_path):
    p = tmp_path / "strip.png"
    assert render_filmstrip(_walk(), p, frames=6, panel_height=2.0, dpi=100) == p
    img = _rgb(p)
    assert img.shape[0] == 200 and 6 * 120 <= img.shape[1] <= 6 * 160  # six panels side by side
    assert img.std() > 10  # not blank
    left, right = _mask(img, LEFT_COLOR), _mask(img, RIGHT_COLOR)
    assert left.sum() > 200 and right.sum() > 200
    # every panel shows a figure: both limb colours in each sixth of the strip
    for part_l, part_r in zip(np.array_split(left, 6, axis=1), np.array_split(right, 6, axis=1)):
        assert part_l.sum() > 20 and part_r.sum() > 20
    assert _no_temp_files(tmp_path)


def test_left_limbs_drawn_on_the_subjects_left(tmp_path):
    """Seen from the front (azimuth 0: the camera looks at a body facing -Y), the subject's left (blue) is on the
    image's right."""
    m = _walk().slice(0, 1)
    p = tmp_path / "front.png"
    render_filmstrip(m, p, frames=1, azimuth=0.0, elevation=0.0)
    img = _rgb(p)
    xs_left = np.nonzero(_mask(img, LEFT_COLOR))[1]
    xs_right = np.nonzero(_mask(img, RIGHT_COLOR))[1]
    assert xs_left.mean() > xs_right.mean() + 10
    # and from behind (azimuth 180) it flips
    render_filmstrip(m, p, frames=1, azimuth=180.0, elevation=0.0)
    img = _rgb(p)
    assert np.nonzero(_mask(img, LEFT_COLOR))[1].mean() < np.nonzero(_mask(img, RIGHT_COLOR))[1].mean() - 10


def test_gif_animation_resampled_by_time(tmp_path):
    m = _walk(seconds=2.0, fps=60.0)  # 120 frames
    p = tmp_path / "walk.gif"
    render_animation(m, p, fps=10, size=3.0, dpi=60, progress=False)
    im = Image.open(p)
    assert im.format == "GIF" and im.size == (180, 180)
    assert im.n_frames == 20  # (120 - 1) frames of 1/60 s -> 1.98 s -> 20 frames at 10 fps
    total, frames = 0, []
    for k in range(im.n_frames):
        im.seek(k)
        total += im.info["duration"]
        frames.append(np.asarray(im.convert("RGB")).astype(float))
    assert abs(total - 2000) <= 10  # 20 frames at 10 fps
    assert frames[0].std() > 10 and frames[10].std() > 10
    assert np.abs(frames[0] - frames[5]).max() > 50  # it moves
    assert _no_temp_files(tmp_path)


def test_long_walk_follows_the_body(tmp_path):
    m = _walk(seconds=10.0, fps=30.0)  # 12 m of travel: a fixed view of it all would make the body tiny
    p = tmp_path / "long.gif"
    render_animation(m, p, fps=5, size=3.0, dpi=60, progress=False)
    im = Image.open(p)
    im.seek(im.n_frames - 1)
    last = np.asarray(im.convert("RGB")).astype(float)
    rows = np.nonzero(_mask(last, LEFT_COLOR) | _mask(last, RIGHT_COLOR))[0]
    assert rows.max() - rows.min() > 0.4 * 180  # the limbs span a good part of the frame height


def test_bad_outputs(tmp_path, monkeypatch):
    from matplotlib import animation

    m = _walk(seconds=0.5)
    cases = [
        (lambda: render_animation(m, tmp_path / "a.avi", progress=False), "unsupported animation type .avi"),
        (lambda: render_animation(m, tmp_path / "a.gif", fps=60, progress=False), "at most 50 fps"),
        (lambda: render_animation(m, tmp_path / "a.gif", fps=0, progress=False), "positive"),
        (lambda: render_filmstrip(m, tmp_path / "a.jpg"), "written as .png"),
        (lambda: render_filmstrip(m, tmp_path / "a.png", frames=0), "at least 1"),
    ]
    monkeypatch.setattr(animation.FFMpegWriter, "isAvailable", classmethod(lambda cls: False))
    cases.append((lambda: render_animation(m, tmp_path / "a.mp4", progress=False), "needs ffmpeg"))
    for call, pattern in cases:
        with pytest.raises(MrgenError, match=pattern):
            call()
    assert list(tmp_path.iterdir()) == []


def test_failed_animation_leaves_no_file(tmp_path, monkeypatch):
    from mrgen_core import preview

    calls = []

    def grab_then_fail(self, **kw):
        calls.append(1)
        if len(calls) > 3:
            raise RuntimeError("disk gone")

    monkeypatch.setattr(preview._GifWriter, "grab_frame", grab_then_fail)
    with pytest.raises(RuntimeError):
        render_animation(_walk(seconds=1.0), tmp_path / "x.gif", fps=10, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_mp4_when_ffmpeg_exists(tmp_path):
    from matplotlib import animation

    if not animation.FFMpegWriter.isAvailable():
        pytest.skip("ffmpeg is not installed here: MP4 writing not exercised (the no-ffmpeg error is tested)")
    p = tmp_path / "w.mp4"
    render_animation(_walk(seconds=1.0), p, fps=10, progress=False)
    assert p.stat().st_size > 1000


def test_no_gui_backend_and_no_torch(tmp_path):
    """Rendering never imports pyplot (no GUI state) and the preview path never imports torch."""
    code = (
        "import sys, numpy as np\n"
        "from mrgen_core import Motion\n"
        "from mrgen_core.preview import render_filmstrip, render_animation\n"
        "m = Motion(np.zeros((10, 24, 3)), np.zeros((10, 3)), 30)\n"
        f"render_filmstrip(m, {str(tmp_path / 'a.png')!r}, frames=2)\n"
        f"render_animation(m, {str(tmp_path / 'a.gif')!r}, progress=False)\n"
        "bad = [k for k in ('matplotlib.pyplot', 'torch') if k in sys.modules]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.png").is_file() and (tmp_path / "a.gif").is_file()
