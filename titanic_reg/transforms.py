"""How a column becomes features: each transform's torch form beside its formulas.

Every transform has one interface (Transform, below): it is fitted on the training rows
(`fit(values, context)` returns its statistics), then turns any rows into features
(`torch`). Its formula twins write the same features in a cell (`cells`) and the same
statistics over the training rows (`stat_formulas`), so that the workbook computes what
torch computed. It also says how its raw values are read (`reads`), written on the Data
sheet (`raw_kind`), reported as JSON (`stats_json`), checked on new rows (`unseen`,
`unfillable`), and read from and written to a recipe file (`from_toml`, `toml`): a new
kind of column is one class here, and one entry in TRANSFORMS.

* `Number`: fill a missing value with a training statistic (median, mean or mode),
  optionally a 0/1 `_na` column saying it was missing, optionally `log10(x+1)`, then a
  scale (divide by the training maximum, as the lesson does for Age, or standardise).
  The scale's statistics are over the training rows' observed values (after the log).
* `Category`: one 0/1 column per level. Either the levels are fixed (the lesson's
  `Pclass_1`, `Embark_S`, `Male`), or the `top` most frequent training levels are kept
  (missing is a level of its own unless `fill = "mode"`), the most frequent left out as
  the baseline when the model has a constant, and an `other` column takes rarer levels
  and levels never seen in training.
* `Date`: a column of dates, read in its format as day numbers (dates.py), becomes parts as
  fastai's add_datepart makes them (year, month, day of week, day of year, elapsed days),
  each a Number or a Category of its own; a missing date takes the training median date.

Text is compared exactly (EXACT in formulas): "Male" is not "male", as in torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np
import torch

from .limits import MAX_LEVELS

DTYPE = torch.float64
FILLS = ("median", "mean", "mode")
SCALES = ("none", "max", "standard")
CASES = ("lower", "upper")
MISSING_LABEL = "(missing)"

Name = Callable[[str], str]  # a statistic's key -> the defined name of its cell


@dataclass(frozen=True)
class FitContext:
    """What a transform may need beyond its column's training values."""

    path: object  # the training file, for errors
    ones: bool  # the recipe has the constant feature (a baseline level can be left out)
    numeric: bool  # the column's values are numbers (text levels of numbers, for a category)
    rows: np.ndarray | None = None  # each training value's row in its file, for errors that name one


class Transform:
    """The interface every transform keeps (Number and Category below)."""

    column: str
    reason: str
    kind: ClassVar[str]
    reads: ClassVar[str]  # how data.py reads the raw column: "numbers", "levels" or "dates" (day numbers)

    def fit(self, values: np.ndarray, context: FitContext) -> dict:
        raise NotImplementedError

    def names(self, stats: dict) -> list[str]:
        raise NotImplementedError

    def docs(self, stats: dict) -> list[str]:
        raise NotImplementedError

    def torch(self, values: np.ndarray, stats: dict) -> torch.Tensor:
        raise NotImplementedError

    def cells(self, ref: str, name: Name, blanks: bool, stats: dict) -> list[str]:
        raise NotImplementedError

    def stat_formulas(self, rng: str, x_train: np.ndarray, name: Name, stats: dict) -> dict:
        """Each statistic's formula over the training range `rng` (None: written as a value),
        and whether it is an array formula."""
        return {}

    def sheet_value(self, value, stats: dict):
        """A statistic or level as its cell holds it."""
        return value

    def raw_kind(self, stats: dict) -> str:
        """How the Data sheet writes a raw value: "number", "text", "levels" (numbers where they are),
        or "date" (a date cell)."""
        return "number"

    def stats_json(self, stats: dict) -> dict:
        return dict(stats)

    def unfillable(self, stats: dict) -> bool:
        """A missing value on new rows cannot be filled (no training row had a value)."""
        return False

    def unseen(self, values: np.ndarray, stats: dict, path, gaps_expected: bool = False) -> str | None:
        """A warning about values of new rows that training never had, or None; `gaps_expected`:
        the training file had missing values here too (in rows dropped by missing = "drop")."""
        return None

    def level_table(self, stats: dict) -> bool:
        """It keeps levels that the Recipe sheet lists with their counts and ranks."""
        return False

    @classmethod
    def from_toml(cls, column: str, keys) -> "Transform":
        """The transform of a recipe's [inputs.<column>] table (`keys`: recipe._Keys)."""
        raise NotImplementedError

    def toml_unwritten(self) -> tuple[str, ...]:
        """Keys a recipe file leaves out for this transform (they mean nothing here)."""
        return ()

    # A transform of one column is one [inputs.<column>] table; several columns can share one
    # table (a block: the pixels of an image), named by `block`, written by `block_toml`.
    block: ClassVar[str | None] = None

    # A column can first become several derived columns (a date's year, month, ...), each with a
    # transform of its own: the Data sheet gives each a column, by formula from the raw cell
    # (`part_specs`, `part_cells`, cached `part_values`), and the features are the parts' own `cells` of those.
    def part_specs(self, stats: dict) -> list[tuple[str, "Transform", dict]]:
        """(part, its transform, its statistics) in feature order; none for most transforms."""
        return []

    def part_cells(self, ref: str, name: Name, blanks: bool, stats: dict) -> list[str]:
        """Each part's formula from the raw cell `ref`."""
        return []

    def part_values(self, values: np.ndarray, stats: dict) -> list[np.ndarray]:
        """Each part's value in every row, as its formula computes it."""
        return []

    def toml_tables(self) -> list[tuple[tuple, dict]]:
        """Tables of a recipe file nested in this one's (a date's parts): (keys below it, table)."""
        return []


