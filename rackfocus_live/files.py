"""The one place that decides whether a path may be read or written, and how it is written.

Every writer (export, render, the keys exports, pull saves and autosave, the app's export) goes
through :class:`AtomicOutput`, and every command checks its files with :func:`check_input` and
:func:`check_output` before any work starts. The guarantees (also in docs/formats.md, "Your files
are safe"):

* An output never aliases an input: the same path, a symbolic link to it, a hard link (same
  device and inode), or another output of the same command. Refused with one line naming both.
* The file is written under a unique temporary name in the output's folder, made with
  ``O_CREAT | O_EXCL`` (a name no user file has at that moment, hidden, marked ``.rftmp``), and
  renamed over the target only when complete. Only the writer that made a temporary file
  removes it, and only while it is still the file it made (same inode).
* One writer per output at a time: an advisory ``flock`` on a lock file beside the output; a
  second writer is refused with one line naming the process that holds it. The earlier good file
  stays in place until the new one is complete.
* Replacing an existing file keeps the previous version as ``NAME.bak`` (a hard link, so no copy
  of a large video is made) and keeps the file's permission bits; a new file gets the usual
  ``0666 & ~umask``.
* A partial result kept on purpose (``--keep-partial``) is moved to a fresh visible name that no
  later run writes to (``NAME.partial.EXT``, or ``NAME.partial-2.EXT``... when taken).

Pure Python: the timeline modules use it for pull saves, so it never imports moderngl.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from pathlib import Path
from types import TracebackType

from rackfocus_live.errors import InputError

try:  # POSIX advisory locks; Windows has none, and there a second writer is not detected.
    import fcntl
except ImportError:  # pragma: no cover - not on the platforms we test
    fcntl = None  # type: ignore[assignment]

PathLike = str | os.PathLike[str]

#: Marks every temporary file this module makes (``.NAME.<random>.rftmp.EXT``).
TEMP_MARK = ".rftmp"
#: Suffix of the lock file kept beside an output while it is written.
LOCK_SUFFIX = ".rflock"
#: Largest file read whole into memory (pulls, CSV): formats with no streaming reader.
MAX_WHOLE_FILE_BYTES = 64 * 1024 * 1024


# -- naming ----------------------------------------------------------------------------------------


def backup_path(path: PathLike) -> Path:
    """Where the previous version of ``path`` is kept: ``NAME.bak``."""
    p = Path(path)
    return p.with_name(p.name + ".bak")


def is_temporary_name(path: PathLike) -> bool:
    """A name this module makes for its own temporary or lock files."""
    name = Path(path).name
    return name.startswith(".") and (TEMP_MARK in name or name.endswith(LOCK_SUFFIX))


def _safe_stem(name: str) -> str:
    # '%' would turn FFmpeg's image2 muxer's file name into a pattern; control characters make
    # listings unreadable. The stem is for humans only: the random part makes the name unique.
    return "".join("_" if c == "%" or ord(c) < 32 else c for c in name)[:80]


# -- checking paths --------------------------------------------------------------------------------


def _stat_problem(exc: OSError) -> str:
    code = exc.errno
    if code == errno.ELOOP:
        return "symbolic link loop"
    if code == errno.ENAMETOOLONG:
        return "file name too long"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code == errno.ENOTDIR:
        return "a part of the path is not a folder"
    return exc.strerror or str(exc)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_input(path: PathLike, what: str = "a file", *,
                max_bytes: int | None = None) -> Path:
    """``path`` as an input the commands may open: an existing, readable regular file.

    Args:
        what: what the file should be, for the message ("a clip", "an image file"...).
        max_bytes: refuse larger files (formats read whole into memory).

    Raises:
        InputError: one line naming the file and the problem (missing, a broken or looping
            link, a directory, a FIFO or device, unreadable, empty, too large).
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        problem = "broken symbolic link" if os.path.islink(p) else "file not found"
        raise InputError(problem, p) from None
    except OSError as exc:
        raise InputError(_stat_problem(exc), p) from None
    except ValueError:  # an embedded NUL
        raise InputError("not a valid file name", repr(os.fspath(p))) from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"is {_kind(st.st_mode)}, expected {what}", p)
    if not os.access(p, os.R_OK):
        raise InputError("permission denied", p)
    if st.st_size == 0:
        raise InputError("file is empty", p)
    if max_bytes is not None and st.st_size > max_bytes:
        raise InputError(f"file is too large ({st.st_size / 2**20:.0f} MiB; {what} is read "
                         f"whole and may be at most {max_bytes / 2**20:.0f} MiB)", p)
    return p


