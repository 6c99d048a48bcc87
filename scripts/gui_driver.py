"""Drive a real, windowed Blender (Debian's 3.4 under Xvfb) through the MRGen panel: run by scripts/gui_smoke.sh.

    blender --factory-startup start.blend --python scripts/gui_driver.py

Environment: MRGEN_GUI_ZIP (legacy add-on zip), MRGEN_GUI_MODEL (a model file), MRGEN_WORKER_PYTHON, MRGEN_GUI_OUT
(folder for result.json and screenshots), MRGEN_GUI_SHOT (where the panel screenshot goes; the sidebar alone, at
its default width of about 230 px, goes next to it as *_sidebar.png).

Everything happens in bpy.app.timers callbacks (a windowed Blender runs --python scripts before its event loop).
The real user path is exercised with xdotool: a click on the sidebar tab, then the Generate button is found by
hovering candidate rows and pressing Ctrl+C (over an operator button Blender copies its Python command), and clicked
for real, which invokes the modal operator; its TIMER events poll the worker while this script samples
the progress bar. Placement is checked too: the playhead sits at frame 20 of a 1-250 scene, and the result must start
there with the scene range and the playhead left alone. For the sidebar picture the Blend and Retarget panels are
opened (a Rigify metarig as the retarget target, its detected bone map listed) and a label schedule is shown.
Result: result.json (ok, progress values seen, poll step times, keys written, placement) and screenshots.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback

import bpy

OUT = os.environ.get("MRGEN_GUI_OUT", "/tmp/mrgen-gui")
SHOT = os.environ.get("MRGEN_GUI_SHOT", os.path.join(OUT, "screenshot_panel.png"))
ZIP = os.environ["MRGEN_GUI_ZIP"]
MODEL = os.environ["MRGEN_GUI_MODEL"]
WORKER = os.environ["MRGEN_WORKER_PYTHON"]
GENERATE_CMD = "bpy.ops.mrgen.generate()"
#: Where the playhead waits when Generate is clicked (results go in there; the 1-250 scene range stays).
PLAYHEAD = 20
#: The default sidebar width at UI scale 1 (px), what the panels are laid out for.
DEFAULT_SIDEBAR = (200, 260)
STATE: dict = {"log": [], "progress": [], "status": [], "t0": time.monotonic()}


def log(msg: str) -> None:
    line = f"[gui {time.monotonic() - STATE['t0']:6.2f}s] {msg}"
    STATE["log"].append(line)
    print(line, flush=True)


def xdo(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=10)


def shoot(path: str) -> None:
    """Screenshot of the whole screen (the window fills it), via ImageMagick."""
    subprocess.run(["import", "-window", "root", path], check=True, timeout=30)


def finish(ok: bool, why: str = "") -> None:
    STATE["ok"] = ok
    STATE["why"] = why
    STATE["elapsed"] = time.monotonic() - STATE["t0"]
    try:
        jobs = sys.modules["mrgen.jobs"]
        STATE["step_times_ms"] = {"count": len(jobs.STEP_TIMES),
                                  "max": 1000 * max(jobs.STEP_TIMES, default=0.0)}
    except KeyError:
        pass
    with open(os.path.join(OUT, "result.json"), "w") as f:
        json.dump(STATE, f, indent=1, default=str)
    log(f"finished ok={ok} {why}")
    bpy.ops.wm.quit_blender()


def guarded(fn):
    def run():
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - any failure ends the run with a readable result
            traceback.print_exc()
            finish(False, f"{type(e).__name__}: {e}")
            return None
    return run


def view3d():
    win = bpy.context.window_manager.windows[0]
    area = max((a for a in win.screen.areas if a.type == "VIEW_3D"), key=lambda a: a.width * a.height)
    ui = next(r for r in area.regions if r.type == "UI")
    return win, area, ui


def to_screen(win, region, x_in_region: float, y_from_top: float) -> tuple[int, int]:
    """Screen pixel of a point given from the region's left and top (Blender counts y from the bottom)."""
    return int(region.x + x_in_region), int(win.height - (region.y + region.height) + y_from_top)


