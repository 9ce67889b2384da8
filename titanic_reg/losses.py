"""Losses: each one's torch form beside its formulas, as the layers carry theirs (models.py).

A loss entry renders one computation four ways:

    rows(pred, y)              torch: the loss of each row (the last axis), every start at once
    cell(pred, y)              one row's loss in a cell, from the cells of its prediction and y
    mean_excel(pred, y)        the mean over every row in one (array) formula
    gradient_excel(pred, y)    d mean / d pred over every row: where backpropagation starts

`mean` and `gradient` are the torch forms of the last two (a test holds `gradient` to
autograd, and the formulas to the torch forms). Training (train.py), the plain descent of
the Descent sheets (descent.py) and every sheet ask the loss a run was trained on; adding
one is one entry in LOSSES.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI reads LOSSES for its help without torch
    import torch


@dataclass(frozen=True)
class Loss:
    name: str  # as --loss and metrics.json say it
    title: str
    about: str
    quadratic: bool  # quadratic in the prediction: with a model linear in its parameters, conjugate gradient applies

    def rows(self, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def mean(self, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean over rows (the last axis), one loss per start."""
        return self.rows(pred, y).mean(dim=-1)

    def gradient(self, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def cell(self, pred: str, y: str) -> str:
        raise NotImplementedError

    def average_excel(self, cells: str) -> str:
        """The mean of a column of per-row losses (`cell`s)."""
        return f"AVERAGE({cells})"

    def mean_excel(self, pred: str, y: str) -> str:
        raise NotImplementedError

    def gradient_excel(self, pred: str, y: str) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class SquaredError(Loss):
    """The lesson's loss: the mean of (pred - y)^2."""

    def rows(self, pred, y):
        return (pred - y) ** 2

    def gradient(self, pred, y):
        return 2 / y.shape[-1] * (pred - y)

    def cell(self, pred, y):
        return f"({pred}-{y})^2"

    def mean_excel(self, pred, y):
        return f"SUMPRODUCT(({pred}-{y})^2)/ROWS({y})"

    def gradient_excel(self, pred, y):
        return f"2/ROWS({y})*({pred}-{y})"


@dataclass(frozen=True)
class DistanceFromTruth(Loss):
    """fastbook chapter 4's mnist_loss: `torch.where(targets==1, 1-predictions, predictions).mean()`,
    how far a prediction between 0 and 1 (a sigmoid's) is from the right class."""

    def rows(self, pred, y):
        import torch

        return torch.where(y == 1, 1 - pred, pred)

    def gradient(self, pred, y):
        import torch

        return torch.where(y == 1, -1.0, 1.0).to(pred.dtype).expand_as(pred) / y.shape[-1]

    def cell(self, pred, y):
        return f"IF({y}=1,1-{pred},{pred})"

    def mean_excel(self, pred, y):
        return f"SUMPRODUCT(({y}=1)*(1-{pred})+({y}<>1)*{pred})/ROWS({y})"

    def gradient_excel(self, pred, y):
        return f"(({y}<>1)-({y}=1))/ROWS({y})"


MSE = SquaredError("mse", "MSE", "mean squared error: the mean of (prediction - y)^2, the lesson's loss", True)
MNIST = DistanceFromTruth("mnist", "mnist_loss", "fastbook's mnist_loss: 1 - prediction where y is 1, the prediction "
                                                  "where it is 0, averaged (for an output between 0 and 1)", False)
LOSSES = {loss.name: loss for loss in (MSE, MNIST)}


def get(name: str) -> Loss:
    """The loss `name`; ValueError naming the choices."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}: choose from {', '.join(LOSSES)}") from None