def number_text(value: float) -> str:
    """A number as a spreadsheet turns it into text (A1&""): whole numbers without a point."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.15g}".replace("e", "E")  # as the engines write 1E-05


def literal(value) -> str:
    """A formula literal: a number as written, text quoted with its quotes doubled."""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return number_text(value)


def level_text(value) -> str:
    """A level as people read it (and as it appears in feature names)."""
    if value is None:
        return MISSING_LABEL
    return value if isinstance(value, str) else number_text(value)


def is_missing(values: np.ndarray) -> np.ndarray:
    """None in a text column, NaN in a numeric one."""
    if values.dtype == object:
        return np.equal(values, None)
    return np.isnan(values)


def mode(values: np.ndarray, numeric_text: bool = False):
    """The most frequent observed value; ties go to the smallest, as pandas' mode does
    (numerically for `numeric_text`, text levels that are numbers)."""
    import pandas as pd

    counts = pd.Series(values).dropna().value_counts()
    if counts.empty:
        return None
    tied = list(counts[counts == counts.max()].index)
    value = min(tied, key=float) if numeric_text else min(tied)
    return float(value) if isinstance(value, (int, float, np.number)) else value


def mode_is_unique(values: np.ndarray) -> bool:
    """One most frequent value, seen more than once: then MODE agrees in every engine."""
    import pandas as pd

    counts = pd.Series(values).dropna().value_counts()
    return len(counts) > 0 and int((counts == counts.max()).sum()) == 1 and int(counts.max()) >= 2


# Deviations this small square to below a double's normal range (2.2e-308).
_SMALLEST_SD = 1e-150


@dataclass
class Number(Transform):
    """A numeric column: fill, indicator, log10(x+1), scale."""

    column: str
    feature: str | None = None  # the feature's name; the column's by default
    fill: str = "median"
    indicator: bool = False  # a 0/1 column `<feature>_na`, 1 where the value was missing
    log: bool = False
    scale: str = "none"
    min: float | None = None  # checks on every value read (the lesson's recipe uses them)
    max: float | None = None
    whole: bool = False
    reason: str = ""
    kind: ClassVar[str] = "number"
    reads: ClassVar[str] = "numbers"

    @property
    def name(self) -> str:
        return self.feature or self.column

    def fit(self, x: np.ndarray, context: FitContext) -> dict:
        stats = self._statistics(x)
        self._check(stats, context.path)
        return stats

    def _check(self, s: dict, path) -> None:
        from .errors import InputError

        where = dict(column=self.column)
        if s["fill"] is None:
            if self.scale != "none" or s["missing"]:
                raise InputError(path, "no training row has a value, so it cannot be filled or scaled", **where)
        if self.scale == "max" and not (s["max"] > 0):
            raise InputError(path, f"no training row has {self.column} above 0, so {self.name} = "
                                   f"{self.column} / max({self.column}) is undefined", **where)
        if self.scale == "standard" and 0 < s["sd"] < _SMALLEST_SD:
            raise InputError(path, f"the training rows' {self.column} differ by too little to standardise "
                                   f"(standard deviation {s['sd']:.3g}: their squares underflow); rescale the "
                                   "column, or leave it unscaled (scale = \"none\")", **where)
        if self.scale == "standard" and not (s["sd"] > 0):
            raise InputError(path, f"every training row has the same {self.column} "
                                   f"({number_text(s['mean'])}), so it cannot be standardised", **where)

    def unfillable(self, stats: dict) -> bool:
        return stats.get("fill", 0) is None

    def unseen(self, values: np.ndarray, stats: dict, path, gaps_expected: bool = False) -> str | None:
        gap = np.isnan(values)
        if not gap.any() or stats["missing"] != 0 or gaps_expected:
            return None
        k = int(gap.sum())
        return (f"{path}, column {self.column}: {k} row{'s' if k > 1 else ''} missing, where no training row was; "
                f"filled with the training {self.fill} "
                f"{number_text(stats['fill']) if stats['fill'] is not None else '(none)'}")

    @classmethod
    def from_toml(cls, column, keys) -> "Number":
        g = keys.get
        out = cls(column, feature=g("feature", "str"), fill=g("fill", "str", "median", FILLS),
                  indicator=g("indicator", "bool", False), log=g("log", "bool", False),
                  scale=g("scale", "str", "none", SCALES), min=g("min", "number"), max=g("max", "number"),
                  whole=g("whole", "bool", False), reason=g("reason", "str", ""))
        if out.min is not None and out.max is not None and out.min > out.max:
            keys.fail("max", f"max {out.max:g} is below min {out.min:g}")
        return out

    def _statistics(self, x: np.ndarray) -> dict:
        observed = x[~np.isnan(x)]
        stats: dict = {"missing": int(len(x) - len(observed))}
        if observed.size == 0:
            stats["fill"] = None
        elif self.fill == "median":
            stats["fill"] = float(np.median(observed))
        elif self.fill == "mean":
            stats["fill"] = float(np.mean(observed))
        else:
            stats["fill"] = mode(observed)
        v = np.log10(observed + 1) if self.log else observed
        if self.scale == "max":
            stats["max"] = float(v.max()) if v.size else math.nan
        elif self.scale == "standard":
            stats["mean"] = float(v.mean()) if v.size else math.nan
            stats["sd"] = float(np.sqrt(np.mean((v - stats["mean"]) ** 2))) if v.size else math.nan
            if v.size and not stats["sd"] >= _SMALLEST_SD and v.max() > v.min():
                # The squares underflowed: the true spread, found without squaring anything so small
                # (refused in _check all the same: a workbook's STDEVP underflows too).
                d = v - stats["mean"]
                top = float(np.abs(d).max())
                stats["sd"] = top * float(np.sqrt(np.mean((d / top) ** 2)))
        return stats

    def names(self, stats: dict) -> list[str]:
        return [self.name] + ([f"{self.name}_na"] if self.indicator else [])

    def docs(self, stats: dict) -> list[str]:
        text = self.column
        if stats.get("missing") or self.indicator:
            text = f"{text} (missing: the training {self.fill})"
        if self.log:
            text = f"log10({text} + 1)"
        if self.scale == "max":
            text = f"{text} / its training maximum"
        elif self.scale == "standard":
            text = f"({text} - training mean) / training sd"
        return [text] + ([f"1 if {self.column} is missing, else 0"] if self.indicator else [])

    def torch(self, x: np.ndarray, stats: dict) -> torch.Tensor:
        missing = np.isnan(x)
        filled = np.where(missing, stats["fill"] if stats["fill"] is not None else np.nan, x)
        t = torch.from_numpy(np.ascontiguousarray(filled, dtype=np.float64))
        if self.log:
            t = torch.log10(t + 1)
        if self.scale == "max":
            t = t / stats["max"]
        elif self.scale == "standard":
            t = (t - stats["mean"]) / stats["sd"]
        columns = [t]
        if self.indicator:
            columns.append(torch.from_numpy(missing.astype(np.float64)))
        return torch.stack(columns, dim=1)

    def cells(self, ref: str, name: Name, blanks: bool, stats: dict) -> list[str]:
        """Each feature's formula for the raw cell `ref`; `blanks`: the sheet has missing values here."""
        v = f'IF({ref}="",{name("fill")},{ref})' if blanks else ref
        if self.log:
            v = f"LOG10({v}+1)"
        if self.scale == "max":
            v = f"{v}/{name('max')}"
        elif self.scale == "standard":
            v = f"({v}-{name('mean')})/{name('sd')}"
        return [v] + ([f'IF({ref}="",1,0)'] if self.indicator else [])

    def stat_formulas(self, rng: str, x_train: np.ndarray, name: Name, stats: dict) -> dict[str, tuple[str | None, bool]]:
        """Each statistic's formula over the training range `rng` (None: written as a value),
        and whether it is an array formula.

        MODE breaks ties differently in Excel (the first seen) and LibreOffice (the
        smallest), so a tied mode, or one seen only once, is written as the value torch used.
        """
        out: dict[str, tuple[str | None, bool]] = {}
        if self.fill == "median":
            out["fill"] = (f"MEDIAN({rng})", False)
        elif self.fill == "mean":
            out["fill"] = (f"AVERAGE({rng})", False)
        else:
            out["fill"] = (f"MODE({rng})" if mode_is_unique(x_train) else None, False)
        if self.scale == "max":
            out["max"] = (f"LOG10(MAX({rng})+1)" if self.log else f"MAX({rng})", False)
        elif self.scale == "standard":
            if self.log:
                mean = f'SUM(IF({rng}="",0,LOG10({rng}+1)))/COUNT({rng})'
                sd = f'SQRT(SUM(IF({rng}="",0,(LOG10({rng}+1)-{name("mean")})^2))/COUNT({rng}))'
                out["mean"], out["sd"] = (mean, True), (sd, True)
            else:
                out["mean"], out["sd"] = (f"AVERAGE({rng})", False), (f"STDEVP({rng})", False)
        return out


