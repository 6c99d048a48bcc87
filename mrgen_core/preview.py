"""Stick-figure previews of a motion: a PNG filmstrip, or a GIF / MP4 animation (matplotlib, Agg, no GUI).

The figure is drawn from a fixed orthographic camera (azimuth and elevation in degrees; azimuth 0 looks at the
front of a zero-pose body, which faces -Y in mrgen's Z-up world), over a floor grid at z = 0. The subject's left
limbs are blue, right limbs red, the spine and head dark grey. pyplot is never used, so no GUI backend or global
figure state is touched.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import MrgenError
from .motion import Motion
from .skeleton import JOINT_NAMES, PARENTS

LEFT_COLOR = "#1f5fbf"
RIGHT_COLOR = "#d0342c"
CENTER_COLOR = "#333333"
FLOOR_COLOR = "#c8c8c8"
PATH_COLOR = "#2a9d4a"
#: Animation formats :func:`render_animation` writes.
ANIMATION_FORMATS = (".gif", ".mp4")
_BODY_HEIGHT = 1.7  # metres, for framing decisions
_BONES = [(int(PARENTS[j]), j) for j in range(1, len(PARENTS))]
_BONE_COLORS = [LEFT_COLOR if JOINT_NAMES[j].startswith("left_") else
                RIGHT_COLOR if JOINT_NAMES[j].startswith("right_") else CENTER_COLOR for _, j in _BONES]


@dataclass(frozen=True)
class _Camera:
    right: np.ndarray
    up: np.ndarray

    @classmethod
    def make(cls, azimuth: float, elevation: float) -> "_Camera":
        az, el = np.radians(azimuth), np.radians(elevation)
        to_camera = np.array([np.sin(az) * np.cos(el), -np.cos(az) * np.cos(el), np.sin(el)])
        forward = -to_camera
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        return cls(right, np.cross(right, forward))

    def project(self, p: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` -> screen coordinates ``(..., 2)`` in metres."""
        return np.stack([p @ self.right, p @ self.up], axis=-1)


def _floor_segments(joints: np.ndarray, cam: _Camera, extra: np.ndarray | None = None) -> np.ndarray:
    """Grid lines on z = 0 around everywhere the body goes (and the floor points ``extra`` (N, 2)), projected:
    ``(L, 2, 2)``."""
    pts = joints[..., :2].reshape(-1, 2)
    if extra is not None:
        pts = np.concatenate([pts, extra])
    lo = pts.min(axis=0) - 1.0
    hi = pts.max(axis=0) + 1.0
    step = max(0.5, float(np.ceil((hi - lo).max() / 40.0 / 0.5)) * 0.5)  # at most ~40 lines per direction
    lo, hi = np.floor(lo / step) * step, np.ceil(hi / step) * step
    segs = [[[x, lo[1], 0.0], [x, hi[1], 0.0]] for x in np.arange(lo[0], hi[0] + step / 2, step)]
    segs += [[[lo[0], y, 0.0], [hi[0], y, 0.0]] for y in np.arange(lo[1], hi[1] + step / 2, step)]
    return cam.project(np.asarray(segs))


