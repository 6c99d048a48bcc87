"""Shared panel bits: the sidebar location, the progress bar (a real one on 4.0+, a slider before), and helpers that
lay rows out for the default sidebar width (about 230 px at UI scale 1: some 30 characters of label text)."""
from __future__ import annotations

CATEGORY = "MRGen"
#: Characters of label text that fit the default sidebar width (an icon takes about three).
WIDTH_CHARS = 29


class SidebarPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = CATEGORY


def draw_progress(layout, state) -> None:
    if hasattr(layout, "progress"):  # Blender 4.0+
        layout.progress(factor=state.progress, type="BAR", text=state.status or "working")
    else:
        row = layout.row()
        row.enabled = False
        row.prop(state, "progress", text=state.status or "Progress", slider=True)


def wrap(text: str, width: int = WIDTH_CHARS, max_lines: int = 6) -> list[str]:
    """``text`` broken at spaces into lines of at most ``width`` characters (a longer word, e.g. a path, is cut)."""
    words, lines, cur = [], [], ""
    for w in text.split():
        words.extend(w[i:i + width] for i in range(0, len(w), width))
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        lines.append(cur)
    return lines[:max_lines]


def wrapped_label(layout, text: str, icon: str = "NONE", width: int = WIDTH_CHARS) -> None:
    """A label over as many lines as the sidebar needs (the icon on the first)."""
    col = layout.column(align=True)
    for i, line in enumerate(wrap(text, width - (3 if icon != "NONE" else 0))):
        col.label(text=line, icon=icon if i == 0 else ("BLANK1" if icon != "NONE" else "NONE"))


def stacked(layout, data, prop: str, label: str | None = None, **kw) -> None:
    """A property with its label on its own row above the field (text fields and file paths stay readable)."""
    col = layout.column(align=True)
    col.label(text=label if label is not None else data.bl_rna.properties[prop].name + ":")
    col.prop(data, prop, text="", **kw)