@dataclass
class Category(Transform):
    """A column of levels: one 0/1 column per kept level, and `other`."""

    column: str
    levels: list | None = None  # fixed levels, one feature each in this order; else the top ones
    features: list[str] | None = None  # the fixed levels' feature names
    top: int = 10
    other: bool | None = None  # an `other` column (default: with top levels, not with fixed ones)
    baseline: bool = True  # leave the most frequent level out when the model has a constant
    fill: str | None = None  # "mode": a missing value takes the training mode; else missing is a level
    case: str | None = None  # "lower" or "upper": values are read in that case
    values: list | None = None  # the only values allowed (others are an error)
    known: list | None = None  # values expected (others are used, with a warning)
    reason: str = ""
    kind: ClassVar[str] = "category"
    reads: ClassVar[str] = "levels"

    @property
    def fixed(self) -> bool:
        return self.levels is not None

    @property
    def wants_other(self) -> bool:
        return (not self.fixed) if self.other is None else self.other

    def fit(self, v: np.ndarray, context: FitContext) -> dict:
        """`v`: text levels (None missing); `context.numeric`: they are numbers, written canonically."""
        ones, numeric = context.ones, context.numeric
        missing = is_missing(v)
        fill = mode(v[~missing], numeric) if self.fill == "mode" else None
        counted = v[~missing] if self.fill == "mode" else v
        levels, counts = _counts(counted, numeric)
        stats = {"numeric": numeric, "fill": fill, "missing": int(missing.sum()),
                 "levels": levels, "counts": counts}
        if self.fixed:
            kept = [lv if isinstance(lv, str) else number_text(lv) for lv in self.levels]
            stats.update(kept=kept, baseline=None, other=self.wants_other)
        else:
            kept = levels[:self.top]
            baseline = kept[0] if (self.baseline and ones and len(kept) > 0) else None
            stats.update(kept=kept, baseline=baseline, other=self.wants_other and len(levels) > self.top)
        return stats

    def dummies(self, stats: dict) -> list:
        """The levels that get a column of their own."""
        if self.fixed:
            return list(stats["kept"])
        return [lv for lv in stats["kept"] if not _same(lv, stats["baseline"])]

    def names(self, stats: dict) -> list[str]:
        if self.fixed and self.features:
            names = list(self.features)
        else:
            names = [f"{self.column}_{level_text(lv) if lv is not None else 'missing'}" for lv in self.dummies(stats)]
        return names + ([f"{self.column}_other"] if stats["other"] else [])

    def docs(self, stats: dict) -> list[str]:
        out = [f"1 if {self.column} is {level_text(lv)}, else 0" for lv in self.dummies(stats)]
        if stats["other"]:
            out.append(f"1 if {self.column} is none of its {len(stats['kept'])} most frequent levels, else 0")
        return out

    def torch(self, v: np.ndarray, stats: dict) -> torch.Tensor:
        v = self._filled(v, stats)
        columns = [_equal(v, lv) for lv in self.dummies(stats)]
        if stats["other"]:
            columns.append(~np.logical_or.reduce([_equal(v, lv) for lv in stats["kept"]]))
        if not columns:
            return torch.zeros((len(v), 0), dtype=DTYPE)
        return torch.from_numpy(np.stack(columns, axis=1).astype(np.float64))

    def unseen_rows(self, v: np.ndarray, stats: dict) -> np.ndarray:
        """Where a value is none the training rows had (it goes to `other`, or has no column)."""
        v = self._filled(v, stats)
        seen = set(stats["levels"])
        return np.fromiter((x not in seen for x in v), dtype=bool, count=len(v))

    def _filled(self, v, stats):
        if stats["fill"] is None:
            return v
        missing = is_missing(v)
        if not missing.any():
            return v
        v = v.copy()
        v[missing] = stats["fill"]
        return v

    def cells(self, ref: str, name: Name, blanks: bool, stats: dict) -> list[str]:
        """Each feature's formula; `name(f"level{k}")` is the cell of the k-th kept level."""
        x = f'IF({ref}="",{name("fill")},{ref})' if (blanks and stats["fill"] is not None) else ref
        never_blank = stats["fill"] is not None or not blanks

        def equal(level_ref: str) -> str:
            return f'EXACT({x}&"",{level_ref}&"")' if stats["numeric"] else f"EXACT({x},{level_ref})"

        out = []
        if self.fixed:
            for lv in self.dummies(stats):
                if stats["numeric"] and never_blank:
                    out.append(f"IF({x}={lv},1,0)")  # the lesson's IF(x=v,1,0)
                elif stats["numeric"]:
                    out.append(f'IF(EXACT({x}&"","{lv}"),1,0)')
                else:
                    out.append(f"IF(EXACT({x},{literal(lv)}),1,0)")
            kept_refs = [literal(lv) for lv in stats["kept"]]
        else:
            kept_refs = [name(f"level{k + 1}") for k in range(len(stats["kept"]))]
            for k, lv in enumerate(stats["kept"]):
                if not _same(lv, stats["baseline"]):
                    out.append(f"IF({equal(kept_refs[k])},1,0)")
        if stats["other"]:
            out.append(f"IF(OR({','.join(equal(r) for r in kept_refs)}),0,1)")
        return out

    def stat_formulas(self, rng: str, x_train: np.ndarray, name: Name, stats: dict) -> dict[str, tuple[str | None, bool]]:
        if self.fill != "mode":
            return {}
        unique = stats["numeric"] and mode_is_unique(x_train)  # MODE takes numbers only
        return {"fill": (f"MODE({rng})" if unique else None, False)}

    def sheet_value(self, value, stats: dict):
        """A level as its cell holds it: a number when the category's levels are numbers."""
        if value is None or not stats["numeric"]:
            return value
        try:
            return float(value)
        except ValueError:  # a test value that is no number, in a category of numbers: text
            return value

    def raw_kind(self, stats: dict) -> str:
        return "levels" if stats["numeric"] else "text"

    @classmethod
    def from_toml(cls, column, keys) -> "Category":
        g = keys.get
        out = cls(column, levels=keys.scalars("levels"), features=keys.scalars("features", strings_only=True),
                  top=g("top", "int", 10), other=g("other", "bool"), baseline=g("baseline", "bool", True),
                  fill=g("fill", "str", None, ("mode",)), case=g("case", "str", None, CASES),
                  values=keys.scalars("values"), known=keys.scalars("known"), reason=g("reason", "str", ""))
        if out.top < 1:
            keys.fail("top", f"top {out.top} keeps no level: use 1 or more")
        if out.top > MAX_LEVELS:
            keys.fail("top", f"top {out.top:,} would keep more levels of {column} than the {MAX_LEVELS:,} a "
                             "category may (a feature each): lower it, or leave the column out")
        if out.levels is not None and len(out.levels) > MAX_LEVELS:
            keys.fail("levels", f"{len(out.levels):,} levels of {column}, more than the {MAX_LEVELS:,} a "
                                "category may have (a feature each)")
        if out.features is not None and (out.levels is None or len(out.features) != len(out.levels)):
            keys.fail("features", "features name the fixed levels, one each: give levels of the same length")
        if out.levels is not None and len(set(out.levels)) < len(out.levels):
            keys.fail("levels", "a level is listed twice")
        return out

    def toml_unwritten(self) -> tuple[str, ...]:
        return ("top",) if self.fixed else ()

    def level_table(self, stats: dict) -> bool:
        return True

    def unfillable(self, stats: dict) -> bool:
        return stats.get("fill", 0) is None and self.fill == "mode"

    def stats_json(self, stats: dict) -> dict:
        stats = dict(stats)
        numeric = stats.pop("numeric")
        conv = (lambda v: None if v is None else float(v)) if numeric else (lambda v: v)
        levels = stats["levels"]
        stats["levels"] = [conv(v) for v in levels]
        stats["kept"] = [conv(v) for v in stats["kept"]]
        stats["baseline"] = conv(stats["baseline"])
        stats["fill"] = conv(stats["fill"])
        if len(levels) > 100:  # the rest are rarer; metrics.json stays readable
            stats["levels"], stats["counts"] = stats["levels"][:100], stats["counts"][:100]
            stats["more_levels"] = len(levels) - 100
        return stats

    def unseen(self, v: np.ndarray, stats: dict, path, gaps_expected: bool = False) -> str | None:
        odd = self.unseen_rows(v, stats)
        if not odd.any():
            return None
        shown = sorted({"(missing)" if x is None else x for x in v[odd]})[:5]
        where = (f"goes to {self.column}_other" if stats["other"]
                 else "has no column of its own (every one of its dummies is 0)")
        k = int(odd.sum())
        return (f"{path}, column {self.column}: {k} row{'s' if k > 1 else ''} "
                f"({', '.join(map(repr, shown))}{', ...' if len(set(v[odd])) > 5 else ''}) "
                f"{'hold' if k > 1 else 'holds'} a level the training rows never had; it {where}")