@guarded
def setup():
    r = bpy.ops.preferences.addon_install(filepath=ZIP, overwrite=True)
    assert r == {"FINISHED"}, r
    assert bpy.ops.preferences.addon_enable(module="mrgen") == {"FINISHED"}
    prefs = bpy.context.preferences.addons["mrgen"].preferences
    prefs.worker_python = WORKER
    prefs.model_folder = os.path.dirname(MODEL)
    assert bpy.ops.mrgen.check_worker() == {"FINISHED"}, prefs.check_report
    s = bpy.context.window_manager.mrgen_new
    s.model = os.path.basename(MODEL)
    s.seconds, s.num, s.seed = 6.0, 4, 1
    s.loop, s.use_nla = True, True  # a loop, placed as NLA strips (issue 15)
    scene = bpy.context.scene
    scene.render.fps = 30
    scene.frame_start, scene.frame_end = 1, 250
    scene.frame_current = PLAYHEAD
    for obj in list(bpy.data.objects):  # an empty stage: the new SMPL armature is what the viewport shows
        bpy.data.objects.remove(obj)
    win, area, ui = view3d()
    space = area.spaces.active
    space.show_region_ui = True
    if hasattr(ui, "active_panel_category"):  # 4.x: choose the tab by API
        ui.active_panel_category = "MRGen"
    log(f"window {win.width}x{win.height}, 3D view {area.width}x{area.height}, sidebar x={ui.x} w={ui.width}")
    STATE["sidebar_width"] = ui.width
    bpy.app.timers.register(click_tab, first_interval=1.0)
    return None


#: Where the 'MRGen' tab may sit, in px below the sidebar's top (tabs Tool, View, MRGen at UI scale 1 on 3.4: 122);
#: the others are tried in turn if the Generate button is not found behind the first.
TAB_OFFSETS = (122, 160, 95, 195, 230, 60)
#: Rows probed for the Generate button (px below the sidebar's top); the button is ~28 px high.
PROBE_STEP, PROBE_END = 16, 520


@guarded
def click_tab():
    """Click the 'MRGen' sidebar tab (3.4 has no API for it). Tabs run down the sidebar's right edge."""
    win, area, ui = view3d()
    tries = STATE.setdefault("tab_tries", [])
    if hasattr(ui, "active_panel_category"):
        STATE["tab"] = "api"
    else:
        if len(tries) == len(TAB_OFFSETS):
            finish(False, "the Generate button was not found behind any sidebar tab")
            return None
        off = TAB_OFFSETS[len(tries)]
        x, y = to_screen(win, ui, ui.width - 10, off)
        # the first click into a window without a window manager only activates it: click twice, then move the
        # mouse so Blender handles the events and redraws
        xdo("mousemove", str(x), str(y), "sleep", "0.2", "click", "1", "sleep", "0.3", "click", "1", "sleep", "0.2",
            "mousemove", str(x - 3), str(y + 2))
        tries.append(off)
        STATE["tab"] = [x, y]
        log(f"clicked the sidebar tab at {x},{y} ({off} px below the sidebar top)")
    STATE["probe_y"] = 30
    bpy.app.timers.register(after_tab, first_interval=0.8)
    return None


@guarded
def after_tab():
    if len(STATE.get("tab_tries", ())) <= 1:
        shoot(os.path.join(OUT, "tab.png"))
    bpy.app.timers.register(probe, first_interval=0.1)
    return None


