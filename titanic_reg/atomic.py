"""Replace files whole or not at all: write beside the target, fsync, rename.

A reader (or a crash, or Ctrl-C) never sees a half-written file: until the final
`os.replace` the old file is untouched, and on any failure the temporary file is
removed. `Staged` does the same for a set of files, so that a run which fails
while writing its third output leaves the first two as they were too. Ctrl-C
(SIGINT, and SIGTERM and SIGHUP) is held back for the moments that must not be
cut short: between creating a temporary file and recording it for cleanup, and
while a set of finished files is renamed into place; it arrives right after
(titanic_reg.process.signals_held, where the whole design is explained).

    write_text(path, text)
    write_atomic(path, lambda tmp: fig.savefig(tmp))   # for writers that want a filename
    with staged() as stage:
        stage.text(a, "..."); stage.file(b, workbook.save)   # renamed together at the end
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from .process import signals_held


def _mode_for(path: Path) -> int:
    """Keep an existing file's read, write and execute permissions; a new one, or one that
    replaces a symbolic link, gets the usual umask defaults. Never setuid, setgid or sticky:
    an output is data (a link's target's mode, those bits included, was passed on before).

    mkstemp creates files 0600, which would make every output private to its owner.
    """
    try:
        st = path.lstat()  # the link itself: the rename replaces it, not its target
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISREG(st.st_mode):
        return st.st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    # The rename itself only survives a power cut once the directory is synced.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _temp_beside(path: Path) -> Path:
    # Same folder, so os.replace is a rename on one file system; the real suffix
    # last, because matplotlib and others pick the format from it. The process id in
    # the name tells a later run whether the file's writer is still alive.
    _remove_stale(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.{os.getpid()}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    return Path(name)


def _remove_stale(path: Path) -> None:
    """Temporary copies of `path` left by a run that was killed outright (SIGKILL, a power
    cut: nothing could clean up), known by their writer's process id being gone. A live
    writer's (another run into the same folder) are left alone."""
    for leftover in path.parent.glob(f".{glob_escape(path.stem)}.*.tmp{glob_escape(path.suffix)}"):
        parts = leftover.name[len(path.stem) + 2:].split(".")
        if not parts[0].isdigit() or _alive(int(parts[0])):
            continue
        with contextlib.suppress(OSError):
            leftover.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: alive
        return True
    return True


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _prepare(path: Path, writer: Callable[[Path], object],
             created: Callable[[Path], object] | None = None) -> Path:
    """Write a complete, synced copy of `path` under a temporary name and return that name.

    `created(tmp)` is called as soon as the temporary file exists, with Ctrl-C held
    back, so that a caller's cleanup always knows about it.
    """
    if path.is_dir():  # found before anything is written, so a set of files is not half replaced
        raise IsADirectoryError(errno.EISDIR, "a folder is in the way of the output file", str(path))
    tmp = None
    try:
        with signals_held():
            tmp = _temp_beside(path)
            if created is not None:
                created(tmp)
        writer(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(path))
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    return tmp


def write_atomic(path, writer: Callable[[Path], object]) -> Path:
    """Call `writer(tmp_path)`, then move the finished file onto `path`."""
    with staged() as stage:
        return stage.file(path, writer)


def write_bytes(path, data: bytes) -> Path:
    with staged() as stage:
        return stage.bytes(path, data)


def write_text(path, text: str, encoding: str = "utf-8") -> Path:
    with staged() as stage:
        return stage.text(path, text, encoding)


class Staged:
    """Files written under temporary names, renamed onto their targets only by `commit`."""

    def __init__(self) -> None:
        self._ready: list[tuple[Path, Path]] = []  # (temporary, target)

    def file(self, path, writer: Callable[[Path], object]) -> Path:
        path = Path(path)
        made: list[Path] = []

        def created(tmp):
            made.append(tmp)
            self._ready.append((tmp, path))

        try:
            _prepare(path, writer, created)
        except BaseException:  # _prepare removed the file; forget it
            self._ready = [(tmp, target) for tmp, target in self._ready if tmp not in made]
            raise
        return path

    def bytes(self, path, data: bytes) -> Path:
        return self.file(path, lambda tmp: Path(tmp).write_bytes(data))

    def text(self, path, text: str, encoding: str = "utf-8") -> Path:
        def writer(tmp):
            with open(tmp, "w", encoding=encoding, newline="") as fh:
                fh.write(text)

        return self.file(path, writer)

    def commit(self) -> list[Path]:
        """Rename every file into place; Ctrl-C waits until the last one is (a few renames)."""
        done = []
        with signals_held():
            while self._ready:
                tmp, target = self._ready[0]
                os.replace(tmp, target)
                self._ready.pop(0)
                done.append(target)
        for folder in {target.parent for target in done}:
            _fsync_dir(folder)
        return done

    def discard(self) -> None:
        for tmp, _ in self._ready:
            with contextlib.suppress(OSError):
                tmp.unlink()
        self._ready.clear()


@contextlib.contextmanager
def staged() -> Iterator[Staged]:
    """Stage files in the block; all are renamed into place if it ends normally, none otherwise."""
    stage = Staged()
    try:
        yield stage
        stage.commit()
    finally:
        stage.discard()  # anything left after a failure, KeyboardInterrupt included
