"""The lesson notebook "How does a neural net really work?", first half, with its names.

    from titanic_reg.lesson import *
    interact_quad()                      # sliders (needs: pip install 'titanic-reg[notebook]')
    result = fit_quad()                  # gradient descent on a, b, c until it converges
    result.a, result.b, result.c, result.closed_form
    relus = fit_relus()                  # a sum of ReLUs follows the same curve

The data are the lesson's: 20 points of f(x) = 3x^2 + 2x + 1 on [-2, 2] with noise added
(`np.random.seed(42)`, `add_noise(f(x), 0.15, 1.5)`), in float64.

As in titanic_reg.models, each computation the workbook repeats (the quadratic, the
squared error, the loss over all points, its gradient, the descent step) is written
twice, side by side: the torch function and its Excel-formula twin (`..._excel`, which
takes cell references or defined names). sheets/lesson_sheets.py writes only these
twins, so the sheet and torch cannot drift apart.

matplotlib is imported inside the plotting functions and ipywidgets inside the
`interact_*` functions only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import numpy as np
import torch

from . import mplconfig
from .errors import TrainingError

DTYPE = torch.float64
START = (1.5, 1.5, 1.5)  # the lesson's starting a, b, c
LR = 0.1  # the lesson uses 0.01 for 10 steps; 0.1 converges in about 260 (see fit_quad)
TOL = 1e-9  # converged once every |d loss / d param| is below this
MAX_STEPS = 300  # the workbook's Descent sheet has a row per step: keep it readable
PARAMS = ("a", "b", "c")
NOTEBOOK_HINT = "pip install 'titanic-reg[notebook]'"


# --------------------------------------------------------------------------- the lesson's functions


def f(x):
    """The function the lesson pretends not to know."""
    return 3 * x**2 + 2 * x + 1


def quad(a, b, c, x):
    return a * x**2 + b * x + c


def quad_excel(a: str, b: str, c: str, x: str) -> str:
    """quad() as a formula; a, b, c, x are references (cells, ranges or names)."""
    return f"{a}*{x}^2+{b}*{x}+{c}"


def mk_quad(a, b, c):
    return partial(quad, a, b, c)


def noise(x, scale):
    return np.random.normal(scale=scale, size=x.shape)


def add_noise(x, mult, add):
    # The lesson's x * (1 + noise(x, mult)) + noise(x, add); the numpy noise is turned
    # into a tensor of x's dtype so that torch, not numpy, does the arithmetic.
    return x * (1 + _like(x, noise(x, mult))) + _like(x, noise(x, add))


def _like(x, values):
    return torch.as_tensor(values, dtype=x.dtype) if isinstance(x, torch.Tensor) else values


def make_points(seed: int = 42, steps: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """The lesson's noisy points: x (steps, 1) on [-2, 2] and y = add_noise(f(x), 0.15, 1.5).

    Seeds numpy's global generator exactly as the lesson does (np.random.seed), then puts
    its state back, so importing this module changes no one else's random numbers.
    """
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        x = torch.linspace(-2, 2, steps=steps, dtype=DTYPE)[:, None]
        y = add_noise(f(x), 0.15, 1.5)
    finally:
        np.random.set_state(state)
    return x, y


x, y = make_points()


def mae(preds, acts):
    return torch.abs(preds - acts).mean()


def mse(preds, acts):
    return ((preds - acts) ** 2).mean()


def mse_excel(squared_errors: str) -> str:
    return f"AVERAGE({squared_errors})"


def squared_error(pred, act):
    return (pred - act) ** 2


def squared_error_excel(pred: str, act: str) -> str:
    return f"({pred}-{act})^2"


def quad_mse(params, x=None, y=None):
    """The lesson's loss of a, b, c = params on the points (the lesson's x, y by default)."""
    x, y = _points(x, y)
    f = mk_quad(*params)
    return mse(f(x), y)


def quad_mse_excel(a: str, b: str, c: str, xs: str, ys: str) -> str:
    """quad_mse() in one formula over the ranges xs, ys (SUMPRODUCT: no array entry needed)."""
    return f"SUMPRODUCT(({quad_excel(a, b, c, xs)}-{ys})^2)/ROWS({xs})"


# d quad / d param, the factor each residual is multiplied by in the gradient.
_DQUAD = {
    "a": (lambda x: x**2, lambda xs: f"{xs}^2"),
    "b": (lambda x: x, lambda xs: xs),
    "c": (None, None),
}


def quad_grad(params, x=None, y=None) -> torch.Tensor:
    """The analytic gradient of quad_mse: d/da = 2/n sum((pred - y) x^2), d/db = ... x, d/dc = ... 1.

    The same numbers autograd finds (tests/test_lesson.py checks every step).
    """
    x, y = _points(x, y)
    a, b, c = params
    r = quad(a, b, c, x) - y
    return torch.stack([2 * (r if d is None else r * d(x)).mean() for d, _ in _DQUAD.values()])


def quad_grad_excel(param: str, a: str, b: str, c: str, xs: str, ys: str) -> str:
    """quad_grad()'s component for param ('a', 'b' or 'c') as one formula."""
    r = f"({quad_excel(a, b, c, xs)}-{ys})"
    d = _DQUAD[param][1]
    return f"2*SUMPRODUCT({r if d is None else r + '*' + d(xs)})/ROWS({xs})"


