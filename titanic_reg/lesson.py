"""The lesson notebook "How does a neural net really work?", first half, with its names.

    from titanic_reg.lesson import *     # what the lesson takes from `from fastai.basics import *`, and its own names
    plot_function(f, "$3x^2 + 2x + 1$")
    plt.scatter(x, y)
    interact_quad()                      # the lesson's @interact(a=1.1, b=1.1, c=1.1) plot_quad
                                         # (sliders need ipywidgets: pip install -e '.[notebook]')
    result = fit_quad()                  # gradient descent on a, b, c until it converges
    result.a, result.b, result.c, result.closed_form
    fit_quad(lr=0.01, max_steps=10, zero_grad=False, log=print)  # the lesson's loop, with the MSE for its MAE
    relus = fit_relus()                  # a sum of ReLUs follows the same curve

`from titanic_reg.lesson import *` gives the names of __all__: the lesson's own
functions and data (f, quad, mk_quad, noise, add_noise, x, y, plot_function,
plot_quad, mae, mse, quad_mae, quad_mse, rectified_linear, rectified_linear2,
double_relu, plot_relu, plot_double_relu), the names the lesson takes from
`from fastai.basics import *` (np, torch, tensor = torch.tensor, F, partial, plt),
and this package's: fit_quad, fit_relus, the interact_* sliders and the save_*_plot
file writers. `plt` is matplotlib.pyplot, imported when `import *` or
`lesson.plt` first asks for it (a module __getattr__, which `import *` calls for
every name of __all__), so that a plain `import titanic_reg.lesson` (the CLI, the
workbook) does not load pyplot. The plotting functions draw on pyplot's current
figure, as the lesson's do, and return None: a notebook shows the figure and no
`<Axes: >` under it. The save_*_plot writers draw on a figure of their own.

The data are the lesson's: 20 points of f(x) = 3x^2 + 2x + 1 on [-2, 2] with noise added
(`np.random.seed(42)`, `add_noise(f(x), 0.15, 1.5)`), in float64.

Why fit_quad zeroes the gradients. `loss.backward()` adds this step's gradient to
`abc.grad`; it does not replace it. The lesson's loop minimises the MAE
(`quad_mae`), never clears the gradient, and falls steadily: each MAE gradient is
small, so their sum grows like momentum without overshooting in ten steps. This
module minimises the MSE (it has a closed form to check against), and the same loop
with the MSE, our variant and not the lesson's,

    for i in range(10):
        loss = quad_mse(abc); loss.backward()
        with torch.no_grad(): abc -= abc.grad*0.01
        print(f'step={i}; loss={loss:.2f}')

never clears it, so from the second step on every update uses the sum of all the
gradients so far, not the gradient where a, b, c now are. Like momentum with
nothing to damp it, a, b, c overshoot the minimum and swing back and forth: at lr
0.01 the loss falls from 5.49 to 2.32 in 5 steps, then rises again (4.94 at step
10) and never settles. fit_quad therefore calls `abc.grad.zero_()` after each
update, as every PyTorch training loop does (`opt.zero_grad()`), and the loss then
falls at every step. `fit_quad(zero_grad=False)` runs that MSE variant, for seeing
what happens without it (`titanic-reg lesson quad --no-zero-grad`).

As in titanic_reg.models, each computation the workbook repeats (the quadratic, the
squared error, the loss over all points, its gradient, the descent step) is written
twice, side by side: the torch function and its Excel-formula twin (`..._excel`, which
takes cell references or defined names). sheets/lesson_sheets.py writes only these
twins, so the sheet and torch cannot drift apart.

matplotlib is imported inside the plotting functions (and for `plt`), ipywidgets
inside the `interact_*` functions only.
"""
from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from types import ModuleType

import numpy as np
import torch
import torch.nn.functional as F

from . import mplconfig
from .errors import TrainingError
from .summary import short