# The level table of a Category with top levels: every distinct training level with its
# count, its rank (ties broken by the order written, which is torch's order), and the
# kept levels looked up by rank. Formulas for one level row:
def count_formula(rng: str, level_cell: str) -> str:
    """How many training rows hold the level (an array formula): exact, text or number."""
    return f'SUM(EXACT({rng}&"",{level_cell}&"")*1)'


def rank_formula(counts: str, first_count: str, count: str) -> str:
    return f'COUNTIF({counts},">"&{count})+COUNTIF({first_count}:{count},{count})'


def kept_formula(levels: str, ranks: str, k: int) -> str:
    return f"INDEX({levels},MATCH({k},{ranks},0))"


def _counts(v: np.ndarray, numeric: bool) -> tuple[list, list[int]]:
    """Distinct values with their counts, most frequent first; ties: numbers, then text in
    code-point order, then missing (None)."""
    import pandas as pd

    counts = pd.Series(v, dtype=object).value_counts(dropna=False)
    pairs = [(None if (value is None or value != value) else value, int(count)) for value, count in counts.items()]

    def order(p):
        value = p[0]
        if value is None:
            return (-p[1], 2, 0.0, "")
        if numeric:
            return (-p[1], 0, float(value), "")
        return (-p[1], 1, 0.0, value)

    pairs.sort(key=order)
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _same(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a == b)


