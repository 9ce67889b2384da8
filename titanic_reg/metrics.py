"""Loss and accuracy of any prediction, from the loss definitions in models.py."""
from __future__ import annotations

import torch

from .models import correct, mse


def scores(pred, y) -> dict:
    """MSE and accuracy of one prediction vector; None for an empty split."""
    pred = torch.as_tensor(pred, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64)
    if len(y) == 0:
        return {"mse": None, "acc": None}
    return {"mse": float(mse(pred, y)), "acc": float(correct(pred, y).mean())}


def split_scores(pred_train, y_train, pred_valid, y_valid) -> dict:
    tr, va = scores(pred_train, y_train), scores(pred_valid, y_valid)
    return {"train_mse": tr["mse"], "valid_mse": va["mse"], "train_acc": tr["acc"], "valid_acc": va["acc"]}
