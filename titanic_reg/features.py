"""A recipe fitted on the training rows: the feature matrix and the target any rows give.

    fitted = fit_recipe(recipe, train_rows)
    X, y = fitted.matrix(rows), fitted.y(rows)

The statistics (fill values, maxima, means and sds, the kept levels) come from the
training rows only and are applied to every row: validation, test, anything predicted
later. Each input's features come from its transform (transforms.py), in recipe order,
then the constant `Ones` when the recipe has it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .data import Rows
from .errors import InputError
from .recipe import Recipe, problem
from .summary import short
from .transforms import DTYPE, Category, Number, number_text

ONES = "Ones"


@dataclass
class Feature:
    name: str
    column: str | None  # the input it comes from; None for Ones
    doc: str


@dataclass(repr=False)
class Fitted:
    recipe: Recipe
    stats: dict  # input column -> its transform's statistics
    target: dict  # the target's statistics
    features: list[Feature] = field(default_factory=list)
    numeric: dict = field(default_factory=dict)  # category column -> its levels are numbers

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def __repr__(self) -> str:
        return (f"Fitted(recipe={self.recipe.name!r}, {len(self.features)} features: "
                f"{short(list(self.names))}, statistics of {short(list(self.stats))})")

    def span(self, column: str) -> tuple[int, int]:
        """[first, last + 1) of the features that `column` makes."""
        idx = [i for i, f in enumerate(self.features) if f.column == column]
        return (idx[0], idx[-1] + 1) if idx else (0, 0)

    def matrix(self, rows: Rows) -> torch.Tensor:
        """The n x features float64 matrix, in `names` order."""
        parts = []
        for spec in self.recipe.inputs:
            v = rows.columns[spec.column]
            stats = self.stats[spec.column]
            parts.append(spec.torch(v, stats))
        if self.recipe.ones:
            parts.append(torch.ones((len(rows), 1), dtype=DTYPE))
        return torch.cat(parts, dim=1) if parts else torch.zeros((len(rows), 0), dtype=DTYPE)

    def y(self, rows: Rows) -> torch.Tensor:
        return self.recipe.target.encode(rows.target, self.target)

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        """A model's output in the target's own units."""
        return self.recipe.target.decode(out, self.target)

    def to_json(self) -> dict:
        out = {}
        for spec in self.recipe.inputs:
            stats = dict(self.stats[spec.column])
            if isinstance(spec, Category):
                numeric = stats.pop("numeric")
                conv = (lambda v: None if v is None else float(v)) if numeric else (lambda v: v)
                stats["levels"] = [conv(v) for v in stats["levels"]]
                stats["kept"] = [conv(v) for v in stats["kept"]]
                stats["baseline"] = conv(stats["baseline"])
                stats["fill"] = conv(stats["fill"])
                if len(stats["levels"]) > 100:  # the rest are rarer; metrics.json stays readable
                    stats["levels"], stats["counts"] = stats["levels"][:100], stats["counts"][:100]
                    stats["more_levels"] = len(self.stats[spec.column]["levels"]) - 100
            out[spec.column] = {"kind": spec.kind, **stats}
        return {"inputs": out, "target": dict(self.target)}


def fit_recipe(recipe: Recipe, train: Rows) -> Fitted:
    """Fit every transform on the training rows; InputError if one cannot be fitted."""
    stats = {}
    features: list[Feature] = []
    for spec in recipe.inputs:
        v = train.columns[spec.column]
        if isinstance(spec, Number):
            s = spec.fit(v)
            _check_number(spec, s, train)
        else:
            s = spec.fit(v, recipe.ones, train.numeric[spec.column])
        stats[spec.column] = s
        for name, doc in zip(spec.names(s), spec.docs(s)):
            features.append(Feature(name, spec.column, doc))
    if recipe.ones:
        features.append(Feature(ONES, None, "the constant 1: each unit's bias"))
    _unique_names(features)
    names = [f.name for f in features]
    for rule in recipe.baselines:
        if rule.feature is not None and rule.feature not in names:
            raise problem(recipe, ("baselines", rule.name, "feature"),
                          f"no feature is called {rule.feature!r} (the features: {', '.join(names)})")
    y = train.target
    t = recipe.target.fit(y, y)
    if recipe.target.kind == "number" and not (t["sd"] > 0):
        raise InputError(train.path, "the target has one value in every training row: there is nothing to "
                                     "predict", column=recipe.target.column)
    return Fitted(recipe, stats, t, features, dict(train.numeric))


def _check_number(spec: Number, s: dict, train: Rows) -> None:
    where = dict(column=spec.column)
    if s["fill"] is None:
        if spec.scale != "none" or s["missing"]:
            raise InputError(train.path, "no training row has a value, so it cannot be filled or scaled", **where)
    if spec.scale == "max" and not (s["max"] > 0):
        raise InputError(train.path, f"no training row has {spec.column} above 0, so {spec.name} = "
                                     f"{spec.column} / max({spec.column}) is undefined", **where)
    if spec.scale == "standard" and not (s["sd"] > 0):
        raise InputError(train.path, f"every training row has the same {spec.column} "
                                     f"({number_text(s['mean'])}), so it cannot be standardised", **where)


def _unique_names(features: list[Feature]) -> None:
    """Two features with one name (a column `Age_na` beside Age's indicator): later ones get _2, _3."""
    seen: set[str] = set()
    for f in features:
        name, k = f.name, 2
        while name.lower() in seen:
            name, k = f"{f.name}_{k}", k + 1
        f.name = name
        seen.add(name.lower())


def new_rows(table, recipe: Recipe, fitted: Fitted, expected=()) -> Rows:
    """Rows to predict (a test file, or a caller's rows), read as the training rows were: the
    recipe's columns, typed alike, each missing value one that training can fill, and a
    warning for what training never saw (`expected`: columns it had gaps in, dropped)."""
    from .data import load, unseen_levels

    rows = load(table, recipe, labelled=False, numeric=fitted.numeric)
    fill_problem(fitted, rows)
    unseen_levels(rows, recipe, fitted.stats, expected=expected)
    return rows


def fill_problem(fitted: Fitted, rows: Rows) -> None:
    """InputError when a row misses a value that no training row can fill."""
    for spec in fitted.recipe.inputs:
        s = fitted.stats[spec.column]
        if s.get("fill", 0) is None and (isinstance(spec, Number) or spec.fill == "mode"):
            gap = rows.missing(spec.column)
            if gap.any():
                raise InputError(rows.path, "missing, and no training row has a value to fill it from",
                                 row=int(rows.row[np.argmax(gap)]), column=spec.column)
