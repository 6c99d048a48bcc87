"""Generate and Blend through the operators against a real worker process (the torch venv) on a tiny model; a worker
that crashes, hangs or is missing ends as an error in Blender, never a freeze."""
from __future__ import annotations

import time
import types

import numpy as np
import pytest

bpy = pytest.importorskip("bpy", reason="needs Blender's bpy module (run with .venv-bpy)")

from .support import DATA, REPO, WORKER_PYTHON, addon_module  # noqa: E402
from .test_rig_keys import blender_joints  # noqa: E402
from mrgen_core.io.amass import read_npz  # noqa: E402


def worker_generate(model, **params):
    """The worker's own SMPL output for the same request (generation is deterministic for a seed)."""
    wc = addon_module("worker_client")
    client = wc.WorkerClient(WORKER_PYTHON, pythonpath=[str(REPO)], timeout=120)
    try:
        res = client.call("generate", timeout=120, model=str(model), **params)
        return [read_npz(f) for f in res["files"]]
    finally:
        client.shutdown()


@pytest.fixture
def model_prefs(prefs, tiny_model):
    prefs.model_folder = str(tiny_model.parent)
    return prefs


@pytest.mark.timeout(180)
def test_generate_keys_match_worker_output(model_prefs, tiny_model):
    s = bpy.context.window_manager.mrgen_new  # nothing selected: settings for a new armature
    assert s.model == "tiny.pt"  # the first model of the folder is preselected
    s.seconds, s.seed, s.num, s.label = 2.0, 5, 2, "walk"
    scene = bpy.context.scene
    scene.render.fps = 24  # the model runs at 30 fps: keys are resampled to the scene's rate
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    st = bpy.context.window_manager.mrgen_job
    assert not st.running and st.progress == 1.0 and st.error == "" and "2 action(s)" in st.status
    obj = bpy.context.active_object
    assert addon_module("rig").is_smpl_armature(obj) and obj.name == "SMPL"
    actions = [a for a in bpy.data.actions if a.get("mrgen")]
    assert len(actions) == 2 and obj.animation_data.action == actions[0]
    meta = actions[0]["mrgen"]
    assert (meta["kind"], meta["seed"], meta["labels"], meta["variation"]) == ("generate", 5, "walk", 0)
    assert actions[0].name.startswith("tiny walk 2s s5") and actions[0].use_fake_user
    assert [x.name for x in obj.data.mrgen.labels_available] == ["walk"]  # the model's labels, for the UI
    assert obj.data.mrgen.seconds == 2.0  # settings moved onto the new armature

    ref = worker_generate(tiny_model, seconds=2.0, seed=5, num=2, labels="walk")
    for action, motion in zip(actions, ref):
        motion = motion.resample(24)
        obj.animation_data.action = action
        frames = np.arange(scene.frame_start, scene.frame_start + motion.num_frames)
        assert addon_module("keyframes").frame_range(obj, action) == (frames[0], frames[-1])
        err = np.abs(blender_joints(obj, frames) - motion.joints()).max()
        assert err < 1e-3, f"{action.name}: {err * 1000:.3f} mm from the worker's SMPL output"

    # a second Generate with the armature active reuses it
    obj.data.mrgen.num, obj.data.mrgen.seed = 1, 9
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    assert len([o for o in bpy.data.objects if o.type == "ARMATURE"]) == 1
    assert obj.animation_data.action["mrgen"]["seed"] == 9


@pytest.mark.timeout(180)
def test_label_schedule_and_model_info(model_prefs, tiny_model):
    assert bpy.ops.mrgen.load_model(blocking=True) == {"FINISHED"}
    s = bpy.context.window_manager.mrgen_new
    assert [x.name for x in s.labels_available] == ["walk"] and "walk" in s.model_info
    s.use_schedule = True
    bpy.ops.mrgen.segment_add()
    bpy.ops.mrgen.segment_add()
    assert [(x.label, x.start, x.end) for x in s.segments] == [("walk", 0, 2), ("walk", 2, 4)]
    assert addon_module("props").label_request(s) == "walk:0-2,walk:2-4"
    s.seconds = 3.0
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    assert bpy.context.active_object.animation_data.action["mrgen"]["labels"] == "walk:0-2,walk:2-4"
    s2 = bpy.context.active_object.data.mrgen
    s2.use_schedule, s2.label = False, "fly"
    with pytest.raises(RuntimeError, match="fly"):  # the model's own error, shown in Blender
        bpy.ops.mrgen.generate(blocking=True)
    assert "fly" in bpy.context.window_manager.mrgen_job.error


