"""Infer a recipe from a CSV and the name of its target column, each decision with its reason.

Only the training rows decide (the same seeded split as `fit`, over the rows that have a
target; with missing = "drop", fit then drops the incomplete rows and splits again), so
that nothing about the validation rows leaks into the features:

* left out: the target; a column whose name appears twice; columns missing in 99% or
  more of the rows; constant columns; IDs (a name like `id`, `index`, `Unnamed: 0`,
  `rownames` or one ending in `id`, with a distinct value per row, or a whole number that
  counts the rows); free text (more distinct values than max(42, rows / 100)); text that names rows whatever the table's size (a
  value of its own in 90% of the training rows with one, 10 values or more);
* dates (one format reads every training value, dates.py) become their parts, as fastai's
  add_datepart: year, month and day of week are categories when they take at most 20
  values, other parts numbers by the rules below; a part the same in every row is left out;
* whole numbers with at most 5 distinct values are categories (so Pclass gets dummies,
  as in the lesson); other numbers are numbers: missing values filled with the training
  median, plus a 0/1 `_na` column when training rows had missing values (one per set of
  rows: a column missing in exactly the rows of an earlier one shares its `_na`),
  `log10(x+1)` when non-negative and heavily skewed (skewness 2 or more), then
  standardised;
* other text is a category: the 10 most frequent levels (missing is a level), the most
  frequent left out as the baseline beside the constant `Ones`, an `other` column for the
  rest.

The target: numbers with two values, or text with two values, are binary (the positive
class: 1, yes, true, ... or else the rarer class; `positive` chooses); text with more values,
and whole numbers with 3 to 10 (the digits 0-9), are classes, one output each (at most
MAX_CLASSES; `positive` still makes one class against the rest); other numbers are a number,
learned as log10(y + 1) by the inputs' rule for a log (never negative, skewness 2 or more).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, option, warn
from .limits import MAX_CLASSES
from .models import CLASS_MODELS, WIDE_MODELS
from .recipe import MISSING_VALUES, Recipe, Rule
from .report import data_name
from .table import Column, Table, numbers
from .target import Target
from .summary import prose_number, unsigned_zero
from .transforms import Category, Date, Number, Pixel, number_text

TOP_LEVELS = 10  # a category keeps its 10 most frequent levels
MAX_CATEGORY_NUMBERS = 5  # whole numbers with at most this many values are categories
MAX_CLASS_NUMBERS = 10  # a target of whole numbers with at most this many values is classes (the digits 0-9)
MOSTLY_MISSING = 0.99
SKEWED = 2.0
NAMES_SHARE = 0.9  # text distinct in 90% of the training rows or more names them (a name, an ID)
MIN_NAMES = 10  # ... when it has at least this many values
_ID_NAME = re.compile(r"^(id|index|idx|unnamed: ?\d+|row ?names|row ?id|row|rowid|record ?id|key|#)$|[ _.-]id$", re.I)
_CAMEL_ID = re.compile(r"[a-z]I[dD]$")
_DATE = re.compile(
    r"^(\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
    r"|\d{1,2}/\d{1,2}/\d{2,4}( \d{1,2}:\d{2}(:\d{2})?)?|\d{1,2}-\d{1,2}-\d{2,4}|\d{4}/\d{1,2}/\d{1,2}"
    r"|\d{1,2}\.\d{1,2}\.(\d{2}|\d{4})"
    r"|\d{1,2}[ -](jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*[ -]\d{2,4}"
    r"|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{1,2},? \d{4})$", re.I)
_POSITIVE_WORDS = ("1", "yes", "y", "true", "t", "positive", "pos")


def free_text_limit(n_train: int) -> int:
    return max(42, n_train // 100)


def infer(table: Table, target: str, *, positive=None, missing: str = "fill", train_rows=None,
          top: int = TOP_LEVELS, time_split: bool = False) -> Recipe:
    """The recipe for predicting `target` from the other columns of `table`.

    `train_rows`: indices (into the rows that have a target) of the training rows;
    `fit` passes its split, so that inference sees what training sees; `time_split`: the
    validation rows are the latest (a date's year is then a number, see _date).
    """
    name = table.find(target)
    if name is None:
        raise InputError(table.path, f"the target column {target!r} is not in the header; the header has "
                                     f"{table.listed()}", row=table.header_row)
    markers = set(MISSING_VALUES)
    tcol = table.column(name)
    labelled = ~tcol.texts.isin(markers).to_numpy()[tcol.codes]
    if not labelled.any():
        raise InputError(table.path, "no row has a value to learn from (the target is missing in every row)",
                         column=name)
    index = np.flatnonzero(labelled)
    train = index if train_rows is None else index[np.asarray(train_rows)]
    target_spec = _target(table, tcol, labelled, train, positive, markers)

    recipe = Recipe(target=target_spec, inputs=[], name=data_name(table.path), missing=missing,
                    title=f"{Path(table.path).name}: {target_spec.column}")
    masks: list[tuple[str, np.ndarray]] = []  # the _na columns so far, by the rows they flag
    dups = table.duplicates()
    pixels = _pixel_block([c for c in table.columns if c.name != name and c.name not in dups], table, train, markers)
    for col in table.columns:
        if col.name == name:
            continue
        if col.name in dups:
            recipe.left_out.setdefault(col.name, "its name appears twice in the header")
            continue
        if pixels and col.name in pixels:
            if col.name == next(iter(pixels)):  # the block stands where its first pixel does
                recipe.inputs.extend(pixels.values())
            continue
        unique = len(np.unique(col.codes)) == len(col.codes)  # an ID names every row of the file
        flagged = _missing(col.take(train), markers)
        twin = next((c for c, m in masks if np.array_equal(m, flagged)), None)  # an earlier _na of these rows
        decision = _column(table, col.take(train), table.rows[train], markers, top, recipe, unique,
                           drop=missing == "drop", twin=twin, time_split=time_split)
        if isinstance(decision, str):
            recipe.left_out[col.name] = decision
            continue
        if getattr(decision, "indicator", False):
            masks.append((col.name, flagged))
        recipe.inputs.append(decision)
    if not recipe.inputs:
        why = "; ".join(f"{c}: {r}" for c, r in recipe.left_out.items()) or "the file has no other column"
        raise InputError(table.path, f"no usable input column is left to predict {name} from ({why})")
    if target_spec.kind == "binary" and pixels:
        recipe.models = list(WIDE_MODELS)  # the registry's (models.py)
        recipe.models_reason = (
            f"the inputs are an image ({len(pixels):,} pixels): fastbook chapter 4's model for images, the linear "
            "model with a sigmoid (logistic), leads, with the lesson's linear model beside it to compare; the lesson's "
            "two ReLUs, started for a handful of columns, stay at the majority class on 12,396 MNIST images")
    elif target_spec.kind == "binary" and len(recipe.inputs) * WIDE >= len(train):
        recipe.models = list(WIDE_MODELS)  # the registry's (models.py)
        recipe.models_reason = (
            f"{len(recipe.inputs):,} inputs for {len(train):,} training rows (a quarter of the rows or more): a "
            "least-squares line with a weight per input can pass through 0/1 targets it has memorised, and its "
            "scores leave 0..1 on new rows; a sigmoid keeps each prediction between 0 and 1, so fastbook's "
            "linear model with a sigmoid (logistic) leads, with the lesson's linear model beside it to compare")
    if target_spec.kind == "classes":
        recipe.models = list(CLASS_MODELS)  # the registry's (models.py)
        recipe.models_reason = (
            f"{len(target_spec.classes)} classes: the linear model becomes {len(target_spec.classes)} linear units "
            "and a softmax (multinomial logistic regression), and an MLP ends in as many outputs; two_relu adds "
            "its units up into one output, so it cannot score each class")
    if target_spec.kind != "number":
        recipe.baselines = [Rule("majority", "Majority class", constant="majority")]
    else:
        recipe.baselines = [Rule("mean", "Mean of the training rows", constant="mean")]
    return recipe


WIDE = 4  # inputs x WIDE >= training rows: a wide table
MIN_PIXELS = 64  # an 8 x 8 image, scikit-learn's digits: fewer columns are a table, not an image
PIXEL_SHARE = 0.9  # of the inputs: an image with a few more columns (an ID, a source) is still an image
PIXEL_RANGES = (1, 15, 16, 255, 1023, 4095, 65535)  # whole-number pixel ranges: 1, 4, 4 (0-16), 8, 10, 12, 16 bits


def _pixel_block(columns: list[Column], table: Table, train: np.ndarray, markers) -> dict | None:
    """The columns that hold an image, as one block of Pixel transforms (column -> Pixel), or None.

    A table is an image when many of its inputs (MIN_PIXELS or more, and PIXEL_SHARE of them)
    are numbers that are never missing and share one range from 0: whole numbers up to a
    range's maximum (255 for 8 bits, 16 for scikit-learn's 8 x 8 digits, ...) that the values
    reach past its half, or fractions from 0 to 1. Each pixel is then divided by that maximum
    (the chapter's /255) and left as it is otherwise: no log, no categories, no fill, so that
    the features keep the image's geometry and its darkness. The rule reads only the values,
    never the names: any column names, any image size."""
    if len(columns) < MIN_PIXELS:
        return None
    found, spoilt = [], []  # spoilt: pixels but for a missing or negative value
    for col in columns:
        col = col.take(train)
        used = np.unique(col.codes)
        texts = col.texts.iloc[used]
        gaps = texts.isin(markers)
        nums = numbers(texts[~gaps].reset_index(drop=True), table.decimal_comma)
        if len(nums) == 0 or not np.isfinite(nums).all():
            continue
        if gaps.any() or nums.min() < 0:
            spoilt.append(col.name)
            continue
        found.append((col.name, float(nums.max()), bool(np.all(np.floor(nums) == nums)), len(nums) == 1))
    if len(found) < MIN_PIXELS or len(found) < PIXEL_SHARE * len(columns):
        near = len(found) + len(spoilt)
        if (spoilt and near >= MIN_PIXELS and near >= PIXEL_SHARE * len(columns) and len(spoilt) <= near // 10
                and _pixel_scale(found) is not None):
            warn(f"{table.path}: {near:,} number columns look like an image's pixels, but "
                 f"{_names(spoilt)} {'has' if len(spoilt) == 1 else 'have'} missing or negative values: read as "
                 "ordinary columns, not as one image; fill or correct those cells to read the image")
        return None
    scale = _pixel_scale(found)
    if scale is None:
        return None
    top = max(m for _, m, _, _ in found)
    n = len(found)
    side = math.isqrt(n)
    shape = (side, side) if side * side == n else (1, n)
    if table.image_shape and math.prod(table.image_shape) == n:  # a folder says its images' shape
        shape = tuple(table.image_shape)
    constant = sum(c for *_, c in found)
    reason = (f"{n:,} number columns that share one range, 0 to {prose_number(scale)} (the largest value is "
              f"{prose_number(top)}): an image, {_shape(shape, n)}, read as one block of pixels, each divided by "
              f"{prose_number(scale)} (fastbook's /255), with no log and no categories"
              + (f"; {constant:,} pixel{'s' if constant > 1 else ''} never vary in the training rows (kept, so "
                 "that the image keeps its shape)" if constant else ""))
    return {name: Pixel(name, float(scale), shape, i, "pixels", reason) for i, (name, *_rest) in enumerate(found)}


def _pixel_scale(found: list) -> float | None:
    """The range the columns share (found: name, largest value, whole, constant), or None:
    whole numbers up to a pixel range's maximum that they reach past the half of, or fractions
    from 0 to 1."""
    if not found:
        return None
    top = max(m for _, m, _, _ in found)
    if all(whole for _, _, whole, _ in found):
        scale = next((r for r in PIXEL_RANGES if r >= top), None)
        return None if scale is None or top <= scale / 2 else scale
    return 1 if top <= 1 else None


def _names(columns: list[str], shown: int = 3) -> str:
    return ", ".join(columns[:shown]) + (f" and {len(columns) - shown:,} more" if len(columns) > shown else "")


def _shape(shape, n: int) -> str:
    return f"{shape[0]} x {shape[1]} pixels" if shape[0] > 1 else f"{n:,} pixels in a row (not a square)"


def _missing(col: Column, markers) -> np.ndarray:
    return col.texts.isin(markers).to_numpy()[col.codes]


def _numbers(col: Column, table: Table) -> np.ndarray:
    return numbers(col.texts, table.decimal_comma)


def _target(table: Table, col: Column, labelled, train, positive, markers) -> Target:
    nums = _numbers(col, table)
    used = np.unique(col.codes[labelled])
    used = used[~col.texts.isin(markers).to_numpy()[used]]
    numeric = bool(np.isfinite(nums[used]).all())
    is_number = np.isfinite(nums)[col.codes[labelled]]
    if not numeric and is_number.mean() >= 0.95:  # numbers, but for a stray text or two
        i = int(np.flatnonzero(labelled)[np.argmax(~is_number)])
        raise InputError(table.path, f"{col.texts.iloc[col.codes[i]]!r} is not a number, though "
                                     f"{100 * is_number.mean():.0f}% of the target's values are (leave the cell "
                                     "empty for a missing target)", row=int(table.rows[i]), column=col.name)
    if numeric:
        classes = sorted({float(v) for v in nums[used]})
        shown = [number_text(v) for v in classes]
    else:
        classes = sorted(set(col.texts.iloc[used]))
        shown = list(classes)
    if len(classes) == 1:
        raise InputError(table.path, f"the target has one value ({shown[0]!r}) in every row that has one: "
                                     "there is nothing to predict", column=col.name)
    listed = ", ".join(shown[:12]) + (f", ... ({len(shown)} in all)" if len(shown) > 12 else "")
    train_values = (nums if numeric else col.texts.to_numpy(dtype=object))[col.codes[train]]
    if positive is not None:
        chosen = _match(positive, classes, numeric)
        if chosen is None:
            raise InputError(table.path, f"{option('positive', positive)} is not a value of the target; its values: "
                                         f"{listed}", column=col.name)
        others = len(classes) - 1
        return Target(col.name, "binary", chosen,
                      reason=f"{len(classes)} classes; {number_text(chosen) if numeric else chosen} (1) against "
                             f"{'the other' if others == 1 else f'the {others} others'} (0), as --positive asks")
    if numeric and len(classes) > 2 and not class_numbers(classes):
        return _log_target(Target(col.name, "number", reason=f"numbers with {len(classes)} distinct values: predicted "
                                                             "as a number (MSE; scored by RMSE and R²)"), train_values)
    if len(classes) > 2 and not numeric and not _classes_like(classes, len(train)):
        # Dates or free text hold no class worth suggesting as --positive.
        what = ("dates" if all(_DATE.match(c) for c in classes[:2000])
                else f"free text (more than max(42, rows/100) = {free_text_limit(len(train)):,} of them)")
        recipe = ("" if what == "dates" else f" (a recipe's [target] kind = \"classes\" with its classes takes up to "
                                             f"{MAX_CLASSES})")
        raise InputError(table.path, f"the target has {len(classes):,} distinct values ({listed}): {what}, not "
                                     f"classes{recipe}: choose another {option('target', metavar='COLUMN')}",
                         column=col.name)
    if len(classes) > MAX_CLASSES:
        raise InputError(table.path, f"the target has {len(classes):,} classes ({listed}), past the {MAX_CLASSES} "
                                     "a fit takes (one output each): choose one against the rest with "
                                     f"{option('positive', metavar='CLASS')}, or another {option('target', metavar='COLUMN')}",
                         column=col.name)
    if len(classes) > 2:
        what = (f"whole numbers with {len(classes)} distinct values ({MAX_CLASS_NUMBERS} or fewer, as the digits "
                "0-9)" if numeric else f"text with {len(classes)} distinct values")
        return Target(col.name, "classes", classes=classes,
                      reason=f"{what}: {len(classes)} classes, one output each through a softmax, trained on "
                             "cross-entropy and scored by accuracy; --positive CLASS predicts one against the rest"
                             + ('; kind = "number" (without classes) predicts it as a number, as a count'
                                if numeric else ""))
    words = {str(c).lower(): c for c in classes}
    if numeric:
        chosen = classes[-1]
        why = f"two values, {shown[0]} and {shown[1]}: binary, the larger is positive (1); --positive chooses"
    elif any(word in words for word in _POSITIVE_WORDS):
        chosen = words[next(word for word in _POSITIVE_WORDS if word in words)]
        why = f"two values, {shown[0]} and {shown[1]}: binary, {chosen!r} is positive (1); --positive chooses"
    else:
        counts = pd.Series(train_values).value_counts()
        rarer = sorted(classes, key=lambda c: (counts.get(c, 0), -classes.index(c)))[0]
        chosen = rarer
        why = (f"two values, {shown[0]} and {shown[1]}: binary, the rarer in the training rows, "
               f"{chosen!r}, is positive (1); --positive chooses")
    return Target(col.name, "binary", chosen, reason=why)


def class_numbers(values) -> bool:
    """Whether distinct numbers are class labels: whole numbers, at most MAX_CLASS_NUMBERS of them.

    A label names a class and a count counts: the digits 0-9 and a 7-point party ID are
    labels; a count (of children, of visits) reaches past 10 values once there are rows
    enough to show its tail, and a measure is seldom whole. The few that are both (a count
    from 0 to 5) are learnt as classes, each on its own; kind = "number" in the recipe turns
    them back into a number."""
    return len(values) <= MAX_CLASS_NUMBERS and all(float(v).is_integer() for v in values)


def _log_target(target: Target, values: np.ndarray) -> Target:
    """A number target learned as its log by the rule an input meets for its log (never
    negative, skewness SKEWED or more): least squares on a few huge values is a fit to them."""
    skew = _skewness(values)
    shown = unsigned_zero(f"{skew:.1f}")  # not "-0.0"
    if len(values) and values.min() >= 0 and skew >= SKEWED:
        target.log = True
        target.reason += (f"; learned as log10(value + 1), then scaled, as its skewness is {shown} ({SKEWED:g} or "
                          "more) and it is never negative (the rule for an input's log): predictions and scores are "
                          "back in its own units, 10^(...) - 1, about the median of like rows; log = false learns "
                          "it as it is")
    elif len(values) and values.min() < 0:
        target.reason += f"; learned as it is: it goes below 0 (its skewness is {shown}), so no log"
    else:
        target.reason += (f"; learned as it is: its skewness is {shown} (below {SKEWED:g}); log = true would "
                          "learn log10(value + 1)")
    return target


def _classes_like(classes, n_train: int) -> bool:
    """Whether text values look like classes, by the rule an input column meets to be a
    category (neither dates nor free text)."""
    return len(classes) <= free_text_limit(n_train) and not all(_DATE.match(c) for c in classes[:2000])


def _match(wanted, classes, numeric):
    if numeric:
        try:
            value = float(str(wanted).strip())
        except ValueError:
            return None
        return value if value in classes else None
    wanted = str(wanted).strip()
    return wanted if wanted in classes else None


def _column(table: Table, col: Column, rows: np.ndarray, markers, top: int, recipe: Recipe, unique: bool = True,
            drop: bool = False, twin: str | None = None, time_split: bool = False):
    """A transform for one column (its training rows, at spreadsheet `rows`), or the reason
    it is left out (str). `drop`: rows missing an input are dropped (missing = "drop");
    `twin`: an earlier number column missing in exactly the same rows, whose `_na` serves."""
    n = len(rows)
    missing = _missing(col, markers)
    observed = n - int(missing.sum())
    if n == 0:
        return "no training rows"
    if observed <= (1 - MOSTLY_MISSING) * n:
        return f"missing in {100 * (1 - observed / n):.1f}% of the training rows (99% or more)"
    codes = col.codes[~missing]
    distinct_texts = np.unique(codes)
    nums = _numbers(col, table)
    numeric = bool(np.isfinite(nums[distinct_texts]).all())
    values = nums[codes] if numeric else col.texts.to_numpy(dtype=object)[codes]
    distinct = len(np.unique(values)) if numeric else len(set(values))
    if distinct <= 1 and not missing.any():
        shown = prose_number(values[0]) if numeric else values[0]
        return f"constant: every training row holds {shown!r}"
    whole = numeric and bool(np.all(np.floor(values) == values))
    every_row = distinct == n and not missing.any() and unique
    if every_row and (_ID_NAME.search(col.name) or _CAMEL_ID.search(col.name)):
        return _as_id(recipe, col.name, "an ID: its name says so, and every row has its own value")
    if every_row and whole and len(np.unique(values - rows)) == 1:
        return _as_id(recipe, col.name, "an ID: a whole number that counts the rows")
    counts = pd.Series(np.where(missing, None, (nums if numeric else col.texts.to_numpy(dtype=object))[col.codes]),
                       dtype=object).value_counts(dropna=False)
    if numeric and distinct == 1:  # one value, and missing cells: all it says is which rows are missing
        return Category(col.name, top=top, reason=f"one number ({prose_number(values[0])}) and missing cells: a "
                                                  f"category, present or missing{_baseline(counts, True)}"
                                                  f"{_missing_level(missing, drop)}")
    if numeric and whole and distinct <= MAX_CATEGORY_NUMBERS:
        return Category(col.name, top=top, reason=f"whole numbers with {distinct} distinct values "
                                                  f"({_levels(counts, True)}): a category{_baseline(counts, True)}"
                                                  f"{_missing_level(missing, drop)}")
    if numeric:
        return _number(col.name, values, int(missing.sum()), n, distinct, drop, twin)
    sample = [col.texts.iloc[c] for c in distinct_texts[:2000]]
    if all(_DATE.match(t) for t in sample):
        return _date(col, missing, time_split)
    limit = free_text_limit(n)
    if distinct > limit:
        return f"free text: {distinct:,} distinct values in {n:,} training rows (more than max(42, rows/100) = {limit:,})"
    if _names_rows(distinct, observed):
        return (f"a name or ID: {distinct:,} distinct values in {observed:,} training rows with one (a value of its "
                f"own in {100 * NAMES_SHARE:.0f}% of them or more), so a level seen in one row says nothing of "
                "another")
    levels = distinct + bool(missing.any())
    more = (f"; the {top} most frequent are kept, the other {levels - top:,} share {col.name}_other"
            if levels > top else "")
    return Category(col.name, top=top, reason=f"text with {distinct:,} distinct values ({_levels(counts, False)}):"
                                              f" a category{_baseline(counts, False)}{more}{_missing_level(missing, drop)}")


def _ordered_levels(v: np.ndarray) -> list:
    """A part's values in the order a Category keeps them: the most frequent first, ties by value."""
    values, counts = np.unique(v, return_counts=True)
    return [x for _, x in sorted(zip(-counts, values))]


def _part_features(v: np.ndarray, transform=None) -> np.ndarray:
    """A part's columns as a linear model sees them: itself (no transform, or a number's), or 0/1
    for each level a Category keeps but its first (the baseline; a level not kept reads as it)."""
    if not isinstance(transform, Category):
        return v[:, None]
    levels = _ordered_levels(v)
    if transform.other is False:
        levels = levels[:transform.top]
    return (v[:, None] == np.asarray(levels[1:])[None]).astype(np.float64)


def _independent_levels(v: np.ndarray, before: list) -> int | None:
    """The most levels of a category part, the most frequent first, whose columns no straight line
    in the parts before gives (a level seen on one day of one year is that year's column); None
    when not even two are."""
    levels = _ordered_levels(v)
    for top in range(len(levels) - 1, 1, -1):
        columns = (v[:, None] == np.asarray(levels[1:top])[None]).astype(np.float64)
        if _explained(columns, before) <= NEARLY_ALL:
            return top
    return None


def _explained(columns: np.ndarray, before: list) -> float:
    """The largest share of variance of any mix of `columns` that a straight line in the
    `before` columns (and a constant) explains over the training rows: 1 when the columns
    together with those before are collinear."""
    def basis(m: np.ndarray) -> np.ndarray:
        u, s, _ = np.linalg.svd(m, full_matrices=False)
        return u[:, s > s.max() * 1e-10] if s.size and s.max() > 0 else u[:, :0]

    centred = columns - columns.mean(axis=0)
    own = basis(centred)
    if own.shape[1] == 0:
        return 1.0
    known = basis(np.column_stack([np.ones(len(columns)), *before]))
    rest = own - known @ (known.T @ own)  # what the columns before leave of each direction of these
    return 1.0 - float(np.linalg.svd(rest, compute_uv=False).min()) ** 2


NEARLY_ALL = 0.999  # of a part's variance explained by the parts before it: it is left out
DATE_LEVELS = 20  # fastai's cont_cat_split: whole numbers with at most 20 values are categories
LABEL_PARTS = ("year", "month", "dayofweek")  # parts that name a period rather than measure along one
PERIOD_VALUES = {"month": 12, "dayofweek": 7}  # the values a label part can take, in any year


def _date(col: Column, missing: np.ndarray, time_split: bool):
    """A Date transform for a column whose texts look like dates (its training rows), with a
    transform for each part that varies; or the reason it is left out.

    Year, month and day of week name a period: a category each when it takes at most 20
    values in the training rows (fastai's cont_cat_split makes whole numbers of at most 20
    values categories; a month or a weekday has no straight-line effect), except, with a time
    split, the year (no training row has the validation years) and a month or weekday the
    training rows do not cover in full (a later one may be missing from them). Day of year and elapsed
    days measure along the year and along time: numbers by the usual rules (categories only
    with at most 5 values, as any whole number)."""
    from . import dates

    texts = col.texts.iloc[np.unique(col.codes[~missing])].reset_index(drop=True)
    found = dates.detect(list(texts))
    if found is None:
        return ("dates written in more than one way (no one format reads them all): left out; a recipe can give it "
                "[inputs.<column>] kind = \"date\" with a format, and the rest are read as missing")
    fmt, why = found
    days = dates.day_numbers(col.texts, fmt)[col.codes[~missing]]
    if (days < dates.EARLIEST_DAY).any():
        return (f"dates before 1900-03-01 (the earliest is {dates.text(days.min())}), which a spreadsheet's 1900 date "
                "system cannot hold (Excel counts a 29 February 1900 that never was): left out")
    fill = float(np.median(days))
    spec = Date(col.name, format=fmt, parts={})
    values = dates.part_values(days)
    parts, same, follows = {}, [], []
    for part, v in values.items():
        counts = pd.Series(v).value_counts()
        distinct = len(counts)
        name = spec.part_column(part)
        whole = bool(np.all(np.floor(v) == v))
        # A part with one value for each value of a part kept before it says nothing new (dates one
        # a year: the weekday of 1 January follows the year), and would make the features collinear.
        leader = next((q for q in parts if pd.Series(v).groupby(values[q]).nunique().max() == 1), None)
        if distinct == 1:
            same.append(f"{part} ({prose_number(v[0])})")
            continue
        if leader is not None:
            follows.append(f"{part} (one value for each {leader})")
            continue
        # With a time split the validation rows are later than every training row: a year, or a
        # month or weekday the training rows never reach, would come with no column of its own.
        unseen = time_split and (part == "year" or distinct < PERIOD_VALUES.get(part, distinct))
        category = whole and not unseen and (
            distinct <= MAX_CATEGORY_NUMBERS or (part in LABEL_PARTS and distinct <= DATE_LEVELS))
        before = [_part_features(values[q], t) for q, t in parts.items()]
        explained = _explained(_part_features(v, Category(name) if category else None), before)
        top = _independent_levels(v, before) if category and explained > NEARLY_ALL else None
        if top is not None:
            folded = _ordered_levels(v)[top:]
            shown = ", ".join(f"{prose_number(x)} ×{int((v == x).sum())}" for x in folded)
            parts[part] = Category(name, top=top, other=False,
                                   reason=f"{dates.PARTS[part][0]}, whole numbers with {distinct} distinct values "
                                          f"({_levels(counts, True)}): a category of the {top} most frequent"
                                          f"{_baseline(counts, True)}; {shown} {'has' if len(folded) == 1 else 'have'}"
                                          f" no column and read{'s' if len(folded) == 1 else ''} as the baseline: "
                                          f"on the training rows a column of {'its' if len(folded) == 1 else 'their'}"
                                          f" own would be a straight line in {', '.join(parts)} (collinear features)")
        elif explained > NEARLY_ALL:
            # Elapsed days are 365.25 a year plus the day of the year, near enough: beside those two,
            # a line through them all has weights that cancel, and no engine recalculates it alike.
            follows.append(f"{part} ({'all' if explained > 1 - 1e-9 else f'{100 * explained:.2f}%'} of "
                           f"{'a mix of its columns' if category else 'it'} is a straight line in {', '.join(parts)})")
        elif category:
            parts[part] = Category(name, top=max(distinct, TOP_LEVELS),
                                   reason=f"{dates.PARTS[part][0]}, whole numbers with {distinct} distinct values "
                                          f"({_levels(counts, True)}): a category{_baseline(counts, True)}")
        else:
            parts[part] = _number(name, v, 0, len(v), distinct)
            parts[part].reason = f"{dates.PARTS[part][0]}: {parts[part].reason}"
            if part == "year" and time_split:
                parts[part].reason += ("; a number, not a category: with --split time the validation years are "
                                       "later than any training row's")
            elif unseen:
                parts[part].reason += (f"; a number, not a category: the training rows hold {distinct} of its "
                                       f"{PERIOD_VALUES[part]} values, and with --split time the later validation "
                                       "rows can fall in one they lack, which a category has no column for")
    if not parts:
        return f"dates whose parts are the same in every training row ({', '.join(same)}): left out"
    spec.parts = parts
    k = int(missing.sum())
    spec.reason = (f"dates, {why}; as fastai's add_datepart, its parts {', '.join(parts)} (each below)"
                   + (f"; {', '.join(same)} the same in every training row, left out" if same else "")
                   + (f"; left out as {'they follow' if len(follows) > 1 else 'it follows'} from the parts before "
                      f"on the training rows (the features would be collinear): {', '.join(follows)}" if follows else "")
                   + (f"; {k:,} missing: the training median date, {dates.text(fill)}, stands in" if k else
                      f"; a missing date would take the training median date, {dates.text(fill)}"))
    return spec


def _names_rows(distinct: int, observed: int) -> bool:
    """Text that names rows rather than grouping them: distinct in NAMES_SHARE of the rows that
    have a value, whatever the table's size (free_text_limit waits for 42 values), and in at
    least MIN_NAMES of them: a handful of rows with a few labels is too little to say either."""
    return distinct >= MIN_NAMES and distinct >= NAMES_SHARE * observed


def _as_id(recipe: Recipe, column: str, why: str) -> str:
    if recipe.id is None:
        recipe.id = column
        return why + "; it is the recipe's id, which names the rows of predictions.csv"
    return why


def _level(value, numeric: bool) -> str:
    if value is None or value != value:
        return "(missing)"
    return number_text(value) if numeric else str(value)


def _levels(counts: pd.Series, numeric: bool, shown: int = 5) -> str:
    items = [f"{_level(v, numeric)} ×{c}" for v, c in counts.head(shown).items()]
    return ", ".join(items) + (", ..." if len(counts) > shown else "")


def _baseline(counts: pd.Series, numeric: bool) -> str:
    return f"; the most frequent, {_level(counts.index[0], numeric)}, is the baseline (no column)"


def _missing_level(missing: np.ndarray, drop: bool = False) -> str:
    k = int(missing.sum())
    if not k:
        return ""
    return f"; {k:,} missing (dropped by missing = drop)" if drop else f"; {k:,} missing, a level of its own"


def _number(column: str, values: np.ndarray, n_missing: int, n: int, distinct: int, drop: bool = False,
            twin: str | None = None) -> Number:
    low, high = float(values.min()), float(values.max())
    spec = Number(column, fill="median", indicator=n_missing > 0 and not drop and twin is None, scale="standard")
    why = [f"numbers ({distinct:,} distinct, {prose_number(low)} to {prose_number(high)})"]
    if n_missing:
        rows = "1 training row" if n_missing == 1 else f"{n_missing:,} training rows"
        if drop:
            why.append(f"{rows} missing (dropped by missing = drop; test rows get the median)")
        elif twin is not None:
            why.append(f"{rows} missing: filled with the training median; no {column}_na of its own: {twin}_na is "
                       "1 in the same rows")
        else:
            why.append(f"{rows} missing: filled with the training median, and {column}_na is 1 there")
    skew = _skewness(values)
    shown = unsigned_zero(f"{skew:.1f}")  # not "-0.0"
    if low >= 0 and skew >= SKEWED:
        spec.log = True
        why.append(f"log10(x + 1), as its skewness is {shown} (2 or more) and it is never negative")
    why.append("standardised with the training mean and sd")
    spec.reason = "; ".join(why)
    return spec


def _skewness(values: np.ndarray) -> float:
    sd = values.std()
    if sd == 0 or not math.isfinite(sd):
        return 0.0
    return float(np.mean(((values - values.mean()) / sd) ** 3))
