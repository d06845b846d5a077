"""Model resolution: a local path, the catalogue name fetched once into the user cache with its
SHA-256 verified (served here by a local http.server and file://, never the internet), a
checksum mismatch, a damaged cache, and the one-line offline error."""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from rackfocus_live.depthgen.models import (
    DEPTH_ANYTHING_V2_SMALL,
    MIRROR_ENV,
    CatalogueEntry,
    resolve_model,
    user_cache_dir,
)
from rackfocus_live.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
STAND_IN = b"stand-in model bytes " * 1000


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server on 127.0.0.1 serving a folder: (base URL, folder)."""
    folder = tmp_path / "served"
    folder.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            partial(_Quiet, directory=os.fspath(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", folder
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _entry(url: str, data: bytes = STAND_IN, name: str = "stand-in") -> CatalogueEntry:
    return CatalogueEntry(name=name, url=url, sha256=hashlib.sha256(data).hexdigest(),
                          size=len(data), licence="Apache-2.0", source="test")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_catalogue_model_is_fetched_once_verified_and_then_used_from_the_cache(
        server: tuple[str, Path], tmp_path: Path) -> None:
    base, folder = server
    (folder / "m.onnx").write_bytes(STAND_IN)
    entry = _entry(f"{base}/m.onnx")
    cache = tmp_path / "cache"
    seen: list[tuple[int, int | None]] = []
    model = resolve_model("stand-in", cache_dir=cache, catalogue={"stand-in": entry},
                          progress=lambda got, total: seen.append((got, total)))
    assert model.path == cache / "stand-in.onnx" and model.path.read_bytes() == STAND_IN
    assert model.licence == "Apache-2.0" and model.sha256 == entry.sha256
    assert seen[-1] == (len(STAND_IN), len(STAND_IN))
    (folder / "m.onnx").unlink()  # the server no longer has it: the cache is used
    again = resolve_model("stand-in", cache_dir=cache, catalogue={"stand-in": entry})
    assert again.path == model.path
    assert sorted(os.listdir(cache)) == ["stand-in.onnx"]


def test_file_urls_work_too(tmp_path: Path) -> None:
    src = tmp_path / "m.onnx"
    src.write_bytes(STAND_IN)
    entry = _entry(src.as_uri())
    model = resolve_model("stand-in", cache_dir=tmp_path / "c", catalogue={"stand-in": entry})
    assert model.path.read_bytes() == STAND_IN


def test_a_checksum_mismatch_is_refused_and_leaves_nothing_in_the_cache(
        server: tuple[str, Path], tmp_path: Path) -> None:
    base, folder = server
    (folder / "m.onnx").write_bytes(STAND_IN[:-1] + b"!")  # one byte altered
    entry = _entry(f"{base}/m.onnx")
    cache = tmp_path / "cache"
    with pytest.raises(InputError, match="does not match its checksum") as info:
        resolve_model("stand-in", cache_dir=cache, catalogue={"stand-in": entry})
    assert len(str(info.value).splitlines()) == 1
    assert os.listdir(cache) == []


def test_a_damaged_cache_is_reported_not_used(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "stand-in.onnx").write_bytes(b"truncated")
    entry = _entry("http://127.0.0.1:9/never")
    with pytest.raises(InputError, match="cached model is damaged"):
        resolve_model("stand-in", cache_dir=cache, catalogue={"stand-in": entry})


def test_offline_is_one_line_that_says_to_give_a_path(tmp_path: Path) -> None:
    entry = _entry(f"http://127.0.0.1:{_closed_port()}/m.onnx")
    with pytest.raises(InputError, match=r"cannot download .*--model PATH") as info:
        resolve_model("stand-in", cache_dir=tmp_path / "c", catalogue={"stand-in": entry})
    assert len(str(info.value).splitlines()) == 1
    assert os.listdir(tmp_path / "c") == []


def test_names_and_paths(tmp_path: Path) -> None:
    local = tmp_path / "mine.onnx"
    local.write_bytes(b"x")
    model = resolve_model(os.fspath(local))
    assert model.path == local and model.licence == "unknown (user-supplied)"
    with pytest.raises(InputError, match="unknown depth model 'depth-anything-v2-large'"):
        resolve_model("depth-anything-v2-large")  # non-commercial: never in the catalogue
    with pytest.raises(InputError, match="model file not found"):
        resolve_model(os.fspath(tmp_path / "absent.onnx"))


def test_the_default_model_is_the_apache_licensed_small_one() -> None:
    assert DEPTH_ANYTHING_V2_SMALL.licence == "Apache-2.0"
    assert DEPTH_ANYTHING_V2_SMALL.url.startswith("https://")
    assert len(DEPTH_ANYTHING_V2_SMALL.sha256) == 64


def test_cache_follows_xdg(tmp_path: Path) -> None:
    if sys.platform in ("win32", "darwin"):
        pytest.skip("XDG applies on Linux and other Unix")
    assert user_cache_dir({"XDG_CACHE_HOME": os.fspath(tmp_path)}) == (
        tmp_path / "rackfocus-live" / "models")
    assert user_cache_dir({"XDG_CACHE_HOME": "relative"}) == (
        Path.home() / ".cache" / "rackfocus-live" / "models")


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rackfocus_live.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.fspath(ROOT), **env})


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    from tests import media_factory as mf

    return mf.make_clip(tmp_path / "clip.mp4", frames=3, size=(64, 48))


def test_cli_offline_without_a_path_is_one_line_exit_2(clip: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="the depth extra is not installed")
    env = {"XDG_CACHE_HOME": os.fspath(tmp_path / "xdg"),
           MIRROR_ENV: f"http://127.0.0.1:{_closed_port()}"}
    proc = _cli(["depth", os.fspath(clip)], env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot download depth model 'depth-anything-v2-small'" in lines[0]
    assert "--model PATH" in lines[0]
    assert not (tmp_path / "clip_depth.mkv").exists()


def test_cli_refuses_a_mirror_file_that_is_not_the_published_model(
        clip: Path, server: tuple[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="the depth extra is not installed")
    base, folder = server
    (folder / "depth-anything-v2-small.onnx").write_bytes(STAND_IN)
    cache = tmp_path / "xdg"
    proc = _cli(["depth", os.fspath(clip)], {"XDG_CACHE_HOME": os.fspath(cache),
                                             MIRROR_ENV: base})
    assert proc.returncode == 2
    assert "does not match its checksum" in proc.stderr and "Traceback" not in proc.stderr
    assert os.listdir(cache / "rackfocus-live" / "models") == []
    assert not (tmp_path / "clip_depth.mkv").exists()
