"""BVH reader and writer: format features, forward kinematics, scale detection, bad input, writer round trips."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import data_path
from mrgen_core.errors import MotionFormatError, MrgenError
from mrgen_core.io.bvh import WRITE_ORDER, read_bvh, write_bvh
from mrgen_core.motion import Motion
from mrgen_core.retarget import bvh_to_motion
from mrgen_core.rotations import euler_to_matrix
from mrgen_core.skeleton import JOINT_NAMES, OFFSETS, Y_UP_TO_Z_UP

# CRLF, tabs, exponent notation, mixed channel orders, a zero-length bone, End Sites, position channels on a
# non-root joint (they replace its OFFSET), a joint name with a namespace prefix
FEATURES_BVH = (
    "HIERARCHY\r\n"
    "ROOT\tHips\r\n{\r\n"
    "\tOFFSET 0 0 0\r\n"
    "\tCHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation\r\n"
    "\tJOINT Chest\r\n\t{\r\n"
    "\t\tOFFSET 0 1.0E+1 0\r\n"
    "\t\tCHANNELS 3 Xrotation Zrotation Yrotation\r\n"
    "\t\tJOINT ns:Zero\r\n\t\t{\r\n"
    "\t\t\tOFFSET 0 0 0\r\n"
    "\t\t\tCHANNELS 3 zrotation yrotation xrotation\r\n"
    "\t\t\tEnd Site\r\n\t\t\t{\r\n\t\t\t\tOFFSET 0 5e0 0\r\n\t\t\t}\r\n"
    "\t\t}\r\n"
    "\t}\r\n"
    "\tJOINT Slider\r\n\t{\r\n"
    "\t\tOFFSET 1 0 0\r\n"
    "\t\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\r\n"
    "\t\tEnd Site\r\n\t\t{\r\n\t\t\tOFFSET 1 0 0\r\n\t\t}\r\n"
    "\t}\r\n"
    "}\r\n"
    "MOTION\r\n"
    "Frames:\t2\r\n"
    "Frame Time:\t3.33333e-02\r\n"
    "1 2 3 0 0 0 0 0 0 0 0 0 2 0 0 0 0 0\r\n"
    "1.5\t2 3 10 20 30 40 -50 60 15 25 35 2 0.5 -1 5 6 7\r\n"
)


def _write(tmp_path: Path, text: str, name: str = "clip.bvh") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8"))
    return p


def test_reader_features_and_fk(tmp_path):
    b = read_bvh(_write(tmp_path, FEATURES_BVH))
    assert b.names == ["Hips", "Chest", "ns:Zero", "Slider"]
    assert list(b.parents) == [-1, 0, 1, 0]
    assert b.channels[2] == ("Zrotation", "Yrotation", "Xrotation")  # canonical spelling
    assert b.num_frames == 2 and b.values.shape == (2, 18)
    assert abs(b.fps - 30.0) < 1e-3
    assert set(b.end_sites) == {2, 3}
    pos, rot = b.fk()
    # frame 1 by hand: R = product in listed channel order, degrees
    v = b.values[1]
    r_hips = euler_to_matrix(np.deg2rad(v[3:6]), "YXZ")
    r_chest = euler_to_matrix(np.deg2rad(v[6:9]), "XZY")
    r_zero = euler_to_matrix(np.deg2rad(v[9:12]), "ZYX")
    r_slider = euler_to_matrix(np.deg2rad(v[15:18]), "ZXY")
    np.testing.assert_allclose(pos[1, 0], v[:3], atol=1e-12)
    np.testing.assert_allclose(pos[1, 1], v[:3] + r_hips @ [0, 10, 0], atol=1e-9)
    np.testing.assert_allclose(pos[1, 2], pos[1, 1], atol=1e-9)  # zero-length bone
    np.testing.assert_allclose(pos[1, 3], v[:3] + r_hips @ v[12:15], atol=1e-9)  # position channels, not OFFSET
    np.testing.assert_allclose(rot[1, 2], r_hips @ r_chest @ r_zero, atol=1e-12)
    np.testing.assert_allclose(rot[1, 3], r_hips @ r_slider, atol=1e-12)
    ends = b.end_site_positions(pos, rot)
    np.testing.assert_allclose(ends[2][1], pos[1, 2] + rot[1, 2] @ [0, 5, 0], atol=1e-9)
    # frame 0: the slider's position channels (2, 0, 0) replace its OFFSET (1, 0, 0)
    np.testing.assert_allclose(pos[0, 3], [3, 2, 3], atol=1e-12)


def test_reads_every_real_clip_and_detects_units():
    expected = {"cgspeed_motionbuilder/01_01.bvh": "CMU units", "cgspeed_3dsmax/131_01.bvh": "CMU units",
                "iclone_cc_rig/002_04.bvh": "cm"}
    for rel, unit in expected.items():
        b = read_bvh(data_path("cmu_mocap/" + rel))
        scale, name = b.detect_scale()
        print(f"{rel}: span {b.span():.2f} units -> {name} ({scale:g} m/unit)")
        assert name == unit
    b = read_bvh(data_path("bandai_namco_motion/dataset-1/dataset-1_walk_normal_001.bvh"))
    assert b.detect_scale() == (0.01, "cm")
    b = read_bvh(data_path("cmu_mocap/cgspeed_motionbuilder/01_01.bvh"))
    assert b.num_frames == 2752 and b.num_joints == 31 and abs(b.fps - 120) < 0.01
    b = read_bvh(data_path("cmu_mocap/cgspeed_3dsmax/131_01.bvh"))  # CRLF + mixed channel orders
    orders = {"".join(c[0] for c in ch if c.endswith("rotation")) for ch in b.channels}
    assert orders == {"ZYX", "ZXY"}


def test_scale_detection_metres_and_arbitrary(tmp_path):
    m = bvh_to_motion(data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh"))
    out = tmp_path / "m.bvh"
    write_bvh(m, out)
    assert read_bvh(out).detect_scale() == (1.0, "m")
    # the same skeleton in an odd unit (x 0.37) is "arbitrary", with the factor that brings it back to human size
    text = out.read_text().splitlines()
    scaled = []
    for line in text:
        s = line.strip()
        if s.startswith("OFFSET"):
            vals = [float(x) * 0.37 for x in s.split()[1:]]
            line = "OFFSET " + " ".join(map(str, vals))
        scaled.append(line)
    p = _write(tmp_path, "\n".join(scaled) + "\n", "scaled.bvh")
    scale, name = read_bvh(p).detect_scale()
    assert name == "arbitrary" and 2.2 < scale < 3.2


BAD_CASES = {
    "truncated": lambda t: t[: len(t) - 25],
    "value_count": lambda t: t.replace("1 2 3 0 0 0", "1 2 3 0 0", 1),
    "non_numeric": lambda t: t.replace("1.5\t2", "1.5\tabc", 1),
    "nan": lambda t: t.replace("1.5\t2", "1.5\tnan", 1),
    "inf": lambda t: t.replace("1.5\t2", "1.5\t-inf", 1),
    "no_hierarchy": lambda t: t.replace("HIERARCHY\r\n", "", 1),
    "no_motion": lambda t: t[: t.index("MOTION")],
    "zero_frames": lambda t: t[: t.index("Frames:")] + "Frames: 0\r\nFrame Time: 0.03\r\n",
    "more_frames_than_declared": lambda t: t.replace("Frames:\t2", "Frames:\t1", 1),
    "duplicate_name": lambda t: t.replace("JOINT Slider", "JOINT Chest", 1),
    "bad_channel": lambda t: t.replace("Xrotation Zrotation Yrotation", "Xrotation Zrotation Wrotation", 1),
    "too_many_channels": lambda t: t.replace("CHANNELS 3 Xrotation", "CHANNELS 7 Xrotation", 1),
    "unbalanced": lambda t: t.replace("\t}\r\n}\r\nMOTION", "\t}\r\nMOTION", 1),
    "missing_offset": lambda t: t.replace("\t\tOFFSET 1 0 0\r\n", "", 1),
    "bad_offset": lambda t: t.replace("OFFSET 0 1.0E+1 0", "OFFSET 0 x 0", 1),
    "bad_frame_time": lambda t: t.replace("3.33333e-02", "-1", 1),
    "empty": lambda t: "",
    "binary": lambda t: "\x00\x01\x02garbage\xff",
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_raises_motion_format_error_naming_the_file(tmp_path, case):
    p = _write(tmp_path, BAD_CASES[case](FEATURES_BVH), f"bad_{case}.bvh")
    with pytest.raises(MotionFormatError) as e:
        read_bvh(p)
    msg = str(e.value)
    print(f"{case}: {msg}")
    assert str(p) in msg and "\n" not in msg
    assert e.value.path == str(p)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(MotionFormatError, match="not found") as e:
        read_bvh(tmp_path / "nope.bvh")
    assert "nope.bvh" in str(e.value)
    with pytest.raises(MotionFormatError, match="folder"):
        read_bvh(tmp_path)


def test_real_clip_truncated_and_with_nan(tmp_path):
    src = data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh").read_bytes()
    p = tmp_path / "trunc.bvh"
    p.write_bytes(src[: len(src) * 2 // 3])
    with pytest.raises(MotionFormatError, match="truncated"):
        bvh_to_motion(p)
    lines = src.split(b"\n")
    k = next(i for i, line in enumerate(lines) if line.startswith(b"Frame Time")) + 10
    vals = lines[k].split()
    vals[5] = b"NaN"
    lines[k] = b" ".join(vals)
    p2 = tmp_path / "nan.bvh"
    p2.write_bytes(b"\n".join(lines))
    with pytest.raises(MotionFormatError, match=r"frame 10.*NaN") as e:
        bvh_to_motion(p2)
    assert "nan.bvh" in str(e.value)


# --- writer ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def walk() -> Motion:
    return bvh_to_motion(data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh"))


def test_writer_is_standard_and_its_fk_matches_motion(tmp_path, walk):
    out = tmp_path / "walk.bvh"
    write_bvh(walk, out)
    assert [f.name for f in tmp_path.iterdir()] == ["walk.bvh"]  # atomic: no temp files left
    b = read_bvh(out)
    assert sorted(b.names) == sorted(JOINT_NAMES) and b.names[0] == "pelvis"
    assert b.channels[0] == ("Xposition", "Yposition", "Zposition") + tuple(f"{a}rotation" for a in WRITE_ORDER)
    assert all(ch == tuple(f"{a}rotation" for a in WRITE_ORDER) for ch in b.channels[1:])
    np.testing.assert_allclose(b.offsets[0], OFFSETS["neutral"][0], atol=1e-6)  # root OFFSET = J_0 (template, Y up)
    assert b.num_frames == walk.num_frames and abs(b.fps - walk.fps) < 1e-6
    # what any BVH tool sees (the file's own FK, Y up), turned to Z up as Blender's importer does (x, y, z) ->
    # (x, -z, y), is the Motion's joints
    pos, _ = b.fk()
    order = [b.names.index(n) for n in JOINT_NAMES]
    np.testing.assert_allclose(pos[:, order] @ Y_UP_TO_Z_UP.T, walk.joints(), atol=1e-5)
    assert b.detect_scale()[1] == "m"


def test_write_read_round_trip_within_1mm(tmp_path, walk):
    kick = bvh_to_motion(data_path("bandai_namco_motion/dataset-1/dataset-1_kick_normal_001.bvh"))
    lifted = walk.copy(gender="female", name="walk_female")  # another skeleton, feet off the floor
    lifted.trans[:, 2] += 0.3
    for m in (walk, kick, lifted):
        out = tmp_path / f"{m.name}_rt.bvh"
        write_bvh(m, out)
        back = bvh_to_motion(out)
        err = np.linalg.norm(back.joints() - m.joints(), axis=-1)
        print(f"{m.name}: write -> read max joint error {err.max() * 1000:.4f} mm over {m.num_frames} frames")
        assert back.num_frames == m.num_frames and back.fps == m.fps and back.gender == m.gender
        assert err.max() < 1e-3


def test_writer_rejects_bad_motion_and_keeps_old_file_on_failure(tmp_path, walk, monkeypatch):
    out = tmp_path / "keep.bvh"
    out.write_text("old")
    bad = walk.copy()
    bad.poses[3, 5] = np.nan
    with pytest.raises(MotionFormatError, match="NaN"):
        write_bvh(bad, out)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savetxt", boom)  # fail half-way through writing
    with pytest.raises(MrgenError, match="cannot write file"):  # one clear line, as .npz writes
        write_bvh(walk, out)
    assert out.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["keep.bvh"]