def descent_step(p, grad, lr):
    """The lesson's `abc -= abc.grad * lr`, for one value."""
    return p - grad * lr


def descent_step_excel(p: str, grad: str, lr: str) -> str:
    return f"{p}-{grad}*{lr}"


def _points(x, y):
    return (globals()["x"] if x is None else x), (globals()["y"] if y is None else y)


# --------------------------------------------------------------------------- gradient descent


def step_line(i: int, loss) -> str:
    """The lesson's progress line."""
    return f"step={i}; loss={float(loss):.2f}"


@dataclass
class QuadFit:
    """Gradient descent on a, b, c: every step recorded, row i before the i-th update."""

    x: torch.Tensor  # (n, 1) the points
    y: torch.Tensor  # (n, 1)
    lr: float
    tol: float
    max_steps: int
    params: torch.Tensor  # (rows, 3): a, b, c before each update; row 0 = START
    grads: torch.Tensor  # (rows, 3): autograd's gradient there
    losses: torch.Tensor  # (rows,): quad_mse there
    converged: bool  # stopped because every |gradient| < tol (else: at max_steps)
    closed_form: torch.Tensor  # (3,) least-squares a, b, c (torch.linalg.lstsq)
    closed_form_loss: float
    a: float = field(init=False)
    b: float = field(init=False)
    c: float = field(init=False)

    def __post_init__(self):
        self.a, self.b, self.c = (float(v) for v in self.params[-1])

    @property
    def abc(self) -> tuple[float, float, float]:
        return self.a, self.b, self.c

    @property
    def steps(self) -> int:
        """Updates made (the history has one more row: the start)."""
        return len(self.losses) - 1

    @property
    def loss(self) -> float:
        return float(self.losses[-1])

    @property
    def max_grad(self) -> float:
        return float(self.grads[-1].abs().max())

    def lines(self) -> list[str]:
        """Every step's `step=i; loss=...` line, as the lesson's loop prints them."""
        return [step_line(i, loss) for i, loss in enumerate(self.losses.tolist())]

    def shown_lines(self, first: int = 10, every: int = 25) -> list[str]:
        """The first `first` lines, then every `every`-th step, and the last one."""
        lines = self.lines()
        keep = [i for i in range(len(lines)) if i < first or i % every == 0 or i == len(lines) - 1]
        return [lines[i] for i in keep]


