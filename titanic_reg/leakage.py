"""Inputs that alone predict the target almost perfectly: a warning, never a silent drop.

A column known only after the outcome (a lifeboat number, for Titanic survival) makes
any model look brilliant and is useless for new rows. Each input is scored alone on the
training rows: its rows are grouped (a category by level, missing included; a number by
value when it has at most 20, else by decile, missing as a group of its own) and each
row is predicted by the mean target of the *other* rows of its group (leave-one-out, so
that a level seen once predicts nothing). Flagged:

* binary: leave-one-out accuracy of at least 0.95, and at most a quarter of the
  majority rule's errors;
* classes: the same as binary, each row predicted as the most frequent class among the
  other rows of its group, the majority rule being the most frequent class overall;
* number: leave-one-out R² of at least 0.95.

The pixels of an image are not scored: the image is one input (a block of the recipe).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .data import Rows

MIN_ACCURACY, ERROR_SHARE, MIN_R2 = 0.95, 0.25, 0.95


def _groups(v: np.ndarray) -> np.ndarray:
    if v.dtype == object:
        return pd.factorize(pd.Series(v, dtype=object), use_na_sentinel=False)[0]
    missing = np.isnan(v)
    observed = v[~missing]
    codes = np.full(len(v), -1, dtype=np.int64)
    if observed.size:
        distinct = np.unique(observed)
        if len(distinct) <= 20:
            codes[~missing] = np.searchsorted(distinct, observed)
        else:
            edges = np.unique(np.quantile(observed, np.linspace(0.1, 0.9, 9)))
            codes[~missing] = np.searchsorted(edges, observed, side="right")
    return np.where(missing, codes.max(initial=0) + 1, codes)


def score(v: np.ndarray, y: np.ndarray, kind: str) -> float:
    """How well the column alone predicts y: accuracy (binary, classes) or R² (number), leave-one-out."""
    groups = _groups(v)
    if kind == "classes":
        return _class_score(groups, y.astype(np.int64))
    sums = np.bincount(groups, weights=y)
    counts = np.bincount(groups).astype(np.float64)
    total, n = y.sum(), len(y)
    own = counts[groups] - 1
    loo = np.where(own > 0, (sums[groups] - y) / np.maximum(own, 1), (total - y) / max(n - 1, 1))
    if kind == "binary":
        return float(np.mean((loo > 0.5) == (y > 0.5)))
    sst = float(((y - y.mean()) ** 2).sum())
    return 1 - float(((y - loo) ** 2).sum()) / sst if sst > 0 else 0.0


def _class_score(groups: np.ndarray, y: np.ndarray) -> float:
    """Leave-one-out accuracy of the most frequent class among the other rows of a row's group
    (of every other row, for a row alone in its group; the first class among equals)."""
    counts = np.zeros((groups.max() + 1, y.max() + 1))
    np.add.at(counts, (groups, y), 1)
    others = counts[groups]
    others[np.arange(len(y)), y] -= 1
    alone = others.sum(axis=1) == 0
    overall = np.bincount(y, minlength=counts.shape[1])[None] - np.eye(counts.shape[1])[y]
    others[alone] = overall[alone]
    return float(np.mean(others.argmax(axis=1) == y))


def suspects(train: Rows, y: np.ndarray, columns: list[str], kind: str) -> list[dict]:
    """The inputs that predict y almost perfectly on their own, most telling first."""
    if len(y) < 10:
        return []
    out = []
    if kind == "binary":
        p = float(np.mean(y))
        majority = max(p, 1 - p)
    if kind == "classes":
        majority = float(np.bincount(y.astype(np.int64)).max() / len(y))
    for column in columns:
        s = score(train.columns[column], y, kind)
        if kind in ("binary", "classes"):
            flagged = s >= MIN_ACCURACY and (1 - s) <= ERROR_SHARE * (1 - majority)
            out += [{"column": column, "accuracy": s, "majority_accuracy": majority}] if flagged else []
        elif s >= MIN_R2:
            out.append({"column": column, "r2": s})
    return sorted(out, key=lambda d: -d.get("accuracy", d.get("r2", 0)))


def message(path, found: dict) -> str:
    what = (f"accuracy {found['accuracy']:.3f} against the majority rule's {found['majority_accuracy']:.3f}"
            if "accuracy" in found else f"R² {found['r2']:.3f}")
    return (f"{path}, column {found['column']}: alone it predicts the target almost perfectly on the training "
            f"rows ({what}); if it is known only after the outcome (leakage), leave it out of the recipe")