# What `import *` gives: the names the lesson takes from `from fastai.basics import *` (np, torch,
# tensor, F, partial, plt), the lesson's own, and this package's (fit_quad, the sliders, the writers).
__all__ = [
    "ConvergenceWarning", "DivergedError", "F", "QuadFit", "ReluFit", "add_noise", "best_line",
    "closed_form", "double_relu", "f", "fit_quad", "fit_relus", "interact_double_relu",
    "interact_quad", "interact_relu", "mae", "make_points", "mk_quad", "mse", "noise", "np",
    "partial", "plot_double_relu", "plot_function", "plot_quad", "plot_relu", "plt", "quad",
    "quad_grad", "quad_mae", "quad_mse", "rectified_linear", "rectified_linear2", "save_quad_plot",
    "save_relu_fit_plot", "save_relu_plot", "steps_to_converge", "sum_relus", "tensor", "torch",
    "x", "y",
]

tensor = torch.tensor  # as fastai.basics gives it
plt: ModuleType  # matplotlib.pyplot, imported on first use: see __getattr__

DTYPE = torch.float64
START = (1.5, 1.5, 1.5)  # the lesson's starting a, b, c
from .limits import LESSON_LR as LR, LESSON_MAX_STEPS as MAX_STEPS  # noqa: E402 (shared with the CLI)
TOL = 1e-9  # converged once every |d loss / d param| is below this
PARAMS = ("a", "b", "c")
NOTEBOOK_HINT = "pip install ipywidgets (in a clone of titanic-reg: pip install -e '.[notebook]')"


def _pyplot():
    mplconfig.ensure()
    import matplotlib.pyplot as plt

    return plt


def __getattr__(name):
    # `plt`, imported on first use: `from titanic_reg.lesson import *` looks up every name of
    # __all__ with getattr, so it lands here too; `import titanic_reg.lesson` does not.
    if name == "plt":
        globals()["plt"] = plt = _pyplot()
        return plt
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), "plt"})


class ConvergenceWarning(UserWarning):
    """fit_quad stopped at max_steps before every |gradient| fell below tol."""


class DivergedError(TrainingError):
    """fit_quad's loss became infinite or NaN: lr is too large for this loss."""

    def __init__(self, message: str, *, lr: float, step: int, loss: float, lr_limit: float):
        super().__init__(message)
        self.lr, self.step, self.loss, self.lr_limit = lr, step, loss, lr_limit


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


def squared_error(pred, act):
    return (pred - act) ** 2


def quad_mae(params, x=None, y=None):
    """The lesson's mean absolute error of a, b, c = params on the points."""
    x, y = _points(x, y)
    return mae(mk_quad(*params)(x), y)


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


def grad_sum_excel(above: str, grad: str) -> str:
    """`abc.grad` when it is never zeroed: the sum above plus this step's gradient."""
    return f"{above}+{grad}"


def _points(x, y):
    return (globals()["x"] if x is None else x), (globals()["y"] if y is None else y)


# --------------------------------------------------------------------------- gradient descent


def step_line(i: int, loss) -> str:
    """The lesson's progress line."""
    return f"step={i}; loss={float(loss):.2f}"


# The loss's rise counted as one only beyond rounding: near the minimum, where the loss
# is flat, a converging descent's losses differ in the last bits either way.
_RISE = 1e-12