def _fit(lo: np.ndarray, hi: np.ndarray, aspect: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Expand the box ``lo..hi`` (2D) to width / height == ``aspect`` around its centre."""
    c, size = (lo + hi) / 2, hi - lo
    w, h = max(size[0], size[1] * aspect), max(size[1], size[0] / aspect)
    return (c[0] - w / 2, c[0] + w / 2), (c[1] - h / 2, c[1] + h / 2)


class _Scene:
    """Projected joints and the view limits of every frame, for one motion and camera."""

    def __init__(self, motion: Motion, azimuth: float, elevation: float, follow: bool, aspect: float,
                 path: np.ndarray | None = None):
        self.motion = motion
        self.labels = motion.label_names()
        joints = motion.joints()
        cam = _Camera.make(azimuth, elevation)
        self.pts = cam.project(joints)  # (T, 24, 2)
        self.floor = _floor_segments(joints, cam, path)
        self.path = None if path is None else cam.project(np.c_[path, np.zeros(len(path))])  # (N, 2) on the floor
        ground = joints[:, 0].copy()
        ground[:, 2] = 0.0
        g = cam.project(ground)  # (T, 2): the floor under the pelvis
        if follow:  # the camera keeps its angle and zoom and slides along with the pelvis
            rel = self.pts - g[:, None]
            lo = np.minimum(rel.reshape(-1, 2).min(axis=0), [-0.5, -0.1]) - 0.12
            hi = np.maximum(rel.reshape(-1, 2).max(axis=0), [0.5, 1.5]) + [0.12, 0.25]
            lo[0], hi[0] = -max(-lo[0], hi[0]), max(-lo[0], hi[0])  # pelvis centred left-right
            (x0, x1), (y0, y1) = _fit(lo, hi, aspect)
            self.limits = [((x0 + c[0], x1 + c[0]), (y0 + c[1], y1 + c[1])) for c in g]
        else:
            every = np.concatenate([self.pts.reshape(-1, 2), g])
            lo, hi = every.min(axis=0) - 0.3, every.max(axis=0) + 0.3
            self.limits = [_fit(lo, hi, aspect)] * len(self.pts)

    def bones(self, k: int) -> np.ndarray:
        p = self.pts[k]
        return np.stack([p[[a for a, _ in _BONES]], p[[b for _, b in _BONES]]], axis=1)

    def caption(self, k: int) -> str:
        label = self.labels[k]
        return f"{k / self.motion.fps:.2f} s" + (f"  {label}" if label else "")


def _figure(width_in: float, height_in: float, dpi: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _panel(fig, rect, scene: _Scene, k: int):
    """Axes at ``rect`` (figure fraction) showing frame ``k``; returns the artists an animation updates:
    (axes, bones, joint dots, head, caption)."""
    from matplotlib.collections import LineCollection

    ax = fig.add_axes(rect)
    ax.set_axis_off()
    ax.add_collection(LineCollection(scene.floor, colors=FLOOR_COLOR, linewidths=0.6, zorder=1))
    if scene.path is not None:
        ax.plot(*scene.path.T, color=PATH_COLOR, linewidth=1.6, zorder=2)
    bones = LineCollection(scene.bones(k), colors=_BONE_COLORS, linewidths=2.2, capstyle="round", zorder=3)
    ax.add_collection(bones)
    dots = ax.scatter(*scene.pts[k].T, s=6, c=CENTER_COLOR, zorder=4)
    head = ax.scatter(*scene.pts[k, 15], s=60, facecolors="white", edgecolors=CENTER_COLOR, linewidths=1.5, zorder=5)
    (x0, x1), (y0, y1) = scene.limits[k]
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    text = ax.text(0.03, 0.97, scene.caption(k), transform=ax.transAxes, va="top", ha="left", fontsize=8,
                   color=CENTER_COLOR)
    return ax, bones, dots, head, text


def _write_error(path, e: OSError) -> MrgenError:
    return MrgenError(f"cannot write file ({e.strerror or ' '.join(str(e).split())})", path)


def render_filmstrip(motion: Motion, path: str | os.PathLike, frames: int = 8, *, panel_height: float = 2.4,
                     dpi: float = 100, azimuth: float = 35.0, elevation: float = 12.0, follow: bool = True,
                     floor_path: np.ndarray | None = None) -> Path:
    """Write a PNG of ``frames`` evenly spaced frames side by side (first and last included); atomic.

    ``follow``: each panel's camera slides along with the pelvis (same angle and zoom in every panel, the floor grid
    shows the travel); otherwise one fixed view frames the whole motion. ``floor_path``: floor points (N, 2) drawn
    as a green line on the floor (``generate --path`` waypoints).
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise MrgenError(f"a filmstrip is written as .png, not {path.suffix or '(no extension)'}", path)
    n = int(frames)
    if n < 1:
        raise MrgenError(f"frames must be at least 1, got {frames}", path)
    n = min(n, motion.num_frames)
    aspect = 0.7
    scene = _Scene(motion, azimuth, elevation, follow, aspect, floor_path)
    idx = np.unique(np.rint(np.linspace(0, motion.num_frames - 1, n)).astype(int))
    fig = _figure(panel_height * aspect * len(idx), panel_height, dpi)
    w = 1.0 / len(idx)
    for i, k in enumerate(idx):
        _panel(fig, (i * w, 0.0, w, 1.0), scene, int(k))
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi, facecolor="white")
    except OSError as e:
        raise _write_error(path, e) from None
    return path


