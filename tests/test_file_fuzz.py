"""Hypothesis fuzz of every CLI file argument: generated paths and contents (symlinks, loops, FIFOs,
directories, /dev/zero, sparse huge files, empty and random files, names with spaces, quotes and
non-ASCII) in every file slot of render, export and keys. Whatever comes: exit 0 or 2 with at most
one error line, no traceback, no hang, every input's bytes unchanged, no temporary file left.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rackfocus_live.cli import main
from rackfocus_live.media.images import write_depth, write_png
from rackfocus_live.timeline.keyfile import Pull, save_pull
from rackfocus_live.timeline.keyframes import FocusTrack, Key
from tests import media_factory as mf

pytestmark = pytest.mark.timeout(300)

NAMES = st.sampled_from(["plain", "with space", "quote'd", 'dq"x', "ünïcødé", "日本", "-dash",
                         "a%05d", "tab\tx"])
KINDS = st.sampled_from(["missing", "dir", "fifo", "loop", "dangling", "devzero", "sparse",
                         "empty", "random", "good", "link-to-good"])


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("fuzzgood")
    rng = np.random.default_rng(9)
    image = d / "img.png"
    write_png(image, rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    depth = d / "depth.png"
    write_depth(depth, np.full((24, 32), 2500, np.uint16))
    pull = d / "pull.json"
    save_pull(pull, Pull(FocusTrack([Key(0.0, 2.0), Key(0.2, 3.0)])), backup=False)
    return {
        "image": image, "depth": depth, "pull": pull,
        "clip": mf.make_clip(d / "clip.mp4", frames=3, size=(32, 24)),
        "depth_video": mf.make_depth_video(d / "dv.mkv", frames=3, size=(32, 24)),
    }


def make_path(folder: Path, kind: str, name: str, suffix: str, good: Path,
              data: bytes) -> Path:
    """A path of the given kind in ``folder``."""
    p = folder / f"{name}{suffix}"
    if kind == "dir":
        p.mkdir()
    elif kind == "fifo":
        os.mkfifo(p)
    elif kind == "loop":
        p.symlink_to(p)
    elif kind == "dangling":
        p.symlink_to(folder / "nowhere")
    elif kind == "devzero":
        return Path("/dev/zero")
    elif kind == "sparse":
        with open(p, "wb") as fh:
            fh.truncate(8 * 2**30)  # 8 GiB of nothing, no disk used
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "random":
        p.write_bytes(data)
    elif kind == "good":
        p.write_bytes(good.read_bytes())
    elif kind == "link-to-good":
        p.symlink_to(good)
    return p


def snapshot(paths: list[Path]) -> dict[Path, str | None]:
    out: dict[Path, str | None] = {}
    for p in paths:
        try:
            if p.is_file() and os.path.getsize(p) < 2**26:
                out[p] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[p] = None
        except OSError:
            out[p] = None
    return out


#: (slot name, suffix, builds argv from the fuzzed path and the good files, the roles that are
#: inputs: their bytes must not change).
Slot = tuple[str, str, Callable[[Path, dict[str, Path], Path], list[str]]]
SLOTS: list[Slot] = [
    ("render-image", ".png", lambda p, g, o: ["render", "--image", str(p), "--depth",
                                              str(g["depth"]), "-o", str(o / "o.png"),
                                              "--focus", "1", "--quality", "draft"]),
    ("render-depth", ".png", lambda p, g, o: ["render", "--image", str(g["image"]), "--depth",
                                              str(p), "-o", str(o / "o.png"), "--focus", "1",
                                              "--quality", "draft"]),
    ("render-output", ".png", lambda p, g, o: ["render", "--image", str(g["image"]),
                                               "--depth", str(g["depth"]), "-o", str(p),
                                               "--focus", "1", "--quality", "draft"]),
    ("export-clip", ".mp4", lambda p, g, o: ["export", str(p), "--depth", str(g["depth_video"]),
                                             "--focus", "2", "-o", str(o / "o.mkv"), "--codec",
                                             "ffv1", "--quality", "draft"]),
    ("export-depth", ".mkv", lambda p, g, o: ["export", str(g["clip"]), "--depth", str(p),
                                              "--focus", "2", "-o", str(o / "o.mkv"), "--codec",
                                              "ffv1", "--quality", "draft"]),
    ("export-keys", ".json", lambda p, g, o: ["export", str(g["clip"]), "--depth",
                                              str(g["depth_video"]), "--keys", str(p), "-o",
                                              str(o / "o.mkv"), "--codec", "ffv1",
                                              "--quality", "draft"]),
    ("export-output", ".mkv", lambda p, g, o: ["export", str(g["clip"]), "--depth",
                                               str(g["depth_video"]), "--focus", "2", "-o",
                                               str(p), "--codec", "ffv1", "--quality", "draft"]),
    ("keys-pull", ".json", lambda p, g, o: ["keys", str(p), "--info"]),
    ("keys-csv-in", ".csv", lambda p, g, o: ["keys", str(o / "new.json"), "--from-csv", str(p)]),
    ("keys-csv-out", ".csv", lambda p, g, o: ["keys", str(g["pull"]), "--csv", str(p)]),
]


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(slot=st.sampled_from(SLOTS), kind=KINDS, name=NAMES,
       data=st.binary(min_size=1, max_size=300))
def test_any_file_argument_is_exit_0_or_one_line_and_loses_nothing(
        good: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, capsys,
        slot: Slot, kind: str, name: str, data: bytes) -> None:
    slot_name, suffix, build = slot
    folder = tmp_path_factory.mktemp("fuzz")
    is_output = slot_name.endswith("output") or slot_name == "keys-csv-out"
    if is_output:  # an existing user file the output may replace (through a link, too)
        source = folder / "users_file.bin"
        source.write_bytes(data)
    else:
        source = {"render-image": good["image"], "render-depth": good["depth"],
                  "export-clip": good["clip"], "export-depth": good["depth_video"],
                  "export-keys": good["pull"]}.get(slot_name, good["pull"])
    path = make_path(folder, kind, name, suffix, source, data)
    argv = build(path, good, folder)
    watched = [*good.values(), *(p for p in folder.iterdir() if p.is_file())]
    before = snapshot(watched)
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code in (0, 2), (argv, err)
    assert len([ln for ln in err.splitlines() if ": error: " in ln]) == (code == 2), err
    after = snapshot(watched)
    replaced = {path, source} if is_output and code == 0 else set()
    for p, digest in before.items():
        if p in replaced and after[p] != digest:
            # The output was meant to change; its previous version is kept beside it.
            target = Path(os.path.realpath(p))
            assert snapshot([target.with_name(target.name + ".bak")]).popitem()[1] == digest
            continue
        assert after[p] == digest, (p, argv, err)
    assert mf.leftovers(folder) == [], argv
