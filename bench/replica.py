"""train()'s gradient descent rebuilt from public pieces, for what train() does not give:
every start's loss at every step (it returns the kept start's history and every start's
final loss), and every start trained on every row when train() would screen them on a
sample (docs/training.md, "Large inputs").

The same start (titanic_reg.train.initial_params), the same prediction (Model.predict),
the same loss (the mean squared error over rows, one per start) and torch.optim's SGD or
Adam, whose arithmetic train() writes out. Part 2 checks it against train() on every
start's final loss and reports the largest difference.
"""
from __future__ import annotations

import torch

# train() stores a matrix of more rows than this feature by feature (docs/training.md):
# the replica does the same, so that a timing of it is a timing of train()'s layout.
FEATURE_MAJOR_ROWS = 4096


def descend(model, X: torch.Tensor, y: torch.Tensor, cfg) -> tuple[torch.Tensor, torch.Tensor]:
    """(final params (starts, d), losses (steps + 1, starts)) of cfg's starts on every row."""
    from titanic_reg.train import initial_params

    if cfg.optimizer not in ("sgd", "momentum", "adam"):
        raise ValueError(f"the replica runs sgd, momentum or adam, not {cfg.optimizer!r}")
    init = initial_params(model, X, cfg, y)
    if X.shape[0] > FEATURE_MAJOR_ROWS:
        X = X.T.contiguous().T
    params = init.clone().requires_grad_(True)
    if cfg.optimizer == "adam":
        opt = torch.optim.Adam([params], lr=cfg.lr)
    else:
        opt = torch.optim.SGD([params], lr=cfg.lr, momentum=0.9 if cfg.optimizer == "momentum" else 0.0)
    history = torch.empty(cfg.epochs + 1, init.shape[0], dtype=torch.float64)
    for step in range(cfg.epochs + 1):
        loss = ((model.predict(X, params) - y) ** 2).mean(dim=-1)
        history[step] = loss.detach()
        if step == cfg.epochs:
            break
        opt.zero_grad(set_to_none=True)
        # Each start's loss is its own: the gradient of their sum is every start's gradient.
        loss.sum().backward()
        opt.step()
    return params.detach(), history


def warm_up() -> None:
    """torch.optim's first step imports torch._dynamo (a second or more): done before any timing."""
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.1)
    p.sum().backward()
    opt.step()
