"""An image's pixels as the chapter handles them: mean images, distances to them, the rows to show.

fastbook chapter 4 averages the training 3s and the training 7s into a mean 3 and a mean 7,
and calls an image the digit whose mean it is nearer: by the mean absolute difference (L1)
or by the root of the mean squared difference (L2). The pixel-similarity baselines
(baselines.py) and the workbook's Digits sheet both compute them here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASSES = (0.0, 1.0)  # a binary target as the models learn it


@dataclass(frozen=True)
class Block:
    """One image's pixels in a recipe: its columns in row-major order, its shape, its scale."""

    columns: list
    shape: tuple  # (rows, columns)
    scale: float  # the pixels' maximum: a pixel's feature is value / scale

    def features(self, fitted) -> list[int]:
        """Where each pixel's feature sits among the recipe's features, in the image's order."""
        at = {f.column: k for k, f in enumerate(fitted.features)}
        return [at[c] for c in self.columns]


def first_block(recipe) -> Block | None:
    """The recipe's first block of pixels, or None when it has no image."""
    pixels = [t for t in recipe.inputs if t.kind == "pixels"]
    if not pixels:
        return None
    mine = sorted((t for t in pixels if t.block == pixels[0].block), key=lambda t: t.index)
    shape = tuple(mine[0].shape) if mine[0].shape else (1, len(mine))
    return Block([t.column for t in mine], shape, float(mine[0].scale))


def class_means(images: np.ndarray, y: np.ndarray, classes=CLASSES) -> np.ndarray:
    """The mean image of each class (rows: `classes`, y's values); a class without rows has NaN pixels."""
    images = np.asarray(images, dtype=np.float64)
    classes = list(classes)
    out = np.full((len(classes), images.shape[1]), np.nan)
    for k, c in enumerate(classes):
        if (y == c).any():
            out[k] = images[y == c].mean(axis=0)
    return out


def distance(images: np.ndarray, mean: np.ndarray, kind: str) -> np.ndarray:
    """Each image's distance to one mean image: "l1", the mean absolute difference, or "l2",
    the root of the mean squared difference."""
    d = np.asarray(images, dtype=np.float64) - mean
    return np.abs(d).mean(axis=1) if kind == "l1" else np.sqrt((d ** 2).mean(axis=1))


def nearer(images: np.ndarray, means: np.ndarray, kind: str) -> np.ndarray:
    """1.0 where an image is nearer the mean of class 1 than of class 0 (a tie says 0)."""
    return (distance(images, means[1], kind) < distance(images, means[0], kind)).astype(np.float64)


def nearest(images: np.ndarray, means: np.ndarray, kind: str) -> np.ndarray:
    """For each image, the index of the mean image it is nearest (the first among equals)."""
    return np.stack([distance(images, mean, kind) for mean in means], axis=1).argmin(axis=1)


def shown_rows(y: np.ndarray, n_train: int, per_class: int = 6, binary: bool = True,
               classes=None) -> list[list[int]]:
    """The rows a sheet draws: for each class the first `per_class` of it among the validation
    rows (images the models did not train on), then among the training rows if those are too
    few. Without classes (a number target), two groups of `per_class` in that order. `classes`:
    y's values to draw (a K-class target's indices), else a binary target's two."""
    order = np.r_[np.arange(n_train, len(y)), np.arange(n_train)].astype(int)
    if not binary and classes is None:
        return [order[k * per_class:(k + 1) * per_class].tolist() for k in range(2)]
    return [[int(i) for i in order[y[order] == c][:per_class]] for c in (CLASSES if classes is None else classes)]


def colour_limit(values: np.ndarray, share: float = 0.95) -> float:
    """The size below which `share` of the values lie: where a colour scale centred at 0 ends.

    A linear model's weights on pixels that are rarely inked grow far beyond the rest (few
    rows pin them down); a scale that ended at the largest would leave every other weight white.
    """
    size = float(np.quantile(np.abs(values), share)) if len(values) else 0.0
    return size if size > 0 else 1.0
