"""How a column becomes features: each transform's torch form beside its formulas.

A transform is fitted on the training rows (`fit` returns its statistics), then turns
any rows into features (`torch`). Its formula twins write the same features in a cell
(`cells`) and the same statistics over the training rows (`stat_formulas`,
`level_formulas`), so that the workbook computes what torch computed:

* `Number`: fill a missing value with a training statistic (median, mean or mode),
  optionally a 0/1 `_na` column saying it was missing, optionally `log10(x+1)`, then a
  scale (divide by the training maximum, as the lesson does for Age, or standardise).
  The scale's statistics are over the training rows' observed values (after the log).
* `Category`: one 0/1 column per level. Either the levels are fixed (the lesson's
  `Pclass_1`, `Embark_S`, `Male`), or the `top` most frequent training levels are kept
  (missing is a level of its own unless `fill = "mode"`), the most frequent left out as
  the baseline when the model has a constant, and an `other` column takes rarer levels
  and levels never seen in training.

Text is compared exactly (EXACT in formulas): "Male" is not "male", as in torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np
import torch

DTYPE = torch.float64
FILLS = ("median", "mean", "mode")
SCALES = ("none", "max", "standard")
CASES = ("lower", "upper")
MISSING_LABEL = "(missing)"

Name = Callable[[str], str]  # a statistic's key -> the defined name of its cell


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


@dataclass
class Number:
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

    @property
    def name(self) -> str:
        return self.feature or self.column

    def fit(self, x: np.ndarray) -> dict:
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

    def stat_formulas(self, rng: str, x_train: np.ndarray, name: Name) -> dict[str, tuple[str | None, bool]]:
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
class Category:
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

    @property
    def fixed(self) -> bool:
        return self.levels is not None

    @property
    def wants_other(self) -> bool:
        return (not self.fixed) if self.other is None else self.other

    def fit(self, v: np.ndarray, ones: bool, numeric: bool) -> dict:
        """`v`: text levels (None missing); `numeric`: they are numbers, written canonically."""
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

    def unseen(self, v: np.ndarray, stats: dict) -> np.ndarray:
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

    def stat_formulas(self, rng: str, x_train: np.ndarray, name: Name, numeric: bool) -> dict[str, tuple[str | None, bool]]:
        if self.fill != "mode":
            return {}
        unique = numeric and mode_is_unique(x_train)  # MODE takes numbers only
        return {"fill": (f"MODE({rng})" if unique else None, False)}


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


TRANSFORMS = {"number": Number, "category": Category}