def closed_form(x=None, y=None) -> torch.Tensor:
    """The least-squares a, b, c: regress y on (x^2, x, 1)."""
    x, y = _points(x, y)
    design = torch.cat([x**2, x, torch.ones_like(x)], dim=1)
    return torch.linalg.lstsq(design, y.reshape(-1, 1)).solution.reshape(-1)


def fit_quad(lr: float = LR, max_steps: int = MAX_STEPS, tol: float = TOL, x=None, y=None,
             start=START, log: Callable[[str], object] | None = None) -> QuadFit:
    """The lesson's loop, run until it converges:

        abc.requires_grad_()
        for i in range(n):
            loss = quad_mse(abc); loss.backward()
            with torch.no_grad(): abc -= abc.grad*lr
            print(f'step={i}; loss={loss:.2f}')

    Stops once every component of the gradient is below `tol` in size (then a, b, c are
    within about tol / 0.76 of the least-squares solution: 0.76 is the smallest curvature
    of this loss) or after max_steps updates. A rule on the loss alone, such as "changed
    by less than 1e-12", stops too early here: a, b, c are then still ~5e-6 off.
    `log` gets each step's line (pass `print` for the lesson's output).
    """
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number above 0, not {lr}")
    if max_steps < 0:
        raise ValueError(f"max_steps must be 0 or more, not {max_steps}")
    x, y = _points(x, y)
    abc = torch.tensor(start, dtype=DTYPE)
    abc.requires_grad_()
    params, grads, losses = [], [], []
    converged = False
    for i in range(max_steps + 1):
        loss = quad_mse(abc, x, y)
        if not torch.isfinite(loss):
            raise TrainingError(f"the loss became {loss.item()} at step {i}: lr {lr:g} is too large "
                                "(this loss diverges above about 0.22)")
        loss.backward()
        params.append(abc.detach().clone())
        grads.append(abc.grad.detach().clone())
        losses.append(loss.detach().clone())
        if log is not None:
            log(step_line(i, losses[-1]))
        if float(abc.grad.abs().max()) < tol:
            converged = True
            break
        if i == max_steps:
            break
        with torch.no_grad():
            abc -= abc.grad * lr
        abc.grad.zero_()
    best = closed_form(x, y)
    return QuadFit(x=x, y=y, lr=lr, tol=tol, max_steps=max_steps, params=torch.stack(params),
                   grads=torch.stack(grads), losses=torch.stack(losses), converged=converged,
                   closed_form=best, closed_form_loss=float(quad_mse(best, x, y)))


# --------------------------------------------------------------------------- ReLUs


def rectified_linear(m, b, x):
    y = m * x + b
    return torch.clip(y, 0.)


def double_relu(m1, b1, m2, b2, x):
    return rectified_linear(m1, b1, x) + rectified_linear(m2, b2, x)


def sum_relus(m, b, x):
    """Sum of k ReLUs: m, b of shape (k,), x of shape (n, 1) -> (n, 1)."""
    return rectified_linear(m, b, x).sum(dim=-1, keepdim=True)


@dataclass
class ReluFit:
    x: torch.Tensor
    y: torch.Tensor
    m: torch.Tensor  # (k,)
    b: torch.Tensor  # (k,)
    history: torch.Tensor  # (steps + 1,) the MSE before each step, then the final one
    loss: float
    line: tuple[float, float]  # the best straight line's slope and intercept
    line_loss: float

    @property
    def k(self) -> int:
        return len(self.m)

    @property
    def knots(self) -> torch.Tensor:
        """Where each ReLU bends: m x + b = 0."""
        return -self.b / self.m

    def predict(self, x):
        return sum_relus(self.m, self.b, x)


def best_line(x=None, y=None) -> tuple[float, float, float]:
    """The least-squares straight line: slope, intercept and its MSE."""
    x, y = _points(x, y)
    design = torch.cat([x, torch.ones_like(x)], dim=1)
    m, b = torch.linalg.lstsq(design, y.reshape(-1, 1)).solution.reshape(-1).tolist()
    return m, b, float(mse(m * x + b, y))


