"""The scores of any prediction, by the target's kind; each beside its formula.

binary: MSE (the loss) and accuracy (a prediction above 0.5 says 1).
number: MSE, RMSE and R² in the target's own units (the models learn it scaled, from 0:
predictions are turned back first). R² = 1 - SSE/SST with SST about the split's own
mean, as scikit-learn's r2_score.
"""
from __future__ import annotations

import math

import torch

from .losses import MSE
from .outputs import IDENTITY

SCORES = {"binary": ("mse", "acc"), "number": ("mse", "rmse", "r2")}
TITLES = {"mse": "MSE", "acc": "accuracy", "rmse": "RMSE", "r2": "R²"}


def keys(kind: str) -> list[str]:
    """metrics.json's keys for one model: train_mse, valid_mse, train_acc, ..."""
    return [f"{split}_{s}" for s in SCORES[kind] for split in ("train", "valid")]


def scores(pred, y, kind: str = "binary", decode=None) -> dict:
    """The scores of one prediction vector (in y's units: 0/1, or scaled); None for no rows."""
    pred = torch.as_tensor(pred, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64)
    if len(y) == 0:
        return {s: None for s in SCORES[kind]}
    if kind == "binary":
        return {"mse": float(MSE.mean(pred, y)), "acc": float(IDENTITY.correct(pred, y).mean())}
    if decode is not None:
        pred, y = decode(pred), decode(y)
    err = float(MSE.mean(pred, y))
    sst = float(((y - y.mean()) ** 2).sum())
    sse = float(MSE.rows(pred, y).sum())
    return {"mse": err, "rmse": math.sqrt(err), "r2": 1 - sse / sst if sst > 0 else None}


def split_scores(pred_train, y_train, pred_valid, y_valid, kind: str = "binary", decode=None) -> dict:
    tr = scores(pred_train, y_train, kind, decode)
    va = scores(pred_valid, y_valid, kind, decode)
    return {f"{split}_{s}": part[s] for s in SCORES[kind] for split, part in (("train", tr), ("valid", va))}


# The same scores by formula, over a split's column of squared errors (and of y); the MSE's
# own is losses.MSE.average_excel.
def accuracy_excel(corrects: str) -> str:
    return f"AVERAGE({corrects})"


def rmse_excel(mse_cell: str) -> str:
    return f"SQRT({mse_cell})"


def r2_excel(squared_errors: str, y: str) -> str:
    return f"1-SUM({squared_errors})/DEVSQ({y})"