@pytest.mark.timeout(240)
def test_speech_drives_generate(prefs, tiny_audio_model):
    """A model trained with audio: the panel learns that it follows speech, Generate sends the WAV, and the motion is
    as long as the speech whatever Seconds says; a missing WAV is refused before any work."""
    model, speech = tiny_audio_model
    props = addon_module("props")
    s = bpy.context.window_manager.mrgen_new
    s.model, s.model_file = props.CUSTOM_MODEL, str(model)
    assert bpy.ops.mrgen.load_model(blocking=True) == {"FINISHED"}
    assert s.model_audio == "mfcc" and "follows speech" in s.model_info
    s.audio_file, s.seconds = str(speech), 9.0
    prefs.wavlm_checkpoint = str(speech.parent)  # an MFCC model is never sent it (the worker would refuse it)
    scene = bpy.context.scene
    scene.render.fps = 24
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    obj = bpy.context.active_object
    action = obj.animation_data.action
    assert action["mrgen"]["audio"] == str(speech) and action.name.startswith("talk mix talk_speech.wav")
    assert action["mrgen"]["wavlm"] == ""
    lo, hi = addon_module("keyframes").frame_range(obj, action)
    assert hi - lo + 1 == 60  # 2.5 s of speech at 24 fps
    obj.data.mrgen.audio_file = str(speech.with_name("nowhere.wav"))
    with pytest.raises(RuntimeError, match="speech file not found"):
        bpy.ops.mrgen.generate(blocking=True)
    obj.data.mrgen.audio_file = ""  # and without speech, the model's own error
    with pytest.raises(RuntimeError, match="follows audio"):
        bpy.ops.mrgen.generate(blocking=True)


@pytest.mark.timeout(240)
def test_wavlm_speech_drives_generate(prefs, tiny_wavlm_model):
    """A model trained on WavLM features: Generate sends the WAV and the WavLM checkpoint folder set in the add-on
    preferences to the real worker, and the motion is as long as the speech."""
    model, wavlm, speech = tiny_wavlm_model
    props = addon_module("props")
    s = bpy.context.window_manager.mrgen_new
    s.model, s.model_file = props.CUSTOM_MODEL, str(model)
    assert bpy.ops.mrgen.load_model(blocking=True) == {"FINISHED"}
    assert s.model_audio == "wavlm" and "follows speech" in s.model_info
    prefs.wavlm_checkpoint = str(wavlm)
    s.audio_file, s.seconds = str(speech), 9.0
    bpy.context.scene.render.fps = 24
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    obj = bpy.context.active_object
    action = obj.animation_data.action
    assert action["mrgen"]["audio"] == str(speech) and action["mrgen"]["wavlm"] == str(wavlm)
    lo, hi = addon_module("keyframes").frame_range(obj, action)
    assert hi - lo + 1 == 60  # 2.5 s of speech at 24 fps
    assert obj.data.mrgen.model_audio == "wavlm"  # the worker's reply, on the new armature


@pytest.mark.timeout(60)
def test_wavlm_checkpoint_missing_is_refused(dummy_model, tmp_path):
    """Speech for a WavLM model without a usable WavLM checkpoint preference: one clear line before any work (the
    worker is never asked: it would fail on the dummy model first), and no keyframes."""
    s = bpy.context.window_manager.mrgen_new
    s.model_audio = "wavlm"  # what load_model says of such a model
    speech = tmp_path / "speech.wav"
    speech.write_bytes(b"RIFF")
    s.audio_file = str(speech)
    st = bpy.context.window_manager.mrgen_job
    dummy_model.wavlm_checkpoint = ""
    with pytest.raises(RuntimeError, match="follows WavLM speech features: set 'WavLM checkpoint' in the MRGen "
                                           "add-on preferences"):
        bpy.ops.mrgen.generate(blocking=True)
    assert "\n" not in st.error and not st.running
    dummy_model.wavlm_checkpoint = str(tmp_path / "nowhere")
    with pytest.raises(RuntimeError, match="WavLM checkpoint folder not found: .*nowhere"):
        bpy.ops.mrgen.generate(blocking=True)
    assert "\n" not in st.error and str(tmp_path / "nowhere") in st.error
    assert not bpy.data.actions and not bpy.data.objects  # nothing keyed, no armature made


class _Layout:
    """A stand-in for a panel's layout: records the properties drawn (and which were disabled) and the labels."""

    def __init__(self, drawn=None, labels=None):
        self.drawn = [] if drawn is None else drawn
        self.labels = [] if labels is None else labels
        self.enabled, self.scale_y = True, 1.0

    def prop(self, data, name, **kw):
        self.drawn.append((name, self.enabled))

    def label(self, text="", **kw):
        self.labels.append(text)

    def _child(self, *a, **kw):
        child = _Layout(self.drawn, self.labels)
        child.enabled = self.enabled
        return child

    row = column = _child

    def __getattr__(self, name):  # operator, prop_search, template_list: not recorded
        return lambda *a, **kw: None


