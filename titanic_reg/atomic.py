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

What is at the output's path decides how it is written:

* nothing, or a regular file: written beside it and renamed over it (the above);
* a symbolic link to a regular file, or to nothing: the link is replaced by the new file,
  and what it pointed at is left as it was (it may be anyone's, anywhere);
* a character device or a named pipe (`-o /dev/null`, `-o /dev/stdout` on a terminal or a
  pipe), directly or through links: written into, never renamed over, since a rename would
  put a regular file in the place of a device the whole machine shares. So is a link into
  /proc (/dev/stdout, /dev/fd/1: this process's own streams) whatever it leads to; a regular
  file there is appended to, as a shell's `>` redirection left it. The file is first written
  whole in a private temporary folder, then copied in when the set is committed, before the
  renames: a write that fails there (`/dev/full`) leaves every other output as it was. A pipe
  nobody reads is an error, not a wait;
* a folder, a block device (a disk) or a socket: refused, nothing written.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
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


MARK = "titanic-reg-tmp"  # in every temporary name, so that a sweep can only match our own files


def _temp_beside(path: Path) -> Path:
    # Same folder, so os.replace is a rename on one file system; the real suffix
    # last, because matplotlib and others pick the format from it. The process id in
    # the name tells a later run whether the file's writer is still alive.
    _remove_stale(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{MARK}.{os.getpid()}.", suffix=path.suffix)
    os.close(fd)
    return Path(name)


def _stale_name(path: Path) -> re.Pattern:
    """Exactly the names _temp_beside gives: the target's name, the mark, a process id and
    mkstemp's eight random characters, then the suffix."""
    return re.compile(rf"\.{re.escape(path.name)}\.{MARK}\.([0-9]+)\.[a-z0-9_]{{8}}{re.escape(path.suffix)}")


def _remove_stale(path: Path) -> None:
    """Temporary copies of `path` left by a run that was killed outright (SIGKILL, a power
    cut: nothing could clean up), known by their writer's process id being gone. A live
    writer's (another run into the same folder) are left alone, and so is any file whose
    name does not have exactly the shape of ours."""
    shape = _stale_name(path)
    for leftover in path.parent.glob(f".{glob_escape(path.name)}.{MARK}.*"):
        found = shape.fullmatch(leftover.name)
        if found is None or _alive(int(found.group(1))) or not leftover.is_file() or leftover.is_symlink():
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


def _is_stream(path: Path) -> bool:
    """True where the output is written into rather than renamed over (see the module's
    docstring); raises OSError, naming the path, where it is not written at all."""
    try:
        st = os.stat(path)  # through every link
    except FileNotFoundError:  # nothing there, or a link to nothing: replaced
        return False
    if stat.S_ISDIR(st.st_mode):  # found before anything is written, so a set of files is not half replaced
        raise IsADirectoryError(errno.EISDIR, "a folder is in the way of the output file", str(path))
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return True
    if stat.S_ISREG(st.st_mode):
        return _through_proc(path)
    what = "a block device (a disk)" if stat.S_ISBLK(st.st_mode) else "a socket or other special file"
    raise OSError(errno.EINVAL, f"it is {what}, not an output file; nothing was written", str(path))


def _through_proc(path: Path) -> bool:
    """Whether a link on the way to path leads into /proc: /dev/stdout, /dev/fd/1 and
    /proc/self/fd/1 name an open stream of this process, whatever file is behind it."""
    here = Path(os.path.abspath(path))
    for _ in range(40):  # the kernel's own limit on links followed
        folder = Path(os.path.realpath(here.parent))
        if folder == Path("/proc") or Path("/proc") in folder.parents:
            return True
        if not here.is_symlink():
            return False
        here = Path(os.path.normpath(folder / os.readlink(here)))
    return False


def _prepare(path: Path, writer: Callable[[Path], object],
             created: Callable[[Path, bool], object] | None = None) -> Path:
    """Write a complete, synced copy of `path` under a temporary name and return that name:
    beside `path`, or in a private temporary folder where `path` is a stream.

    `created(tmp, stream)` is called as soon as the temporary file exists, with Ctrl-C held
    back, so that a caller's cleanup always knows about it.
    """
    stream = _is_stream(path)
    tmp = None
    try:
        with signals_held():
            if stream:
                tmp = Path(tempfile.mkdtemp(prefix="titanic-reg-")) / f"output{path.suffix}"
                tmp.touch()
            else:
                tmp = _temp_beside(path)
            if created is not None:
                created(tmp, stream)
        writer(tmp)
        if not stream:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp, _mode_for(path))
    except BaseException:
        if tmp is not None:
            _remove(tmp, stream)
        raise
    return tmp


def _remove(tmp: Path, private: bool) -> None:
    with contextlib.suppress(OSError):
        tmp.unlink()
    if private:
        shutil.rmtree(tmp.parent, ignore_errors=True)


def _copy_into(tmp: Path, target: Path) -> None:
    """Write tmp's bytes into the device, pipe or stream at target, without replacing it."""
    flags = os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    if stat.S_ISREG(os.stat(target).st_mode):  # a regular file behind /dev/stdout: after what is there
        flags |= os.O_APPEND
    try:
        fd = os.open(target, flags)  # non-blocking: a pipe with no reader fails at once (ENXIO)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OSError(exc.errno, "it is a named pipe that no process reads from", str(target)) from None
        raise
    try:
        os.set_blocking(fd, True)
        with open(fd, "wb", closefd=False) as sink, open(tmp, "rb") as source:
            shutil.copyfileobj(source, sink)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    finally:
        os.close(fd)


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
    """Files written under temporary names, put in place only by `commit`."""

    def __init__(self) -> None:
        self._ready: list[tuple[Path, Path]] = []  # (temporary, target): renamed over the target
        self._streams: list[tuple[Path, Path]] = []  # (temporary, target): copied into the target

    def file(self, path, writer: Callable[[Path], object]) -> Path:
        path = Path(path)
        made: list[Path] = []

        def created(tmp, stream):
            made.append(tmp)
            (self._streams if stream else self._ready).append((tmp, path))

        try:
            _prepare(path, writer, created)
        except BaseException:  # _prepare removed the file; forget it
            self._ready = [(tmp, target) for tmp, target in self._ready if tmp not in made]
            self._streams = [(tmp, target) for tmp, target in self._streams if tmp not in made]
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
        """Write the streams, then rename every file into place; Ctrl-C waits until the last
        one is (a few renames), not while a stream is written (a slow reader may take long)."""
        done = []
        while self._streams:  # first: one that fails leaves the files renamed below as they were
            tmp, target = self._streams[0]
            _copy_into(tmp, target)
            self._streams.pop(0)
            _remove(tmp, True)
            done.append(target)
        renamed = []
        with signals_held():
            while self._ready:
                tmp, target = self._ready[0]
                os.replace(tmp, target)
                self._ready.pop(0)
                renamed.append(target)
        for folder in {target.parent for target in renamed}:
            _fsync_dir(folder)
        return done + renamed

    def discard(self) -> None:
        for tmp, _ in self._ready:
            _remove(tmp, False)
        for tmp, _ in self._streams:
            _remove(tmp, True)
        self._ready.clear()
        self._streams.clear()


@contextlib.contextmanager
def staged() -> Iterator[Staged]:
    """Stage files in the block; all are renamed into place if it ends normally, none otherwise."""
    stage = Staged()
    try:
        yield stage
        stage.commit()
    finally:
        stage.discard()  # anything left after a failure, KeyboardInterrupt included
