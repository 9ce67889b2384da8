"""The rows a workbook holds, and what its sheets redo over them, computed here in the core.

Excel stops at 1,048,576 rows and recalculation gets slow long before; torch and the
metrics always use every row. Beyond a limit the workbook holds a seeded sample: training
rows first, so training ranges stay contiguous, and the workbook says on every sheet that
it is a sample. Over those rows the view also holds what the sheets redo by formula: each
model's plain gradient descent (its Descent sheet) and the closed-form least squares with
the features' rank (LINEST on the Compare sheet). The sheets only write it out.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .descent import plain_descent
from .limits import MAX_SHEET_CELLS
from .optimum import closed_form

DEFAULT_MAX_ROWS = 10_000
# A wide table's rows cost more: every cell is written and recalculated. By default the
# Data sheet holds at most this many cells (10,000 rows up to 40 columns; Titanic's has 21).
CELL_BUDGET = 400_000
MIN_ROWS = 200  # the fewest a default sample holds: an image of 784 pixels costs 1,568 cells a row
# Each Descent sheet redoes every step's gradient over every training row it holds: about
# steps x rows x parameters multiply-adds to recalculate. On scikit-learn's digits (10 classes,
# linear and mlp:16: 134 million over its 1,438 training rows) LibreOffice took 114 s and
# Gnumeric 6 minutes; held to this much (214 training rows), 51 s and 2.5 minutes. The 3s and
# 7s' default workbook does 16 million; Titanic's, 2 million.
DESCENT_WORK = 20_000_000
# A Descent step also rebuilds each tensor of several rows from the step's row by MMULT
# (Model.descent_rebuild_work), a cost that does not shrink with the rows held: the digits'
# default workbook spends 24 million multiply-adds a step on it (1.2 billion over 50 steps,
# where Gnumeric takes 2.5 minutes), 16 x 16 images of 10 classes 371 million. Past this
# much over every step, the workbook shows fewer steps, and says so.
REBUILD_WORK = 1_500_000_000


def sheet_columns(recipe, features, models) -> int:
    """Columns of the widest sheet with a row per data row: the Data sheet or a model's."""
    p = len(features)
    return max([3 + len(recipe.inputs) + p + len(recipe.show)] + [5 + sum(m.widths(p)) for m in models])


def descent_steps(result) -> int:
    """The Descent steps a workbook shows: those asked for (--descent-steps), fewer when
    rebuilding the models' matrices at every step would pass REBUILD_WORK."""
    p = len(result.features)
    per_step = sum(run.model.descent_rebuild_work(p, run.loss) for run in result.runs.values() if run.descent_lr)
    steps = result.descent_steps
    if per_step and steps * per_step > REBUILD_WORK:
        steps = max(1, REBUILD_WORK // per_step)
    return steps


def default_rows(result) -> int:
    """--sheet-rows when it is not given: 10,000 rows, fewer for wide tables or wide models
    (CELL_BUDGET on the widest of the Data sheet and the models' sheets), or when the Descent
    sheets would pass DESCENT_WORK."""
    columns = sheet_columns(result.recipe, result.features, result.model_list)
    rows = min(DEFAULT_MAX_ROWS, CELL_BUDGET // columns)
    p = len(result.features)
    per_row = descent_steps(result) * sum(run.model.size(p) for run in result.runs.values() if run.descent_lr)
    if per_row and len(result.data):
        train_share = max(result.n_train, 1) / len(result.data)  # a sample keeps the training rows' share
        rows = min(rows, int(DESCENT_WORK / (per_row * train_share)))
    return max(MIN_ROWS, rows)


def too_many_cells(max_rows, recipe, features, models, rows: int, test_rows: int = 0) -> str | None:
    """Why a workbook of at most `max_rows` rows (None: default_rows) would be too large, or None:
    the rows it would hold (of `rows` and `test_rows`) x its widest sheet's columns past
    MAX_SHEET_CELLS."""
    if max_rows is None:
        return None  # default_rows keeps to CELL_BUDGET, below the cap
    columns = sheet_columns(recipe, features, models)
    held = min(rows, max_rows) + min(test_rows, max_rows)
    if held * columns <= MAX_SHEET_CELLS:
        return None
    fits = MAX_SHEET_CELLS // columns // (2 if test_rows else 1)
    return (f"{max_rows:,} rows would put {held:,} rows x {columns:,} columns = {held * columns:,} cells on a "
            f"sheet, past the {MAX_SHEET_CELLS:,} a workbook may hold (a spreadsheet recalculates every one); "
            f"at most about {fits:,} rows here")


def sample_rows(n_train: int, n_valid: int, max_rows: int, seed: int) -> np.ndarray:
    """Sorted row indices: the same share of training and validation rows, seeded."""
    keep_train = max(1, round(max_rows * n_train / (n_train + n_valid)))
    keep_valid = min(n_valid, max_rows - keep_train)
    rng = np.random.default_rng(seed)
    train = np.sort(rng.choice(n_train, size=min(n_train, keep_train), replace=False))
    valid = n_train + np.sort(rng.choice(n_valid, size=max(0, keep_valid), replace=False))
    return np.concatenate([train, valid])


def workbook_view(result, max_rows: int | None = None):
    """The rows a workbook holds, with the Descent sheets' runs and the closed form over them:
    `result`'s own rows when they fit in `max_rows` (default_rows when None), else a seeded
    sample of them (and of the test rows), labelled as one."""

    max_rows = default_rows(result) if max_rows is None else max_rows
    n, n_train = len(result.data), result.n_train
    too_many_test = result.test is not None and len(result.test) > max_rows
    changes = {}
    if n > max_rows or too_many_test:
        changes["sample_of"] = {"rows": n, "test": None if result.test is None else len(result.test)}
    if n > max_rows:
        idx = sample_rows(n_train, n - n_train, max_rows, result.provenance["seed"])
        changes.update(data=result.data.take(idx), n_train=int((idx < n_train).sum()), X=result.X[idx],
                       y=result.y[idx])
    if too_many_test:
        idx = np.sort(np.random.default_rng(result.provenance["seed"]).choice(len(result.test), max_rows,
                                                                           replace=False))
        changes.update(test=result.test.take(idx), X_test=result.X_test[idx],
                       predictions=result.predictions.iloc[idx].reset_index(drop=True))
    steps = descent_steps(result)
    if steps < result.descent_steps:
        changes.update(descent_steps=steps, descent_asked=result.descent_steps)
    view = dataclasses.replace(result, **changes)
    k, X, y = view.n_train, view.X, view.y
    view.runs = {name: run if not (steps and run.descent_lr) else dataclasses.replace(
        run, descent=plain_descent(run.model, X[:k], y[:k], run.trained.init, steps, run.descent_lr, run.loss))
        for name, run in result.runs.items()}
    view.optimum = closed_form(X[:k], y[:k], rank=True) if view.kind != "classes" else None
    return view
