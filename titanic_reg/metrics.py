"""The scores of any prediction, by the target's kind; each beside its formula.

binary: MSE (the loss) and accuracy (a prediction above 0.5 says 1).
classes: cross-entropy (the loss) and accuracy (the class of the largest probability), and
per class its rows, the rows predicted as it and those right (`per_class`).
number: MSE, RMSE and R² in the target's own units (the models learn it scaled, from 0:
predictions are turned back first). R² = 1 - SSE/SST with SST about the split's own
mean, as scikit-learn's r2_score.
"""
from __future__ import annotations

import math

import torch

from .losses import CROSS_ENTROPY, MSE
from .outputs import IDENTITY, SOFTMAX

SCORES = {"binary": ("mse", "acc"), "number": ("mse", "rmse", "r2"), "classes": ("ce", "acc")}
TITLES = {"mse": "MSE", "acc": "accuracy", "rmse": "RMSE", "r2": "R²", "ce": "CE"}  # CE: cross-entropy
# A baseline's probability of 0 (a tree's leaf, the nearer mean image) would make the mean
# infinite, so a baseline's are scored as at least machine epsilon, as scikit-learn's log_loss
# clips them: -ln(2.2e-16) = 36.0 on such a row. A model's probabilities are its softmax's and are
# scored as they are, as its workbook's -LN(p) takes them; only one that underflowed to 0 is held
# at the smallest double (708 on that row), where the workbook's LN has no number either.
BASELINE_FLOOR = float(torch.finfo(torch.float64).eps)
MODEL_FLOOR = float(torch.finfo(torch.float64).tiny)


def keys(kind: str) -> list[str]:
    """metrics.json's keys for one model: train_mse, valid_mse, train_acc, ..."""
    return [f"{split}_{s}" for s in SCORES[kind] for split in ("train", "valid")]


def scores(pred, y, kind: str = "binary", decode=None, floor: float = MODEL_FLOOR) -> dict:
    """The scores of one prediction vector (in y's units: 0/1, or scaled); None for no rows.
    `floor`: the least probability a K-class prediction is scored at (above)."""
    pred = torch.as_tensor(pred, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64)
    if len(y) == 0:
        return {s: None for s in SCORES[kind]}
    if kind == "binary":
        return {"mse": float(MSE.mean(pred, y)), "acc": float(IDENTITY.correct(pred, y).mean())}
    if kind == "classes":  # pred: (rows, K) probabilities; y: class indices
        return {"ce": float(CROSS_ENTROPY.mean(pred.clamp(min=floor), y)),
                "acc": float(SOFTMAX.correct(pred, y).mean())}
    if decode is not None:
        pred, y = decode(pred), decode(y)
    err = float(MSE.mean(pred, y))
    sst = float(((y - y.mean()) ** 2).sum())
    sse = float(MSE.rows(pred, y).sum())
    return {"mse": err, "rmse": math.sqrt(err), "r2": 1 - sse / sst if sst > 0 else None}


def split_scores(pred_train, y_train, pred_valid, y_valid, kind: str = "binary", decode=None,
                 floor: float = MODEL_FLOOR) -> dict:
    tr = scores(pred_train, y_train, kind, decode, floor)
    va = scores(pred_valid, y_valid, kind, decode, floor)
    return {f"{split}_{s}": part[s] for s in SCORES[kind] for split, part in (("train", tr), ("valid", va))}


def per_class(pred, y, names) -> dict:
    """For each class (by its name): its rows, the rows predicted as it, and the right ones among them."""
    pred = torch.as_tensor(pred, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64).long()
    k = len(names)
    said = SOFTMAX.decide(pred).long() if len(y) else y
    rows = torch.bincount(y, minlength=k).tolist()
    predicted = torch.bincount(said, minlength=k).tolist()
    right = torch.bincount(y[said == y], minlength=k).tolist()
    return {name: {"rows": rows[i], "predicted": predicted[i], "correct": right[i]} for i, name in enumerate(names)}


def confusion(pred, y, k: int) -> list[list[int]]:
    """The confusion matrix of (rows, K) probabilities against class indices y: entry [i][j] counts
    the rows of class i predicted as class j."""
    pred = torch.as_tensor(pred, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64).long()
    said = SOFTMAX.decide(pred).long() if len(y) else y
    return torch.bincount(y * k + said, minlength=k * k).reshape(k, k).tolist()


def class_counts(pred, y, n_train: int, names) -> dict:
    """per_class of the training rows (the first n_train) and of the validation rows."""
    return {"train": per_class(pred[:n_train], y[:n_train], names),
            "valid": per_class(pred[n_train:], y[n_train:], names)}


# The same scores by formula, over a split's column of squared errors (and of y); the MSE's
# own is losses.MSE.average_excel.
def accuracy_excel(corrects: str) -> str:
    return f"AVERAGE({corrects})"


def rmse_excel(mse_cell: str) -> str:
    return f"SQRT({mse_cell})"


def r2_excel(squared_errors: str, y: str) -> str:
    return f"1-SUM({squared_errors})/DEVSQ({y})"
