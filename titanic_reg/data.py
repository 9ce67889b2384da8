"""Read the columns a recipe names, typed and checked: numbers, levels, the target, the ID.

    rows = load(table, recipe, labelled=True, categories=None)

Every value is stripped text first; a recipe's `missing_values` (by default: empty,
NA, N/A, n/a, NaN, nan, null, NULL, None, ?) are missing. Then, column by column and
vectorised over the distinct values:

* a number input must parse as a finite number (decimal commas in `;` files) and keep
  the recipe's checks (min, max, whole; log10(x+1) needs x >= 0);
* a date is read in the recipe's format as a day number (dates.py); a text that is no date
  in it is read as missing, with a warning; a date before 1900-03-01 is refused;
* a category's values are text, read in the recipe's case; values that are numbers are
  written canonically (`1.0` and `01` are `1`), so a category of numbers compares as
  numbers do; `values` lists the only ones allowed, `known` the ones expected (others are
  used, with a warning);
* the target: numbers, or text compared exactly; a missing target leaves the row out;
* the ID: present, unique in the file.

The first bad value (by row) is an InputError naming the file, the row and the column,
with a count of the others. Text that a workbook cannot hold is dropped with a warning.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import InputError, warn
from .limits import MAGNITUDE_TEXT, MAX_MAGNITUDE
from .recipe import Recipe
from .summary import short
from .table import Column, Table, clean_text, numbers
from .transforms import Category, Number, number_text

_NONFINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
# Words people write for "missing" that are not in the recipe's list: hinted at in errors.
_MISSING_WORDS = {"na", "n/a", "nan", "null", "none", "nil", "-", "?", "#n/a", "n.a."}


@dataclass(repr=False)
class Rows:
    """The typed columns of one file, in file order."""

    path: object
    row: np.ndarray  # spreadsheet row of each record
    columns: dict  # column -> float64 array (NaN missing) or object array (None missing)
    numeric: dict = field(default_factory=dict)  # category column -> its levels are numbers
    id: np.ndarray | None = None
    target: np.ndarray | None = None  # labelled only
    show: dict = field(default_factory=dict)  # columns only shown

    def __len__(self) -> int:
        return len(self.row)

    def __repr__(self) -> str:
        return (f"Rows({str(self.path)!r}, {len(self):,} rows, columns={short(list(self.columns))}"
                f"{', with target' if self.target is not None else ''})")

    def take(self, index) -> "Rows":
        index = np.asarray(index)
        return Rows(self.path, self.row[index], {c: v[index] for c, v in self.columns.items()}, dict(self.numeric),
                    None if self.id is None else self.id[index],
                    None if self.target is None else self.target[index],
                    {c: v[index] for c, v in self.show.items()})

    def missing(self, column: str) -> np.ndarray:
        v = self.columns[column]
        return np.equal(v, None) if v.dtype == object else np.isnan(v)


def load(table: Table, recipe: Recipe, *, labelled: bool, numeric: dict | None = None) -> Rows:
    """The recipe's columns of `table`; `numeric` (from the training file) says which
    categories hold numbers, so that a test file reads them alike."""
    absent = [c for c in [*recipe.columns, *([recipe.id] if recipe.id else []),
                          *([recipe.target.column] if labelled else [])] if table.find(c) is None]
    if absent:
        s = "s" if len(absent) > 1 else ""
        raise InputError(table.path, f"the recipe ({recipe.source or 'given'}) names column{s} "
                                     f"{', '.join(absent)}, which the {'DataFrame' if str(table.path) == 'DataFrame' else 'file'} "
                                     f"lacks; the header has {table.listed()}",
                         row=table.header_row)
    errors: list[tuple[int, str, str]] = []
    missing = set(recipe.missing_values)
    reader = _Reader(table, missing, errors)
    columns, kinds = {}, {}
    for spec in recipe.inputs:
        col = table.column(spec.column)
        if spec.reads == "numbers":
            columns[spec.column] = reader.numbers(col, spec)
        elif spec.reads == "dates":
            columns[spec.column] = reader.dates(col, spec)
        else:
            values, is_numeric = reader.levels(col, spec, None if numeric is None else numeric.get(spec.column),
                                               expected=labelled)
            columns[spec.column], kinds[spec.column] = values, is_numeric
    ident = reader.ident(table.column(recipe.id), recipe.submission_strategy.whole_ids) if recipe.id else None
    target = None
    if labelled:
        target = reader.target(table.column(recipe.target.column), recipe.target)
    show = {}
    for name in recipe.show:
        if table.find(name) is not None:
            col = clean_text(table, table.column(name))
            show[name] = col.values()
    if errors:
        row, column, problem = min(errors)
        raise InputError(table.path, problem, row=row, column=column)
    rows = Rows(table.path, table.rows, columns, kinds, ident, target, show)
    if ident is not None:
        _unique(rows, recipe.id)
    return rows


class _Reader:
    def __init__(self, table: Table, missing: set, errors: list):
        self.table, self.missing, self.errors = table, missing, errors

    def _missing(self, texts: pd.Series) -> np.ndarray:
        return texts.isin(self.missing).to_numpy()

    def _report(self, column: str, bad_rows: np.ndarray, problem_of) -> None:
        if bad_rows.any():
            i = int(np.argmax(bad_rows))
            n_bad = int(bad_rows.sum())
            problem = problem_of(i)
            if n_bad > 1:
                problem += f" (and {n_bad - 1} more bad value{'s' if n_bad > 2 else ''} in this column)"
            self.errors.append((int(self.table.rows[i]), column, problem))

    def parse(self, col: Column) -> tuple[np.ndarray, np.ndarray]:
        """(numbers of the distinct texts, which texts are missing); NaN where not a number."""
        return numbers(col.texts, self.table.decimal_comma), self._missing(col.texts)

    def numbers(self, col: Column, spec: Number) -> np.ndarray:
        nums, empty = self.parse(col)
        low = spec.min if spec.min is not None else (0.0 if spec.log else None)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(nums)
            if spec.whole:
                ok &= np.floor(nums) == nums
                ok &= np.abs(nums) < 2 ** 53
            if low is not None:
                ok &= nums >= low
            if spec.max is not None:
                ok &= nums <= spec.max
            if not getattr(spec, "log", False):  # log10(x+1) brings any finite number down to 308 or less
                ok &= ~(np.abs(nums) > MAX_MAGNITUDE)
        ok |= empty
        self._report(col.name, ~ok[col.codes], lambda i: self._number_problem(col, nums, i, spec, low))
        values = nums[col.codes]
        values[empty[col.codes]] = np.nan
        return values

    def _number_problem(self, col, nums, i, spec, low) -> str:
        text = col.texts.iloc[col.codes[i]]
        value = nums[col.codes[i]]
        hint = " (leave the cell empty for a missing value)" if text.lower() in _MISSING_WORDS else ""
        if np.isinf(value) and text.lower() not in _NONFINITE:
            return f"{text!r} is too large to be a finite number"
        if not np.isfinite(value):
            return (f"{text!r} is not a finite number{hint}" if text.lower() in _NONFINITE
                    else f"{text!r} is not a number{hint}")
        if abs(value) > MAX_MAGNITUDE and not getattr(spec, "log", False):
            return _too_large(text, "; rescale the column, or take its log10(x+1) (log = true in a recipe)")
        return f"{text!r} is not {describe_range(spec, low)}"

    def dates(self, col: Column, spec) -> np.ndarray:
        """Day numbers (dates.py) of a column of dates in the recipe's format: NaN where missing,
        and where a text is no date in that format (one warning, with a count); a date before
        1900-03-01 is an error."""
        from .dates import EARLIEST_DAY, ISO, day_numbers

        empty = self._missing(col.texts)
        days = day_numbers(col.texts, ISO if col.dated else spec.format)
        days[empty] = np.nan
        with np.errstate(invalid="ignore"):
            early = days < EARLIEST_DAY
        self._report(col.name, early[col.codes],
                     lambda i: f"{col.texts.iloc[col.codes[i]]!r} is before 1900-03-01: a spreadsheet's 1900 date "
                               "system cannot hold it (Excel counts a 29 February 1900 that never was)")
        odd = (np.isnan(days) & ~empty)[col.codes]
        if odd.any():
            i = int(np.argmax(odd))
            n = int(odd.sum())
            more = f" (and {n - 1} more row{'s' if n > 2 else ''})" if n > 1 else ""
            warn(f"{self.table.path}, row {self.table.rows[i]}, column {col.name}: "
                 f"{col.texts.iloc[col.codes[i]]!r} is no date written as {spec.format}{more}; read as a missing "
                 "date, which the training median date stands in for")
        return days[col.codes]

    def levels(self, col: Column, spec: Category, numeric: bool | None, expected: bool) -> tuple[np.ndarray, bool]:
        """The column's levels; `expected`: warn about values outside the recipe's `known`
        (a test file's are warned about as levels training never had, see unseen_levels)."""
        col = clean_text(self.table, col)
        texts = col.texts
        empty = self._missing(texts)
        if spec.case == "lower":
            texts = texts.str.lower()
        elif spec.case == "upper":
            texts = texts.str.upper()
        nums, _ = self.parse(Column(col.name, col.codes, texts))
        if numeric is None:
            declared = spec.levels if spec.levels is not None else spec.values
            if declared is not None:
                numeric = not isinstance(declared[0], str)
            else:
                used = np.zeros(len(texts), dtype=bool)
                used[np.unique(col.codes)] = True
                numeric = bool(np.isfinite(nums[used & ~empty]).all()) and bool((used & ~empty).any())
        canon = texts.to_numpy(dtype=object).copy()
        if numeric:
            finite = np.isfinite(nums)
            canon[finite] = [number_text(v) for v in nums[finite]]
        canon[empty] = None
        allowed = spec.values
        if allowed is not None:
            allowed_text = {number_text(v) if not isinstance(v, str) else v for v in allowed}
            ok = np.array([c is None or c in allowed_text for c in canon], dtype=bool)
            shown = ", ".join(number_text(v) if not isinstance(v, str) else v for v in allowed)
            self._report(col.name, ~ok[col.codes],
                         lambda i: f"{col.texts.iloc[col.codes[i]]!r} is not one of {shown}")
        values = canon[col.codes]
        if spec.known is not None and expected:
            known = {number_text(v) if not isinstance(v, str) else v for v in spec.known}
            odd = np.array([c is not None and c not in known for c in canon], dtype=bool)[col.codes]
            if odd.any():
                i = int(np.argmax(odd))
                n = int(odd.sum())
                more = f" (and {n - 1} more row{'s' if n > 2 else ''})" if n > 1 else ""
                warn(f"{self.table.path}, row {self.table.rows[i]}, column {col.name}: {values[i]!r} is none of "
                     f"{', '.join(sorted(known))}, the values the recipe expects{more}; it is used as it is")
        return values, bool(numeric)

    def ident(self, col: Column, whole: bool) -> np.ndarray:
        col = clean_text(self.table, col)
        empty = self._missing(col.texts)
        self._report(col.name, empty[col.codes], lambda i: "value is missing (every row needs its ID)")
        nums, _ = self.parse(col)
        if whole:
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(nums) & (np.floor(nums) == nums) & (np.abs(nums) < 2 ** 53)
            self._report(col.name, ~(ok | empty)[col.codes],
                         lambda i: f"{col.texts.iloc[col.codes[i]]!r} is not a whole number")
            return np.where(np.isfinite(nums), nums, 0).astype(np.int64)[col.codes]
        return col.values()

    def target(self, col: Column, target) -> np.ndarray:
        allowed = target.allowed  # a K-class target's values are its classes
        if target.numeric:
            nums, empty = self.parse(col)
            ok = np.isfinite(nums) | empty
            if target.kind == "number":
                with np.errstate(invalid="ignore"):
                    ok &= ~(np.abs(nums) > MAX_MAGNITUDE)
            if allowed is not None:
                ok &= np.isin(nums, np.asarray(allowed, dtype=np.float64)) | empty
            shown = ", ".join(number_text(v) for v in allowed) if allowed is not None else ""

            def problem(i):
                text = col.texts.iloc[col.codes[i]]
                if not np.isfinite(nums[col.codes[i]]):
                    return f"{text!r} is not a number"
                if allowed is None:
                    return _too_large(text, "; rescale the target (in other units, say)")
                return f"{text!r} is not one of {shown}"

            self._report(col.name, ~ok[col.codes], problem)
            values = nums[col.codes]
            values[empty[col.codes]] = np.nan
            return values
        col = clean_text(self.table, col)
        empty = self._missing(col.texts)
        canon = col.texts.to_numpy(dtype=object).copy()
        canon[empty] = None
        if allowed is not None:
            ok = np.array([c is None or c in allowed for c in canon], dtype=bool)
            self._report(col.name, ~ok[col.codes], lambda i: f"{canon[col.codes[i]]!r} is not one of "
                                                             f"{', '.join(map(str, allowed))}")
        return canon[col.codes]


def _too_large(text: str, remedy: str) -> str:
    return (f"{text!r} is too large to fit with: numbers beyond {MAGNITUDE_TEXT} in size are "
            f"refused, as their squares would overflow{remedy}")


def describe_range(spec: Number, low) -> str:
    what = "a whole number" if spec.whole else "a number"
    if low is not None and spec.max is not None:
        return f"{what} from {number_text(low)} to {number_text(spec.max)}"
    if low is not None:
        extra = " (log10(x+1) needs it)" if spec.min is None else ""
        return f"{what} >= {number_text(low)}{extra}"
    if spec.max is not None:
        return f"{what} <= {number_text(spec.max)}"
    return what


def _unique(rows: Rows, column: str) -> None:
    ids = pd.Series(rows.id)
    second = ids.duplicated(keep="first").to_numpy()
    if second.any():
        j = int(np.argmax(second))
        first = int(np.argmax((ids == ids.iloc[j]).to_numpy()))
        raise InputError(rows.path, f"{column} {ids.iloc[j]} appears twice (rows {rows.row[first]} and "
                                    f"{rows.row[j]}); an ID names one row", row=int(rows.row[j]), column=column)


def target_missing(rows: Rows) -> np.ndarray:
    t = rows.target
    return np.equal(t, None) if t.dtype == object else np.isnan(t)


def unseen_levels(rows: Rows, recipe: Recipe, fitted: dict, expected=()) -> None:
    """Warn, with counts, about test values that training never had: a level that goes to
    `other` (or to no column), a missing value filled from the training rows (unless the
    column is in `expected`: the training file had missing values there, dropped)."""
    for spec in recipe.inputs:
        said = spec.unseen(rows.columns[spec.column], fitted[spec.column], rows.path, spec.column in expected)
        if said:
            warn(said)
