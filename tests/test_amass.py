"""AMASS-style .npz I/O (mrgen_core.io.amass) and the load_motion / save_motion dispatch (mrgen_core.motion_files)."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrgen_core import Motion, MotionFormatError, MrgenError
from mrgen_core.io.amass import FORMAT_VERSION, read_npz, write_npz
from mrgen_core.motion_files import SUPPORTED, load_motion, save_motion


def _motion(t=40, fps=60.0, labels=True, seed=0, **kw) -> Motion:
    rng = np.random.default_rng(seed)
    fields = dict(poses=rng.normal(scale=0.6, size=(t, 24, 3)), trans=rng.normal(size=(t, 3)), fps=fps,
                  betas=rng.normal(size=16), gender="female", name="clip one", source="/data/raw/clip.bvh",
                  credit="© Bandai Namco Research Inc., CC BY-NC 4.0 — ünïcode")
    if labels:
        lab = (np.arange(t) >= t // 2).astype(int)
        lab[t // 2: t // 2 + 2] = -1  # an unlabelled stretch
        fields.update(labels=lab, vocab=("walk", "jump über"))
    fields.update(kw)
    return Motion(**fields)


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if ".tmp-" in p.name]


def _amass_file(path: Path, poses: np.ndarray, **extra) -> Path:
    """A file laid out like AMASS: poses, trans, betas (16), dmpls, gender bytes, mocap_frame_rate."""
    t = len(poses)
    arrays = dict(poses=poses, trans=np.linspace([0, 0, 0.9], [1, 2, 0.9], t), betas=np.arange(16) / 10,
                  dmpls=np.zeros((t, 8)), gender=np.array(b"male"), mocap_frame_rate=np.array(120.0))
    arrays.update(extra)
    np.savez(path, **arrays)
    return path


# --- round trips -------------------------------------------------------------------------------------------------
def test_round_trip_is_exact(tmp_path):
    m = _motion()
    p = tmp_path / "clip.npz"
    write_npz(m, p)
    r = read_npz(p)
    assert np.array_equal(r.poses, m.poses) and np.array_equal(r.trans, m.trans)
    assert np.array_equal(r.betas, m.betas) and r.fps == m.fps
    assert (r.gender, r.name, r.source, r.credit) == (m.gender, m.name, m.source, m.credit)
    assert np.array_equal(r.labels, m.labels) and r.vocab == m.vocab
    assert _no_temp_files(tmp_path)


def test_round_trip_without_labels_and_provenance(tmp_path):
    m = _motion(labels=False, name="", source="", credit="", gender="neutral", betas=np.zeros(10))
    p = tmp_path / "plain.npz"
    save_motion(m, p)
    r = load_motion(p)
    assert r.labels is None and r.vocab == ()
    assert r.name == "plain" and r.source == str(p) and r.credit == ""  # defaults: file stem, the file itself
    assert np.array_equal(r.poses, m.poses)


def test_written_keys_follow_amass_and_need_no_pickle(tmp_path):
    m = _motion(t=7)
    p = tmp_path / "k.npz"
    write_npz(m, p)
    with np.load(p, allow_pickle=False) as d:
        assert d["poses"].shape == (7, 72) and d["trans"].shape == (7, 3) and d["betas"].shape == (16,)
        assert float(d["mocap_framerate"]) == 60.0 and str(d["gender"]) == "female"
        assert int(d["mrgen_format"]) == FORMAT_VERSION
        for key in d.files:
            assert d[key].dtype.kind != "O", key
        assert list(d["vocab"]) == ["walk", "jump über"] and d["labels"].dtype == np.int64


def test_write_keeps_the_exact_name_without_npz_suffix(tmp_path):
    p = tmp_path / "clip.data"
    write_npz(_motion(t=3), p)
    assert p.is_file() and not (tmp_path / "clip.data.npz").exists()
    assert read_npz(p).num_frames == 3


def test_write_failure_leaves_no_file(tmp_path, monkeypatch):
    def broken(f, **arrays):
        f.write(b"PK partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", broken)
    p = tmp_path / "out.npz"
    with pytest.raises(MrgenError, match="No space left"):
        write_npz(_motion(t=3), p)
    assert not p.exists() and _no_temp_files(tmp_path)


def test_invalid_motion_is_not_written(tmp_path):
    m = _motion(t=3)
    m.trans[1, 2] = np.nan  # mutated after construction
    with pytest.raises(MotionFormatError, match="NaN"):
        write_npz(m, tmp_path / "x.npz")
    assert list(tmp_path.iterdir()) == []


# --- real AMASS layouts ------------------------------------------------------------------------------------------
def test_amass_smplh_file_keeps_body_and_zeroes_hands(tmp_path):
    rng = np.random.default_rng(1)
    poses = rng.normal(scale=0.3, size=(30, 156))
    p = _amass_file(tmp_path / "B3_-_walk_poses.npz", poses)
    m = read_npz(p)
    assert m.poses.shape == (30, 24, 3)
    assert np.array_equal(m.poses[:, :22].reshape(30, -1), poses[:, :66])
    assert np.all(m.poses[:, 22:] == 0)
    assert m.fps == 120.0 and m.gender == "male" and np.array_equal(m.betas, np.arange(16) / 10)
    assert m.name == "B3_-_walk_poses" and m.source == str(p) and m.labels is None
    assert np.allclose(m.trans[-1], [1, 2, 0.9])


def test_amass_smplx_file_keeps_the_22_body_joints(tmp_path):
    rng = np.random.default_rng(2)
    poses = rng.normal(scale=0.3, size=(12, 165))  # body 22, jaw, 2 eyes, 2 x 15 hand joints
    p = _amass_file(tmp_path / "x.npz", poses, gender=np.array("female"), mocap_frame_rate=np.array(30))
    m = read_npz(p)
    assert np.array_equal(m.poses[:, :22].reshape(12, -1), poses[:, :66]) and np.all(m.poses[:, 22:] == 0)
    assert m.fps == 30.0 and m.gender == "female"


@pytest.mark.parametrize("gender", [np.array(b"female"), np.array("female"), np.array(["female"]),
                                    np.array([b"Female "])])
def test_gender_spellings(tmp_path, gender):
    p = _amass_file(tmp_path / "g.npz", np.zeros((2, 72)), gender=gender)
    assert read_npz(p).gender == "female"


def test_other_frame_rate_spelling_and_our_labels_only_with_our_marker(tmp_path):
    p = tmp_path / "a.npz"
    np.savez(p, poses=np.zeros((4, 72)), trans=np.zeros((4, 3)), mocap_framerate=np.array([50.0]),
             labels=np.array(["a", "b", "c", "d"]))  # someone else's 'labels' key: not ours, ignored
    m = read_npz(p)
    assert m.fps == 50.0 and m.labels is None and m.gender == "neutral" and m.betas.shape == (10,)


def test_load_motion_resamples_and_sets_credit(tmp_path):
    p = tmp_path / "c.npz"
    save_motion(_motion(t=61, fps=60.0), p)
    m = load_motion(p, fps=30, credit="mine")
    assert m.fps == 30.0 and m.num_frames == 31 and m.credit == "mine"
    assert np.allclose(m.trans[5], load_motion(p).trans[10])


# --- bad input ---------------------------------------------------------------------------------------------------
def _write(path: Path, **arrays) -> Path:
    base = dict(poses=np.zeros((5, 72)), trans=np.zeros((5, 3)), mocap_framerate=np.array(30.0))
    base.update(arrays)
    np.savez(path, **{k: v for k, v in base.items() if v is not None})
    return path


def _truncated(path: Path) -> Path:
    buf = io.BytesIO()
    np.savez(buf, poses=np.zeros((50, 72)), trans=np.zeros((50, 3)), mocap_framerate=np.array(30.0))
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


BAD = {
    "not a zip": (lambda p: (p.write_text("poses = 1, 2, 3\n"), p)[1], "not a zip"),
    "truncated": (_truncated, "not a zip"),
    "npy renamed": (lambda p: (np.save(open(p, "wb"), np.zeros(3)), p)[1], "not a zip"),
    "empty zip": (lambda p: (zipfile.ZipFile(p, "w").close(), p)[1], "missing 'poses'"),
    "no poses": (lambda p: _write(p, poses=None), "missing 'poses'"),
    "no trans": (lambda p: _write(p, trans=None), "missing 'trans'"),
    "poses width": (lambda p: _write(p, poses=np.zeros((5, 70))), r"'poses' has shape \(5, 70\)"),
    "poses 1-D": (lambda p: _write(p, poses=np.zeros(72)), "'poses' has shape"),
    "trans shape": (lambda p: _write(p, trans=np.zeros((4, 3))), r"'trans' has shape \(4, 3\)"),
    "NaN poses": (lambda p: _write(p, poses=np.full((5, 72), np.nan)), "'poses' contains NaN"),
    "inf trans": (lambda p: _write(p, trans=np.full((5, 3), np.inf)), "'trans' contains NaN or infinite"),
    "text poses": (lambda p: _write(p, poses=np.full((5, 72), "x")), "'poses' must be numeric"),
    "pickled poses": (lambda p: _write(p, poses=np.array([{"a": 1}], dtype=object)), "pickled"),
    "no fps": (lambda p: _write(p, mocap_framerate=None), "frame rate missing"),
    "zero fps": (lambda p: _write(p, mocap_framerate=np.array(0.0)), "must be positive"),
    "negative fps": (lambda p: _write(p, mocap_framerate=np.array(-30.0)), "must be positive"),
    "NaN fps": (lambda p: _write(p, mocap_framerate=np.array(np.nan)), "NaN"),
    "no frames": (lambda p: _write(p, poses=np.zeros((0, 72)), trans=np.zeros((0, 3))), "no frames"),
    "bad gender": (lambda p: _write(p, gender=np.array("robot")), "unknown gender 'robot'"),
    "newer format": (lambda p: _write(p, mrgen_format=np.array(FORMAT_VERSION + 1)), "newer mrgen"),
    "labels outside vocab": (lambda p: _write(p, mrgen_format=np.array(1), labels=np.array([0, 0, 1, 2, 0]),
                                              vocab=np.array(["a", "b"])), "label vocabulary"),
    "labels length": (lambda p: _write(p, mrgen_format=np.array(1), labels=np.zeros(3, int),
                                       vocab=np.array(["a"])), "one entry per frame"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_raise_one_line_errors_naming_the_file(tmp_path, case):
    make, pattern = BAD[case]
    p = make(tmp_path / "bad.npz")
    with pytest.raises(MotionFormatError, match=pattern) as exc:
        read_npz(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}: ") and "\n" not in msg and exc.value.path == str(p)


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(MotionFormatError, match="file not found") as e:
        load_motion(tmp_path / "nope.npz")
    assert e.value.path == str(tmp_path / "nope.npz")
    txt = tmp_path / "clip.txt"
    txt.write_text("hello")
    with pytest.raises(MotionFormatError) as e:
        load_motion(txt)
    assert "unsupported file type .txt" in str(e.value) and all(ext in str(e.value) for ext in SUPPORTED)
    with pytest.raises(MotionFormatError, match="unsupported file type .fbx"):
        save_motion(_motion(t=2), tmp_path / "out.fbx")
    with pytest.raises(MotionFormatError, match="is a folder"):
        load_motion(tmp_path)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(MrgenError, match=r"--fps must be in \[1, 1000\]") as e:  # checked before reading
        load_motion(empty, fps=0)
    assert e.value.path == str(empty)
    empty.unlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.txt"]


def test_mapping_with_npz_input_is_refused(tmp_path):
    p = tmp_path / "m.npz"
    save_motion(_motion(t=2), p)
    with pytest.raises(MrgenError, match="BVH input only"):
        load_motion(p, mapping={"pelvis": "Hips"})


_VALID = io.BytesIO()
np.savez_compressed(_VALID, poses=np.zeros((6, 72)), trans=np.zeros((6, 3)), betas=np.zeros(10),
                    gender=np.array("male"), mocap_framerate=np.array(30.0), mrgen_format=np.array(1),
                    labels=np.zeros(6, np.int64), vocab=np.array(["walk"]), credit=np.array("c"))
_VALID_BYTES = _VALID.getvalue()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, len(_VALID_BYTES) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, len(_VALID_BYTES)))
def test_mangled_files_give_a_motion_or_our_error(tmp_path, flips, cut):
    data = bytearray(_VALID_BYTES)
    for pos, val in flips:
        data[pos] = val
    p = tmp_path / "fuzz.npz"
    p.write_bytes(bytes(data[: max(cut, 1)]))
    try:
        m = read_npz(p)
    except MotionFormatError as e:
        assert str(e).startswith(f"{p}: ") and "\n" not in str(e)
    else:
        assert isinstance(m, Motion) and np.all(np.isfinite(m.poses))