@dataclass(repr=False)
class QuadFit:
    """Gradient descent on a, b, c: every step recorded, row i before the i-th update."""

    x: torch.Tensor  # (n, 1) the points
    y: torch.Tensor  # (n, 1)
    lr: float
    tol: float
    max_steps: int
    zero_grad: bool  # abc.grad zeroed after each update (else: gradients adding up, as in the lesson's loop)
    params: torch.Tensor  # (rows, 3): a, b, c before each update; row 0 = START
    grads: torch.Tensor  # (rows, 3): autograd's gradient of the loss there
    applied: torch.Tensor  # (rows, 3): abc.grad as the update used it; = grads if zero_grad, else their sum
    losses: torch.Tensor  # (rows,): quad_mse there
    converged: bool  # stopped because every |gradient| < tol (else: at max_steps)
    closed_form: torch.Tensor  # (3,) least-squares a, b, c (torch.linalg.lstsq)
    closed_form_loss: float
    a: float = field(init=False)
    b: float = field(init=False)
    c: float = field(init=False)

    def __post_init__(self):
        self.a, self.b, self.c = (float(v) for v in self.params[-1])

    def __repr__(self) -> str:
        how = "converged" if self.converged else "stopped at max_steps"
        rose = f", the loss rose at step {self.rose_at}" if self.rose_at is not None else ""
        return (f"QuadFit(a={self.a:.6g}, b={self.b:.6g}, c={self.c:.6g}, loss={self.loss:.6g}, "
                f"{self.steps} steps at lr={self.lr:g}, {how}{rose}; closed form "
                f"{', '.join(f'{v:.6g}' for v in self.closed_form.tolist())})")

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

    @property
    def rose_at(self) -> int | None:
        """The first step whose loss is above the step before's (beyond rounding), or None.

        Plain gradient descent at an lr this loss allows never goes up; with the
        gradients accumulating (zero_grad=False) the loss rises again after a few steps.
        """
        losses = self.losses.tolist()
        return next((i for i in range(1, len(losses)) if losses[i] > losses[i - 1] * (1 + _RISE)), None)

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


def _hessian(x) -> torch.Tensor:
    """quad_mse's second derivatives in a, b, c: 2/n X'X with X = (x^2, x, 1); the same everywhere."""
    design = torch.cat([x**2, x, torch.ones_like(x)], dim=1)
    return 2 / len(x) * design.T @ design


def _lr_limit(x, zero_grad: bool = True) -> float:
    """The lr above which gradient descent on quad_mse diverges: 2 / the Hessian's largest
    eigenvalue (about 0.22 on the lesson's points); 4 / it with the gradients accumulating."""
    return (2 if zero_grad else 4) / float(torch.linalg.eigvalsh(_hessian(x))[-1])


def steps_to_converge(lr: float, tol: float = TOL, x=None, y=None, start=START) -> float:
    """How many updates fit_quad(lr, tol=tol) makes before it converges; math.inf if it never does.

    The loss is quadratic, so each step multiplies the gradient by the same matrix,
    I - lr H (H: the loss's Hessian): along H's eigenvector j the gradient is multiplied
    by 1 - lr λ_j a step. That gives the gradient at every step without running the
    descent, and the first step at which every |component| is below tol (lr 0.1: 261;
    the lesson's lr 0.01: 2,695). Beyond a million steps, an upper bound instead.
    """
    x, y = _points(x, y)
    lam, vecs = torch.linalg.eigh(_hessian(x))
    coords = vecs.T @ quad_grad(torch.tensor(start, dtype=DTYPE), x, y)  # the first gradient, in H's eigenvectors
    rates = 1 - lr * lam
    share = coords.abs() * vecs.abs().max(dim=0).values  # each one's part in the largest |component|
    bound = 0  # every share below tol / 3 from here on
    for rate, size in zip(rates.abs().tolist(), share.tolist()):
        if size * 3 < tol:
            continue
        if rate >= 1:
            return math.inf
        bound = max(bound, 1 if rate == 0 else math.ceil(math.log(tol / (3 * size)) / math.log(rate)))
    if bound > 1_000_000:
        return bound
    k = torch.arange(bound + 1, dtype=DTYPE)[:, None]
    gradients = (rates**k * coords) @ vecs.T  # (bound + 1, 3): the gradient before each update
    below = (gradients.abs().amax(dim=1) < tol).nonzero()
    return int(below[0, 0]) if len(below) else bound  # (the bound's own step is below tol, but for rounding)


