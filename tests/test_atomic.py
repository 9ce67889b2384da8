"""Ctrl-C held back while a temporary file is recorded and while a set is renamed: whichever
thread the kernel hands the signal to (torch and rich run threads of their own)."""
from __future__ import annotations

import os
import signal
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
