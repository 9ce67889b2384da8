"""Plain gradient descent recorded step by step, for the workbook's Descent sheets.

This is the lesson's loop (`w -= lr * w.grad`) from the same start as the model that
`fit` keeps; the sheets redo every step by formula and compare their loss with these.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .losses import MSE, Loss
from .models import Model
from .summary import short

DESCENT_LR = 0.1  # the lesson's learning rate


def curvature(X: torch.Tensor) -> float:
    """lam, the largest eigenvalue of 2 X'X / n: the linear model's MSE curves at most this much."""
    return float(torch.linalg.eigvalsh(2 * X.T @ X / max(len(X), 1)).max()) if len(X) else 0.0


def stable_lr(model: Model, X: torch.Tensor, lam: float | None = None) -> float:
    """The lesson's 0.1, unless plain gradient descent would diverge with it on these rows.

    The linear model's MSE has curvature at most lam, the largest eigenvalue of 2 X'X / n,
    and a fixed step converges only below 2 / lam; a sum of k units can curve up to k times
    as much. Past that limit (breast-cancer data's 30 correlated features: lam = 27.5, so
    0.1 blew the loss up to 1e15 in 50 steps) the step is half the limit, to 2 figures.
    """
    lam = curvature(X) if lam is None else lam  # the same rows for every model: computed once (pipeline)
    limit = 2 / (model.units * lam) if lam > 0 else float("inf")
    return DESCENT_LR if DESCENT_LR < limit else float(f"{limit / 2:.2g}")


CHECK_ROWS = 4096  # rows the check below runs on


def descent_lr(model: Model, X: torch.Tensor, y: torch.Tensor, init: torch.Tensor, steps: int,
               loss: Loss = MSE, lam: float | None = None) -> float:
    """stable_lr, and for a model of more than one layer of weights (whose curvature no
    eigenvalue of X bounds) halved until `steps` plain steps from `init` end finite and
    below where they began, on the first CHECK_ROWS rows."""
    lr = stable_lr(model, X, lam)
    if model.linear_in_params or sum(t.bias is False for t in model.tensors(X.shape[1])) < 2:
        return lr
    X, y = X[:CHECK_ROWS], y[:CHECK_ROWS]
    for _ in range(30):
        losses = plain_descent(model, X, y, init, steps, lr, loss).losses
        if bool(torch.isfinite(losses).all()) and losses[-1] < losses[0]:
            break
        lr = float(f"{lr / 2:.2g}")
    return lr


@dataclass(repr=False)
class Descent:
    lr: float
    params: torch.Tensor  # (steps + 1, d): before each step, flat as Model.unpack reads them
    grads: torch.Tensor  # the gradient at those parameters
    losses: torch.Tensor  # (steps + 1,)

    def __repr__(self) -> str:
        return (f"Descent(lr={self.lr:g}, {len(self.losses) - 1} steps, loss {float(self.losses[0]):.6g} -> "
                f"{float(self.losses[-1]):.6g}, params={short(self.params)})")


def plain_descent(model: Model, X: torch.Tensor, y: torch.Tensor, init: torch.Tensor,
                  steps: int, lr: float = DESCENT_LR, loss: Loss = MSE) -> Descent:
    w = init.clone().to(torch.float64).requires_grad_(True)
    params, grads, losses = [], [], []
    for _ in range(steps + 1):
        value = loss.mean(model.predict(X, w[None]), y)[0]
        (grad,) = torch.autograd.grad(value, w)
        params.append(w.detach().clone())
        grads.append(grad)
        losses.append(value.detach())
        with torch.no_grad():
            w -= lr * grad
    return Descent(lr, torch.stack(params), torch.stack(grads), torch.stack(losses))
