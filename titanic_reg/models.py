"""The lesson's models and loss: each step's torch form beside its Excel formula.

A model is a list of named steps. Each step's `torch` computes a (restarts x rows)
tensor from the feature matrix, the parameters and the steps before it; its `excel`
twin writes the same step as a formula from the cell references of the same inputs.
Training, the metrics and the workbook all run these same steps.

Parameters have shape (restarts, units, features): `units` linear layers side by side,
each one row of parameters on the Params sheet (the lesson's `SUMPRODUCT(features, w)`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class Step:
    name: str
    torch: Callable[[torch.Tensor, torch.Tensor, dict], torch.Tensor]  # (X, P, done) -> (R, n)
    excel: Callable[[dict], str]  # refs: "features", "w1".., earlier step names -> formula
    doc: str = ""


def _linear_unit(k: int, name: str):
    return Step(
        name,
        lambda X, P, done: P[:, k, :] @ X.T,
        lambda ref: f"SUMPRODUCT({ref['features']},{ref['w'][k]})",
        f"features . w{k + 1}",
    )


def _relu(source: str, name: str):
    return Step(
        name,
        lambda X, P, done: torch.relu(done[source]),
        lambda ref: f"IF({ref[source]}<0,0,{ref[source]})",
        f"max({source}, 0)",
    )


@dataclass(frozen=True)
class Model:
    name: str
    title: str
    sheet: str  # its sheet in the workbook
    weights: tuple[str, ...]  # the defined name of each unit's parameter row
    steps: tuple[Step, ...]  # the last one is the prediction
    # The same model over every row at once, for the Descent sheets: each unit's
    # contribution given the cell range of its parameter row (a 1 x features row).
    unit_excel: Callable[[str, str], str] = None  # (X range, w row) -> column of values
    active_excel: Callable[[str, str], str | None] = None  # where d(pred)/d(w) is x, else 0
    linear_in_params: bool = False  # then the MSE is a quadratic: conjugate gradient applies

    @property
    def units(self) -> int:
        return len(self.weights)

    def forward(self, X: torch.Tensor, P: torch.Tensor) -> dict[str, torch.Tensor]:
        done: dict[str, torch.Tensor] = {}
        for step in self.steps:
            done[step.name] = step.torch(X, P, done)
        return done

    def predict(self, X: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
        return self.forward(X, P)[self.steps[-1].name]

    @property
    def output(self) -> str:
        return self.steps[-1].name


def _mmult(X: str, w: str) -> str:
    return f"MMULT({X},TRANSPOSE({w}))"


LINEAR = Model("linear", "Linear", "Linear", ("lin_w",), (_linear_unit(0, "Linear"),),
               unit_excel=_mmult, active_excel=lambda X, w: None, linear_in_params=True)

TWO_RELU = Model(
    "two_relu",
    "Two ReLUs",
    "TwoReLU",
    ("relu_w1", "relu_w2"),
    (
        _linear_unit(0, "Lin1"),
        _linear_unit(1, "Lin2"),
        _relu("Lin1", "ReLU1"),
        _relu("Lin2", "ReLU2"),
        Step("Preds", lambda X, P, done: done["ReLU1"] + done["ReLU2"],
             lambda ref: f"{ref['ReLU1']}+{ref['ReLU2']}", "ReLU1 + ReLU2"),
    ),
    unit_excel=lambda X, w: f"IF({_mmult(X, w)}>0,{_mmult(X, w)},0)",
    active_excel=lambda X, w: f"({_mmult(X, w)}>0)",
)

MODELS = {m.name: m for m in (LINEAR, TWO_RELU)}


# The loss and the decision rule, in the same two renderings.
def squared_error(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (pred - y) ** 2


def squared_error_excel(pred: str, y: str) -> str:
    return f"({pred}-{y})^2"


def mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean over rows (the last axis), one loss per restart."""
    return squared_error(pred, y).mean(dim=-1)


def batch_pred_excel(model: Model, X: str, w_rows: list[str]) -> str:
    return "+".join(model.unit_excel(X, w) for w in w_rows)


def batch_mse_excel(model: Model, X: str, y: str, w_rows: list[str]) -> str:
    """The mean squared error over every row in one (array) formula."""
    return f"SUMPRODUCT(({batch_pred_excel(model, X, w_rows)}-{y})^2)/ROWS({y})"


def batch_grad_excel(model: Model, X: str, y: str, w_rows: list[str], k: int) -> str:
    """d MSE / d w[k], every feature at once: a (1 x features) array formula.

    2/n * (active_k * (pred - y))' X, torch's autograd by hand: the residuals are formed
    once and multiplied into every feature column by one MMULT (a formula per feature
    would recompute the whole model over every row for each of them).
    """
    active = model.active_excel(X, w_rows[k])
    residual = f"{batch_pred_excel(model, X, w_rows)}-{y}"
    signal = residual if active is None else f"{active}*({residual})"
    return f"2/ROWS({y})*MMULT(TRANSPOSE({signal}),{X})"


THRESHOLD = 0.5  # a binary target: a prediction above it says 1


def decision(pred: torch.Tensor) -> torch.Tensor:
    return (pred > THRESHOLD).to(pred.dtype)


def decision_excel(pred: str) -> str:
    return f"IF({pred}>{THRESHOLD},1,0)"


def correct(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (decision(pred) == y).to(pred.dtype)


def correct_excel(decision_ref: str, y: str) -> str:
    return f"IF({decision_ref}={y},1,0)"