def read_bytes_capped(path: PathLike, what: str = "a file",
                      max_bytes: int = MAX_WHOLE_FILE_BYTES) -> bytes:
    """The whole file, after :func:`check_input`; a file that grows past the cap while being
    read is refused too (no unbounded read)."""
    p = check_input(path, what, max_bytes=max_bytes)
    try:
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(_stat_problem(exc), p) from None
    if len(data) > max_bytes:
        raise InputError(f"file is too large (more than {max_bytes / 2**20:.0f} MiB)", p)
    return data


def _identity(path: PathLike) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _real(path: PathLike) -> str:
    return os.path.normcase(os.path.realpath(os.path.abspath(path)))


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether writing ``a`` would change ``b``: the same path, a symbolic link to it, or a hard
    link (same device and inode). Works for names that do not exist yet (compared by their
    resolved absolute paths) and never raises (link loops included)."""
    ia, ib = _identity(a), _identity(b)
    if ia is not None and ib is not None:
        return ia == ib
    return _real(a) == _real(b)


def resolve_output(path: PathLike) -> Path:
    """The file an output name writes to: a symbolic link is written through (its target is
    replaced, with a backup, as editors do), other names as given.

    Raises:
        InputError: a link loop, a missing folder, a directory, FIFO or device as the output.
    """
    p = Path(path)
    if os.fspath(p) in ("", "."):
        raise InputError("no output file name given")
    if os.path.islink(p):
        try:
            os.stat(p)
        except FileNotFoundError:
            raise InputError("is a broken symbolic link; remove it or choose another output "
                             "name", p) from None
        except OSError as exc:
            raise InputError(_stat_problem(exc), p) from None
        p = Path(os.path.realpath(p))
    folder = p.parent if str(p.parent) else Path(".")
    try:
        st_folder = os.stat(folder)
    except FileNotFoundError:
        raise InputError("output folder does not exist", folder) from None
    except OSError as exc:
        raise InputError(_stat_problem(exc), folder) from None
    if not stat.S_ISDIR(st_folder.st_mode):
        raise InputError("output folder is not a folder", folder)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return p
    except OSError as exc:
        raise InputError(_stat_problem(exc), p) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError("is a directory, expected an output file name", p)
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"is {_kind(st.st_mode)}; refusing to replace it with an output", p)
    return p


def check_output(output: PathLike, inputs: Mapping[str, PathLike | None],
                 other_outputs: Iterable[PathLike] = ()) -> Path:
    """``output`` as a file this command may write, resolved (see :func:`resolve_output`).

    Args:
        inputs: what the command reads, by role ("clip", "depth", "pull"...); None entries are
            skipped.
        other_outputs: further outputs of the same command, which must differ from this one.

    Raises:
        InputError: the output is an input (or a link to one), the same file as another output,
            or not writable as a file; one line naming both files.
    """
    out = resolve_output(output)
    if is_temporary_name(out):
        raise InputError("is a name rackfocus-live uses for its own temporary files; "
                         "choose another output name", out)
    for role, source in inputs.items():
        if source is None:
            continue
        if same_file(out, source):
            raise InputError(f"output is the same file as the {role} ({os.fspath(source)}); "
                             "choose another output name", output)
    for other in other_outputs:
        if same_file(out, other):
            raise InputError(f"two outputs name the same file ({os.fspath(other)})", output)
    return out


# -- writing ---------------------------------------------------------------------------------------


def write_problem(exc: OSError) -> str:
    """What went wrong with a write, in words: full disk and permissions by name."""
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "disk full (no space left on device)"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code == errno.EROFS:
        return "read-only file system"
    return _stat_problem(exc)


def write_error(exc: OSError, path: PathLike) -> InputError:
    """One line for a failed write: ``PATH: cannot write here (problem)``."""
    return InputError(f"cannot write here ({write_problem(exc)})", path)


def save_error(exc: OSError, path: Path) -> InputError:
    """One line for a failed save, saying that the file on disk is still the previous version
    (the temporary file is gone and the target was never touched), so nothing was lost."""
    kept = "; the previous version is unchanged" if path.is_file() else ""
    return InputError(f"cannot save: {write_problem(exc)}{kept}", path)


class OutputLock:
    """An advisory lock on one output file, held by one writer at a time.

    The lock lives on ``.NAME.rflock`` beside the output (never on the output itself, which is
    replaced by a rename). It is removed by its holder on release; a holder that dies leaves the
    file, unlocked, and the next writer takes it over.
    """

    def __init__(self, target: Path,
                 describe: Callable[[OSError, Path], InputError] | None = None) -> None:
        self.target = target
        self.path = target.with_name(f".{target.name}{LOCK_SUFFIX}")
        self.describe = describe or write_error
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or refuse at once.

        Raises:
            InputError: another process writes this output now, or the lock cannot be made.
        """
        if fcntl is None or self._fd is not None:
            return
        for _ in range(10):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                raise self.describe(exc, self.target) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read_holder(fd)
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise InputError(
                        f"another rackfocus-live process{holder} is writing this file right "
                        "now; wait for it to finish or choose another output", self.target
                    ) from None
                raise self.describe(exc, self.target) from None
            # The previous holder may have removed the lock file between our open and flock:
            # then we hold a lock on a file nobody else sees; take the current one instead.
            if _same_inode(fd, self.path):
                with suppress(OSError):
                    os.ftruncate(fd, 0)
                    os.write(fd, f"{os.getpid()}\n".encode())
                self._fd = fd
                return
            os.close(fd)
        raise InputError("could not take the output's lock (it keeps changing)", self.target)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        # Unlink while still holding the lock, so a waiting writer re-checks the inode.
        if _same_inode(fd, self.path):
            with suppress(OSError):
                os.unlink(self.path)
        os.close(fd)


