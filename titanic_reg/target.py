"""The column to predict: how it becomes the 0/1 or scaled y the models train on.

Both renderings side by side, as for the features:

* binary: y = 1 where the value is the positive class, else 0 (`IF(EXACT(cell,"yes"),1,0)`;
  nothing at all when the column already holds 0/1 and 1 is positive, as Survived does).
  A prediction above 0.5 says "positive"; accuracy is scored.
* number: y = (value - training minimum) / training sd, so that one learning rate suits
  any scale, and y starts at 0 as the lesson's 0/1 does: two ReLUs add up to a number
  that is never negative, and a target standardised about its mean (half of it below 0)
  cost them half of the R² of penguins' body mass. A prediction goes back as
  minimum + sd * output. MSE, RMSE and R² are scored in the column's own units.
* classes (K of them, K > 2 as inferred): y = the index of the row's class in `classes`
  (0 to K-1, the order of the models' K outputs); the models end in a softmax and train
  on cross-entropy (losses.py), whose formulas read y one-hot: K columns of 0/1, each
  `IF(EXACT(cell,"Adelie"),1,0)` (`onehot_cells`). The prediction is K probabilities;
  the class with the largest is the decision; accuracy and cross-entropy are scored.
* number with `log`: the same, of log10(value + 1) (the inputs' log, transforms.Number),
  for a skewed target that never goes below 0: a prediction goes back as
  10^(minimum + sd * output) - 1. Least squares on the log fits its mean, so the prediction
  back in units is about the median (a geometric mean), not the mean; the scores are still
  in the column's own units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from .transforms import Name, level_text, literal

KINDS = ("binary", "number", "classes")


@dataclass
class Target:
    column: str
    kind: str = "binary"
    positive: object = None  # binary: the class predicted as 1 (a number or a text)
    values: list | None = None  # the only values allowed, if given
    reason: str = ""
    classes: list | None = None  # classes: every class, in the order of the models' outputs
    log: bool = False  # number: the models learn log10(value + 1), scaled
    fields_in_file: ClassVar[tuple[str, ...]] = ("column", "kind", "positive", "classes", "values", "log", "reason")

    @property
    def numeric(self) -> bool:
        """Whether the column is read as numbers."""
        if self.kind == "classes":
            return not isinstance(self.classes[0], str)
        return self.kind == "number" or not isinstance(self.positive, str)

    @property
    def allowed(self) -> list | None:
        """The values a row's target may hold (None: any): `values`, or a K-class target's classes."""
        return self.values if self.values is not None or self.kind != "classes" else list(self.classes)

    def fit(self, y_train: np.ndarray, y_labelled: np.ndarray) -> dict:
        """Statistics from the training rows (number) or the classes of every labelled row (binary)."""
        if self.kind == "number":
            y_train = self.logged(y_train)
            low = float(np.min(y_train)) if len(y_train) else math.nan
            mean = float(np.mean(y_train)) if len(y_train) else math.nan
            sd = float(np.sqrt(np.mean((y_train - mean) ** 2))) if len(y_train) else math.nan
            return {"min": low, "sd": sd}
        if self.kind == "classes":
            return {"classes": list(self.classes)}
        classes = _distinct(y_labelled)
        others = [c for c in classes if c != self.positive]
        return {"classes": classes, "negative": others[0] if len(others) == 1 else None}

    def identity(self, stats: dict) -> bool:
        """The raw column is y already: numbers 0/1 with 1 positive."""
        if self.kind != "binary" or not self.numeric or float(self.positive) != 1.0:
            return False
        return {float(v) for v in stats["classes"]} <= {0.0, 1.0}

    def encode(self, raw: np.ndarray, stats: dict) -> torch.Tensor:
        if self.kind == "number":
            return torch.from_numpy((self.logged(raw) - stats["min"]) / stats["sd"])
        if self.kind == "classes":
            index = {c: float(k) for k, c in enumerate(self._keys(stats["classes"]))}
            keys = raw if not self.numeric else np.asarray(raw, dtype=np.float64)
            return torch.tensor([index[v] for v in keys.tolist()], dtype=torch.float64)
        positive = float(self.positive) if self.numeric else self.positive
        return torch.from_numpy((raw == positive).astype(np.float64))

    def cell(self, ref: str, name: Name, stats: dict) -> str | None:
        """y by formula from the raw cell, or None when the raw cell is y already."""
        if self.kind == "number":
            return f"({ref}-{name('min')})/{name('sd')}"
        if self.kind == "classes":  # the class's index, 0 to K-1
            listed = ",".join(literal(c) for c in self._keys(stats["classes"]))
            found = f"EXACT({ref},{{{listed}}})" if not self.numeric else f"{ref}={{{listed}}}"
            return f"MATCH(TRUE,{found},0)-1"
        if self.identity(stats):
            return None
        if self.numeric:
            return f"IF({ref}={literal(float(self.positive))},1,0)"
        return f"IF(EXACT({ref},{literal(self.positive)}),1,0)"

    def onehot_cells(self, ref: str, stats: dict) -> list[str]:
        """A K-class target's y one-hot from its raw cell: one 0/1 formula per class, in output order
        (each the binary target's formula for that class)."""
        return [f"IF({ref}={literal(c)},1,0)" if self.numeric else f"IF(EXACT({ref},{literal(c)}),1,0)"
                for c in self._keys(stats["classes"])]

    def class_names(self, stats: dict) -> list[str]:
        """A K-class target's classes as the data writes them, in output order."""
        return [level_text(c) for c in stats["classes"]]

    def _keys(self, classes) -> list:
        return [float(c) for c in classes] if self.numeric else list(classes)

    def stat_formulas(self, rng: str) -> dict[str, str]:
        return {"min": f"MIN({rng})", "sd": f"STDEVP({rng})"} if self.kind == "number" else {}

    def decode(self, out: torch.Tensor, stats: dict) -> torch.Tensor:
        """A model's output in the column's own units (binary: unchanged)."""
        if self.kind != "number":
            return out
        value = stats["min"] + stats["sd"] * out
        return 10.0 ** value - 1 if self.log else value

    def decode_cell(self, out: str, name: Name) -> str:
        if self.log:
            return f"10^({name('min')}+{name('sd')}*{out})-1"
        return f"{name('min')}+{name('sd')}*{out}"

    def logged(self, raw) -> np.ndarray:
        """The values the scaling applies to: log10(value + 1) with `log`, else the values."""
        raw = np.asarray(raw, dtype=np.float64)
        return np.log10(raw + 1) if self.log else raw

    def log_cell(self, ref: str) -> str:
        """log10(value + 1) by formula, as transforms.Number writes an input's log."""
        return f"LOG10({ref}+1)"

    def label(self, stats: dict, positive: bool) -> str:
        """The class a 0/1 decision stands for, as the data writes it ('rest' for one class
        against several)."""
        if positive:
            return level_text(self.positive)
        return "rest" if stats.get("negative") is None else level_text(stats["negative"])

    def describe(self, stats: dict) -> str:
        if self.kind == "classes":
            names = self.class_names(stats)
            shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
            return f"{self.column}: {len(names)} classes ({shown}), one output each, through a softmax"
        if self.kind == "number" and self.log:
            return (f"{self.column}, a number: the models learn (log10(value + 1) - {stats['min']:.6g}) / "
                    f"{stats['sd']:.6g}, the training minimum and sd of the log; predictions go back as "
                    "10^(...) - 1")
        if self.kind == "number":
            return (f"{self.column}, a number: the models learn (value - {stats['min']:.6g}) / {stats['sd']:.6g}, "
                    "the training minimum and sd")
        if self.identity(stats):
            return f"{self.column}, 1 or 0"
        return f"{self.column}: {level_text(self.positive)} is 1, {self.label(stats, False)} is 0"


def _distinct(values: np.ndarray) -> list:
    if values.dtype == object:
        return sorted({v for v in values if v is not None})
    return sorted({float(v) for v in values if not math.isnan(v)})