def test_speech_field_shows_for_models_that_follow_audio(prefs):
    panel = addon_module("ui.generate").MRGEN_PT_generate
    s = bpy.context.window_manager.mrgen_new

    def drawn():
        fake = types.SimpleNamespace(layout=_Layout())
        panel.draw(fake, bpy.context)
        return dict(fake.layout.drawn)

    s.model_audio, s.audio_file = "", ""
    assert "audio_file" not in drawn() and drawn()["seconds"] is True
    s.model_audio = "mfcc"
    assert drawn()["audio_file"] is True and drawn()["seconds"] is True
    s.audio_file = "/tmp/speech.wav"
    assert drawn()["seconds"] is False  # the speech sets the length


def test_picking_another_model_forgets_what_was_said_of_the_last(prefs, tmp_path):
    """A newly picked model has no labels, levels or audio kind until the worker says so; until then the WavLM
    preference is sent along with speech (the worker uses it only for a model that needs it)."""
    import os

    s = bpy.context.window_manager.mrgen_new
    s.model_info, s.num_levels, s.model_audio = "10 levels", 10, "mfcc"
    s.labels_available.add().name = "walk"
    s.model_file = str(tmp_path / "other.pt")
    assert (s.model_info, s.num_levels, s.model_audio, len(s.labels_available)) == ("", 0, "", 0)
    gen = addon_module("operators.generate")
    speech = str(tmp_path / "speech.wav")
    prefs.wavlm_checkpoint = str(tmp_path)
    assert gen.chosen_wavlm(s, prefs, speech) == os.path.normpath(str(tmp_path))
    assert gen.chosen_wavlm(s, prefs, None) is None  # no speech, nothing to send
    s.model_audio = "mfcc"
    assert gen.chosen_wavlm(s, prefs, speech) is None
    prefs.wavlm_checkpoint = ""


def test_wavlm_hint_when_the_checkpoint_is_not_set(prefs, tmp_path):
    panel = addon_module("ui.generate").MRGEN_PT_generate
    s = bpy.context.window_manager.mrgen_new

    def hints():
        fake = types.SimpleNamespace(layout=_Layout())
        panel.draw(fake, bpy.context)
        text = " ".join(fake.layout.labels)  # long hints are wrapped over several labels for the narrow sidebar
        return ["Set the WavLM checkpoint in the add-on preferences"] if "Set the WavLM checkpoint in the add-on " \
            "preferences" in text else [t for t in fake.layout.labels if "WavLM" in t]

    s.model_audio, prefs.wavlm_checkpoint = "mfcc", ""
    assert hints() == []  # MFCC models need no checkpoint
    s.model_audio = "wavlm"
    assert hints() == ["Set the WavLM checkpoint in the add-on preferences"]
    prefs.wavlm_checkpoint = str(tmp_path)
    assert hints() == []


@pytest.mark.timeout(180)
def test_modal_path_polls_without_blocking(model_prefs):
    """The UI path: invoke -> modal TIMER steps (called by hand: modal operators do not run in background)."""
    ops = addon_module("operators.generate")
    jobs = addon_module("jobs")
    s = bpy.context.window_manager.mrgen_new
    s.seconds, s.num = 10.0, 1
    jobs.STEP_TIMES.clear()
    fake = types.SimpleNamespace(blocking=False, _timer=None, report=lambda kind, msg: None)
    fake.make_job = lambda ctx: ops.MRGEN_OT_generate.make_job(fake, ctx)
    for name in ("_start", "_end", "_stop_timer"):
        setattr(fake, name, getattr(ops.MRGEN_OT_generate, name).__get__(fake))
    assert ops.MRGEN_OT_generate._start(fake, bpy.context) is not None
    assert not ops.MRGEN_OT_generate.poll(bpy.context)  # Generate is disabled while the job runs
    ticks, progress = 0, []
    while True:
        ticks += 1
        r = ops.MRGEN_OT_generate.modal(fake, bpy.context, types.SimpleNamespace(type="TIMER"))
        progress.append(bpy.context.window_manager.mrgen_job.progress)
        if r != {"PASS_THROUGH"}:
            break
        time.sleep(0.05)
    assert r == {"FINISHED"} and ticks > 3  # many short TIMER steps (their length: benchmarks/bench_blender.py)
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert len(jobs.STEP_TIMES) >= ticks
    assert ops.MRGEN_OT_generate.poll(bpy.context)


