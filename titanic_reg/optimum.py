"""The closed-form least-squares optimum on the training rows: what the linear model's training
must reach, what scikit-learn's LinearRegression finds, and what LINEST computes in the workbook."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(repr=False)
class Optimum:
    """The closed-form least-squares weights on the training rows (numpy's lstsq), their MSE,
    and the rank of the training features (known in a workbook view, for LINEST)."""

    params: np.ndarray
    mse: float
    rows: int
    rank: int | None = None

    @property
    def unique(self) -> bool:
        """One answer only: more rows than features, none a mix of others (else LINEST fails)."""
        return self.rank is not None and self.rows > len(self.params) and self.rank == len(self.params)


def closed_form(X: torch.Tensor, y: torch.Tensor, rank: bool = False) -> Optimum:
    Xn, yn = X.numpy(), y.numpy()
    w, *_ = np.linalg.lstsq(Xn, yn, rcond=None)
    mse = float(np.mean((Xn @ w - yn) ** 2)) if len(Xn) else float("nan")
    return Optimum(w, mse, len(Xn), (int(np.linalg.matrix_rank(Xn)) if len(Xn) else 0) if rank else None)
