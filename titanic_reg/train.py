"""Full-batch gradient descent in float64, every random start batched in one tensor."""
from __future__ import annotations

import contextlib
import copy
import math
import os
import time
from dataclasses import dataclass, field, replace

import torch

from .errors import TrainingError, option
from .losses import get as get_loss
from .models import Model
from .summary import short

OPTIMIZERS = ("sgd", "momentum", "adam", "cg")
OPTIMIZER_TITLES = {"sgd": "plain gradient descent", "momentum": "gradient descent with momentum",
                    "adam": "Adam", "cg": "conjugate gradient"}
CG_TOLERANCE = 1e-10  # cg stops once the gradient has shrunk by this much: zero, to rounding
SCREEN_ROWS = 4096  # with more training rows than this, the random starts are screened on a sample


@dataclass(frozen=True)
class TrainConfig:
    epochs: int  # steps; for cg the most it may take
    lr: float | None  # None for cg, which finds its own step length
    optimizer: str = "adam"
    restarts: int = 1
    seed: int = 42
    init_scale: float = 0.1
    init_bias: float = 0.2
    bias: bool = True  # the last feature is the constant Ones
    loss: str = "mse"  # the loss trained on (losses.py)
    batch_size: int | None = None  # mini-batches of this many rows, each epoch a pass over every row; None: full batch


@dataclass(repr=False)
class Trained:
    model: str
    params: torch.Tensor  # (d,) of the kept start, on the CPU: Model.unpack names its tensors
    init: torch.Tensor  # the same start's initial parameters
    history: list[float]  # training loss after 0, 1, ..., epochs steps
    train_mse: float
    fit_seconds: float
    restart_losses: list[float] = field(default_factory=list)
    kept: int = 0
    screen: dict | None = None  # {"rows", "steps", "sample_mse"} when the starts were screened on a sample
    converged: bool | None = None  # cg: stopped by its own test, not by the step limit

    def __repr__(self) -> str:
        starts = f", best of {len(self.restart_losses)} starts" if len(self.restart_losses) > 1 else ""
        return (f"Trained({self.model!r}, train_mse={self.train_mse:.6g}, {len(self.history) - 1} steps{starts}, "
                f"{self.fit_seconds:.2f} s, params={short(self.params)})")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainingError(
            f"{option('device', 'cuda')} was asked for, but torch {torch.__version__} sees no CUDA GPU; "
            f"use {option('device', 'cpu')} (or 'auto')"
        )
    if name not in ("cpu", "cuda"):
        raise TrainingError(f"unknown device {name!r}: use auto, cpu or cuda")
    return torch.device(name)


def initial_params(model: Model, X: torch.Tensor, cfg: TrainConfig, y: torch.Tensor | None = None) -> torch.Tensor:
    """A seeded start, (restarts, d), drawn on the CPU so that every device starts alike.

    The first layer's weights are normal with sd `init_scale / sd(feature)`, as if the
    features were standardised: Age_N varies ten times less than SibSp, and a plain normal
    start leaves it almost unused, which traps the two-ReLU model in poor minima (0.1315)
    far more often. The last feature (Ones) is the bias: it puts each unit's hinge through
    the mean passenger, shifted by `init_bias` so that every unit starts alive.

    A later layer's weights are normal with sd 1 / sqrt(its inputs), so that its units
    start at the scale of their inputs; its bias starts at `init_bias` (alive) and the
    output's at the mean target, where the loss is lowest for a constant.
    """
    gen = torch.Generator().manual_seed(cfg.seed)
    X = X.detach().cpu()
    inputs = X[:, :-1] if cfg.bias else X
    sd = inputs.std(dim=0, correction=1 if len(X) > 1 else 0)
    sd = torch.where(sd > 0, sd, torch.ones_like(sd))
    tensors = model.tensors(X.shape[1])
    first = tensors[0]
    shape = (cfg.restarts, first.rows, inputs.shape[1])
    w = torch.randn(shape, generator=gen, dtype=torch.float64) * cfg.init_scale / sd
    if cfg.bias:  # else no constant to place the hinge with
        noise = torch.randn(shape[:2], generator=gen, dtype=torch.float64) * cfg.init_scale
        bias = -(w * inputs.mean(dim=0)).sum(dim=-1) + cfg.init_bias + noise
        w = torch.cat([w, bias[..., None]], dim=-1)
    parts = [w.flatten(1)]
    for k, t in enumerate(tensors[1:], 1):
        if t.bias:
            last = k == len(tensors) - 1
            value = (float(y.mean()) if y is not None and len(y) else 0.0) if last else cfg.init_bias
            parts.append(torch.full((cfg.restarts, t.size), value, dtype=torch.float64))
        else:
            parts.append(torch.randn(cfg.restarts, t.size, generator=gen, dtype=torch.float64) / math.sqrt(t.cols))
    return torch.cat(parts, dim=1)