class _GifWriter:
    """Collects frames straight from the Agg canvas and writes them with Pillow (a leaner ``PillowWriter``: fast
    octree palette per frame, no dithering, frame delays rounded so the total duration stays exact)."""

    def __init__(self, fps: float):
        self.fps = fps
        self.frames: list = []

    def setup(self, fig, outfile, dpi=None):
        self.fig, self.outfile, self.frames = fig, outfile, []

    def grab_frame(self, **_):
        from PIL import Image

        canvas = self.fig.canvas
        canvas.draw()
        rgba = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        self.frames.append(rgba.convert("RGB").quantize(64, method=Image.Quantize.FASTOCTREE,
                                                        dither=Image.Dither.NONE))

    def finish(self):
        if not self.frames:
            return
        ends = np.rint(np.arange(1, len(self.frames) + 1) * 100.0 / self.fps)  # GIF delays are centiseconds
        delays = np.diff(np.concatenate([[0.0], ends])).astype(int) * 10
        self.frames[0].save(self.outfile, format="GIF", save_all=True, append_images=self.frames[1:],
                            duration=[int(d) for d in delays], loop=0)


def check_animation_path(path: str | os.PathLike, fps: float = 15.0) -> None:
    """Raise :class:`MrgenError` unless an animation can be written to ``path`` at ``fps`` (type, ffmpeg)."""
    _writer(Path(path), float(fps))


def _writer(path: Path, fps: float):
    from matplotlib import animation

    ext = path.suffix.lower()
    if ext == ".gif":
        if fps > 50:
            raise MrgenError(f"GIF frame rate must be at most 50 fps (viewers slow faster GIFs down), got {fps:g}",
                             path)
        return _GifWriter(fps)
    if ext == ".mp4":
        if not animation.FFMpegWriter.isAvailable():
            raise MrgenError("writing .mp4 needs ffmpeg on the PATH (not found); write a .gif instead", path)
        return animation.FFMpegWriter(fps=fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p"])
    raise MrgenError(f"unsupported animation type {ext or '(no extension)'}; supported: "
                     f"{', '.join(ANIMATION_FORMATS)}", path)


def render_animation(motion: Motion, path: str | os.PathLike, fps: float = 15.0, *, size: float = 4.0,
                     dpi: float = 80, azimuth: float = 35.0, elevation: float = 12.0, follow: bool | None = None,
                     progress: bool = True, floor_path: np.ndarray | None = None) -> Path:
    """Write a GIF (Pillow) or MP4 (ffmpeg) stick-figure animation at ``fps`` (resampled by time); atomic.

    ``size``: frame height and width in inches (``size * dpi`` pixels). ``follow``: the camera slides along with
    the pelvis instead of framing the whole motion; ``None`` (default) follows only when a fixed view of the whole
    path would make the body small (under a third of the frame height). Shows a tqdm progress bar unless
    ``progress`` is false. ``floor_path``: floor points (N, 2) drawn on the floor.
    """
    from tqdm import tqdm

    path = Path(path)
    fps = float(fps)
    if not (np.isfinite(fps) and fps > 0):
        raise MrgenError(f"fps must be a positive number, got {fps:g}", path)
    writer = _writer(path, fps)
    clip = motion.resample(fps) if abs(fps - motion.fps) > 1e-9 else motion
    scene = _Scene(clip, azimuth, elevation, bool(follow), 1.0, floor_path)
    if follow is None and scene.limits[0][1][1] - scene.limits[0][1][0] > 3 * _BODY_HEIGHT:
        follow = True
        scene = _Scene(clip, azimuth, elevation, True, 1.0, floor_path)
    fig = _figure(size, size, dpi)
    ax, bones, dots, head, text = _panel(fig, (0.0, 0.0, 1.0, 1.0), scene, 0)
    try:
        with atomic_path(path) as tmp:
            writer.setup(fig, str(tmp), dpi=dpi)
            done = False
            try:
                for k in tqdm(range(clip.num_frames), desc=f"preview {path.name}", unit="frame",
                              disable=not progress):
                    bones.set_segments(scene.bones(k))
                    dots.set_offsets(scene.pts[k])
                    head.set_offsets(scene.pts[k, 15][None])
                    text.set_text(scene.caption(k))
                    if follow:
                        (x0, x1), (y0, y1) = scene.limits[k]
                        ax.set_xlim(x0, x1)
                        ax.set_ylim(y0, y1)
                    writer.grab_frame(facecolor="white")
                done = True
            finally:
                if done:
                    writer.finish()
                else:  # stop an ffmpeg process; the partial file is deleted by atomic_path
                    with contextlib.suppress(Exception):
                        writer.finish()
    except OSError as e:
        raise _write_error(path, e) from None
    return path