def _real(call: str, name: str, value, minimum: float, above: bool) -> float:
    """value as a float, or a ValueError that names the call and the argument."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and (number > minimum if above else number >= minimum)):
        bound = f"above {minimum:g}" if above else f"{minimum:g} or more"
        raise ValueError(f"{call}({name}={value!r}): {name} must be a finite number {bound}")
    return number


def fit_quad(lr: float = LR, max_steps: int = MAX_STEPS, tol: float = TOL, x=None, y=None,
             start=START, log: Callable[[str], object] | None = None, zero_grad: bool = True) -> QuadFit:
    """The lesson's loop, run until it converges, with the gradients zeroed after each update:

        abc.requires_grad_()
        for i in range(n):
            loss = quad_mse(abc); loss.backward()
            with torch.no_grad(): abc -= abc.grad*lr
            abc.grad.zero_()                          # not in the lesson: see below
            print(f'step={i}; loss={loss:.2f}')

    Why `abc.grad.zero_()`: `loss.backward()` adds the new gradient to `abc.grad`
    rather than replacing it. Without zeroing, each update uses the sum of every
    gradient so far; a, b, c overshoot and swing about the minimum, and the loss
    rises again after a few steps (lr 0.01: down from 5.49 to 2.32 at step 5, back up
    to 4.94 at step 10) and never settles. zero_grad=False runs the lesson's loop
    (with the MSE; the lesson's minimises the MAE) without zeroing, to see it: the run goes on to max_steps (it raises only if the loss
    becomes infinite), `result.rose_at` is the step where the loss first went up,
    `result.applied` the summed gradients each update used, and a ConvergenceWarning
    says so.

    Stops once every component of the gradient is below `tol` in size (then a, b, c are
    within about tol / 0.76 of the least-squares solution: 0.76 is the smallest curvature
    of this loss) or after max_steps updates, with a ConvergenceWarning that says how
    many steps this lr needs (steps_to_converge). A rule on the loss alone, such as
    "changed by less than 1e-12", stops too early here: a, b, c are then still ~5e-6 off.
    lr 0.1 converges in 261 steps, the lesson's 0.01 in 2,695; above about 0.2215 the
    loss grows without bound, and once it is infinite a DivergedError says at which step.
    `log` gets each step's line (pass `print` for the lesson's output).
    """
    lr = _real("fit_quad", "lr", lr, 0, above=True)
    tol = _real("fit_quad", "tol", tol, 0, above=False)
    try:
        max_steps = operator.index(max_steps)
    except TypeError:
        raise TypeError(f"fit_quad(max_steps={max_steps!r}): max_steps must be a whole number") from None
    if max_steps < 0:
        raise ValueError(f"fit_quad(max_steps={max_steps}): max_steps must be 0 or more")
    if not isinstance(zero_grad, bool):  # "no" would read as True
        raise TypeError(f"fit_quad(zero_grad={zero_grad!r}): zero_grad must be True or False")
    x, y = _points(x, y)
    abc = torch.tensor(start, dtype=DTYPE)
    abc.requires_grad_()
    params, grads, applied, losses = [], [], [], []
    summed = torch.zeros_like(abc)  # abc.grad before this step's backward(): 0 when zeroed
    converged = False
    for i in range(max_steps + 1):
        loss = quad_mse(abc, x, y)
        if not torch.isfinite(loss):
            limit = _lr_limit(x, zero_grad)
            raise DivergedError(
                f"fit_quad(lr={lr:g}{'' if zero_grad else ', zero_grad=False'}): the loss became {loss.item()} "
                f"at step {i}: lr={lr:g} is too large (this descent diverges above lr={limit:.3g})",
                lr=lr, step=i, loss=loss.item(), lr_limit=limit)
        loss.backward()
        params.append(abc.detach().clone())
        applied.append(abc.grad.detach().clone())
        grads.append(applied[-1] - summed if not zero_grad else applied[-1])  # this step's own gradient
        losses.append(loss.detach().clone())
        if log is not None:
            log(step_line(i, losses[-1]))
        if float(grads[-1].abs().max()) < tol:
            converged = True
            break
        if i == max_steps:
            break
        with torch.no_grad():
            abc -= abc.grad * lr
        if zero_grad:
            abc.grad.zero_()
        else:
            summed = applied[-1]
    best = closed_form(x, y)
    result = QuadFit(x=x, y=y, lr=lr, tol=tol, max_steps=max_steps, zero_grad=zero_grad,
                     params=torch.stack(params), grads=torch.stack(grads), applied=torch.stack(applied),
                     losses=torch.stack(losses), converged=converged, closed_form=best,
                     closed_form_loss=float(quad_mse(best, x, y)))
    if not converged:
        warnings.warn(ConvergenceWarning(_not_converged(result, start)), stacklevel=2)
    return result


def _not_converged(result: QuadFit, start) -> str:
    call = f"fit_quad(lr={result.lr:g}, max_steps={result.max_steps}{'' if result.zero_grad else ', zero_grad=False'})"
    text = (f"{call}: not converged, the largest |gradient| is {result.max_grad:.2g} "
            f"(tol={result.tol:g})")
    if not result.zero_grad:
        rose = result.rose_at
        if rose is not None:
            before, after = result.losses[rose - 1].item(), result.losses[rose].item()
            text += f"; the loss rose again at step {rose} ({before:.2f} to {after:.2f})"
        return (text + ": without abc.grad.zero_() each backward() adds to the gradients of the steps "
                       "before, so every update uses their sum; zero_grad=True zeroes them")
    need = steps_to_converge(result.lr, result.tol, result.x, result.y, start)
    if math.isinf(need) and result.lr < _lr_limit(result.x):  # 1 - lr*curvature rounds to 1
        return text + (f"; lr={result.lr:g} is too small: each step is (nearly) lost in rounding, and the "
                       "descent never gets there")
    if math.isinf(need):
        return text + (f"; at lr={result.lr:g} it never converges: this descent needs lr below "
                       f"{_lr_limit(result.x):.3g}")
    return text + f"; lr={result.lr:g} needs {need:,} steps: max_steps={need} or more"


# --------------------------------------------------------------------------- ReLUs


def rectified_linear(m, b, x):
    y = m * x + b
    return torch.clip(y, 0.)


def rectified_linear2(m, b, x):
    """rectified_linear with F.relu, which does the same."""
    return F.relu(m * x + b)


def double_relu(m1, b1, m2, b2, x):
    return rectified_linear(m1, b1, x) + rectified_linear(m2, b2, x)


def sum_relus(m, b, x):
    """Sum of k ReLUs: m, b of shape (k,), x of shape (n, 1) -> (n, 1)."""
    return rectified_linear(m, b, x).sum(dim=-1, keepdim=True)


@dataclass(repr=False)
class ReluFit:
    x: torch.Tensor
    y: torch.Tensor
    m: torch.Tensor  # (k,)
    b: torch.Tensor  # (k,)
    history: torch.Tensor  # (steps + 1,) the MSE before each step, then the final one
    loss: float
    line: tuple[float, float]  # the best straight line's slope and intercept
    line_loss: float

    def __repr__(self) -> str:
        return (f"ReluFit({self.k} ReLUs, loss={self.loss:.6g} after {len(self.history) - 1} steps, against "
                f"{self.line_loss:.6g} for the best straight line; m={short(self.m)}, b={short(self.b)})")

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
    for name, value, least in (("k", k, 1), ("steps", steps, 0)):
        try:
            whole = operator.index(value)
        except TypeError:
            raise TypeError(f"fit_relus({name}={value!r}): {name} must be a whole number") from None
        if whole < least:
            raise ValueError(f"fit_relus({name}={value!r}): {name} must be {least} or more")
    lr = _real("fit_relus", "lr", lr, 0, above=True)
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
            raise TrainingError(f"fit_relus(lr={lr:g}): the loss became {loss.item()} at step {i}")
        history.append(loss.item())
        if i == steps:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    slope, intercept, line_loss = best_line(x, y)
    return ReluFit(x=x, y=y, m=m.detach(), b=b.detach(), history=torch.tensor(history, dtype=DTYPE),
                   loss=history[-1], line=(slope, intercept), line_loss=line_loss)


# --------------------------------------------------------------------------- the lesson's plots


def plot_function(f, title=None, min=-2.1, max=2.1, color="r", ylim=None):
    """The lesson's plot_function: f on [min, max], on pyplot's current axes. Returns None."""
    _draw(_pyplot().gca(), f, title, min, max, color, ylim)


def plot_quad(a, b, c):
    """The lesson's slider function (@interact(a=1.1, b=1.1, c=1.1)): the noisy points and
    mk_quad(a, b, c), its mean absolute error in the title."""
    plt = _pyplot()
    fq = mk_quad(a, b, c)
    plt.scatter(x.numpy().ravel(), y.numpy().ravel())
    loss = mae(fq(x), y)
    plot_function(fq, ylim=(-3, 13), title=f"MAE: {loss:.2f}")


def plot_relu(m, b):
    """The lesson's slider function (@interact(m=1.5, b=1.5)): rectified_linear(m, b, x)."""
    plot_function(partial(rectified_linear, m, b), ylim=(-1, 4))


