"""A seeded sample of the rows for the workbook when the data outgrow a spreadsheet.

Excel stops at 1,048,576 rows and recalculation gets slow long before; torch and
the metrics always use every row. The sample keeps training rows first, so training
ranges stay contiguous, and the workbook says on every sheet that it is a sample.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from titanic_reg.descent import plain_descent
from titanic_reg import models as registry

DEFAULT_MAX_ROWS = 10_000
# A wide table's rows cost more: every cell is written and recalculated. By default the
# Data sheet holds at most this many cells (10,000 rows up to 40 columns; Titanic's has 21).
CELL_BUDGET = 400_000


def default_rows(result) -> int:
    """--sheet-rows when it is not given: 10,000 rows, fewer for wide tables or wide models
    (CELL_BUDGET on the widest of the Data sheet and the models' sheets)."""
    columns = 3 + len(result.recipe.inputs) + len(result.features) + len(result.recipe.show)
    p = len(result.features)
    columns = max([columns] + [5 + sum(m.widths(p)) for m in result.model_list])
    return max(1_000, min(DEFAULT_MAX_ROWS, CELL_BUDGET // columns))


def sample_rows(n_train: int, n_valid: int, max_rows: int, seed: int) -> np.ndarray:
    """Sorted row indices: the same share of training and validation rows, seeded."""
    keep_train = max(1, round(max_rows * n_train / (n_train + n_valid)))
    keep_valid = min(n_valid, max_rows - keep_train)
    rng = np.random.default_rng(seed)
    train = np.sort(rng.choice(n_train, size=min(n_train, keep_train), replace=False))
    valid = n_train + np.sort(rng.choice(n_valid, size=max(0, keep_valid), replace=False))
    return np.concatenate([train, valid])


def for_sheets(result, max_rows: int | None = None):
    """The rows a workbook holds, with the Descent sheets' runs over them: `result`'s own
    when they fit in `max_rows` (default_rows when None), else a seeded sample of them (and
    of the test rows), labelled as one."""
    max_rows = default_rows(result) if max_rows is None else max_rows
    n, n_train = len(result.data), result.n_train
    too_many_test = result.test is not None and len(result.test) > max_rows
    changes = {}
    if n > max_rows or too_many_test:
        changes["sample_of"] = {"rows": n, "test": None if result.test is None else len(result.test)}
    if n > max_rows:
        idx = sample_rows(n_train, n - n_train, max_rows, result.settings["seed"])
        changes.update(data=result.data.take(idx), n_train=int((idx < n_train).sum()), X=result.X[idx],
                       y=result.y[idx])
    if too_many_test:
        idx = np.sort(np.random.default_rng(result.settings["seed"]).choice(len(result.test), max_rows,
                                                                           replace=False))
        changes.update(test=result.test.take(idx), X_test=result.X_test[idx],
                       predictions=result.predictions.iloc[idx].reset_index(drop=True))
    view = dataclasses.replace(result, **changes) if changes else result
    steps = result.settings.get("descent", {}).get("steps", 0)
    if steps and not view.descent:
        k, X, y = view.n_train, view.X, view.y
        descent = {name: plain_descent(registry.get(name), X[:k], y[:k], result.models[name].init, steps,
                                       result.settings["descent"]["lr"][name])
                   for name in result.models if name in result.settings["descent"]["lr"]}
        view = dataclasses.replace(view, descent=descent)
    return view
