"""Depth models: the catalogue, the user cache, and download with a verified SHA-256.

A model is named (``depth-anything-v2-small``, fetched once into the user cache) or given as a
path to any ONNX file with the same interface (``pixel_values`` float32 [N, 3, H, W] in,
``predicted_depth`` [N, H, W] relative disparity out). Only permissively licensed weights are in
the catalogue: non-commercial ones are never fetched or bundled (docs/depthgen.md lists them).

A download goes to a unique temp file in the cache folder and is renamed to its final name only
after its size and SHA-256 match the catalogue, so the cache never holds a partial or altered
model. A cached file is re-hashed on every use (about 0.3 s for 100 MB): a damaged cache is
reported, not used.

``RACKFOCUS_LIVE_MODEL_MIRROR`` replaces the download location's folder (for studios with an
internal mirror, and for tests); the checksum is checked all the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rackfocus_live.errors import InputError

MIRROR_ENV = "RACKFOCUS_LIVE_MODEL_MIRROR"
_CHUNK = 1 << 20
_TIMEOUT_S = 30.0

#: Called with (bytes so far, total bytes or None) while a model downloads.
DownloadProgress = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """A model that may be fetched by name.

    Attributes:
        name: what ``--model`` accepts.
        url: where the ONNX file is published.
        sha256: hex digest of that file.
        size: its size in bytes.
        licence: SPDX identifier of the weights' licence.
        source: the model card, for the sidecar and the docs.
    """

    name: str
    url: str
    sha256: str
    size: int
    licence: str
    source: str

    @property
    def file_name(self) -> str:
        return f"{self.name}.onnx"


#: Depth Anything V2 Small in ONNX form (onnx-community's export of the Apache-2.0 weights).
#: The digest and size are the published file's; this machine has no internet, so the download
#: itself was exercised only against local stand-ins (tests/test_depthgen_models.py).
DEPTH_ANYTHING_V2_SMALL = CatalogueEntry(
    name="depth-anything-v2-small",
    url="https://huggingface.co/onnx-community/depth-anything-v2-small/resolve/main/onnx/model.onnx",
    sha256="afb6a5c28f3b6bf1618c6e43f02073ef9dfdc70e937502d51603e57b0a1df10c",
    size=99_060_839,
    licence="Apache-2.0",
    source="https://huggingface.co/depth-anything/Depth-Anything-V2-Small-hf",
)
CATALOGUE: dict[str, CatalogueEntry] = {DEPTH_ANYTHING_V2_SMALL.name: DEPTH_ANYTHING_V2_SMALL}
DEFAULT_MODEL = DEPTH_ANYTHING_V2_SMALL.name


@dataclass(frozen=True, slots=True)
class ModelFile:
    """A model ready to load.

    Attributes:
        path: the ONNX file.
        name: catalogue name, or the file's name for a user model.
        licence: the weights' licence, or "unknown (user-supplied)".
        sha256: digest of the file, when it was verified against the catalogue.
        source: model card or URL, None for a user model.
    """

    path: Path
    name: str
    licence: str
    sha256: str | None = None
    source: str | None = None


def user_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where fetched models live: ``$XDG_CACHE_HOME/rackfocus-live/models`` (``~/.cache`` when
    unset); ``%LOCALAPPDATA%`` on Windows, ``~/Library/Caches`` on macOS."""
    env = os.environ if env is None else env
    if sys.platform == "win32" and env.get("LOCALAPPDATA"):
        base = Path(env["LOCALAPPDATA"])
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        xdg = env.get("XDG_CACHE_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "rackfocus-live" / "models"


def download_url(entry: CatalogueEntry, env: Mapping[str, str] | None = None) -> str:
    """The entry's URL, or the same file name under ``$RACKFOCUS_LIVE_MODEL_MIRROR``."""
    env = os.environ if env is None else env
    mirror = env.get(MIRROR_ENV, "").strip()
    return f"{mirror.rstrip('/')}/{entry.file_name}" if mirror else entry.url


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_model(
    spec: str | None,
    *,
    cache_dir: Path | None = None,
    catalogue: Mapping[str, CatalogueEntry] = CATALOGUE,
    env: Mapping[str, str] | None = None,
    progress: DownloadProgress | None = None,
) -> ModelFile:
    """The model ``--model`` names: a catalogue name (fetched on first use) or an ONNX path.

    Raises:
        InputError: unknown name, missing file, a failed download (offline) or a checksum that
            does not match; one line, saying what to do.
    """
    spec = DEFAULT_MODEL if spec is None else spec
    entry = catalogue.get(spec)
    if entry is None:
        path = Path(spec)
        if path.is_file():
            return ModelFile(path=path, name=path.name, licence="unknown (user-supplied)")
        if path.suffix.lower() == ".onnx" or os.sep in spec or path.exists():
            raise InputError("model file not found (expected an .onnx file)", path)
        known = ", ".join(catalogue)
        raise InputError(f"unknown depth model '{spec}' (one of: {known}; or a path to an .onnx "
                         "file)")
    folder = user_cache_dir(env) if cache_dir is None else cache_dir
    target = folder / entry.file_name
    if target.is_file():
        actual = file_sha256(target)
        if actual != entry.sha256:
            raise InputError(
                f"cached model is damaged (SHA-256 {actual[:12]}..., expected "
                f"{entry.sha256[:12]}...): delete it to fetch it again", target)
    else:
        _download(entry, download_url(entry, env), folder, target, progress)
    return ModelFile(path=target, name=entry.name, licence=entry.licence, sha256=entry.sha256,
                     source=entry.source)


def _download(entry: CatalogueEntry, url: str, folder: Path, target: Path,
              progress: DownloadProgress | None) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{entry.file_name}.",
                                        suffix=".download")
    except OSError as exc:
        raise InputError(f"cannot create the model cache ({exc.strerror or exc})", folder) from None
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        received = 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=_TIMEOUT_S) as resp:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            while chunk := resp.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(received, total)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if actual != entry.sha256 or received != entry.size:
            raise InputError(
                f"downloaded model '{entry.name}' does not match its checksum (SHA-256 "
                f"{actual[:12]}..., {received} bytes; expected {entry.sha256[:12]}..., "
                f"{entry.size} bytes): not used", url)
        os.replace(tmp, target)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise InputError(
            f"cannot download depth model '{entry.name}' ({_reason(exc)}); offline? give a "
            "local ONNX file with --model PATH", url) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
