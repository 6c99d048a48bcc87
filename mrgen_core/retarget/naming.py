"""Rig joint and bone names, and JSON mapping files: one place for both retargeting directions.

Names match exactly, else loosely: ignoring case and namespace prefixes (``mixamorig:``, ``Armature|``,
``m_avg_``). Mapping files (:func:`mrgen_core.retarget.rigs.load_mapping` for BVH sources,
:func:`mrgen_core.retarget.target.load_bone_map` for target armatures) are JSON objects keyed by SMPL joint names;
:func:`read_mapping_file` reads them and :func:`smpl_joint_items` checks their keys, with errors naming the file.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Iterator, Mapping, Sequence

from ..errors import RetargetError
from ..skeleton import JOINT_INDEX, JOINT_NAMES

__all__ = ["normalize_name", "NameLookup", "resolve_names", "read_mapping_file", "smpl_joint_items"]

_PREFIX_RE = re.compile(r"^(?:.*[:|])|^(?:mixamorig\d*_|m_avg_)", re.IGNORECASE)


def normalize_name(name: str) -> str:
    """Name without namespace prefixes (``mixamorig:``, ``Armature|``, ``m_avg_``), lower case."""
    return _PREFIX_RE.sub("", str(name).strip()).lower()


class NameLookup:
    """A file's (or an armature's) joint names, looked up exactly and loosely (no namespace prefix, any case)."""

    def __init__(self, names: Sequence[str]):
        self.exact = set(names)
        self.loose: dict[str, str] = {}
        for n in names:
            self.loose.setdefault(normalize_name(n), n)

    def find(self, *alternatives: str) -> str | None:
        """The own spelling of the first alternative present exactly, else of the first present loosely, else None."""
        hit = next((a for a in alternatives if a in self.exact), None)
        if hit is None:
            hit = next((self.loose[normalize_name(a)] for a in alternatives if normalize_name(a) in self.loose), None)
        return hit


def resolve_names(names: Sequence[str] | NameLookup, chain: Sequence[str]) -> tuple[str, ...] | None:
    """The file's own spelling of each joint in ``chain`` (exact match first, then prefix/case-insensitive), or None
    if one is missing. A chain entry may list alternatives, ``"LeftHandIndex1|LFingers"`` (the first present wins)."""
    lookup = names if isinstance(names, NameLookup) else NameLookup(names)
    out = []
    for c in chain:
        hit = lookup.find(*([c] + ([a for a in c.split("|") if a] if "|" in c else [])))
        if hit is None:
            return None
        out.append(hit)
    return tuple(out)


def read_mapping_file(path: str | os.PathLike, what: str) -> tuple[Any, str]:
    """The parsed JSON of a mapping file and its path as a string; ``what`` (``"mapping"``, ``"bone map"``) names the
    kind of file in the :class:`RetargetError` raised when it is missing, unreadable or not JSON."""
    from ..limits import input_file, json_loads

    p = os.fspath(path)
    input_file(p, "mapping", missing=f"{what} file not found", error=RetargetError)
    try:
        with open(p, encoding="utf-8") as f:
            return json_loads(f.read()), p
    except FileNotFoundError:
        raise RetargetError(f"{what} file not found", p) from None
    except (OSError, UnicodeDecodeError) as e:
        raise RetargetError(f"cannot read {what} file: {e}", p) from None
    except json.JSONDecodeError as e:
        raise RetargetError(f"{what} file is not valid JSON (line {e.lineno}: {e.msg})", p) from None
    except ValueError as e:  # nested too deep
        raise RetargetError(f"{what} file is not usable JSON ({e})", p) from None


def smpl_joint_items(mapping: Any, what: str, not_object: str, where: str | None = None
                     ) -> Iterator[tuple[str, Any]]:
    """The ``(SMPL joint, value)`` items of a mapping, checking on the way that it is an object keyed by SMPL joints.

    ``what`` names it in the error for an unknown joint (``"mapping"``, ``"bone map"``); ``not_object`` is the error
    when it is not an object. Raises :class:`RetargetError` naming ``where``.
    """
    if not isinstance(mapping, Mapping):
        raise RetargetError(not_object, where)
    for k, v in mapping.items():
        if k not in JOINT_INDEX:
            raise RetargetError(f"unknown SMPL joint {k!r} in the {what} (expected one of: {', '.join(JOINT_NAMES)})",
                                where)
        yield k, v
