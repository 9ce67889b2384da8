"""Losses: each one's torch form beside its formulas, as the layers carry theirs (models.py).

A loss entry renders one computation four ways:

    rows(pred, y)              torch: the loss of each row (the last axis), every start at once
    cell(pred, y)              one row's loss in a cell, from the cells of its prediction and y
    mean_excel(pred, y)        the mean over every row in one (array) formula
    gradient_excel(pred, y)    d mean / d pred over every row: where backpropagation starts

`mean` and `gradient` are the torch forms of the last two (a test holds `gradient` to
autograd, and the formulas to the torch forms). A loss for K classes (`classes`) reads a
prediction of K probabilities per row, (starts, rows, K), and y as each row's class index
(rows,) in torch, one-hot (rows x K of 0/1) in its formulas; its gradient is taken at the
scores before the softmax (`at_scores`), where backpropagation then starts.

Training (train.py), the plain descent of the Descent sheets (descent.py) and every sheet
ask the loss a run was trained on; adding one is one entry in LOSSES.
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
    classes: bool = False  # for a target of K classes: K probabilities per row (a softmax's), y a class index
    at_scores = False  # `gradient` is d mean / d prediction (cross-entropy's: at the softmax's scores)

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


@dataclass(frozen=True)
class CrossEntropy(Loss):
    """-log of the probability the model gives the true class, the mean over rows: torch's
    F.cross_entropy on the scores, fastbook chapter 5's softmax with log likelihood.

    `gradient` is d mean / d scores (the softmax's input z), (p - onehot) / n: the softmax's
    own Jacobian folded in, which is why the Softmax output passes the error on unchanged.
    The formulas read y one-hot (rows x K of 0/1): a row's loss is -LN of the probability at
    its 1, and LN only ever sees that probability (the others get +1), so a 0 elsewhere is no error."""

    at_scores = True  # its gradient is at the softmax's scores, not at the probabilities

    def rows(self, pred, y):
        index = y.long()[..., None].expand(*pred.shape[:-1], 1)
        return -pred.gather(-1, index)[..., 0].log()

    def gradient(self, pred, y):
        import torch

        onehot = torch.nn.functional.one_hot(y.long(), pred.shape[-1]).to(pred.dtype)
        return (pred - onehot) / y.shape[-1]

    def cell(self, pred, y):
        return f"-LN(SUMPRODUCT({pred},{y}))"

    def mean_excel(self, pred, y):
        return f"-SUMPRODUCT({y}*LN({pred}+({y}=0)))/ROWS({y})"

    def gradient_excel(self, pred, y):
        return f"({pred}-{y})/ROWS({y})"


MSE = SquaredError("mse", "MSE", "mean squared error: the mean of (prediction - y)^2, the lesson's loss", True)
MNIST = DistanceFromTruth("mnist", "mnist_loss", "fastbook's mnist_loss: 1 - prediction where y is 1, the prediction "
                                                  "where it is 0, averaged (for an output between 0 and 1)", False)
CROSS_ENTROPY = CrossEntropy("cross_entropy", "cross-entropy", "cross-entropy: -log of the probability the "
                              "softmax gives the true class, averaged (for a target of K classes)", False, True)
LOSSES = {loss.name: loss for loss in (MSE, MNIST, CROSS_ENTROPY)}


def get(name: str) -> Loss:
    """The loss `name`; ValueError naming the choices."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}: choose from {', '.join(LOSSES)}") from None
