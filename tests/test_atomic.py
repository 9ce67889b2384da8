"""Ctrl-C held back while a temporary file is recorded and while a set is renamed: whichever
thread the kernel hands the signal to (torch and rich run threads of their own)."""
from __future__ import annotations

import errno
import os
import signal
import stat
import threading

import pytest

from titanic_reg import atomic, process


def _signal_from_another_thread(signum=signal.SIGINT):
    # raise() delivers to the calling thread: this one does not block it, so its C handler
    # runs there and Python calls the handler in the main thread at its next chance.
    t = threading.Thread(target=signal.raise_signal, args=(signum,))
    t.start()
    t.join()


@pytest.fixture
def python_handler():
    """Python's own Ctrl-C handler for the test, whatever an earlier one (the CLI's) left."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_a_signal_another_thread_receives_waits_for_the_end_of_the_block(python_handler):
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with process.signals_held():
            _signal_from_another_thread()
            for i in range(100_000):  # many chances for a handler to run, none taken
                pass
            reached.append(i)
    assert reached == [99_999]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_ctrl_c_as_the_temporary_file_appears_leaves_nothing_behind(tmp_path, monkeypatch, python_handler):
    """The moment the interrupt tests aim at: the temporary file exists, not yet recorded."""
    real = atomic._temp_beside

    def made_then_interrupted(path):
        tmp = real(path)
        _signal_from_another_thread()
        return tmp

    monkeypatch.setattr(atomic, "_temp_beside", made_then_interrupted)
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic.staged() as stage:
            stage.text(tmp_path / "a.txt", "new")
            stage.text(tmp_path / "b.txt", "new")
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "old"


def test_ctrl_c_during_the_renames_lands_after_the_last(tmp_path, monkeypatch, python_handler):
    real, done = os.replace, []

    def replace(src, dst):
        real(src, dst)
        done.append(dst)
        if len(done) == 1:
            _signal_from_another_thread()

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        with atomic.staged() as stage:
            for name in "abc":
                stage.text(tmp_path / f"{name}.txt", name)
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt", "c.txt"]


# --------------------------------------------------------------------------- what is at the output's path
# Never against the machine's own devices: copies made with mknod under tmp_path (root only),
# named pipes, and links to /dev/null, which is safe to write into.


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _reader(fifo) -> int:
    """A reader already there when the writer comes (a thread's open might come too late); what
    is written must fit a pipe's buffer (64 kB), as nobody reads until the writer is done."""
    return os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)


def _read_all(fd) -> bytes:
    os.set_blocking(fd, True)
    with open(fd, "rb") as fh:
        return fh.read()


