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
from .limits import MAX_FEATURES
from .recipe import Recipe, problem
from .summary import short
from .transforms import DTYPE, FitContext

ONES = "Ones"


@dataclass
class Feature:
    name: str
    column: str | None  # the input it comes from; None for Ones
    doc: str


@dataclass(repr=False)
class FittedRecipe:
    recipe: Recipe
    stats: dict  # input column -> its transform's statistics
    target: dict  # the target's statistics
    features: list[Feature] = field(default_factory=list)
    numeric: dict = field(default_factory=dict)  # category column -> its levels are numbers

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def __repr__(self) -> str:
        return (f"FittedRecipe(recipe={self.recipe.name!r}, {len(self.features)} features: "
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
        _check_log(self.recipe, rows)
        return self.recipe.target.encode(rows.target, self.target)

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        """A model's output in the target's own units."""
        return self.recipe.target.decode(out, self.target)

    def encode(self, value: float) -> float:
        """A number in a number target's units as y: the inverse of decode."""
        return float(self.recipe.target.encode(np.array([value], dtype=np.float64), self.target)[0])

    def to_json(self) -> dict:
        out = {}
        for spec in self.recipe.inputs:
            out[spec.column] = {"kind": spec.kind, **spec.stats_json(self.stats[spec.column])}
        return {"inputs": out, "target": dict(self.target)}


def fit_recipe(recipe: Recipe, train: Rows) -> FittedRecipe:
    """Fit every transform on the training rows; InputError if one cannot be fitted."""
    stats = {}
    features: list[Feature] = []
    for spec in recipe.inputs:
        v = train.columns[spec.column]
        s = spec.fit(v, FitContext(train.path, recipe.ones, train.numeric.get(spec.column, True), train.row))
        stats[spec.column] = s
        for name, doc in zip(spec.names(s), spec.docs(s)):
            features.append(Feature(name, spec.column, doc))
        if len(features) > MAX_FEATURES:  # before a matrix of rows x features is built
            raise problem(recipe, ("inputs", spec.column),
                          f"{len(features):,} features with {spec.column}'s (column {spec.column} makes "
                          f"{len(spec.names(s)):,}), past the {MAX_FEATURES:,} a fit takes: keep fewer levels "
                          "or columns")
    if recipe.ones:
        features.append(Feature(ONES, None, "the constant 1: each unit's bias"))
    _unique_names(features)
    names = [f.name for f in features]
    for rule in recipe.baselines:
        if rule.feature is not None and rule.feature not in names:
            raise problem(recipe, ("baselines", rule.name, "feature"),
                          f"no feature is called {rule.feature!r} (the features: {', '.join(names)})")
    y = train.target
    _check_log(recipe, train)
    t = recipe.target.fit(y, y)
    if recipe.target.kind == "number" and not (t["sd"] > 0):
        raise InputError(train.path, "the target has one value in every training row: there is nothing to "
                                     "predict", column=recipe.target.column)
    return FittedRecipe(recipe, stats, t, features, dict(train.numeric))


def _check_log(recipe: Recipe, rows: Rows) -> None:
    """A target learned as its log has none at -1 or below: the recipe's log = true, or the row, is wrong."""
    if not (recipe.target.kind == "number" and recipe.target.log):
        return
    y = np.asarray(rows.target, dtype=np.float64)
    bad = y <= -1
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(rows.path, f"{y[i]:g} has no log10(value + 1), and the recipe learns the target's log "
                                    "(log = true in [target]): set log = false, or correct the value",
                         row=int(rows.row[i]), column=recipe.target.column)


def _unique_names(features: list[Feature]) -> None:
    """Two features with one name (a column `Age_na` beside Age's indicator): later ones get _2, _3."""
    seen: set[str] = set()
    for f in features:
        name, k = f.name, 2
        while name.lower() in seen:
            name, k = f"{f.name}_{k}", k + 1
        f.name = name
        seen.add(name.lower())


def new_rows(table, recipe: Recipe, fitted: FittedRecipe, expected=()) -> Rows:
    """Rows to predict (a test file, or a caller's rows), read as the training rows were: the
    recipe's columns, typed alike, each missing value one that training can fill, and a
    warning for what training never saw (`expected`: columns it had gaps in, dropped)."""
    from .data import load, unseen_levels

    _check_image_size(table, recipe)
    rows = load(table, recipe, labelled=False, numeric=fitted.numeric)
    fill_problem(fitted, rows)
    unseen_levels(rows, recipe, fitted.stats, expected=expected)
    return rows


def _check_image_size(table, recipe: Recipe) -> None:
    """A folder of images of another size than the training images: InputError. Their pixel
    columns are named alike (p0, p1, ...), so a larger image would otherwise be read by its
    first pixels, and a smaller one be missing columns."""
    from .pixels import first_block

    block = first_block(recipe)
    if table.image_shape is None or block is None:
        return
    height, width = table.image_shape
    if height * width != len(block.columns) or (block.shape[0] > 1 and tuple(block.shape) != (height, width)):
        trained = f"{block.shape[1]}x{block.shape[0]}" if block.shape[0] > 1 else f"{len(block.columns):,} pixels"
        raise InputError(table.path, f"holds images of {width}x{height} pixels, but the model was trained on "
                                     f"{trained}; give images of the training size")


def fill_problem(fitted: FittedRecipe, rows: Rows) -> None:
    """InputError when a row misses a value that no training row can fill."""
    for spec in fitted.recipe.inputs:
        if spec.unfillable(fitted.stats[spec.column]):
            gap = rows.missing(spec.column)
            if gap.any():
                raise InputError(rows.path, "missing, and no training row has a value to fill it from",
                                 row=int(rows.row[np.argmax(gap)]), column=spec.column)
