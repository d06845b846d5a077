"""Shot lists: many exports described in one JSON file, checked completely before any work.

Format (``docs/farm.md``)::

    {"version": 1,
     "defaults": {"codec": "prores", "lens": {"f_stop": 2.0}},
     "shots": [
       {"name": "sh010", "clip": "plates/sh010.mov", "depth": "depth/sh010.mkv",
        "keys": "pulls/sh010.json", "output": "renders/sh010.mov", "range": "0:120",
        "lens": {"focal_length": 35, "sensor_width": "super35"},
        "depth_options": {"kind": "disparity", "near": 0.5, "far": 20}},
       {"name": "sh020", "clip": "plates/sh020.mov", "depth": "depth/sh020.mkv",
        "focus": 2.5, "output": "renders/sh020.mov"}]}

Each shot becomes the argument list of ``rackfocus-live export`` and is parsed by the export's
own parser, so a shot means exactly what the same flags mean on the command line. Relative paths
are relative to the shot list's folder. Unknown keys are refused (a typo must not silently
export with a default).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rackfocus_live.errors import InputError

SHOT_LIST_VERSION = 1
#: Shot keys holding a path (made absolute against the shot list's folder), and their flag.
_PATH_KEYS = {"clip": None, "depth": "--depth", "keys": "--keys", "output": "-o"}
#: Other scalar shot keys and the export flag each sets.
_VALUE_KEYS = {"focus": "--focus", "range": "--range", "codec": "--codec", "crf": "--crf",
               "preset": "--preset", "quality": "--quality"}
#: Nested groups: key -> (allowed sub-keys -> flag).
_GROUPS: dict[str, dict[str, str]] = {
    "lens": {"focal_length": "--focal-length", "f_stop": "--f-stop",
             "sensor_width": "--sensor-width", "blades": "--blades",
             "blade_rotation": "--blade-rotation", "squeeze": "--squeeze"},
    "depth_options": {"kind": "--depth-kind", "scale": "--depth-scale", "near": "--near",
                      "far": "--far"},
    "highlight": {"threshold": "--highlight-threshold", "gain": "--highlight-gain"},
}
#: Boolean shot keys and the flag each sets when true.
_SWITCHES = {"no_audio": "--no-audio", "no_breathing": "--no-breathing"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Shot:
    """One shot of a list: its name and the ``export`` arguments that render it."""

    name: str
    argv: tuple[str, ...]


def load_shot_list(path: str | Path) -> list[Shot]:
    """Read and check the shape of a shot list (files are checked by ``validate``).

    Raises:
        InputError: unreadable, not JSON, wrong version, or a malformed shot (naming it).
    """
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such shot list", p) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the shot list ({exc})", p) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not a JSON shot list (line {exc.lineno}: {exc.msg})", p) from None
    if not isinstance(doc, dict) or doc.get("version") != SHOT_LIST_VERSION:
        raise InputError(f'a shot list is an object with "version": {SHOT_LIST_VERSION}', p)
    unknown = set(doc) - {"version", "defaults", "shots"}
    if unknown:
        raise InputError(f"unknown shot list keys: {', '.join(sorted(unknown))}", p)
    defaults = doc.get("defaults", {})
    shots = doc.get("shots")
    if not isinstance(defaults, dict) or not isinstance(shots, list) or not shots:
        raise InputError('"shots" must be a non-empty list and "defaults" an object', p)
    out: list[Shot] = []
    seen: set[str] = set()
    for n, entry in enumerate(shots):
        if not isinstance(entry, dict):
            raise InputError(f"shot {n + 1} is not an object", p)
        merged = _merge(defaults, entry)
        name = str(merged.pop("name", f"shot{n + 1:03d}"))
        if not _NAME.match(name) or name in seen:
            raise InputError(f"shot {n + 1}: name '{name}' must be unique, letters, digits, "
                             "'_', '-' or '.'", p)
        seen.add(name)
        try:
            out.append(Shot(name, tuple(shot_argv(merged, p.parent))))
        except InputError as exc:
            raise InputError(f"shot {name}: {exc}", p) from None
    return out


def _merge(defaults: Mapping[str, object], shot: Mapping[str, object]) -> dict[str, object]:
    merged = dict(defaults)
    for key, value in shot.items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, dict):
            merged[key] = {**base, **value}
        else:
            merged[key] = value
    return merged


def shot_argv(shot: Mapping[str, object], base: Path) -> list[str]:
    """The ``export`` arguments of one shot (paths made absolute against ``base``)."""
    for key in ("clip", "depth", "output"):
        if not isinstance(shot.get(key), str) or not shot[key]:
            raise InputError(f'"{key}" (a path) is required')
    argv: list[str] = []
    for key, value in shot.items():
        if key in _PATH_KEYS:
            if not isinstance(value, str):
                raise InputError(f'"{key}" must be a path')
            resolved = str(base / value) if not Path(value).is_absolute() else value
            flag = _PATH_KEYS[key]
            argv += [resolved] if flag is None else [flag, resolved]
        elif key in _VALUE_KEYS:
            argv += [_VALUE_KEYS[key], _scalar(key, value)]
        elif key in _GROUPS:
            if not isinstance(value, dict):
                raise InputError(f'"{key}" must be an object')
            for sub, v in value.items():
                if sub not in _GROUPS[key]:
                    raise InputError(f'unknown key "{key}.{sub}" (one of: '
                                     f'{", ".join(_GROUPS[key])})')
                argv += [_GROUPS[key][sub], _scalar(f"{key}.{sub}", v)]
        elif key in _SWITCHES:
            if not isinstance(value, bool):
                raise InputError(f'"{key}" must be true or false')
            argv += [_SWITCHES[key]] if value else []
        else:
            raise InputError(f'unknown key "{key}"')
    return argv


def _scalar(key: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InputError(f'"{key}" must be a number or a string')
    return str(value)
