"""File-system pieces of a recording: owner-only directories and the writer lock file.

The lock (`<recording>.lock`, flock on POSIX) is held for a writer's lifetime and released by
the kernel when the process dies, even by SIGKILL: that is how a live writer is told from a
dead one, on this host or (for local files) across processes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from ketadesk.store.records import StoreError


def ensure_private_dir(path: Path) -> Path:
    """Create a directory owner-only (0700) if missing; an existing one is left as it is.

    An existing directory may be shared on purpose (a path the user gave); its mode is the
    user's choice, while the recordings in it are 0600 regardless.
    """
    if not path.is_dir():
        path.mkdir(mode=0o700, parents=True)
        os.chmod(path, 0o700)  # mkdir's mode passes through the umask
    return path


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


class WriterLock:
    """An exclusive, non-blocking lock on `<recording>.lock`, released by the kernel on death."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, recording: Path) -> WriterLock:
        path = lock_path(recording)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            os.close(fd)
            raise StoreError(f"{recording} is being written by a running KetaDesk "
                             f"(its lock {path.name} is held)")
        return cls(fd, path)

    def release(self, unlink: bool) -> None:
        if self._fd is None:
            return
        if unlink:
            # Safe to remove while held: whoever opens the old name later sees the session closed.
            with contextlib.suppress(OSError):
                self.path.unlink()
        os.close(self._fd)  # closing drops the lock
        self._fd = None


if sys.platform == "win32":  # pragma: no cover - not exercised on the Linux CI
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False


def writer_alive(recording: str | os.PathLike[str]) -> bool:
    """Whether a live process holds the recording's writer lock (works across processes)."""
    try:
        fd = os.open(lock_path(Path(recording)), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        return not _try_lock(fd)
    finally:
        os.close(fd)  # also releases the lock if we just took it
