"""How a `titanic-reg` process meets signals, standard output and its own end.

Everything here serves one promise: whatever stops a run, the user's previous
outputs are either left exactly as they were or replaced whole, nothing
temporary stays behind, and the process says in one line what happened.

Signals. SIGINT (Ctrl-C), SIGTERM (kill, a service stopping) and SIGHUP (a
closed terminal) are handled alike; the exit status is 128 + the signal's
number, as a shell reports a process it killed: 130, 143, 129. At each moment
of a command:

* before the command's group callback (`handle_signals()`): Python's own
  handling. Nothing is written yet, so nothing can be lost; Ctrl-C is click's
  "Aborted!" (exit 1) once click runs, a KeyboardInterrupt's traceback while
  Python and click still import; SIGTERM and SIGHUP end the process outright.
* from then on the handler notes the signal, then raises KeyboardInterrupt.
  The note is what counts: a library may swallow the KeyboardInterrupt, or
  turn it into an error of its own (matplotlib's renderer raises "Invalid
  bounding box"), and the command still stops as interrupted
  (`interrupted()`, `stop_if_interrupted()`, `exit_interrupted()`);
* while torch and pandas import (`deferred()`): noted only, raised when the
  block ends. A KeyboardInterrupt raised inside a callback of their C++
  (pybind11) ends the process with abort() and no clean-up (seen once in a
  hundred interrupted runs);
* in a garbage-collector callback (likely while torch imports) Python prints
  the KeyboardInterrupt and drops it: `sys.unraisablehook` notes it instead,
  quietly, and the run stops at its next check (every training step, before
  and after writing);
* while a temporary output is created and recorded for clean-up, and while a
  finished set of outputs is renamed into place (`signals_held()`, used by
  titanic_reg.atomic): noted by a stand-in handler and delivered once the
  block is over, so the outputs are all old or all new, never a mix;
* anywhere else the KeyboardInterrupt unwinds: `finally` blocks remove the
  temporary files and stop LibreOffice and Gnumeric;
* once the command has returned (in `run()`): everything is written, so a
  signal is only noted and the exit status is the run's own.

Why handlers are swapped rather than signals masked: a signal mask
(pthread_sigmask) covers one thread, and the kernel hands a signal sent to the
process to any thread that does not block it (torch's, rich's). Python's C
handler, run there, flags the signal for the main thread, which then runs the
Python handler between any two lines of the block all the same. Only the
Python-level handler decides what a signal does, so that is what is swapped.

Standard output. The outputs are written before anything is printed, so a
summary that cannot be shown must not undo or hide them (`GuardedStdout`):
closed (`1>&-`): dropped, exit 0, as no output was asked for, and fd 1 is taken
by /dev/null so that the first file opened (or LibreOffice's output) does not
become "standard output"; a reader that stopped reading (`| head -1`, a broken
pipe): exit 0, as it chose to; anything else (`> /dev/full`): one error line,
exit 1, since a log that was asked for is lost. Standard error is guarded alike, and
what befalls it changes nothing: closed (`2>&-`) or full (`2>/dev/full`), the warnings
and the error line are lost, the work goes on and the exit status is the run's own, the
one channel left to say how it went (before, the first warning raised and stopped the
run). An encoding that cannot hold every character (PYTHONIOENCODING=latin-1) prints
"?" for the rest on stdout, a backslash escape on stderr, as Python does there.

The quick exit. With torch, pandas and scikit-learn loaded, Python's normal
exit spends its time tearing down their modules, after the work is done.
Measured on `titanic-reg fit data/train.csv` on the 2-core development machine,
from the command's return to the process's end: 0.63 s of CPU time (median of
5 runs, user + system), 0.6 to 1.9 s of wall-clock time as other work shared
the machine; the whole command takes about 4.4 s with the machine to itself,
and is to stay within 5 s. So `run()` ends the process with `os._exit` once
the run's own clean-ups are done: the ones registered through `on_exit()`
(matplotlib's private configuration folder, titanic_reg.mplconfig), logging's
(`logging.shutdown()`, public and cheap), and the flush of stdout and stderr.
What Python's exit would also have run, found by recording every `atexit` and
threading exit registration of a `fit`: torch's (a flag for its DataLoader
workers, a debug dump of fake-tensor cache statistics, a weakref finalizer of
its custom-ops library), pybind11's function records, concurrent.futures'
joining of idle pool threads, multiprocessing's children (none: the worker of
titanic_reg.background is a subprocess it kills itself). None of them leaves
anything behind. The commands keep every temporary folder in a `try/finally`
and start no thread that outlives them; a clean-up that must run at exit
registers with `on_exit()`, not `atexit`, so that the quick exit runs it too.
A bug's traceback leaves `run()` by the ordinary way, and then Python's exit
runs everything as usual.
"""
from __future__ import annotations

import atexit
import contextlib
import errno
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Iterator, NoReturn

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
EXIT_ERROR = 1

_noted: list = []  # every signal of this command: a number, or the unraisable record of a dropped Ctrl-C
_deferring: list = []  # non-empty while a signal is only to be noted (see deferred())
_cleanups: list = []  # (func, args, kwargs) of on_exit(), run last first
_written: list = []  # non-empty once the command has put its outputs in place (outputs_written())