def plot_double_relu(m1, b1, m2, b2):
    """The lesson's slider function (@interact(m1=-1.5, b1=-1.5, m2=1.5, b2=1.5))."""
    plot_function(partial(double_relu, m1, b1, m2, b2), ylim=(-1, 6))


def _draw(ax, f, title=None, min=-2.1, max=2.1, color="r", ylim=None, **kwargs):
    """plot_function's drawing, on the axes given (the file writers pass their own)."""
    xs = torch.linspace(min, max, 100, dtype=DTYPE)[:, None]
    if ylim:
        ax.set_ylim(ylim)
    ax.plot(xs.numpy(), f(xs).detach().numpy(), color, **kwargs)
    if title is not None:
        ax.set_title(title)


# --------------------------------------------------------------------------- sliders


def _interact():
    try:
        from ipywidgets import interact
    except ImportError as exc:
        raise ImportError(f"the interact_* sliders need ipywidgets: {NOTEBOOK_HINT}") from exc
    return interact


def interact_quad(a=1.1, b=1.1, c=1.1) -> None:
    """Sliders for a, b, c on plot_quad, as the lesson's @interact(a=1.1, b=1.1, c=1.1)."""
    _interact()(plot_quad, a=a, b=b, c=c)


def interact_relu(m=1.5, b=1.5) -> None:
    """Sliders for m, b on plot_relu, as the lesson's @interact(m=1.5, b=1.5)."""
    _interact()(plot_relu, m=m, b=b)