@guarded
def probe():
    """Hover one candidate row and press Ctrl+C (copies an operator button's Python command); the next call reads
    the clipboard."""
    win, area, ui = view3d()
    wm = bpy.context.window_manager
    if "probing" in STATE:
        y = STATE.pop("probing")
        if wm.clipboard.strip() == GENERATE_CMD:
            STATE["button"] = to_screen(win, ui, ui.width / 2, y)
            log(f"Generate button found at {STATE['button']} (row {y} px from the sidebar top)")
            bpy.app.timers.register(click_generate, first_interval=0.3)
            return None
        STATE["probe_y"] = y + PROBE_STEP
    y = STATE["probe_y"]
    if y > min(ui.height - 10, PROBE_END):
        if STATE["tab"] == "api":
            finish(False, "the Generate button was not found in the sidebar")
        else:
            bpy.app.timers.register(click_tab, first_interval=0.1)
        return None
    wm.clipboard = ""
    x, sy = to_screen(win, ui, ui.width / 2, y)
    xdo("mousemove", str(x), str(sy), "sleep", "0.1", "mousemove", str(x + 1), str(sy), "sleep", "0.1", "key",
        "ctrl+c")
    STATE["probing"] = y
    return 0.35


@guarded
def click_generate():
    x, y = STATE["button"]
    shoot(os.path.join(OUT, "before_click.png"))
    STATE["clicked_at"] = time.monotonic() - STATE["t0"]
    xdo("mousemove", str(x), str(y), "click", "1")
    log("clicked Generate")
    bpy.app.timers.register(watch, first_interval=0.05)
    return None


@guarded
def watch():
    st = bpy.context.window_manager.mrgen_job
    if st.running or st.progress:
        if not STATE["progress"] or STATE["progress"][-1] != round(st.progress, 4):
            STATE["progress"].append(round(st.progress, 4))
            STATE["status"].append(st.status)
            log(f"progress {st.progress:.3f}  {st.status}")
        if st.running and 0.0 < st.progress < 1.0 and "mid_shot" not in STATE:
            STATE["mid_shot"] = os.path.join(OUT, "during_generate.png")
            shoot(STATE["mid_shot"])
    elapsed = time.monotonic() - STATE["t0"] - STATE["clicked_at"]
    if STATE["progress"] and not st.running:
        bpy.app.timers.register(check_result, first_interval=0.5)
        return None
    if elapsed > 120:
        finish(False, f"no result 120 s after the click (status: {st.status!r}, error: {st.error!r})")
        return None
    return 0.05