def handle_signals() -> None:
    """From here on SIGINT, SIGTERM and SIGHUP are noted, then raised as KeyboardInterrupt."""
    _noted.clear()  # a command run twice in one process (tests) starts with none
    sys.unraisablehook = _keep_dropped_interrupt
    if threading.current_thread() is threading.main_thread():  # handlers are the main thread's to set
        for signum in SIGNALS:
            signal.signal(signum, _note_and_raise)


def _note_and_raise(signum, frame):
    _noted.append(signum)
    if not _deferring:
        raise KeyboardInterrupt


def _keep_dropped_interrupt(unraisable):
    # Raising it again from here would only be dropped the same way.
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        _noted.append(unraisable)
    else:
        sys.__unraisablehook__(unraisable)


def interrupted() -> bool:
    return bool(_noted)


def stop_if_interrupted() -> None:
    if _noted:
        raise KeyboardInterrupt


def exit_interrupted() -> NoReturn:
    """One line on stderr and exit 128 + the first signal's number (130 when only a
    dropped Ctrl-C was noted)."""
    first = next((s for s in _noted if isinstance(s, int)), signal.SIGINT)
    words = {signal.SIGTERM: "terminated (SIGTERM)"}
    if hasattr(signal, "SIGHUP"):
        words[signal.SIGHUP] = "hung up (SIGHUP)"
    print(words.get(first, "interrupted"), file=sys.stderr, flush=True)
    sys.exit(128 + int(first))


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Signals noted, not raised, until the block ends; then the run stops if one came."""
    _deferring.append(True)
    try:
        yield
    finally:
        _deferring.pop()
    stop_if_interrupted()


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP held back for the block (a few renames), then delivered to
    the handler they would have met, whichever thread the kernel gave them to."""
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover - handlers are main's
        yield
        return
    noted = []
    before = {}
    for signum in SIGNALS:
        before[signum] = signal.getsignal(signum)
        signal.signal(signum, lambda s, frame: noted.append(s))
    try:
        yield
    finally:
        for signum, handler in before.items():
            # None: a handler not set from Python, which cannot be put back; the default is
            # what such a process had.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if noted:
            signal.raise_signal(noted[0])


def outputs_written() -> None:
    """The command's files are in place: a standard output that fails after this says so."""
    _written.append(True)


def on_exit(func: Callable, *args, **kwargs) -> None:
    """Call func(*args, **kwargs) as the process ends: at `run()`'s quick exit, or at
    Python's own exit (the Python API, a notebook). Once either way, last registered first."""
    atexit.unregister(_run_cleanups)  # registered once, however many there are
    atexit.register(_run_cleanups)
    _cleanups.append((func, args, kwargs))


def _run_cleanups() -> None:
    while _cleanups:
        func, args, kwargs = _cleanups.pop()
        func(*args, **kwargs)


def run(main: Callable[[], object]) -> NoReturn:
    """The console script: main() (a click command), then the quick exit with its status."""
    for number, stream in ((1, sys.stdout), (2, sys.stderr)):
        if stream is None:  # closed: the first file opened would take its number, and a child's output with it
            fd = os.open(os.devnull, os.O_WRONLY)
            if fd != number:
                os.dup2(fd, number)
                os.close(fd)
        elif getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            # An encoding short of the table's characters (PYTHONIOENCODING=latin-1): shown as "?",
            # rather than an UnicodeEncodeError once the outputs are written.
            stream.reconfigure(errors="replace" if number == 1 else "backslashreplace")
    sys.stdout = out = GuardedStdout(sys.stdout)
    sys.stderr = GuardedStdout(sys.stderr)  # its failures change nothing: see the module's docstring
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    if threading.current_thread() is threading.main_thread():
        for signum in SIGNALS:  # the run is over: a late signal changes nothing of it
            signal.signal(signum, lambda s, frame: _noted.append(s))
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"), as Python would show it
        print(code, file=sys.stderr)
        code = EXIT_ERROR
    _run_cleanups()
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    failed = out.failed
    if failed is not None and failed.errno != errno.EPIPE and code == 0:
        done = "; the outputs were written" if _written else ""
        print(f"error: cannot write to standard output ({failed.strerror or failed}){done}",
              file=sys.stderr, flush=True)
        code = EXIT_ERROR
    os._exit(code)


class GuardedStdout:
    """Standard output (or error) that never raises; what went wrong is kept for run() (see the module's
    docstring: closed, a broken pipe, anything else)."""

    def __init__(self, stream):
        self._stream, self.failed = stream, None

    def write(self, text):
        if self._stream is not None and self.failed is None:
            try:
                return self._stream.write(text)
            except OSError as exc:
                self.failed = exc
        return len(text)

    def flush(self):
        if self._stream is not None and self.failed is None:
            try:
                self._stream.flush()
            except OSError as exc:
                self.failed = exc

    def isatty(self):
        return self._stream is not None and self._stream.isatty()

    def fileno(self):
        if self._stream is None:
            raise OSError(errno.EBADF, "standard output is closed")
        return self._stream.fileno()

    def __getattr__(self, name):  # encoding, errors, ...: the stream's own
        # Not its buffer: click would write to that directly, past the guard.
        if self._stream is None or name == "buffer":
            raise AttributeError(name)
        return getattr(self._stream, name)
