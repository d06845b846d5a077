"""CLI messages a new user meets first: one line, exit 2, naming what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from rackfocus_live.cli import main


@pytest.mark.parametrize(("extra", "says"), [
    ([], "say where to focus: --keys PULL.json (a focus pull) or --focus M"),
    (["--keys", "p.json", "--focus", "2"], "not both"),
])
def test_export_without_a_focus_says_what_to_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], says: str
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    code = main(["export", str(clip), "--depth", str(tmp_path / "d.mkv"),
                 "-o", str(tmp_path / "out.mp4"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.mp4").exists()