@guarded
def check_result():
    st = bpy.context.window_manager.mrgen_job
    STATE["final_status"], STATE["error"] = st.status, st.error
    obj = bpy.context.view_layer.objects.active
    if obj is None or not obj.get("mrgen_smpl") or obj.animation_data is None:
        finish(False, f"no SMPL armature with keys after Generate (status {st.status!r}, error {st.error!r})")
        return None
    act = obj.animation_data.action
    STATE["action"] = act.name
    STATE["fcurves"] = len(act.fcurves)
    STATE["keys"] = sum(len(fc.keyframe_points) for fc in act.fcurves)
    STATE["actions"] = sorted(a.name for a in bpy.data.actions if a.get("mrgen"))
    STATE["strips"] = sum(len(t.strips) for t in obj.animation_data.nla_tracks)
    STATE["cyclic"] = sum(any(m.type == "CYCLES" for m in fc.modifiers) for fc in act.fcurves)
    scene = bpy.context.scene
    STATE["placement"] = {"action_range": [round(v) for v in act.frame_range],
                          "scene_range": [scene.frame_start, scene.frame_end], "playhead": scene.frame_current}
    log(f"placement {STATE['placement']}")
    dress_sidebar(obj)
    lo, hi = act.frame_range
    scene.frame_set(int((lo + hi) // 2))  # a mid-motion pose for the picture
    win, area, ui = view3d()
    with bpy.context.temp_override(window=win, area=area, region=next(r for r in area.regions
                                                                        if r.type == "WINDOW")):
        bpy.ops.view3d.view_selected()
    area.tag_redraw()
    bpy.app.timers.register(final_shot, first_interval=1.0)
    return None


def dress_sidebar(obj) -> None:
    """What the sidebar picture shows besides Generate: a label schedule, the Blend panel, the Retarget panel with a
    Rigify metarig as the target and its bone map (the panels open: test-only re-registration without
    DEFAULT_CLOSED, as 3.4 has no API to open a panel)."""
    s = obj.data.mrgen
    s.use_schedule = True
    s.segments.clear()
    for label, a, b in (("walk", 0.0, 4.0), ("run", 4.0, 6.0)):
        seg = s.segments.add()
        seg.label, seg.start, seg.end = label, a, b
    s.coarse_labels, s.fine_labels = "walk", "run"
    import addon_utils

    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    meta = bpy.context.view_layer.objects.active
    meta.location.x = 1.5
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    s.retarget_target = meta
    assert bpy.ops.mrgen.bone_map_detect() == {"FINISHED"}
    STATE["bone_map"] = meta.data.mrgen.bone_map_preset
    for name in ("MRGEN_PT_blend", "MRGEN_PT_retarget"):  # the same panels under a new id: drawn open
        cls = getattr(bpy.types, name)
        bpy.utils.unregister_class(cls)
        shot = type(name + "_shot", (cls,), {"bl_idname": name + "_shot", "bl_options": set()})
        bpy.utils.register_class(shot)
        STATE.setdefault("swapped", []).append((cls, shot))


def undress_sidebar() -> None:
    """Put the add-on's own panel classes back (so disabling it at quit unregisters what it registered)."""
    for cls, shot in STATE.pop("swapped", ()):
        bpy.utils.unregister_class(shot)
        bpy.utils.register_class(cls)


@guarded
def final_shot():
    os.makedirs(os.path.dirname(os.path.abspath(SHOT)), exist_ok=True)
    win, area, ui = view3d()
    full = os.path.join(OUT, "after_generate.png")
    shoot(full)
    # the panel picture: the 3D view with its sidebar (screen coordinates: y from the top)
    top = win.height - (area.y + area.height)
    subprocess.run(["convert", full, "-crop", f"{area.width}x{area.height}+{area.x}+{top}", "+repage", SHOT],
                   check=True, timeout=30)
    STATE["screenshot"] = SHOT
    # the sidebar alone, at the width Blender gives it by default (region x from the left, y from the top)
    side = os.path.splitext(SHOT)[0] + "_sidebar.png"
    utop = win.height - (ui.y + ui.height)
    subprocess.run(["convert", full, "-crop", f"{ui.width}x{ui.height}+{ui.x}+{utop}", "+repage", side],
                   check=True, timeout=30)
    STATE["sidebar_screenshot"] = side
    undress_sidebar()
    progress = STATE["progress"]
    moved = len({p for p in progress if 0.0 < p < 1.0}) >= 2 and progress[-1] == 1.0
    place = STATE["placement"]
    placed = (place["action_range"][0] == PLAYHEAD and place["scene_range"] == [1, 250]
              and place["playhead"] == PLAYHEAD)
    narrow = DEFAULT_SIDEBAR[0] <= STATE["sidebar_width"] <= DEFAULT_SIDEBAR[1]
    ok = moved and STATE["fcurves"] == 99 and STATE["keys"] > 0 and not STATE.get("error") and \
        len(STATE["actions"]) == 4 and STATE["strips"] == 4 and STATE["cyclic"] == STATE["fcurves"] and \
        placed and narrow and STATE.get("bone_map") == "rigify_metarig"
    finish(ok, "" if ok else f"progress {progress}, fcurves {STATE['fcurves']}, actions {STATE['actions']}, "
                             f"NLA strips {STATE['strips']}, cyclic F-curves {STATE['cyclic']}, "
                             f"placement {place}, sidebar {STATE['sidebar_width']} px, bone map "
                             f"{STATE.get('bone_map')!r}, error {STATE.get('error')!r}")
    return None


os.makedirs(OUT, exist_ok=True)
bpy.app.timers.register(setup, first_interval=3.0)