def interact_double_relu(m1=-1.5, b1=-1.5, m2=1.5, b2=1.5) -> None:
    """Sliders on plot_double_relu, as the lesson's @interact(m1=-1.5, b1=-1.5, m2=1.5, b2=1.5)."""
    _interact()(plot_double_relu, m1=m1, b1=b1, m2=m2, b2=b2)


# --------------------------------------------------------------------------- the pictures, as files


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


def save_quad_plot(result: QuadFit, path) -> None:
    """quad.png: the points, the starting, fitted and true curves (left); the loss by step (right)."""
    fig = _figure(11, 4.6)
    ax, loss_ax = fig.subplots(1, 2, width_ratios=(3, 2))
    _points_on(ax, result.x, result.y)
    a0, b0, c0 = result.params[0].tolist()
    _draw(ax, mk_quad(a0, b0, c0), color="tab:gray", linestyle="--",
          label=f"start: {a0:g}x² + {b0:g}x + {c0:g} (loss {float(result.losses[0]):.2f})")
    _draw(ax, mk_quad(result.a, result.b, result.c), color="tab:red",
          label=f"fitted: {result.a:.3f}x² + {result.b:.3f}x + {result.c:.3f}")
    _draw(ax, f, color="tab:green", linestyle=":", label="true f: 3x² + 2x + 1")
    how = (f"converged in {result.steps:,} steps" if result.converged
           else f"stopped after {result.steps:,} steps, not converged")
    grads = "" if result.zero_grad else ", gradients never zeroed (as the lesson's loop)"
    fig.suptitle(f"Gradient descent on a, b, c, lr {result.lr:g}{grads}: {how}")
    ax.set_title(f"final MSE {result.loss:.4f} (least squares {result.closed_form_loss:.4f})", fontsize="medium")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")

    steps = np.arange(len(result.losses))
    loss_ax.plot(steps, result.losses.numpy(), color="tab:red", linewidth=1, marker="." if result.steps <= 60 else None,
                 label="quad_mse(a, b, c) at each step")
    loss_ax.axhline(result.closed_form_loss, color="tab:gray", linestyle="--", linewidth=1,
                    label=f"least squares: {result.closed_form_loss:.4f}")
    rose = result.rose_at
    if rose is not None:
        loss_ax.plot([rose], [result.losses[rose].item()], "o", color="black",
                     label=f"step {rose}: the loss rises again")
    loss_ax.set_title("The loss by step", fontsize="medium")
    if result.steps > 30:  # steps 0 to 10 as they are, then by tens: the start and the end both show
        loss_ax.set_xscale("symlog", linthresh=10, linscale=0.6)
        loss_ax.set_xlabel("step (0 to 10, then a log scale)")
    else:
        loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("MSE")
    loss_ax.set_xlim(0, max(1, result.steps))
    loss_ax.grid(True, alpha=0.3)
    loss_ax.legend(loc="upper right", fontsize="small")
    fig.savefig(path, format="png")


