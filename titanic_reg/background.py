"""The scikit-learn baselines in a second process, on the other core while torch trains.

`titanic-reg fit` starts the process first thing, before importing torch, so that
scikit-learn's import (about a second) overlaps torch's and the data's loading; fit()
then sends it the training matrix and trains our models meanwhile. On the lesson's data
this takes about a fifth off the whole command; at 300,000 rows the baselines' eight
seconds disappear behind the two-ReLU model's training.

The results are the same numbers, in the same order, as baselines.fitted() in-process
(which the Python API uses, and which takes over should the process fail to start or
answer). Warnings raised in the process come back and are raised again here.

    worker = Worker()                  # importing scikit-learn in the background
    worker.submit(job)                 # the arguments of baselines.fitted()
    scores, test_predictions = worker.result()
"""
from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import warnings


class Worker:
    def __init__(self):
        # One thread: the other core is torch's. Two OpenMP pools spin-waiting against each
        # other on two cores made the lesson's whole command three times slower.
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", "titanic_reg.background"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        except OSError:
            self.proc = None
        self.job = None

    def submit(self, job: dict) -> None:
        self.job = job
        if self.proc is None:
            return
        try:
            pickle.dump(job, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.close()
        except (OSError, pickle.PicklingError):
            self.close()

    def result(self) -> tuple[dict, dict]:
        """The baselines' scores and test predictions: the process's, or computed here."""
        answer = None
        if self.proc is not None:
            try:
                answer = pickle.load(self.proc.stdout)
            except (OSError, EOFError, pickle.UnpicklingError):
                answer = None
            self.close()
        if not (isinstance(answer, tuple) and len(answer) == 3):
            from . import baselines

            return baselines.fitted(**self.job)
        scores, test, said = answer
        for category, message in said:
            warnings.warn(category(message), stacklevel=2)
        return scores, test

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
    """The process: import scikit-learn, read one job from stdin, answer on stdout."""
    import signal

    # Ctrl-C reaches the whole process group; the command reports it, this process just ends.
    signal.signal(signal.SIGINT, lambda *a: os._exit(130))
    from . import baselines

    baselines.import_sklearn()
    job = pickle.load(sys.stdin.buffer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores, test = baselines.fitted(**job)
    said = [(w.category, str(w.message)) for w in caught]
    pickle.dump((scores, test, said), sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _serve()
