"""Atomic file replacement with a kept backup: a crash leaves the old or the new file, never a mix.

Sequence: write a temp file in the same directory (same filesystem, so the rename is atomic),
fsync it, keep the current file as ``NAME.bak`` (a hard link, or a copy where links are not
possible; either way NAME itself is never removed), ``os.replace`` the temp file over NAME, then
fsync the directory so the renames survive a power cut.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from contextlib import suppress
from pathlib import Path

from rackfocus_live.errors import InputError


def backup_path(path: str | os.PathLike[str]) -> Path:
    """Where the previous version of ``path`` is kept: ``NAME.bak``."""
    p = Path(path)
    return p.with_name(p.name + ".bak")


def atomic_write(path: str | os.PathLike[str], data: bytes, *, backup: bool = True) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old or the new file, never a mix.

    Raises:
        InputError: when the file cannot be written (permissions, disk full...).
    """
    p = Path(path)
    directory = p.parent
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{p.name}.", suffix=".tmp")
    except OSError as exc:
        raise _save_error(exc, p) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if backup and p.is_file():
            _keep_backup(p)
        os.replace(tmp, p)
    except OSError as exc:
        with suppress(OSError):
            os.unlink(tmp)
        raise _save_error(exc, p) from None
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _save_error(exc: OSError, p: Path) -> InputError:
    """One line for a failed save; says the file on disk is still the previous version (the
    temp file is gone and NAME was never touched), so the user knows nothing was lost."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        problem = "disk full (no space left on device)"
    else:
        problem = exc.strerror or str(exc)
    kept = "; the previous version is unchanged" if p.is_file() else ""
    return InputError(f"cannot save: {problem}{kept}", p)


def _keep_backup(p: Path) -> None:
    """Make NAME.bak the current NAME, atomically, without ever removing NAME."""
    bak = backup_path(p)
    tmp = bak.with_name(f".{bak.name}.{os.getpid()}.tmp")
    with suppress(FileNotFoundError):
        os.unlink(tmp)
    try:
        os.link(p, tmp)  # instant; the old inode lives on as the backup after the replace
    except OSError:
        shutil.copyfile(p, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
    os.replace(tmp, bak)


def _fsync_dir(directory: Path) -> None:
    # Makes the renames durable; not possible on every platform (Windows), hence best effort.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