def save_relu_plot(path) -> None:
    """relu.png: the lesson's two examples, rectified_linear(1.5, 1.5, x) and
    double_relu(-1.5, -1.5, 1.5, 1.5, x) with its two ReLUs."""
    fig = _figure(9, 3.8)
    left, right = fig.subplots(1, 2)
    _draw(left, partial(rectified_linear, 1.5, 1.5), ylim=(-1, 4),
          title="rectified_linear(m=1.5, b=1.5, x) = max(0, 1.5x + 1.5)")
    left.set_ylabel("max(0, m·x + b)")
    _draw(right, partial(double_relu, -1.5, -1.5, 1.5, 1.5), ylim=(-1, 6), linewidth=5, alpha=0.35,
          title="double_relu(m1=-1.5, b1=-1.5, m2=1.5, b2=1.5, x)", label="double_relu: their sum")
    for m, b, color in ((-1.5, -1.5, "tab:purple"), (1.5, 1.5, "tab:orange")):
        _draw(right, partial(rectified_linear, m, b), color=color, linestyle="--", linewidth=1,
              label=f"rectified_linear({m:g}, {b:g}, x)")
    right.set_ylabel("max(0, m1·x + b1) + max(0, m2·x + b2)")
    right.legend(loc="upper center", fontsize="small")
    for ax in (left, right):
        ax.set_xlabel("x")
        ax.grid(True, alpha=0.3)
        ax.title.set_fontsize("medium")
    fig.savefig(path, format="png")


def save_relu_fit_plot(path, result: ReluFit | None = None) -> None:
    """relu_fit.png: the points, the fitted sum of ReLUs and each ReLU on its own (fit_relus() if not given)."""
    result = fit_relus() if result is None else result
    fig = _figure()
    ax = fig.add_subplot()
    for j in range(result.k):
        m, b = float(result.m[j]), float(result.b[j])
        _draw(ax, partial(rectified_linear, m, b), color="tab:gray", linestyle="--", linewidth=1,
              label="each ReLU: max(0, m·x + b)" if j == 0 else None)
    _points_on(ax, result.x, result.y)
    _draw(ax, result.predict, color="tab:red", linewidth=2,
          label=f"sum of {result.k} ReLUs (MSE {result.loss:.2f})")
    slope, intercept = result.line
    _draw(ax, lambda t: slope * t + intercept, color="tab:olive", linestyle="-.",
          label=f"best straight line (MSE {result.line_loss:.2f})")
    _draw(ax, f, color="tab:green", linestyle=":", label="true f: 3x² + 2x + 1")
    ax.set_ylim(-1, 20)
    ax.set_title(f"A sum of {result.k} ReLUs, fitted by gradient descent (Adam), follows the curve")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper center", fontsize="small")
    fig.savefig(path, format="png")