def test_a_named_pipe_is_written_into_not_renamed_over(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = _reader(fifo)
    atomic.write_text(fifo, "recipe\n")
    assert _read_all(reader) == b"recipe\n"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert os.listdir(tmp_path) == ["pipe"]


def test_a_named_pipe_nobody_reads_is_an_error_not_a_wait(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(OSError, match="no process reads from") as caught:
        with atomic.staged() as stage:
            stage.text(tmp_path / "a.txt", "new")
            stage.text(fifo, "recipe\n")
    assert caught.value.filename == str(fifo)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert (tmp_path / "a.txt").read_text() == "old"  # the set is all old: the pipe is written first
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "pipe"]


def test_a_link_to_dev_null_stays_a_link_and_dev_null_a_device(tmp_path):
    link = tmp_path / "metrics.json"
    link.symlink_to("/dev/null")
    atomic.write_text(link, "{}\n")
    assert link.is_symlink() and os.readlink(link) == "/dev/null"
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_a_link_to_a_regular_file_is_replaced_and_its_target_left(tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("theirs")
    link = tmp_path / "a.txt"
    link.symlink_to(target)
    atomic.write_text(link, "ours")
    assert not link.is_symlink() and link.read_text() == "ours"
    assert target.read_text() == "theirs"


def test_a_link_into_proc_is_this_process_stream_and_written_into(tmp_path):
    """/dev/stdout names /proc/self/fd/1: with stdout a regular file behind it, the text goes
    into that file, after what is there, and the link is left (before: replaced by a file)."""
    import subprocess
    import sys

    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    log = tmp_path / "log.txt"
    with open(log, "w") as fh:
        fh.write("before\n")
        fh.flush()
        proc = subprocess.run([sys.executable, "-c", "import sys; from titanic_reg import atomic; "
                               "atomic.write_text(sys.argv[1], 'recipe\\n')", str(link)],
                              stdout=fh, stderr=subprocess.PIPE, text=True, cwd=os.getcwd())
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"
    assert log.read_text() == "before\nrecipe\n"


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a device needs root")


@needs_root
def test_a_character_device_is_written_into_not_renamed_over(tmp_path):
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a second /dev/null, ours to break
    atomic.write_text(null, "x" * 100_000)
    assert stat.S_ISCHR(null.lstat().st_mode) and null.lstat().st_rdev == os.makedev(1, 3)
    assert os.listdir(tmp_path) == ["null"]


@needs_root
def test_a_full_device_is_one_error_and_the_rest_of_the_set_stays_old(tmp_path):
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # a second /dev/full
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(OSError) as caught:
        with atomic.staged() as stage:
            stage.text(tmp_path / "a.txt", "new")
            stage.text(full, "recipe\n")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(full)
    assert stat.S_ISCHR(full.lstat().st_mode)
    assert (tmp_path / "a.txt").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "full"]


@needs_root
def test_a_block_device_is_refused_before_anything_is_written(tmp_path):
    disk = tmp_path / "disk"
    os.mknod(disk, stat.S_IFBLK | 0o600, os.makedev(7, 200))  # a loop device number nobody uses; never opened
    with pytest.raises(OSError, match="block device"):
        atomic.write_text(disk, "recipe\n")
    assert stat.S_ISBLK(disk.lstat().st_mode)
    assert os.listdir(tmp_path) == ["disk"]


# --------------------------------------------------------------------------- the sweep of stale temporary files


def test_the_sweep_leaves_the_users_files_that_look_like_old_temporary_names(tmp_path):
    """Names of the old shape (.STEM.PID.X.tmp.SUFFIX), with a process id that is gone: the user's
    backups, deleted before by the sweep that ran at every write."""
    dead = _dead_pid()
    mine = [tmp_path / f".metrics.{dead}.backup.tmp.json", tmp_path / f".penguins.{dead}.old.tmp.xlsx",
            tmp_path / f".metrics.json.titanic-reg-tmp.{dead}.notours.json"]  # not mkstemp's eight characters
    for path in mine:
        path.write_text("the user's")
    atomic.write_text(tmp_path / "metrics.json", "{}")
    atomic.write_bytes(tmp_path / "penguins.xlsx", b"PK")
    assert all(p.read_text() == "the user's" for p in mine)


def test_the_sweep_removes_a_dead_writers_temporary_file_and_keeps_a_live_ones(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / f".metrics.json.{atomic.MARK}.{dead}.k1ll3d_x.json"
    live = tmp_path / f".metrics.json.{atomic.MARK}.{os.getpid()}.w0rk1ng_.json"
    for path in (stale, live):
        path.write_text("partial")
    atomic.write_text(tmp_path / "metrics.json", "{}")
    assert not stale.exists() and live.read_text() == "partial"
    assert sorted(os.listdir(tmp_path)) == sorted(["metrics.json", live.name])


def test_temporary_names_have_the_shape_the_sweep_matches(tmp_path, monkeypatch):
    seen = []
    real = atomic._temp_beside

    def spy(path):
        seen.append(real(path))
        return seen[-1]

    monkeypatch.setattr(atomic, "_temp_beside", spy)
    atomic.write_text(tmp_path / "loss.png", "x")
    assert atomic._stale_name(tmp_path / "loss.png").fullmatch(seen[0].name), seen[0].name