def _equal(v: np.ndarray, level) -> np.ndarray:
    return is_missing(v) if level is None else np.equal(v, level)


@dataclass
class Pixel(Transform):
    """One pixel of an image: its value over the image's range, the chapter's `/255`.

    The pixels of one image share one recipe table (a block, `[inputs.pixels]`): which
    columns, the image's shape and the scale, said once. Each pixel is a feature of its own
    (a linear model's weights then draw the image), and the scale is the range's maximum,
    the same for every pixel, so it is no statistic of the training rows.
    """

    column: str
    scale: float = 255.0
    shape: tuple = ()  # (rows, columns) of the image, row-major
    index: int = 0  # the pixel's place in the image
    block: str = "pixels"  # its recipe table
    reason: str = ""
    kind: ClassVar[str] = "pixels"
    reads: ClassVar[str] = "numbers"
    block_keys: ClassVar[tuple] = ("columns", "shape", "scale", "reason")  # its table in a recipe file
    # The checks data.py makes on every value read, as for a Number: a pixel is never below 0.
    min: ClassVar[float] = 0.0
    max: ClassVar[None] = None
    whole: ClassVar[bool] = False
    log: ClassVar[bool] = False

    def fit(self, x: np.ndarray, context: FitContext) -> dict:
        from .errors import InputError

        gap = np.isnan(x)
        if gap.any():
            n = int(gap.sum())
            first = int(context.rows[np.argmax(gap)]) if context.rows is not None else None
            raise InputError(context.path, f"missing{f' (and in {n - 1:,} more training row' + ('s' if n > 2 else '') + ')' if n > 1 else ''}: "
                                           "every pixel of an image has a value", row=first, column=self.column)
        return {"scale": float(self.scale), "missing": 0, "constant": bool(x.size and np.all(x == x[0]))}

    def names(self, stats: dict) -> list[str]:
        return [self.column]

    def docs(self, stats: dict) -> list[str]:
        return [f"{self.column} / {number_text(self.scale)}, pixel {self.index + 1} of the {_shape_text(self.shape)} image"]

    def torch(self, x: np.ndarray, stats: dict) -> torch.Tensor:
        filled = np.where(np.isnan(x), 0.0, x)  # a test row's missing pixel reads as 0 (warned about: unseen)
        return torch.from_numpy(np.ascontiguousarray(filled, dtype=np.float64) / float(self.scale))[:, None]

    def cells(self, ref: str, name: Name, blanks: bool, stats: dict) -> list[str]:
        return [f"{ref}/{number_text(self.scale)}"]

    def unseen(self, values: np.ndarray, stats: dict, path, gaps_expected: bool = False) -> str | None:
        gap = np.isnan(values)
        if not gap.any():
            return None
        return f"{path}, column {self.column}: {int(gap.sum()):,} row(s) without this pixel; read as 0"

    @staticmethod
    def block_toml(specs: list) -> dict:
        """The block's one recipe table."""
        first = specs[0]
        return {"kind": first.kind, "columns": _columns_text([s.column for s in specs]), "shape": list(first.shape),
                "scale": first.scale, "reason": first.reason}

    @classmethod
    def from_toml(cls, block: str, keys) -> list:
        columns = keys.get("columns", "str") if isinstance(keys.table.get("columns"), str) else keys.scalars(
            "columns", strings_only=True)
        if columns is None:
            keys.fail("columns", "a pixel block names its columns: columns = \"p0..p783\" or a list")
        if isinstance(columns, str):
            columns = _expand_columns(columns)
            if columns is None:
                keys.fail("columns", "write a run of columns as PREFIX<first>..PREFIX<last>, e.g. \"p0..p783\"")
        scale = keys.get("scale", "number", 255.0)
        if not scale > 0:
            keys.fail("scale", f"scale {scale:g} must be above 0")
        shape = keys.get("shape", "list", [1, len(columns)])
        if (len(shape) != 2 or not all(isinstance(k, int) and k > 0 for k in shape)
                or shape[0] * shape[1] != len(columns)):
            keys.fail("shape", f"shape {shape} is not [rows, columns] of the {len(columns):,} pixels")
        reason = keys.get("reason", "str", "")
        return [cls(c, float(scale), tuple(shape), i, block, reason) for i, c in enumerate(columns)]