def _create_exclusive(path: Path) -> int:
    """Create ``path`` if no file has that name (``O_EXCL``), with the usual permission bits
    (``0666 & ~umask``: ``mkstemp``'s 0600 would make a saved pull private to its owner)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)


def _same_inode(fd: int, path: Path) -> bool:
    st = os.fstat(fd)
    return _identity(path) == (st.st_dev, st.st_ino)


def _read_holder(fd: int) -> str:
    with suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip() or "0")
        if pid > 0:
            return f" (pid {pid})"
    return ""


class AtomicOutput:
    """Write one output file atomically, through a unique temporary file beside it.

    Use::

        with AtomicOutput(check_output(out, inputs)) as tmp:
            write(tmp.temp)          # any library, by path or through tmp.fd
            tmp.commit()             # rename over the target (backup kept)

    Leaving the block without ``commit`` or ``keep_partial`` removes the temporary file. The
    lock on the target is held from ``open`` to ``close``.

    Args:
        target: the final file (already checked with :func:`check_output`).
        backup: keep an existing target as ``NAME.bak`` when replacing it.
        suffix: the temporary file's extension (a muxer may look at it); the target's by default.
        lock: hold the target's :class:`OutputLock` (off when the caller locks a whole set, as
            an image sequence writer does).
        hold_open: keep the temporary file's descriptor open until the outcome (off for the
            frames of a long sequence, which would run out of descriptors; the file is still
            recognised by its device and inode).
    """

    def __init__(self, target: PathLike, *, backup: bool = True, suffix: str | None = None,
                 lock: bool = True, hold_open: bool = True,
                 describe: Callable[[OSError, Path], InputError] = write_error) -> None:
        self.target = Path(target)
        self.describe = describe
        self.backup = backup
        self.suffix = self.target.suffix if suffix is None else suffix
        self.temp: Path = self.target  # set by open()
        self._lock = OutputLock(self.target, describe) if lock else None
        self._temp_id: tuple[int, int] | None = None
        # Held open until the outcome: the inode cannot be freed and reused by another file
        # meanwhile, so "same inode" really means "the file this object made".
        self._temp_fd: int | None = None
        self._hold_open = hold_open
        self._done = False

    # -- life cycle ----------------------------------------------------------------------------

    def open(self) -> AtomicOutput:
        """Take the lock and create the temporary file (empty).

        Raises:
            InputError: the folder is not writable, the disk is full, another writer holds it.
        """
        if self._lock is not None:
            self._lock.acquire()
        folder = self.target.parent
        stem = _safe_stem(self.target.name)
        for _ in range(100):
            name = f".{stem}.{secrets.token_hex(4)}{TEMP_MARK}{self.suffix}"
            candidate = folder / name
            try:
                fd = _create_exclusive(candidate)
            except FileExistsError:
                continue
            except OSError as exc:
                self.close()
                raise self.describe(exc, self.target) from None
            st = os.fstat(fd)
            self.temp, self._temp_id, self._temp_fd = candidate, (st.st_dev, st.st_ino), fd
            if not self._hold_open:
                self._close_fd()
            return self
        self.close()
        raise InputError("could not make a unique temporary file name", folder)

    def __enter__(self) -> AtomicOutput:
        return self.open()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Remove the temporary file unless it was committed or kept; release the lock.
        Never raises (it runs while another error is being reported)."""
        if not self._done:
            self.discard()
        self._close_fd()
        if self._lock is not None:
            self._lock.release()

    # -- outcomes ------------------------------------------------------------------------------

    def commit(self) -> Path:
        """Make the temporary file the target: fsync, keep the old version as ``.bak``, copy its
        permission bits, rename, fsync the folder.

        Raises:
            InputError: the rename or the sync failed; the target is unchanged.
        """
        self._check_ours()
        try:
            if self._temp_fd is not None:
                os.fsync(self._temp_fd)
            else:
                fd = os.open(self.temp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            try:
                old = os.stat(self.target)
            except FileNotFoundError:
                old = None
            if old is not None:
                os.chmod(self.temp, stat.S_IMODE(old.st_mode))
                if self.backup:
                    _keep_backup(self.target)
            os.replace(self.temp, self.target)
        except OSError as exc:
            raise save_error(exc, self.target) from None
        self._done = True
        self._close_fd()
        _fsync_dir(self.target.parent)
        return self.target

    def keep_partial(self) -> Path:
        """Keep the unfinished file under a visible name no later run writes to:
        ``NAME.partial.EXT``, or ``NAME.partial-2.EXT``... when that exists. Returns it."""
        self._check_ours()
        t = self.target
        for n in range(1, 1000):
            tag = ".partial" if n == 1 else f".partial-{n}"
            kept = t.with_name(f"{t.stem}{tag}{t.suffix}")
            try:
                os.link(self.temp, kept)  # fails if the name exists: never clobbers
            except FileExistsError:
                continue
            except OSError:
                if kept.exists():
                    continue
                os.rename(self.temp, kept)  # no hard links here (FAT, some network shares)
                self._done = True
                self._close_fd()
                return kept
            with suppress(OSError):
                os.unlink(self.temp)
            self._done = True
            self._close_fd()
            return kept
        raise InputError("too many kept partial files beside it", t)

    def discard(self) -> None:
        """Remove the temporary file if it is still the one this object made."""
        if self._temp_id is None or self._done:
            return
        if _identity(self.temp) == self._temp_id:
            with suppress(OSError):
                os.unlink(self.temp)
        self._done = True
        self._close_fd()

    def _close_fd(self) -> None:
        fd, self._temp_fd = self._temp_fd, None
        if fd is not None:
            with suppress(OSError):
                os.close(fd)

    def _check_ours(self) -> None:
        if self._temp_id is None:
            raise RuntimeError("open() the output first")
        if self._done:
            raise RuntimeError("the output was already committed, kept or discarded")
        if _identity(self.temp) != self._temp_id:
            raise InputError("the temporary file was replaced or removed while writing "
                             f"({self.temp.name}); the output was not written", self.target)


def atomic_write(path: PathLike, data: bytes, *, backup: bool = True,
                 inputs: Mapping[str, PathLike | None] | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (see :class:`AtomicOutput`).

    Raises:
        InputError: the path aliases an input, cannot be written (permissions, disk full...);
            the file on disk is then still the previous version.
    """
    target = check_output(path, inputs or {})
    with AtomicOutput(target, backup=backup, describe=save_error) as out:
        try:
            with os.fdopen(os.open(out.temp, os.O_WRONLY | os.O_TRUNC), "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise save_error(exc, target) from None
        return out.commit()


def _keep_backup(p: Path) -> None:
    """Make NAME.bak the current NAME, atomically, without ever removing NAME."""
    bak = backup_path(p)
    tmp = bak.with_name(f".{_safe_stem(bak.name)}.{secrets.token_hex(4)}{TEMP_MARK}")
    try:
        os.link(p, tmp)  # instant; the old inode lives on as the backup after the replace
    except OSError:
        shutil.copyfile(p, tmp)
        shutil.copymode(p, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
    try:
        os.replace(tmp, bak)
    except OSError:
        with suppress(OSError):
            os.unlink(tmp)
        raise


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