@pytest.mark.timeout(180)
def test_blend_makes_a_new_action_from_the_source(model_prefs, tiny_model):
    s = bpy.context.window_manager.mrgen_new
    s.seconds, s.seed = 3.0, 1
    bpy.context.scene.render.fps = 30
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    obj = bpy.context.active_object
    source = obj.animation_data.action
    obj.data.mrgen.keep_levels, obj.data.mrgen.blend_seed = 2, 4
    assert bpy.ops.mrgen.blend(blocking=True) == {"FINISHED"}
    new = obj.animation_data.action
    assert new != source and new["mrgen"]["kind"] == "blend" and new["mrgen"]["source_action"] == source.name
    rig = addon_module("rig")
    a, b = rig.motion_from_action(obj, source), rig.motion_from_action(obj, new)
    assert b.num_frames == a.num_frames
    frames = np.arange(1, b.num_frames + 1, 5)
    assert np.abs(blender_joints(obj, frames) - b.joints()[frames - 1]).max() < 1e-3
    assert np.abs(a.poses - b.poses).max() > 1e-3  # new detail, not a copy


# --- failures become messages ------------------------------------------------------------------------------------
@pytest.fixture
def dummy_model(prefs, tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "dummy.pt").write_bytes(b"x")
    prefs.model_folder = str(tmp_path / "models")
    return prefs


def _script(tmp_path, name, body):
    p = tmp_path / name
    p.write_text("#!/bin/sh\n" + body + "\n")
    p.chmod(0o755)
    return str(p)


@pytest.mark.timeout(60)
def test_missing_worker_python(dummy_model, tmp_path):
    dummy_model.worker_python = str(tmp_path / "nowhere" / "python3")
    with pytest.raises(RuntimeError, match="worker Python not found"):
        bpy.ops.mrgen.generate(blocking=True)
    st = bpy.context.window_manager.mrgen_job
    assert not st.running and "worker Python not found" in st.error
    assert addon_module("operators.generate").MRGEN_OT_generate.poll(bpy.context)  # ready for the next try


@pytest.mark.timeout(60)
def test_crashing_worker(dummy_model, tmp_path):
    dummy_model.worker_python = _script(tmp_path, "crash", "echo 'Segmentation fault in libtorch' >&2; exit 139")
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="exit code 139.*Segmentation fault in libtorch"):
        bpy.ops.mrgen.generate(blocking=True)
    assert time.monotonic() - t0 < 10
    assert "stopped unexpectedly" in bpy.context.window_manager.mrgen_job.error
    dummy_model.worker_python = WORKER_PYTHON  # the next request starts a fresh, working worker
    with pytest.raises(RuntimeError, match="dummy.pt"):  # ... which reads the (bad) model and says so
        bpy.ops.mrgen.generate(blocking=True)


@pytest.mark.timeout(60)
def test_hanging_worker(dummy_model, tmp_path):
    dummy_model.worker_python = _script(tmp_path, "hang", "exec sleep 600")
    dummy_model.timeout = 1.5
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="did not answer for 1.5 s"):
        bpy.ops.mrgen.generate(blocking=True)
    assert time.monotonic() - t0 < 10
    assert not bpy.context.window_manager.mrgen_job.running


@pytest.mark.timeout(60)
def test_no_model_and_no_source(prefs, tmp_path):
    prefs.model_folder = str(tmp_path)  # empty folder
    with pytest.raises(RuntimeError, match="no model chosen"):
        bpy.ops.mrgen.generate(blocking=True)
    with pytest.raises(RuntimeError, match="select an SMPL armature"):
        bpy.ops.mrgen.blend(blocking=True)


@pytest.mark.timeout(240)
def test_train_from_actions_then_generate(prefs, tmp_path):
    bpy.context.scene.render.fps = 30
    walk = DATA / "cmu_mocap/cgspeed_motionbuilder/02_01.bvh"
    assert bpy.ops.mrgen.import_motion(filepath=str(walk)) == {"FINISHED"}
    s = bpy.context.active_object.data.mrgen
    s.train_labels, s.train_preset, s.train_output = "walk", "tiny", str(tmp_path / "mine")
    s.train_path_control = True  # the model steers along a path (mrgen train --path-control)
    s.train_mirror = True  # ... and turns both ways (mrgen train --mirror)
    assert prefs.train_procs == 0  # automatic: the worker trains with one process per physical core
    assert bpy.ops.mrgen.train(blocking=True) == {"FINISHED"}
    assert (tmp_path / "mine.pt").is_file()
    assert s.model == "__custom__" and s.model_file == str(tmp_path / "mine.pt")  # ready to Generate with
    s.seconds = 2.0
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    act = bpy.context.active_object.animation_data.action
    assert act["mrgen"]["model"] == str(tmp_path / "mine.pt") and act["mrgen"]["frames"] == 60
    marker = bpy.data.objects.new("Waypoints", None)  # follow an empty keyed at two frames: the trained route
    bpy.context.scene.collection.objects.link(marker)
    for frame, x in ((1, 0.0), (61, 2.0)):
        marker.location = (x, 0.0, 0.0)
        marker.keyframe_insert("location", frame=frame)
    s.follow_curve, s.path_curve = True, marker.name
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    assert bpy.context.active_object.animation_data.action["mrgen"]["path_method"] == "control"