def fit_relus(k: int = 6, steps: int = 1000, lr: float = 0.05, seed: int = 0, x=None, y=None) -> ReluFit:
    """Fit a sum of k ReLUs to the points with Adam ("a sum of enough ReLUs follows a curve").

    Seeded start: random slopes, each ReLU bending at a random point of [-2, 2] (so
    every one of them touches some points and gets a gradient).
    """
    if k < 1 or steps < 0:
        raise ValueError("k must be at least 1 and steps 0 or more")
    x, y = _points(x, y)
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(k, generator=g, dtype=DTYPE)
    knots = torch.rand(k, generator=g, dtype=DTYPE) * 4 - 2
    b = -m * knots
    m.requires_grad_()
    b.requires_grad_()
    opt = torch.optim.Adam([m, b], lr=lr)
    history = []
    for i in range(steps + 1):
        loss = mse(sum_relus(m, b, x), y)
        if not torch.isfinite(loss):
            raise TrainingError(f"the ReLU fit's loss became {loss.item()} at step {i}")
        history.append(loss.item())
        if i == steps:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    slope, intercept, line_loss = best_line(x, y)
    return ReluFit(x=x, y=y, m=m.detach(), b=b.detach(), history=torch.tensor(history, dtype=DTYPE),
                   loss=history[-1], line=(slope, intercept), line_loss=line_loss)


# --------------------------------------------------------------------------- plots


def plot_function(f, title=None, min=-2.1, max=2.1, color="r", ylim=None, ax=None, **kwargs):
    """The lesson's plot_function; draws on `ax` if given, else on pyplot's current axes."""
    if ax is None:
        mplconfig.ensure()
        import matplotlib.pyplot as plt

        ax = plt.gca()
    xs = torch.linspace(min, max, 100, dtype=DTYPE)[:, None]
    if ylim:
        ax.set_ylim(ylim)
    ax.plot(xs.numpy(), f(xs).detach().numpy(), color, **kwargs)
    if title is not None:
        ax.set_title(title)
    return ax


def _figure(width=7, height=4.5):
    # The figure's own Agg canvas, as report.save_loss_plot: no pyplot state, no GUI backend.
    mplconfig.ensure()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _points_on(ax, x, y):
    ax.scatter(x.numpy().ravel(), y.numpy().ravel(), color="tab:blue", zorder=3, label="noisy points")


def plot_quad(result: QuadFit, path) -> None:
    """The points, the starting curve, the fitted curve and the true f; the final loss in the title."""
    fig = _figure()
    ax = fig.add_subplot()
    _points_on(ax, result.x, result.y)
    a0, b0, c0 = result.params[0].tolist()
    plot_function(mk_quad(a0, b0, c0), ax=ax, color="tab:gray", linestyle="--",
                  label=f"start: {a0:g}x² + {b0:g}x + {c0:g} (loss {float(result.losses[0]):.2f})")
    plot_function(mk_quad(result.a, result.b, result.c), ax=ax, color="tab:red",
                  label=f"fitted: {result.a:.3f}x² + {result.b:.3f}x + {result.c:.3f}")
    plot_function(f, ax=ax, color="tab:green", linestyle=":", label="true f: 3x² + 2x + 1")
    how = (f"converged in {result.steps} steps" if result.converged
           else f"stopped after {result.steps} steps, not converged")
    ax.set_title(f"Gradient descent on a, b, c, lr {result.lr:g}: {how}\n"
                 f"final MSE {result.loss:.4f} (least squares {result.closed_form_loss:.4f})")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    fig.savefig(path, format="png")