def _shape_text(shape) -> str:
    return "x".join(map(str, shape)) if shape else "1-row"


def _columns_text(columns: list[str]):
    """A run of columns named PREFIX0, PREFIX1, ... as "PREFIX0..PREFIXn", else the list."""
    import re

    m = re.fullmatch(r"(.*?)(\d+)", columns[0])
    if m and all(c == f"{m[1]}{int(m[2]) + i}" for i, c in enumerate(columns)):
        return f"{columns[0]}..{columns[-1]}"
    return columns


def _expand_columns(text: str) -> list[str] | None:
    import re

    m = re.fullmatch(r"(.*?)(\d+)\.\.(.*?)(\d+)", text)
    if not m or m[1] != m[3] or int(m[4]) < int(m[2]):
        return None
    return [f"{m[1]}{k}" for k in range(int(m[2]), int(m[4]) + 1)]


PART_KINDS = ("number", "category")  # what a date's part may become


@dataclass
class Date(Transform):
    """A column of dates: its parts (dates.PARTS), each a Number or a Category of its own.

    The raw values are day numbers (data.py reads them in `format`, NaN for a missing date
    or a text that is no date in it); a missing one takes the training median date, so every
    part has a value, and each part transform is fitted on the training rows' parts. Its
    features are named <column>_<part> as its parts' transforms name them.
    """

    column: str
    format: str = "%Y-%m-%d"
    parts: dict | None = None  # part -> its Number or Category (its column <column>_<part>); None: all, numbers
    fill: str = "median"
    reason: str = ""
    kind: ClassVar[str] = "date"
    reads: ClassVar[str] = "dates"

    def __post_init__(self):
        from .dates import PARTS

        if self.parts is None:
            self.parts = {p: Number(self.part_column(p), scale="standard") for p in PARTS}

    def part_column(self, part: str) -> str:
        return f"{self.column}_{part}"

    def fit(self, x: np.ndarray, context: FitContext) -> dict:
        from .errors import InputError

        observed = x[~np.isnan(x)]
        if observed.size == 0:
            raise InputError(context.path, "no training row has a date to fill or take parts from",
                             column=self.column)
        stats = {"missing": int(len(x) - len(observed)), "fill": float(np.median(observed)),
                 "first": float(observed.min()), "last": float(observed.max()), "parts": {}}
        inner = FitContext(context.path, context.ones, True, context.rows)
        for part, values in zip(self.parts, self.part_values(x, stats)):
            stats["parts"][part] = self.parts[part].fit(self.part_input(part, values), inner)
        return stats

    def part_input(self, part: str, values: np.ndarray) -> np.ndarray:
        """A part's values as its transform reads a column: numbers, or levels as text."""
        if self.parts[part].reads == "levels":
            return np.array([number_text(v) for v in values], dtype=object)
        return values

    def _filled(self, x: np.ndarray, stats: dict) -> np.ndarray:
        return np.where(np.isnan(x), stats["fill"], x)

    def part_values(self, x: np.ndarray, stats: dict) -> list[np.ndarray]:
        from .dates import part_values

        every = part_values(self._filled(x, stats))
        return [every[p] for p in self.parts]

    def names(self, stats: dict) -> list[str]:
        return [n for p, t, s in self.part_specs(stats) for n in t.names(s)]

    def docs(self, stats: dict) -> list[str]:
        from .dates import PARTS

        return [f"{d}, where {t.column} is {PARTS[p][0]} of {self.column}" for p, t, s in self.part_specs(stats)
                for d in t.docs(s)]

    def part_specs(self, stats: dict) -> list[tuple[str, Transform, dict]]:
        return [(p, t, stats["parts"][p]) for p, t in self.parts.items()]

    def torch(self, x: np.ndarray, stats: dict) -> torch.Tensor:
        columns = [t.torch(self.part_input(p, v), stats["parts"][p])
                   for (p, t), v in zip(self.parts.items(), self.part_values(x, stats))]
        return torch.cat(columns, dim=1) if columns else torch.zeros((len(x), 0), dtype=DTYPE)

    def part_cells(self, ref: str, name: Name, blanks: bool, stats: dict) -> list[str]:
        from .dates import PARTS

        x = f'IF({ref}="",{name("fill")},{ref})' if blanks else ref
        return [PARTS[p][1].format(x=x) for p in self.parts]

    def stat_formulas(self, rng: str, x_train: np.ndarray, name: Name, stats: dict) -> dict:
        return {"fill": ("MEDIAN(" + rng + ")", False)}

    def raw_kind(self, stats: dict) -> str:
        return "date"

    def stats_json(self, stats: dict) -> dict:
        from .dates import text

        out = {"format": self.format, "missing": stats["missing"], "fill": text(stats["fill"]),
               "first": text(stats["first"]), "last": text(stats["last"])}
        out["parts"] = {p: {"kind": t.kind, **t.stats_json(s)} for p, t, s in self.part_specs(stats)}
        return out

    def unseen(self, values: np.ndarray, stats: dict, path, gaps_expected: bool = False) -> str | None:
        from .dates import text

        gap = np.isnan(values)
        if not gap.any() or stats["missing"] != 0 or gaps_expected:
            return None
        k = int(gap.sum())
        return (f"{path}, column {self.column}: {k} row{'s' if k > 1 else ''} without a date, where every training "
                f"row had one; filled with the training median date, {text(stats['fill'])}")

    @classmethod
    def from_toml(cls, column, keys) -> "Date":
        from .dates import FORMATS, ISO, PARTS, SAMPLE, day_numbers

        fmt = keys.get("format", "str", "%Y-%m-%d")
        if fmt != ISO and fmt not in FORMATS:
            try:  # a format reads what it writes, with a year in it
                ok = any(code in fmt for code in ("%Y", "%y")) and bool(
                    np.isfinite(day_numbers([SAMPLE.strftime(fmt)], fmt)[0]))
            except ValueError:  # a directive strftime or pandas does not know
                ok = False
            if not ok:
                keys.fail("format", f"{fmt!r} is no date format: write it as strftime does, with a year "
                                    "(e.g. \"%d/%m/%Y\", \"%Y-%m-%d %H:%M:%S\"), or \"ISO8601\"")
        table = keys.get("parts", "table", None)
        if table is not None and not table:
            keys.fail("parts", f"a date needs at least one part: {', '.join(PARTS)}")
        parts = None
        if table is not None:
            parts = {}
            for part, spec in table.items():
                if part not in PARTS:
                    keys.fail(("parts", part), f"{part!r} is no part of a date: {', '.join(PARTS)}")
                if not isinstance(spec, dict) or spec.get("kind") not in PART_KINDS:
                    where = ("parts", part, "kind") if isinstance(spec, dict) and "kind" in spec else ("parts", part)
                    keys.fail(where, f"part {part} is a table with kind = \"number\" or \"category\"")
                parts[part] = keys.part(part, spec, f"{column}_{part}")
            parts = {p: parts[p] for p in PARTS if p in parts}  # in the parts' own order, whatever the file's
        return cls(column, format=fmt, parts=parts, fill=keys.get("fill", "str", "median", ("median",)),
                   reason=keys.get("reason", "str", ""))

    def toml_unwritten(self) -> tuple[str, ...]:
        return ("parts",)

    def toml_tables(self) -> list[tuple[tuple, object]]:
        return [(("parts", p), t) for p, t in self.parts.items()]


TRANSFORMS = {"number": Number, "category": Category, "pixels": Pixel, "date": Date}
