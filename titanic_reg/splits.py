"""Which rows validate: a seeded random share (the default), or the latest rows by a date
(`--split time`), so that the validation score is a forecast's rather than an interpolation's.

    mask = time_mask(days, valid_pct)                   # True for a validation row
    column = date_input(recipe)                         # the recipe's first date column, or None
    said = in_order_warning(path, column, days)         # rows in date order under a random split
"""
from __future__ import annotations

import math

import numpy as np

from .errors import InputError, OptionError, option

SPLITS = ("random", "time")
IN_ORDER = 0.95  # of consecutive dated rows that go forward in time (or stay): the rows are in date order


def time_mask(days: np.ndarray, valid_pct: float) -> np.ndarray:
    """The latest share of `valid_pct` of the rows by their day numbers; a row without a date
    trains (it cannot be placed in time), and rows of one date are taken in file order."""
    n = len(days)
    n_valid = int(round(n * valid_pct))
    order = np.argsort(np.where(np.isnan(days), -np.inf, days), kind="stable")
    mask = np.zeros(n, dtype=bool)
    mask[order[n - n_valid:]] = True
    return mask


def check(split: str) -> None:
    if split not in SPLITS:
        raise OptionError("split", f"must be 'random' or 'time', not {split!r}")


def date_input(recipe):
    """The recipe's first date column (the one a time split goes by), or None."""
    return next((t for t in recipe.inputs if t.kind == "date"), None)


def no_date(recipe, path) -> InputError:
    """--split time where the recipe has no date column: one line naming the file."""
    said = "; ".join(f"{c}: {why}" for c, why in recipe.left_out.items() if why.startswith("dates"))
    return InputError(path, f"{option('split', 'time')} keeps the latest rows for validation by a date column, and "
                            f"no input is one ({said or 'no column reads as dates'}); use {option('split', 'random')}")


def in_order_warning(path, column: str, days: np.ndarray) -> str | None:
    """A warning when rows whose dates mostly go forward row after row are split at random."""
    dated = days[~np.isnan(days)]
    if len(dated) < 3 or dated.max() == dated.min():
        return None
    forward = float(np.mean(np.diff(dated) >= 0))
    if forward < IN_ORDER:
        return None
    share = f"{math.floor(1000 * forward) / 10:g}%"  # rounded down: 99.6% is not all of them
    return (f"{path}, column {column}: the rows are in date order ({share} of them are no earlier than "
            "the row before), and a random split puts validation rows between training rows of the days around "
            f"them, so the score is an interpolation's, not a forecast's; {option('split', 'time')} keeps the latest "
            "rows for validation")