class _Step:
    """The update rules, written out: torch.optim's first use imports torch._dynamo,
    a second or more of start-up for a loop this small. Same arithmetic as
    torch.optim.SGD (momentum 0.9, no dampening) and torch.optim.Adam (defaults)."""

    def __init__(self, cfg: TrainConfig, params: torch.Tensor):
        self.kind, self.lr, self.t = cfg.optimizer, cfg.lr, 0
        self.m = torch.zeros_like(params)
        self.v = torch.zeros_like(params)

    def select(self, starts: slice) -> "_Step":
        """The same optimizer, for some of its starts only."""
        chosen = copy.copy(self)
        chosen.m, chosen.v = self.m[starts].clone(), self.v[starts].clone()
        return chosen

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
def _threads_for(device: torch.device):
    """One CPU thread, unless OMP_NUM_THREADS says otherwise.

    Every torch operation on several threads ends at a barrier, and a step here is a few
    dozen operations of at most a few million numbers: when another process holds a core
    (the command's own baselines, beside the training, or anyone's work on a shared
    machine), each barrier waits for a descheduled thread. Measured on two loaded cores,
    two threads cost 5 to 10 times the CPU time of one and took as many times longer:
    128 starts x 4,096 rows for 300 steps, 49 s against 3.6 s (21.7 s of CPU against
    2.0 s); one start on 640,000 rows for 200 steps, 30 to 38 s against 8 to 9 s. One
    thread also gives the same rounding on any machine.
    """
    one = device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ
    before = torch.get_num_threads()
    if one:
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

    With more than SCREEN_ROWS rows, that costs starts x rows numbers every step
    (gigabytes at a million rows), so the starts are screened instead: all of them train
    for `epochs` steps on a seeded sample of SCREEN_ROWS rows; the one whose loss on
    every row is then lowest trains for `epochs` more steps on every row, from where the
    screening left it and with its optimizer's state. (Ranked by the sample's own loss,
    the winner can sit in a basin that is best for the sample only.) `history` is that
    second run's, on every row, and `restart_losses` every screened start's loss on
    every row.

    `progress(steps, total=None)` is told of each step, and of a new total when
    conjugate gradient stops early; `planned_steps` is the total to expect.
    """
    progress = progress or (lambda steps, total=None: None)
    if screens(X.shape[0], cfg):
        return _screened(model, X, y, cfg, device, progress)
    return _train(model, X, y, cfg, device, progress)


def screens(rows: int, cfg: TrainConfig) -> bool:
    """Whether train() screens the starts on a sample (see train)."""
    return cfg.restarts > 1 and rows > SCREEN_ROWS and cfg.optimizer != "cg"


def planned_steps(rows: int, cfg: TrainConfig) -> int:
    return 2 * cfg.epochs if screens(rows, cfg) else cfg.epochs


def _screened(model, X, y, cfg, device, progress) -> Trained:
    X, y = X.to(device), y.to(device)
    rows = torch.randperm(X.shape[0], generator=torch.Generator().manual_seed(cfg.seed))[:SCREEN_ROWS]
    rows = rows.sort().values.to(device)
    init = initial_params(model, X[rows], cfg, y[rows].cpu())
    start = time.perf_counter()
    with _threads_for(device):
        params, history, update = _descend(model, X[rows], y[rows], init.to(device), cfg, progress)
    with _threads_for(device):
        on_every_row = _losses(model, X, y, params, loss=get_loss(cfg.loss)).cpu()
    kept = int(torch.argmin(on_every_row))
    best = _train(model, X, y, replace(cfg, restarts=1), device, progress, init=params[kept:kept + 1],
                  update=update.select(slice(kept, kept + 1)))
    return replace(best, init=init[kept], fit_seconds=time.perf_counter() - start,
                   restart_losses=on_every_row.tolist(), kept=kept,
                   screen={"rows": SCREEN_ROWS, "steps": cfg.epochs, "sample_mse": float(history[-1, kept])})


@torch.no_grad()
def _losses(model, X, y, params, block: int = 1 << 22, loss=get_loss("mse")) -> torch.Tensor:
    """Every start's loss on every row, a block of rows at a time: starts x rows at once
    would be gigabytes at a million rows."""
    rows = max(1, block // (params.shape[0] * model.units))
    X = feature_major(X)
    total = torch.zeros(params.shape[0], dtype=torch.float64, device=X.device)
    for i in range(0, X.shape[0], rows):
        total += loss.rows(model.predict(X[i:i + rows], params), y[i:i + rows]).sum(dim=-1)
    return total / X.shape[0]


def _train(model, X, y, cfg, device, progress, init=None, update=None) -> Trained:
    if cfg.optimizer not in OPTIMIZERS:
        raise TrainingError(f"unknown optimizer {cfg.optimizer!r}: use one of {', '.join(OPTIMIZERS)}")
    init = initial_params(model, X, cfg, y.cpu()) if init is None else init
    X, y = X.to(device), y.to(device)
    start = time.perf_counter()
    converged = None
    with _threads_for(device):
        if cfg.optimizer == "cg":
            params, history, converged = _conjugate_gradient(model, X, y, init.to(device), cfg, progress)
        else:
            params, history, _ = _descend(model, X, y, init.to(device), cfg, progress, update)
    if len(history) < cfg.epochs + 1:
        progress(0, total=len(history) - 1)
    history = history.cpu()
    final = history[-1]
    kept = int(torch.argmin(final))
    return Trained(
        model=model.name,
        params=params[kept].cpu(),
        init=init[kept].cpu(),
        history=history[:, kept].tolist(),
        train_mse=float(final[kept]),
        fit_seconds=time.perf_counter() - start,
        restart_losses=final.tolist(),
        kept=kept,
        converged=converged,
    )


def feature_major(X: torch.Tensor) -> torch.Tensor:
    """X with each feature's column stored contiguously (the same values, rows x features).

    A unit's P[k] @ X.T then multiplies contiguous memory: on 240,000 rows of 44 features
    a training step took 20 ms instead of 36. Small matrices keep their layout (and so
    their exact rounding): the copy would gain nothing there.
    """
    return X.T.contiguous().T if X.shape[0] > SCREEN_ROWS and X.stride(-1) == 1 else X


def _descend(model, X, y, init, cfg, progress, update=None):
    """Gradient descent by sgd, momentum or adam; the gradient is autograd's. `update`
    carries an optimizer's state over from an earlier run of the same starts.

    Full batch (the lesson's), each epoch is one step on every row. With a batch size (the
    chapter's DataLoader), each epoch is a pass over the rows in a seeded shuffled order, a
    step per mini-batch; the history is still the loss on every row after each epoch."""
    X = feature_major(X)
    params = init.clone().requires_grad_(True)
    update = update or _Step(cfg, params)
    mean_loss = get_loss(cfg.loss).mean
    history = torch.empty(cfg.epochs + 1, init.shape[0], dtype=torch.float64, device=X.device)
    batches = cfg.batch_size is not None and cfg.batch_size < X.shape[0]
    order = torch.Generator().manual_seed(cfg.seed)
    for step in range(cfg.epochs + 1):
        loss = mean_loss(model.predict(X, params), y)
        history[step] = loss.detach()
        _check_finite(history[step], step, model, cfg)
        if step == cfg.epochs:
            break
        if batches:
            shuffled = torch.randperm(X.shape[0], generator=order).to(X.device)
            for first in range(0, X.shape[0], cfg.batch_size):
                rows = shuffled[first:first + cfg.batch_size]
                (grad,) = torch.autograd.grad(mean_loss(model.predict(X[rows], params), y[rows]).sum(), params)
                update(params, grad)
        else:
            (grad,) = torch.autograd.grad(loss.sum(), params)
            update(params, grad)
        progress(1)
    return params.detach(), history, update


@torch.no_grad()
def _conjugate_gradient(model, X, y, init, cfg, progress):
    """Conjugate gradient, for a model whose prediction is a linear function of its parameters.

    Its MSE is then a quadratic, w.Gw - 2 b.w + c, fixed by one pass over the rows: the
    model's predictions for each unit parameter vector are the columns of its Jacobian J,
    G = J'J / n and b = J'y / n. Every step after that costs a few 10 x 10 products, however
    many rows there are. Each step goes to the lowest loss along its direction (a parabola
    with curvature 2 p.Gp: no line search) and each direction keeps the progress of those
    before, so d parameters need about d steps, where a fixed learning rate needs hundreds.
    On a quadratic, with exact steps, Fletcher and Reeves' beta = g.g / g_old.g_old is
    conjugate gradient as Hestenes and Stiefel first wrote it.

    It stops, converged, once the gradient has shrunk by CG_TOLERANCE, or once a step
    lowers no start's loss: either way the gradient is zero to rounding (the second
    catches a start that begins at its minimum, whose first gradient is rounding
    already). Returns (params, history, converged).
    """
    if not (model.linear_in_params and get_loss(cfg.loss).quadratic):
        raise TrainingError(f"cg (conjugate gradient) needs a loss quadratic in the parameters; the "
                            f"{model.title} model's is not: use sgd, momentum or adam")
    _, d = init.shape
    X = feature_major(X)
    J = model.predict(X, torch.eye(d, dtype=X.dtype, device=X.device))  # (d, rows)
    n = y.shape[-1]
    # Doubled once here, so a step is as few tensor operations as it can be: on a problem
    # this small each costs more than its arithmetic.
    G2, b2, c = 2 * (J @ J.T) / n, 2 * (J @ y) / n, y @ y / n
    w = init.clone()
    losses, stop, direction, last_gg, converged = [], None, None, None, False
    for step in range(cfg.epochs + 1):
        grad = torch.addmm(-b2, w, G2)  # 2 (Gw - b)
        losses.append((w * (grad - b2)).sum(dim=1).mul_(0.5).add_(c))  # w.Gw - 2 b.w + c
        if step == 0:
            _check_finite(losses[0], 0, model, cfg)  # a quadratic with finite G, b and c stays finite
        elif bool((losses[-1] >= losses[-2]).all()):
            converged = True
            break
        if step == cfg.epochs:
            break
        gg = (grad * grad).sum(dim=1, keepdim=True)
        if step == 0:
            stop, direction = CG_TOLERANCE ** 2 * gg, -grad
        elif bool((gg <= stop).all()):
            converged = True
            break
        else:
            direction = direction.mul_((gg / last_gg).nan_to_num_(0.0)).sub_(grad)
        # The parabola's lowest point along the direction; 0 / 0 (a start already at its
        # minimum, among others that are not) is a step of 0.
        length = (grad * direction).sum(dim=1, keepdim=True).div_(
            (direction @ G2 * direction).sum(dim=1, keepdim=True)).neg_().nan_to_num_(0.0, 0.0, 0.0)
        w.addcmul_(length, direction)
        last_gg = gg
        progress(1)
    null = null_space(G2, X.shape[0])
    if null.shape[1]:
        # Features that are a mix of others (on these rows) leave a direction the loss cannot
        # see: the start's random part along it would stay, and the validation and test
        # predictions with it. Without it, this is the least-squares answer with the smallest
        # weights, scikit-learn's and numpy's (same training loss, to rounding).
        w -= (w @ null) @ null.T
    return w, torch.stack(losses), converged


def null_space(gram: torch.Tensor, rows: int) -> torch.Tensor:
    """An orthonormal basis (columns) of the directions a Gram matrix (X'X, scaled) maps to 0,
    to rounding: eigenvalues below the largest times machine epsilon x max(rows, size), the
    error X'X's eigenvalues carry (two identical columns leave one of about 1e-16)."""
    values, vectors = torch.linalg.eigh(gram)
    limit = values.max().clamp(min=0) * torch.finfo(gram.dtype).eps * max(rows, gram.shape[0])
    return vectors[:, values <= limit]


def _check_finite(losses: torch.Tensor, step: int, model, cfg) -> None:
    if bool(torch.isfinite(losses).all()):
        return
    bad = losses[~torch.isfinite(losses)][0].item()
    hint = (f"try a smaller learning rate, e.g. {option('lr', float(f'{cfg.lr / 10:g}'))}" if cfg.lr
            else "the inputs may hold values too large to square")
    raise TrainingError(
        f"{model.name}: the loss became {bad} at step {step} "
        f"({'lr ' + format(cfg.lr, 'g') + ', ' if cfg.lr else ''}{cfg.optimizer}); training stopped; {hint}"
    )