def plot_relu(path) -> None:
    """The lesson's two examples: rectified_linear(1.5, 1.5, x) and double_relu(-1.5, -1.5, 1.5, 1.5, x)."""
    fig = _figure(9, 3.8)
    left, right = fig.subplots(1, 2)
    plot_function(partial(rectified_linear, 1.5, 1.5), ax=left, ylim=(-1, 4),
                  title="rectified_linear(m=1.5, b=1.5, x) = max(1.5x + 1.5, 0)")
    plot_function(partial(double_relu, -1.5, -1.5, 1.5, 1.5), ax=right, ylim=(-1, 6), linewidth=5, alpha=0.35,
                  title="double_relu(m1=-1.5, b1=-1.5, m2=1.5, b2=1.5, x)", label="double_relu: their sum")
    for m, b, color in ((-1.5, -1.5, "tab:purple"), (1.5, 1.5, "tab:orange")):
        plot_function(partial(rectified_linear, m, b), ax=right, color=color, linestyle="--", linewidth=1,
                      label=f"rectified_linear({m:g}, {b:g}, x)")
    right.legend(loc="upper center", fontsize="small")
    for ax in (left, right):
        ax.set_xlabel("x")
        ax.grid(True, alpha=0.3)
        ax.title.set_fontsize("medium")
    fig.savefig(path, format="png")


def plot_relu_fit(path, result: ReluFit | None = None) -> None:
    """The points, the fitted sum of ReLUs and each ReLU on its own (fit_relus() if not given)."""
    result = fit_relus() if result is None else result
    fig = _figure()
    ax = fig.add_subplot()
    for j in range(result.k):
        m, b = float(result.m[j]), float(result.b[j])
        plot_function(partial(rectified_linear, m, b), ax=ax, color="tab:gray", linestyle="--", linewidth=1,
                      label="each ReLU" if j == 0 else None)
    _points_on(ax, result.x, result.y)
    plot_function(result.predict, ax=ax, color="tab:red", linewidth=2,
                  label=f"sum of {result.k} ReLUs (MSE {result.loss:.2f})")
    slope, intercept = result.line
    plot_function(lambda t: slope * t + intercept, ax=ax, color="tab:olive", linestyle="-.",
                  label=f"best straight line (MSE {result.line_loss:.2f})")
    plot_function(f, ax=ax, color="tab:green", linestyle=":", label="true f: 3x² + 2x + 1")
    ax.set_ylim(-1, 20)
    ax.set_title(f"A sum of {result.k} ReLUs, fitted by gradient descent (Adam), follows the curve")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper center", fontsize="small")
    fig.savefig(path, format="png")


# --------------------------------------------------------------------------- sliders


def _interact():
    try:
        from ipywidgets import interact
    except ImportError as exc:
        raise ImportError(f"the interact_* sliders need ipywidgets: {NOTEBOOK_HINT}") from exc
    return interact


def interact_quad(a=1.1, b=1.1, c=1.1):
    """Sliders for a, b, c over the noisy points, the MAE in the title (as in the lesson)."""
    interact = _interact()
    mplconfig.ensure()
    import matplotlib.pyplot as plt

    def plot_quad(a, b, c):
        fq = mk_quad(a, b, c)
        plt.scatter(x.numpy().ravel(), y.numpy().ravel())
        loss = mae(fq(x), y)
        plot_function(fq, ylim=(-3, 13), title=f"MAE: {loss:.2f}")

    return interact(plot_quad, a=a, b=b, c=c)


def interact_relu(m=1.5, b=1.5):
    interact = _interact()

    def plot_relu(m, b):
        plot_function(partial(rectified_linear, m, b), ylim=(-1, 4))

    return interact(plot_relu, m=m, b=b)


def interact_double_relu(m1=-1.5, b1=-1.5, m2=1.5, b2=1.5):
    interact = _interact()

    def plot_double_relu(m1, b1, m2, b2):
        plot_function(partial(double_relu, m1, b1, m2, b2), ylim=(-1, 6))

    return interact(plot_double_relu, m1=m1, b1=b1, m2=m2, b2=b2)
