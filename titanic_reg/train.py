"""Full-batch gradient descent in float64, every random start batched in one tensor."""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field

import torch

from .errors import TrainingError
from .models import Model, mse

OPTIMIZERS = ("sgd", "momentum", "adam")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    lr: float
    optimizer: str = "adam"
    restarts: int = 1
    seed: int = 42
    init_scale: float = 0.1
    init_bias: float = 0.2


@dataclass
class Trained:
    model: str
    params: torch.Tensor  # (units, features) of the kept start, on the CPU
    init: torch.Tensor  # the same start's initial parameters
    history: list[float]  # training loss after 0, 1, ..., epochs steps
    train_mse: float
    fit_seconds: float
    restart_losses: list[float] = field(default_factory=list)
    kept: int = 0


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainingError(
            f"--device cuda was asked for, but torch {torch.__version__} sees no CUDA GPU; "
            "use --device cpu (or auto)"
        )
    if name not in ("cpu", "cuda"):
        raise TrainingError(f"unknown device {name!r}: use auto, cpu or cuda")
    return torch.device(name)


def initial_params(model: Model, X: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    """A seeded start, drawn on the CPU so that every device starts alike.

    Weights are normal with sd `init_scale / sd(feature)`, as if the features were
    standardised: Age_N varies ten times less than SibSp, and a plain normal start
    leaves it almost unused, which traps the two-ReLU model in poor minima (0.1315)
    far more often. The last feature (Ones) is the bias: it puts each unit's hinge
    through the mean passenger, shifted by `init_bias` so that every unit starts alive.
    """
    gen = torch.Generator().manual_seed(cfg.seed)
    X = X.detach().cpu()
    sd = X[:, :-1].std(dim=0, correction=1 if len(X) > 1 else 0)
    sd = torch.where(sd > 0, sd, torch.ones_like(sd))
    shape = (cfg.restarts, model.units, X.shape[1] - 1)
    w = torch.randn(shape, generator=gen, dtype=torch.float64) * cfg.init_scale / sd
    noise = torch.randn(shape[:2], generator=gen, dtype=torch.float64) * cfg.init_scale
    bias = -(w * X[:, :-1].mean(dim=0)).sum(dim=-1) + cfg.init_bias + noise
    return torch.cat([w, bias[..., None]], dim=-1)


class _Step:
    """The update rules, written out: torch.optim's first use imports torch._dynamo,
    a second or more of start-up for a loop this small. Same arithmetic as
    torch.optim.SGD (momentum 0.9, no dampening) and torch.optim.Adam (defaults)."""

    def __init__(self, cfg: TrainConfig, params: torch.Tensor):
        if cfg.optimizer not in OPTIMIZERS:
            raise TrainingError(f"unknown optimizer {cfg.optimizer!r}: use one of {', '.join(OPTIMIZERS)}")
        self.kind, self.lr, self.t = cfg.optimizer, cfg.lr, 0
        self.m = torch.zeros_like(params)
        self.v = torch.zeros_like(params)

    @torch.no_grad()
    def __call__(self, params: torch.Tensor, grad: torch.Tensor) -> None:
        self.t += 1
        if self.kind == "sgd":  # the lesson's step: w -= lr * w.grad
            params.sub_(self.lr * grad)
        elif self.kind == "momentum":
            self.m = grad.clone() if self.t == 1 else self.m.mul_(0.9).add_(grad)
            params.sub_(self.lr * self.m)
        else:
            beta1, beta2, eps = 0.9, 0.999, 1e-8
            self.m.lerp_(grad, 1 - beta1)
            self.v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            step_size = self.lr / (1 - beta1 ** self.t)
            denom = (self.v.sqrt() / math.sqrt(1 - beta2 ** self.t)).add_(eps)
            params.addcdiv_(self.m, denom, value=-step_size)


@contextlib.contextmanager
def _threads_for(work: int, device: torch.device):
    """One CPU thread for small problems, unless OMP_NUM_THREADS says otherwise.

    The lesson's matrices are tiny (712 x 10, 128 starts): extra threads gain nothing,
    and on a busy machine their spin-waiting made training 20 to 100 times slower.
    """
    small = device.type == "cpu" and work < 20_000_000 and "OMP_NUM_THREADS" not in os.environ
    before = torch.get_num_threads()
    if small:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train(model: Model, X: torch.Tensor, y: torch.Tensor, cfg: TrainConfig,
          device: torch.device = torch.device("cpu"), progress=None) -> Trained:
    """Fit `cfg.restarts` starts at once; keep the one with the lowest training loss.

    Each start's loss is independent of the others, so the gradient of their sum is
    every start's own gradient: one backward pass trains them all.
    """
    with _threads_for(X.shape[0] * cfg.restarts * model.units, device):
        return _train(model, X, y, cfg, device, progress)


def _train(model, X, y, cfg, device, progress) -> Trained:
    init = initial_params(model, X, cfg)
    X, y = X.to(device), y.to(device)
    params = init.clone().to(device).requires_grad_(True)
    update = _Step(cfg, params)
    start = time.perf_counter()
    history = torch.empty(cfg.epochs + 1, cfg.restarts, dtype=torch.float64, device=device)
    for step in range(cfg.epochs + 1):
        loss = mse(model.predict(X, params), y)
        history[step] = loss.detach()
        if not bool(torch.isfinite(loss).all()):
            bad = loss.detach()[~torch.isfinite(loss.detach())][0].item()
            raise TrainingError(
                f"{model.name}: the loss became {bad} at step {step} (lr {cfg.lr:g}, {cfg.optimizer}); "
                f"training stopped; try a smaller learning rate, e.g. --lr {cfg.lr / 10:g}"
            )
        if step == cfg.epochs:
            break
        (grad,) = torch.autograd.grad(loss.sum(), params)
        update(params, grad)
        if progress is not None:
            progress(1)
    history = history.cpu()
    final = history[-1]
    kept = int(torch.argmin(final))
    return Trained(
        model=model.name,
        params=params.detach()[kept].cpu(),
        init=init[kept],
        history=history[:, kept].tolist(),
        train_mse=float(final[kept]),
        fit_seconds=time.perf_counter() - start,
        restart_losses=final.tolist(),
        kept=kept,
    )
