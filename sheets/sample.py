"""A seeded sample of the rows for the workbook when the data outgrow a spreadsheet.

Excel stops at 1,048,576 rows and recalculation gets slow long before; torch and
the metrics always use every row. The sample keeps training rows first, so training
ranges stay contiguous, and the workbook says on every sheet that it is a sample.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from titanic_reg.descent import plain_descent
from titanic_reg.models import MODELS

DEFAULT_MAX_ROWS = 10_000


def sample_rows(n_train: int, n_valid: int, max_rows: int, seed: int) -> np.ndarray:
    """Sorted row indices: the same share of training and validation rows, seeded."""
    keep_train = max(1, round(max_rows * n_train / (n_train + n_valid)))
    keep_valid = min(n_valid, max_rows - keep_train)
    rng = np.random.default_rng(seed)
    train = np.sort(rng.choice(n_train, size=min(n_train, keep_train), replace=False))
    valid = n_train + np.sort(rng.choice(n_valid, size=max(0, keep_valid), replace=False))
    return np.concatenate([train, valid])


def for_sheets(result, max_rows: int = DEFAULT_MAX_ROWS):
    """`result` itself when it fits; else a copy whose rows (and test rows) are a sample."""
    n, n_train = len(result.data), result.n_train
    too_many_test = result.test is not None and len(result.test) > max_rows
    if n <= max_rows and not too_many_test:
        return result
    changes = {"sample_of": {"rows": n, "test": None if result.test is None else len(result.test)}}
    if n > max_rows:
        idx = sample_rows(n_train, n - n_train, max_rows, result.settings["seed"])
        X, y = result.X[idx], result.y[idx]
        k = int((idx < n_train).sum())
        # The Descent sheets redo their steps over the sampled rows: torch does the same.
        descent = {name: plain_descent(MODELS[name], X[:k], y[:k], result.models[name].init,
                                       len(d.losses) - 1, d.lr)
                   for name, d in result.descent.items()}
        changes.update(data=result.data.take(idx), n_train=k, X=X, y=y, descent=descent)
    if too_many_test:
        idx = np.sort(np.random.default_rng(result.settings["seed"]).choice(len(result.test), max_rows,
                                                                           replace=False))
        changes.update(test=result.test.take(idx), X_test=result.X_test[idx],
                       predictions=result.predictions.iloc[idx].reset_index(drop=True))
    return dataclasses.replace(result, **changes)
