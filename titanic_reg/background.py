"""The scikit-learn baselines, loss.png and compare.png, in a second process on the other core.

`titanic-reg fit` starts the process first thing, before importing torch, so that
scikit-learn's import (about a second) overlaps torch's and the data's loading; fit()
then sends it the training matrix and trains our models meanwhile; last, the process
draws loss.png and compare.png (matplotlib's import included) while the command writes
the workbook.
On the lesson's data that takes about a quarter off the whole command; at 300,000 rows
the baselines' seconds disappear behind the two-ReLU model's training.

The results are the same numbers, in the same order, as baselines.fit_and_predict() and
report.draw_loss() and compare_figure.draw_compare() in this process (which the Python API uses, and which take over
should the process fail to start or to answer). Warnings raised in the process come
back and are raised again here.

    worker = Worker()                  # importing scikit-learn in the background
    worker.submit(job)                 # the arguments of baselines.fit_and_predict()
    scores, test_predictions = worker.result()
    worker.draw(report.loss_plot(result), compare_figure.compare_plot(result))
    worker.drawn(path)                 # writes loss.png
    worker.drawn_compare(path)         # writes compare.png
"""
from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

from . import mplconfig
from .errors import warn


class Worker:
    def __init__(self, start: bool = True):
        """start=False: no process; every answer is computed here (the fallback, and the tests' way)."""
        # One thread: the other core is torch's. Two OpenMP pools spin-waiting against each
        # other on two cores made the lesson's whole command three times slower.
        mplconfig.ensure()  # here, so that this process removes matplotlib's folder (the worker ends by _exit)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        # This package, not another one the process would find first: a clone's cli.py run from
        # another folder, beside an installed titanic-reg, got the installed baselines.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(Path(__file__).resolve().parents[1]),
                                                          os.environ.get("PYTHONPATH"))))
        self.proc = None
        if start:
            try:
                self.proc = subprocess.Popen([sys.executable, "-m", "titanic_reg.background"], stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
            except OSError:
                self.proc = None
        self.job = None
        self.plots = {}  # what each picture shows, by name (for drawing here should the process fail)
        self.waiting = []  # the pictures asked for and not yet answered, in the order asked
        self.pictures = {}  # the process's PNGs (or None where it gave none), by name

    def _send(self, message) -> None:
        if self.proc is None:
            return
        try:
            body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.write(len(body).to_bytes(8, "little") + body)
            self.proc.stdin.flush()
        except (OSError, pickle.PicklingError):
            self.close()

    def _answer(self):
        if self.proc is None:
            return None
        try:
            return pickle.load(self.proc.stdout)
        except (OSError, EOFError, pickle.UnpicklingError):
            self.close()
            return None

    def submit(self, job: dict) -> None:
        self.job = job
        self._send(("baselines", job))

    def result(self) -> tuple[dict, dict]:
        """The baselines' scores and test predictions: the process's, or computed here."""
        answer = self._answer()
        if not (isinstance(answer, tuple) and len(answer) == 3):
            from . import baselines

            self.close()
            return baselines.fit_and_predict(**self.job)
        scores, test, said = answer
        for category, message in said:
            warn(message, category)
        return scores, test

    def draw(self, plot: dict, compare: dict | None = None) -> None:
        """Start drawing loss.png (report.loss_plot's data) and compare.png (compare_figure.
        compare_plot's); drawn() and drawn_compare() write them."""
        for name, body in (("loss", plot), ("compare", compare)):
            if body is not None:
                self.plots[name] = body
                self.waiting.append(name)
                self._send(("plot", (name, body)))

    def drawn(self, path) -> None:
        self._picture("loss", path)

    def drawn_compare(self, path) -> None:
        self._picture("compare", path)

    def _picture(self, name: str, path) -> None:
        while name in self.waiting:  # answers come in the order asked
            self.pictures[self.waiting.pop(0)] = self._answer()
        if not self.waiting:
            self.close()
        png = self.pictures.pop(name, None)
        if isinstance(png, bytes):
            Path(path).write_bytes(png)
        else:
            DRAW[name](self.plots[name], path)

    def close(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.kill()
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
            self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _serve() -> None:
    """The process: import scikit-learn, then answer each message on stdin, in order."""
    import io
    import queue
    import signal
    import threading

    # Ctrl-C reaches the whole process group; the command reports it, this process just ends.
    signal.signal(signal.SIGINT, lambda *a: os._exit(130))
    # Below torch's threads: when training takes both cores (its screened starts), two
    # OpenMP threads waiting for a core this process holds made steps many times slower.
    os.nice(10)
    # Messages (8 bytes of length, then a pickle) are read as they come, while scikit-learn
    # imports: a job larger than the pipe's buffer would otherwise hold the command up
    # until the import is done.
    inbox: queue.Queue = queue.Queue()

    def read():
        stream = sys.stdin.buffer
        while len(size := stream.read(8)) == 8:
            inbox.put(stream.read(int.from_bytes(size, "little")))
        inbox.put(None)

    threading.Thread(target=read, daemon=True).start()
    from . import baselines

    baselines.import_sklearn()
    out = sys.stdout.buffer
    while (raw := inbox.get()) is not None:
        kind, body = pickle.loads(raw)
        if kind == "baselines":
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                scores, test = baselines.fit_and_predict(**body)
            answer = (scores, test, [(w.category, str(w.message)) for w in caught])
            pickle.dump(answer, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
            mplconfig.ensure()
            import matplotlib.figure  # noqa: F401  (for the plot that comes next)
        elif kind == "plot":
            name, plot = body
            png = io.BytesIO()
            DRAW[name](plot, png)
            pickle.dump(png.getvalue(), out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()


def _draw_loss(plot, path) -> None:
    from .report import draw_loss

    draw_loss(plot, path)


def _draw_compare(plot, path) -> None:
    from .compare_figure import draw_compare

    draw_compare(plot, path)


DRAW = {"loss": _draw_loss, "compare": _draw_compare}


if __name__ == "__main__":
    _serve()
