"""Two of the lesson's three questions about a fitted model: how fast does it predict, and
how much memory does it take. (The third, how accurate, is metrics.py's.)

Prediction time: the model predicts the same rows (the training and validation rows, at
most TIMING_ROWS of them) REPEATS times; the median of those times, in milliseconds per
1,000 rows, on one thread (see one_thread). A time varies from run to run and with the machine's load, so it goes to
metrics.json and the printed table, never into the workbook.

Size: what the fitted model holds, in bytes. Ours: its parameters as float64 (8 bytes
each). scikit-learn's: the pickled estimator (its arrays and its Python objects). A mean
image: its numbers. A rule: the numbers it keeps (a constant, or a feature and a value).
The process's peak memory is no model's own, so none of these is it.
"""
from __future__ import annotations

import contextlib
import pickle
import statistics
import sys
import time
from typing import Callable

TIMING_ROWS = 10_000  # enough rows that a call's fixed cost does not dominate; few enough to be quick
REPEATS = 5
FLOAT_BYTES = 8


def predict_ms_per_1000(predict: Callable, X) -> float:
    """The median time `predict` takes over the first TIMING_ROWS rows of X, in ms per 1,000 rows."""
    rows = X[:TIMING_ROWS]
    seconds = []
    with one_thread():
        for _ in range(REPEATS):
            start = time.perf_counter()
            predict(rows)
            seconds.append(time.perf_counter() - start)
    return 1e6 * statistics.median(seconds) / max(len(rows), 1)


@contextlib.contextmanager
def one_thread():
    """torch, BLAS and OpenMP on one thread, for a while. Every model is timed alike: the
    command's baselines run in a one-thread process (background.py). And on a busy machine
    two threads wait on each other: a 20-parameter model's one small product took 50 ms
    on two threads, 0.03 ms on one."""
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")  # not imported in the baselines' process: nothing to set there
    before = torch.get_num_threads() if torch else None
    try:
        with threadpool_limits(limits=1):
            if torch:
                torch.set_num_threads(1)
            yield
    finally:
        if torch:
            torch.set_num_threads(before)


def tensor_bytes(tensor) -> int:
    """A torch tensor's or a numpy array's numbers, in bytes."""
    if hasattr(tensor, "element_size"):
        return int(tensor.numel() * tensor.element_size())
    return int(tensor.nbytes)


def pickled_bytes(estimator) -> int:
    """A fitted scikit-learn estimator as it would be saved: its pickle's length."""
    return len(pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL))


def numbers_bytes(count: int) -> int:
    """`count` numbers kept as float64."""
    return FLOAT_BYTES * count
