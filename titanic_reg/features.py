"""The lesson's feature recipe: each feature's torch form beside its Excel formula.

A feature reads raw columns (already filled, see `Stats.fill`) and returns a float64
tensor; its `excel` twin receives the cell references of the same raw columns and
returns the formula text (without the leading "="). Adding a feature is one entry in
`FEATURES`; the Data and Test sheets and the training matrix all follow it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import torch

DTYPE = torch.float64
NUMERIC_INPUTS = ("Pclass", "Age", "SibSp", "Parch", "Fare")
TEXT_INPUTS = ("Sex", "Embarked")
INPUTS = ("Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked")


@dataclass(frozen=True)
class Feature:
    name: str
    inputs: tuple[str, ...]
    torch: Callable[[dict, "Stats"], torch.Tensor]
    excel: Callable[[dict], str]
    doc: str = ""


def _num(raw, col):
    return torch.tensor(np.asarray(raw[col], dtype=np.float64), dtype=DTYPE)


def _is(col, value):
    """A 0/1 dummy: 1 where the raw value equals `value` (the lesson's IF(x=v,1,0))."""
    text = isinstance(value, str)
    literal = f'"{value}"' if text else repr(value)

    def forward(raw, stats):
        column = np.asarray(raw[col], dtype=object if text else np.float64)
        return torch.as_tensor(column == value, dtype=DTYPE)

    return Feature(
        f"{col}_{value}" if col != "Sex" else "Male",
        (col,),
        forward,
        lambda ref: f"IF({ref[col]}={literal},1,0)",
        f"1 if {col} is {value}, else 0",
    )


def _renamed(feature, name):
    return Feature(name, feature.inputs, feature.torch, feature.excel, feature.doc)


FEATURES: tuple[Feature, ...] = (
    Feature("SibSp", ("SibSp",), lambda raw, s: _num(raw, "SibSp"),
            lambda ref: f"{ref['SibSp']}", "siblings and spouses aboard"),
    Feature("Parch", ("Parch",), lambda raw, s: _num(raw, "Parch"),
            lambda ref: f"{ref['Parch']}", "parents and children aboard"),
    Feature("Age_N", ("Age",), lambda raw, s: _num(raw, "Age") / s.age_max,
            lambda ref: f"{ref['Age']}/age_max", "Age / max(Age) over the training rows"),
    Feature("log_Fare", ("Fare",), lambda raw, s: torch.log10(_num(raw, "Fare") + 1),
            lambda ref: f"LOG10({ref['Fare']}+1)", "log10(Fare + 1)"),
    _is("Pclass", 1),
    _is("Pclass", 2),
    _renamed(_is("Embarked", "S"), "Embark_S"),
    _renamed(_is("Embarked", "C"), "Embark_C"),
    _is("Sex", "male"),
    Feature("Ones", (), lambda raw, s: torch.ones(len(raw["Age"]), dtype=DTYPE),
            lambda ref: "1", "the constant term"),
)
FEATURE_NAMES = tuple(f.name for f in FEATURES)


@dataclass
class Stats:
    """Statistics taken from the training rows only, applied to every row."""

    age_max: float
    fill: dict = field(default_factory=dict)  # raw column -> fill value (training mode)

    def to_json(self):
        return {"age_max": self.age_max, "fill": dict(self.fill)}


def mode(values: pd.Series):
    """The most frequent value; ties go to the smallest, as pandas does."""
    counts = values.dropna().value_counts()
    if counts.empty:
        return None
    best = counts[counts == counts.max()].index
    return sorted(best)[0]


def mode_is_unique(values: pd.Series) -> bool:
    counts = values.dropna().value_counts()
    return len(counts) > 0 and int((counts == counts.max()).sum()) == 1


def training_stats(train: pd.DataFrame) -> Stats:
    fill = {}
    for col in INPUTS:
        value = mode(train[col])
        fill[col] = None if value is None else (float(value) if col in NUMERIC_INPUTS else value)
    age = train["Age"].dropna()
    age_max = float(age.max()) if len(age) else float("nan")
    return Stats(age_max=age_max, fill=fill)


def filled(frame: pd.DataFrame, stats: Stats) -> dict:
    """Raw input columns with missing values replaced by the training fill values."""
    out = {}
    for col in INPUTS:
        series = frame[col]
        if series.isna().any():
            series = series.where(series.notna(), stats.fill[col])
        out[col] = series.to_numpy(dtype=np.float64 if col in NUMERIC_INPUTS else object)
    return out


def matrix(frame: pd.DataFrame, stats: Stats) -> torch.Tensor:
    """The n x 10 float64 feature matrix, in FEATURE_NAMES order."""
    raw = filled(frame, stats)
    return torch.stack([f.torch(raw, stats) for f in FEATURES], dim=1)
