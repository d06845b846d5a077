"""User settings of the preview app (last lens, quality, window size, pull defaults), persisted as
JSON in the user's config directory.

Location: ``$XDG_CONFIG_HOME/rackfocus-live/settings.json`` (``~/.config`` when unset; on Windows
``%APPDATA%``). Writes are atomic (temp file, fsync, rename), so a crash mid-write never leaves a
half file. Reading is tolerant: a missing, unreadable or corrupt file gives the defaults, and a
single bad field falls back to its default while the others are kept. A corrupt file is moved
aside to ``settings.json.corrupt`` so the user's next save does not silently destroy evidence.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rackfocus_live.errors import InputError
from rackfocus_live.files import atomic_write
from rackfocus_live.lens import LensState
from rackfocus_live.settings import (
    DEFAULT_HIGHLIGHT_GAIN,
    DEFAULT_HIGHLIGHT_THRESHOLD,
    QUALITY_PRESETS,
)

APP_DIR_NAME = "rackfocus-live"
FILE_NAME = "settings.json"
SCHEMA_VERSION = 1


def config_dir(env: dict[str, str] | None = None) -> Path:
    """The app's folder in the user config directory (not created here)."""
    env = dict(os.environ) if env is None else env
    if sys.platform == "win32" and env.get("APPDATA"):
        return Path(env["APPDATA"]) / APP_DIR_NAME
    base = env.get("XDG_CONFIG_HOME") or ""
    # The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".config"
    return root / APP_DIR_NAME


def settings_path(env: dict[str, str] | None = None) -> Path:
    return config_dir(env) / FILE_NAME


@dataclass
class LensSettings:
    """The last lens the user set (the focus distance is per clip, so it is not kept)."""

    focal_length_mm: float = 50.0
    f_stop: float = 2.8
    sensor_width_mm: float = 36.0
    blades: int = 0
    blade_rotation_deg: float = 0.0
    squeeze: float = 1.0
    focus_breathing: bool = True

    def to_lens(self, focus_m: float) -> LensState:
        return LensState(
            focal_length_mm=self.focal_length_mm, f_stop=self.f_stop,
            sensor_width_mm=self.sensor_width_mm, focus_m=focus_m, blades=self.blades,
            blade_rotation_deg=self.blade_rotation_deg, squeeze=self.squeeze,
            focus_breathing=self.focus_breathing,
        )

    @classmethod
    def from_lens(cls, lens: LensState) -> LensSettings:
        return cls(lens.focal_length_mm, lens.f_stop, lens.sensor_width_mm, lens.blades,
                   lens.blade_rotation_deg, lens.squeeze, lens.focus_breathing)


@dataclass
class UserSettings:
    """Everything persisted between sessions.

    Attributes:
        lens: last lens settings.
        quality: last quality preset name.
        window_size: last window size in screen units (width, height).
        pull_duration_s: duration of a modifier-click focus pull, seconds.
        pull_easing: easing name of that pull.
        highlight_threshold: highlight boost threshold (0..1).
        highlight_gain: highlight boost gain (>= 0).
        last_dir: folder the file dialog opened last.
    """

    lens: LensSettings = field(default_factory=LensSettings)
    quality: str = "default"
    window_size: tuple[int, int] = (1280, 800)
    pull_duration_s: float = 1.0
    pull_easing: str = "ease-in-out"
    highlight_threshold: float = DEFAULT_HIGHLIGHT_THRESHOLD
    highlight_gain: float = DEFAULT_HIGHLIGHT_GAIN
    last_dir: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["window_size"] = list(self.window_size)
        return {"version": SCHEMA_VERSION, **data}


# Per-field validators: return the cleaned value or raise ValueError/TypeError.
def _num(lo: float, hi: float) -> Any:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise TypeError("not a number")
        if not (math.isfinite(v) and lo <= v <= hi):
            raise ValueError("out of range")
        return float(v)

    return check


def _int(lo: int, hi: int) -> Any:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ValueError("not an int in range")
        return v

    return check


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError("not a bool")
    return v


def _str(v: Any) -> str:
    if not isinstance(v, str) or len(v) > 4096:
        raise TypeError("not a string")
    return v


def _quality(v: Any) -> str:
    if v not in QUALITY_PRESETS:
        raise ValueError("unknown preset")
    return str(v)


def _size(v: Any) -> tuple[int, int]:
    if not (isinstance(v, list | tuple) and len(v) == 2):
        raise TypeError("not a pair")
    w, h = (_int(200, 16384)(x) for x in v)
    return (w, h)


_LENS_FIELDS = {
    "focal_length_mm": _num(1.0, 2000.0),
    "f_stop": _num(0.5, 64.0),
    "sensor_width_mm": _num(1.0, 100.0),
    "blades": _int(0, 16),
    "blade_rotation_deg": _num(-360.0, 360.0),
    "squeeze": _num(0.25, 4.0),
    "focus_breathing": _bool,
}
_TOP_FIELDS = {
    "quality": _quality,
    "window_size": _size,
    "pull_duration_s": _num(0.0, 30.0),
    "pull_easing": _str,
    "highlight_threshold": _num(0.0, 0.999),
    "highlight_gain": _num(0.0, 100.0),
    "last_dir": _str,
}


def settings_from_json(data: Any) -> UserSettings:
    """Build settings from parsed JSON, keeping every valid field and defaulting the rest."""
    out = UserSettings()
    if not isinstance(data, dict):
        return out
    lens_data = data.get("lens")
    if isinstance(lens_data, dict):
        for name, check in _LENS_FIELDS.items():
            if name in lens_data:
                with contextlib.suppress(ValueError, TypeError):
                    setattr(out.lens, name, check(lens_data[name]))
        if out.lens.blades in (1, 2):
            out.lens.blades = 0
    for name, check in _TOP_FIELDS.items():
        if name in data:
            with contextlib.suppress(ValueError, TypeError):
                setattr(out, name, check(data[name]))
    return out


class SettingsStore:
    """Loads and saves ``UserSettings`` at one path (default: ``settings_path()``)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or settings_path()
        #: Why the last load fell back to defaults (for a panel message), or None.
        self.problem: str | None = None

    def load(self) -> UserSettings:
        self.problem = None
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return UserSettings()
        except (OSError, UnicodeDecodeError) as exc:
            self.problem = f"settings not read ({exc.__class__.__name__}); using defaults"
            return UserSettings()
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            self.problem = f"settings file was corrupt; moved aside to {self.path.name}.corrupt"
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_name(self.path.name + ".corrupt"))
            return UserSettings()
        return settings_from_json(data)

    def save(self, settings: UserSettings) -> bool:
        """Atomically write the settings; returns False (and sets ``problem``) when the config
        folder is not writable, since losing preferences must never stop the app."""
        text = json.dumps(settings.to_json(), indent=2) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, text.encode("utf-8"), backup=False)
        except InputError as exc:
            self.problem = f"settings not saved: {exc.problem}"
            return False
        except OSError as exc:
            self.problem = f"settings not saved: {exc.strerror or exc}"
            return False
        return True


def lens_or_default(settings: UserSettings, focus_m: float) -> LensState:
    """The saved lens at ``focus_m``; the default lens if the saved combination is invalid."""
    try:
        return settings.lens.to_lens(focus_m)
    except InputError:
        return LensSettings().to_lens(max(focus_m, 1.0))


__all__ = [
    "LensSettings",
    "SettingsStore",
    "UserSettings",
    "config_dir",
    "lens_or_default",
    "settings_from_json",
    "settings_path",
]
