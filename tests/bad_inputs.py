"""The bad-input table: one row per input class x command, the files it needs, and a runner that records how each
row ends. Shared by tests/test_bad_input_table.py (which asserts every row) and benchmarks/bench_reliability.py
(which counts them for BENCHMARKS.md).

Every row must end in exit status 2 with exactly one stderr line ``mrgen: error: ...`` that names the file or
argument (``Case.expect``), no traceback, no file added or removed in the work folder (outputs, temporary files),
and every input unchanged (hash before and after). Rows run in-process (``mrgen_core.cli.main``); the permission
rows (unreadable input, read-only folder) run in a forked child that drops to user ``nobody`` when the tests run as
root (root ignores file permissions); the size rows run with an address-space limit of the current size plus
``MEMORY_HEADROOM`` (2 GB, as ``ulimit -v``), so a row that allocates before checking fails.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import stat
import struct
import tempfile
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NOBODY = 65534
DEV_ZERO = "/dev/zero"


@dataclass
class Case:
    cls: str  # input class
    command: str  # the mrgen subcommand
    argv: list[str]  # relative to the work folder
    expect: str  # what the error line must name (file or argument)
    as_user: bool = False  # a permission row: run as a non-root user

    @property
    def memory_limited(self) -> bool:
        """Size rows run with a memory limit (``MEMORY_HEADROOM``)."""
        return self.cls == "absurd size"

    @property
    def id(self) -> str:
        return f"{self.command}-{self.cls}-{' '.join(self.argv[1:])}"[:120]


@dataclass
class Outcome:
    rc: int | None
    stderr: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.strip()]

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.stderr

    def problems(self, case: Case) -> list[str]:
        """What is wrong with this outcome (empty when the row passed)."""
        out = []
        if self.rc != 2:
            out.append(f"exit status {self.rc}, expected 2")
        if self.traceback:
            out.append("traceback")
        if len(self.lines) != 1:
            out.append(f"{len(self.lines)} stderr lines, expected 1")
        elif not self.lines[0].startswith("mrgen: error:") or case.expect not in self.lines[0]:
            out.append(f"error line does not name {case.expect!r}")
        if self.added:
            out.append(f"files left behind: {self.added}")
        if self.removed:
            out.append(f"files removed: {self.removed}")
        if self.changed:
            out.append(f"inputs changed: {self.changed}")
        return out


# --- the files ------------------------------------------------------------------------------------------------
def _wav(path: Path, rate: int, samples: np.ndarray) -> None:
    """A 16-bit mono WAV with any header rate (scipy refuses to write some)."""
    data = samples.astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, rate, (rate * 2) & 0xFFFFFFFF, 2, 16)
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE" + b"fmt "
                     + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data)


def _npz(path: Path, **arrays) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def make_files(root: Path, clip_bvh: Path, model_pt: Path) -> None:
    """Every input the table uses, in ``root`` (good ones: clip.bvh, clip.npz, model.pt, ref/clip.npz)."""
    from mrgen_core.motion_files import load_motion, save_motion

    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(clip_bvh, root / "clip.bvh")
    motion = load_motion(root / "clip.bvh").resample(30.0)
    save_motion(motion, root / "clip.npz")
    (root / "ref").mkdir()
    shutil.copy(root / "clip.npz", root / "ref" / "clip.npz")
    shutil.copy(model_pt, root / "model.pt")
    text = (root / "clip.bvh").read_text()
    head, _, body = text.partition("MOTION")
    lines = body.strip().splitlines()
    for ext in ("bvh", "npz", "pt", "wav", "json", "png"):
        (root / f"dir.{ext}").mkdir()
        (root / f"empty.{ext}").write_bytes(b"")
        (root / f"junk.{ext}").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
        os.symlink(f"selflink.{ext}", root / f"selflink.{ext}")
        os.mkfifo(root / f"fifo.{ext}")
        (root / f"unreadable.{ext}").write_bytes(b"x")
    (root / "trunc.bvh").write_text(text[: len(text) // 2])
    (root / "trunc.npz").write_bytes((root / "clip.npz").read_bytes()[:3000])
    (root / "trunc.pt").write_bytes((root / "model.pt").read_bytes()[:100_000])
    vals = lines[3].split()
    vals[5] = "nan"
    (root / "nan.bvh").write_text(head + "MOTION\n" + "\n".join(lines[:3] + [" ".join(vals)] + lines[4:]) + "\n")
    vals[5] = "1e308"
    (root / "hugeval.bvh").write_text(head + "MOTION\n" + "\n".join(lines[:3] + [" ".join(vals)] + lines[4:]) + "\n")
    (root / "frames.bvh").write_text(head + "MOTION\nFrames: 999999999\n" + "\n".join(lines[1:]) + "\n")
    (root / "ft.bvh").write_text(head + "MOTION\n" + lines[0] + "\nFrame Time: 1e-300\n" + "\n".join(lines[2:]) + "\n")
    p, t = motion.poses.reshape(len(motion.poses), -1), motion.trans
    base = dict(trans=t, mocap_framerate=np.array(30.0))
    _npz(root / "nan.npz", poses=np.where(np.arange(p.size).reshape(p.shape) == 7, np.nan, p), **base)
    _npz(root / "huge.npz", poses=np.where(np.arange(p.size).reshape(p.shape) == 7, 1e308, p), **base)
    _npz(root / "shape.npz", poses=p[:, :10], **base)
    _npz(root / "type.npz", poses=p.astype(str), **base)
    _npz(root / "oneframe.npz", poses=p[:1], trans=t[:1], mocap_framerate=np.array(30.0))
    with zipfile.ZipFile(root / "zeros.npz", "w", zipfile.ZIP_DEFLATED) as zf:  # 300 000 frames of zeros, ~0.2 MB
        for key, shape in (("poses", (300_000, 72)), ("trans", (300_000, 3))):
            with zf.open(f"{key}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": shape})
                chunk = bytes(1 << 20)
                left = shape[0] * shape[1] * 8
                while left:
                    f.write(chunk[:min(left, len(chunk))])
                    left -= min(left, len(chunk))
        zf.writestr("mocap_framerate.npy", _npy(np.array(30.0)))
    os.symlink("clip.npz", root / "link.npz")
    os.symlink("clip.bvh", root / "link.bvh")
    # models: a config that would allocate gigabytes, a million levels, a negative format version
    import torch

    blob = torch.load(root / "model.pt", weights_only=True)
    for name, change in (("widths", {"g_widths": [100000, 100000]}), ("levels", {"num_levels": 1_000_000}),
                         ("kernel", {"kernel_size": 2})):
        torch.save(dict(blob, config=dict(blob["config"], **change)), root / f"{name}.pt")
    torch.save(dict(blob, version=-5), root / "version.pt")
    # audio
    _wav(root / "rate1.wav", 1, rng.integers(-3000, 3000, 16000))  # 32 KB claiming 4.4 hours
    _wav(root / "ratemax.wav", 2**31 - 1, rng.integers(-3000, 3000, 16000))
    _wav(root / "long.wav", 1000, np.zeros(1000 * 1900))  # 31.7 minutes at 1 kHz
    good = root / "good.wav"
    _wav(good, 16000, rng.integers(-3000, 3000, 16000))
    (root / "trunc.wav").write_bytes(good.read_bytes()[:30])
    good.unlink()
    # JSON
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (root / "nanlabels.json").write_text('{"clip": [[0, NaN, "walk"]]}')
    (root / "overlap.json").write_text("{}")
    # read-only folder; unreadable files
    (root / "ro").mkdir()
    for ext in ("bvh", "npz", "pt", "wav", "json", "png"):
        os.chmod(root / f"unreadable.{ext}", 0)
    os.chmod(root / "ro", 0o555)
    (root / "w").mkdir()
    os.chmod(root / "w", 0o777)
    os.chmod(root, 0o755)


def _npy(a: np.ndarray) -> bytes:
    f = io.BytesIO()
    np.save(f, a)
    return f.getvalue()


# --- the rows -------------------------------------------------------------------------------------------------
MOTION_BAD = [  # (class, file)
    ("missing", "missing.bvh"), ("missing", "missing.npz"), ("directory", "dir.bvh"), ("directory", "dir.npz"),
    ("empty", "empty.bvh"), ("empty", "empty.npz"), ("truncated", "trunc.bvh"), ("truncated", "trunc.npz"),
    ("binary junk", "junk.bvh"), ("binary junk", "junk.npz"), ("non-finite", "nan.bvh"), ("non-finite", "nan.npz"),
    ("absurd size", "frames.bvh"), ("absurd size", "zeros.npz"), ("non-physical", "hugeval.bvh"),
    ("non-physical", "huge.npz"), ("non-physical", "ft.bvh"), ("wrong shape", "shape.npz"),
    ("wrong type", "type.npz"), ("link to itself", "selflink.bvh"), ("link to itself", "selflink.npz"),
    ("FIFO", "fifo.bvh"), ("FIFO", "fifo.npz"), ("device", DEV_ZERO),
]
MODEL_BAD = [
    ("missing", "missing.pt"), ("directory", "dir.pt"), ("empty", "empty.pt"), ("truncated", "trunc.pt"),
    ("binary junk", "junk.pt"), ("absurd size", "widths.pt"), ("absurd size", "levels.pt"),
    ("wrong type", "kernel.pt"), ("wrong type", "version.pt"), ("link to itself", "selflink.pt"),
    ("FIFO", "fifo.pt"), ("device", DEV_ZERO),
]
AUDIO_BAD = [
    ("missing", "missing.wav"), ("directory", "dir.wav"), ("empty", "empty.wav"), ("truncated", "trunc.wav"),
    ("binary junk", "junk.wav"), ("absurd size", "rate1.wav"), ("absurd size", "ratemax.wav"),
    ("absurd size", "long.wav"), ("link to itself", "selflink.wav"), ("FIFO", "fifo.wav"), ("device", DEV_ZERO),
]
JSON_BAD = [
    ("missing", "missing.json"), ("directory", "dir.json"), ("empty", "empty.json"), ("binary junk", "junk.json"),
    ("absurd size", "deep.json"), ("link to itself", "selflink.json"), ("FIFO", "fifo.json"), ("device", DEV_ZERO),
]


def cases() -> list[Case]:
    rows: list[Case] = []

    def add(cls, command, argv, expect, as_user=False):
        rows.append(Case(cls, command, [command] + argv, expect, as_user))

    for cls, f in MOTION_BAD:
        add(cls, "import", [f, "-o", "out.npz"], f)
        add(cls, "export", [f, "-o", "out.bvh"], f)
        add(cls, "info", [f], f)
        add(cls, "preview", [f, "-o", "out.png"], f)
        add(cls, "train", [f, "-o", "out.pt"], f)
        add(cls, "eval", ["--samples-dir", "ref", "--reference", f], f)
        add(cls, "blend", ["--source", f, "-o", "out.npz"], f)
    for cls, f in MODEL_BAD:
        add(cls, "generate", ["--model", f, "-o", "out.npz"], f)
        add(cls, "blend", ["--model", f, "--source", "clip.npz", "-o", "out.npz"], f)
        add(cls, "eval", ["--model", f], f)
        add(cls, "train", ["--resume", f, "-o", "out.pt"], f)
    for cls, f in AUDIO_BAD:
        add(cls, "train", ["clip.npz", "--audio", f, "-o", "out.pt"], f)
    for cls, f in JSON_BAD:
        add(cls, "train", ["clip.npz", "--labels", f, "-o", "out.pt"], f)
        add(cls, "import", ["clip.bvh", "--mapping", f, "-o", "out.npz"], f)
    add("non-finite", "train", ["clip.npz", "--labels", "nanlabels.json", "-o", "out.pt"], "nanlabels.json")
    add("wrong type", "train", ["clip.npz", "--audio", "good.wav", "--path-control", "-o", "out.pt"], "--path-control")
    for cls, f in JSON_BAD + MOTION_BAD:  # a path to follow: a JSON file, or the root path of a motion
        add(cls, "generate", ["--path", f, "-o", "out.npz"], f)
    add("output over input", "generate", ["--path", "clip.npz", "-o", "clip.npz"], "clip.npz")
    for speed in ("nan", "1e9", "-1"):
        add("absurd size", "generate", ["--path", "clip.npz", "--speed", speed, "-o", "out.npz"], "--speed")
    # arguments: absurd sizes, non-finite and out-of-range values, overlapping schedules
    for argv, expect in (
            (["--seconds", "1e9"], "--seconds"), (["--seconds", "-1"], "--seconds"), (["--seconds", "nan"], "--seconds"),
            (["--seconds", "inf"], "--seconds"), (["--num", "100000000", "--seconds", "2"], "--num"),
            (["--num", "0"], "--num"), (["--labels", "walk:0-4,jump:2-6"], "--labels"),
            (["--labels", "walk:0-nan"], "--labels"), (["--labels", "walk:0-inf"], "--labels"),
            (["--labels", "walk:0-1e9"], "--labels"), (["--labels", "walk:4-2"], "--labels"),
            (["--labels", "fly"], "fly")):
        cls = "wrong type" if "nan" in " ".join(argv) or "fly" in argv else "absurd size"
        add(cls, "generate", argv + ["-o", "out.npz"], expect)
    for argv, expect in ((["--coarse-labels", "walk", "--fine-labels", "run", "--switch-level", "3", "--seconds",
                           "1e9"], "--seconds"),
                         (["--source", "clip.npz", "--num", "100000000"], "--num"),
                         (["--source", "clip.npz", "--keep-levels", "0"], "keep"),
                         (["--source", "clip.npz", "--coarse-labels", "walk:0-nan", "--fine-labels", "run",
                           "--switch-level", "2"], "--coarse-labels")):
        add("absurd size", "blend", argv + ["-o", "out.npz"], expect)
    for setting in ("scale_factor=1", "coarse_seconds=0", "batch=0", "crop=0", "kernel_size=0", "kernel_size=2",
                    "d_steps=0", "bank_refresh=0", "patch_size=0", "loss=foo", "lr_g=NaN", "g_widths=[100000]"):
        add("wrong type", "train", ["clip.npz", "--set", setting, "-o", "out.pt"], f"--set {setting.split('=')[0]}")
    for fps in ("1e6", "0", "nan"):
        add("absurd size", "train", ["clip.npz", "--fps", fps, "-o", "out.pt"], "--fps")
    add("wrong type", "train", ["--resume", "model.pt", "clip.npz", "-o", "out.pt"], "--resume")
    add("absurd size", "train", ["oneframe.npz", "-o", "out.pt"], "oneframe.npz")
    add("absurd size", "export", ["clip.npz", "--fps", "1e6", "-o", "out.npz"], "fps")
    add("absurd size", "import", ["clip.bvh", "--fps", "1e6", "-o", "out.npz"], "fps")
    add("absurd size", "eval", ["--samples-dir", "ref", "--reference", "clip.npz", "--fps", "1e6"], "--fps")
    add("absurd size", "eval", ["--model", "model.pt", "--frames", "1000000000"], "--frames")
    add("absurd size", "eval", ["--model", "model.pt", "--samples", "0"], "--samples")
    # output over input (same path, or the same file through a link)
    add("output over input", "import", ["clip.npz", "-o", "clip.npz"], "clip.npz")
    add("output over input", "import", ["clip.npz", "-o", "link.npz"], "link.npz")
    add("output over input", "export", ["clip.bvh", "-o", "clip.bvh"], "clip.bvh")
    add("output over input", "export", ["clip.bvh", "-o", "link.bvh"], "link.bvh")
    add("output over input", "export", ["link.npz", "-o", "clip.npz"], "clip.npz")
    add("output over input", "eval", ["--samples-dir", "ref", "--reference", "clip.npz", "--json", "clip.npz"],
        "clip.npz")
    add("output over input", "eval", ["--samples-dir", "ref", "--reference", "clip.npz", "--json", "ref/clip.npz"],
        "ref/clip.npz")
    add("output over input", "eval", ["--model", "model.pt", "--json", "model.pt"], "model.pt")
    add("output over input", "blend", ["--source", "clip.npz", "-o", "clip.npz"], "clip.npz")
    # outputs that cannot be written: a folder, under a file, a read-only folder
    for command, argv, out in (("import", ["clip.bvh"], "{}.npz"), ("export", ["clip.npz"], "{}.bvh"),
                               ("preview", ["clip.npz"], "{}.png"), ("generate", [], "{}.npz"),
                               ("blend", ["--source", "clip.npz"], "{}.npz"), ("train", ["clip.npz"], "{}.pt"),
                               ("eval", ["--samples-dir", "ref", "--reference", "clip.npz", "--json"], "{}.json")):
        opt = [] if command == "eval" else ["-o"]
        add("output is a folder", command, argv + opt + [out.format("dir")], out.format("dir"))
        add("output under a file", command, argv + opt + [out.format("clip.bvh/x")], out.format("clip.bvh/x"))
        add("read-only folder", command, argv + opt + [out.format("ro/x")], out.format("ro/x"), as_user=True)
    # unreadable inputs
    # unreadable inputs (outputs in w/, a folder anyone may write)
    add("unreadable", "info", ["unreadable.bvh"], "unreadable.bvh", as_user=True)
    add("unreadable", "import", ["unreadable.npz", "-o", "w/out.npz"], "unreadable.npz", as_user=True)
    add("unreadable", "export", ["unreadable.bvh", "-o", "w/out.npz"], "unreadable.bvh", as_user=True)
    add("unreadable", "generate", ["--model", "unreadable.pt", "-o", "w/out.npz"], "unreadable.pt", as_user=True)
    add("unreadable", "train", ["clip.npz", "--audio", "unreadable.wav", "-o", "w/out.pt"], "unreadable.wav",
        as_user=True)
    add("unreadable", "train", ["clip.npz", "--labels", "unreadable.json", "-o", "w/out.pt"], "unreadable.json",
        as_user=True)
    add("unreadable", "import", ["clip.bvh", "--mapping", "unreadable.json", "-o", "w/out.npz"], "unreadable.json",
        as_user=True)
    return rows


# --- running a row --------------------------------------------------------------------------------------------
def listing(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` with its type, size and modification time (links and FIFOs not followed)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (stat.S_IFMT(st.st_mode), st.st_size if stat.S_ISREG(st.st_mode) else 0,
                                             st.st_mtime_ns)
    return out


def _hashes(root: Path, argv: list[str]) -> dict[str, str]:
    out = {}
    for a in argv:
        p = root / a
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(p).st_mode) and os.access(p, os.R_OK) and p.stat().st_size < (64 << 20):
                out[a] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _main(argv: list[str]) -> tuple[int | None, str]:
    from mrgen_core.cli import main

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else 1
        except BaseException:  # noqa: BLE001 - a crash is what the table looks for
            traceback.print_exc(file=err)
            rc = 1
    return rc, err.getvalue()


#: Memory a size row may take beyond the process it starts from (address space, as ``ulimit -v``).
MEMORY_HEADROOM = 2 << 30


def _vsize() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def memory_limit(headroom: int):
    """Within the block, the process's address space may grow by at most ``headroom`` bytes (``ulimit -v``): an
    allocation past it raises MemoryError, which the table sees as a traceback."""
    import resource

    old = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_vsize() + headroom, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, old)


def _main_forked(argv: list[str], as_user: bool = False, memory: int | None = None) -> tuple[int | None, str]:
    """``_main`` in a forked child: as ``nobody`` (``as_user``, when we are root), and with its address space
    limited to ``memory`` bytes beyond the current size (an allocation past it fails with MemoryError, which the
    table sees as a traceback)."""
    import resource

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(r)
            if as_user and os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            if memory is not None:
                limit = _vsize() + memory
                resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
            rc, err = _main(argv)
            os.write(w, json.dumps([rc, err]).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    if not data:
        return None, "the child process died"
    rc, err = json.loads(data)
    return rc, err


def run_case(case: Case, root: Path) -> Outcome:
    """Run one row in ``root`` and record its outcome."""
    before = listing(root)
    hashes = _hashes(root, case.argv)
    with contextlib.chdir(root):
        if case.as_user:
            rc, err = _main_forked(case.argv, as_user=True)
        elif case.memory_limited:
            with memory_limit(MEMORY_HEADROOM):
                rc, err = _main(case.argv)
        else:
            rc, err = _main(case.argv)
    after = listing(root)
    changed = [a for a, h in hashes.items() if _hashes(root, [a]).get(a) != h]
    changed += [k for k in before if k in after and before[k] != after[k]]
    return Outcome(rc, err, added=sorted(set(after) - set(before)), removed=sorted(set(before) - set(after)),
                   changed=sorted(set(changed)))


def preload() -> None:
    """Import everything the rows use, so a forked child (which may not read the interpreter's folders as
    ``nobody``) needs no further import."""
    import mrgen_core.cli as cli
    from mrgen_core import audio, checkpoint, motion_files, sampling, tasks  # noqa: F401
    from mrgen_core.cli import COMMANDS  # noqa: F401
    import scipy.io.wavfile  # noqa: F401
    import scipy.signal  # noqa: F401
    import training.train  # noqa: F401
    import training.presets  # noqa: F401

    cli.build_parser()
    for mod in ("mrgen_core.metrics", "mrgen_core.preview", "mrgen_core.blending", "tqdm"):
        __import__(mod)


@contextlib.contextmanager
def work_folder(clip_bvh: Path, model_pt: Path):
    """A world-readable temporary folder holding :func:`make_files` (removed afterwards)."""
    root = Path(tempfile.mkdtemp(prefix="mrgen-bad-inputs-"))
    try:
        make_files(root, clip_bvh, model_pt)
        yield root
    finally:
        with contextlib.suppress(OSError):
            os.chmod(root / "ro", 0o755)
        shutil.rmtree(root, ignore_errors=True)
