"""User settings: location, round trip, atomic write, tolerance of bad files and fields."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rackfocus_live.lens import LensState
from rackfocus_live.ui.settings_store import (
    LensSettings,
    SettingsStore,
    UserSettings,
    lens_or_default,
    settings_path,
)


def test_path_follows_xdg_config_home(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    assert settings_path(env) == tmp_path / "cfg" / "rackfocus-live" / "settings.json"
    # A relative XDG_CONFIG_HOME is invalid per the spec: fall back to ~/.config.
    assert settings_path({"XDG_CONFIG_HOME": "rel"}) == (
        Path.home() / ".config" / "rackfocus-live" / "settings.json"
    )


def test_round_trip(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "a" / "settings.json")
    s = UserSettings(quality="high", window_size=(1600, 900), pull_duration_s=2.5,
                     pull_easing="sine-in-out", last_dir="/data")
    s.lens = LensSettings.from_lens(LensState(focal_length_mm=85, f_stop=1.4, blades=7,
                                              squeeze=1.5, focus_breathing=False))
    assert store.save(s) is True
    loaded = store.load()
    assert loaded == s
    assert store.problem is None
    assert not [p for p in store.path.parent.iterdir() if p.name != "settings.json"]  # no temp


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "none.json")
    assert store.load() == UserSettings() and store.problem is None


def test_corrupt_file_gives_defaults_and_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"quality": "high", ')  # truncated
    store = SettingsStore(path)
    assert store.load() == UserSettings()
    assert store.problem and "corrupt" in store.problem
    assert (tmp_path / "settings.json.corrupt").read_text().startswith('{"quality"')
    assert store.save(UserSettings(quality="draft"))
    assert store.load().quality == "draft"


@pytest.mark.parametrize("doc", ["[]", "null", "42", '"text"'])
def test_wrong_json_shape_gives_defaults(tmp_path: Path, doc: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(doc)
    assert SettingsStore(path).load() == UserSettings()


def test_bad_fields_fall_back_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({
        "version": 1,
        "quality": "bogus",
        "window_size": [1400, 1000],
        "pull_duration_s": "slow",
        "lens": {"focal_length_mm": 35, "f_stop": -2, "blades": 2, "squeeze": True,
                 "focus_breathing": False},
        "unknown_future_field": 1,
    }))
    s = SettingsStore(path).load()
    assert s.quality == "default" and s.window_size == (1400, 1000)
    assert s.pull_duration_s == 1.0
    assert s.lens.focal_length_mm == 35.0 and s.lens.f_stop == 2.8
    assert s.lens.blades == 0 and s.lens.squeeze == 1.0 and s.lens.focus_breathing is False


def test_unwritable_folder_reports_instead_of_raising(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = SettingsStore(blocker / "sub" / "settings.json")  # parent is a file
    assert store.save(UserSettings()) is False
    assert store.problem and "not saved" in store.problem


def test_save_is_atomic_when_writing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    store.save(UserSettings(quality="high"))

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    assert store.save(UserSettings(quality="draft")) is False
    monkeypatch.undo()
    assert store.load().quality == "high"  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_lens_or_default_survives_an_impossible_combination() -> None:
    s = UserSettings()
    s.lens.focal_length_mm = 2000.0  # longer than the focus distance below
    lens = lens_or_default(s, 1.5)
    assert lens.focal_length_mm == 50.0 and lens.focus_m == 1.5
