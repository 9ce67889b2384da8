"""The lesson notebook's first half: titanic_reg/lesson.py, sheets/lesson_sheets.py, `titanic-reg lesson`."""
from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import torch
from click.testing import CliRunner

from titanic_reg import cli
from titanic_reg.sheets.functions import ALLOWED, functions_used
from titanic_reg.sheets.lesson_sheets import DESCENT, POINTS, FIRST_POINT_ROW, write_quad_workbook
from titanic_reg.sheets.verify import read_formula_cells
from titanic_reg import lesson as L
from titanic_reg import limits

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"
LINE = re.compile(r"step=(\d+); loss=(\d+\.\d\d)")


@pytest.fixture(scope="module")
def quad():
    return L.fit_quad()


def run(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args])


def one_line_error(result):
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    return lines[0]


# --------------------------------------------------------------------------- the data


def test_points_are_the_lessons():
    before = np.random.get_state()[1].copy()
    x, y = L.make_points()
    assert (np.random.get_state()[1] == before).all()  # the global generator is left as it was
    assert x.dtype == y.dtype == torch.float64 and x.shape == y.shape == (20, 1)
    assert torch.equal(x, torch.linspace(-2, 2, steps=20, dtype=torch.float64)[:, None])
    # np.random.seed(42), then noise(x, 0.15) is drawn before noise(x, 1.5): the lesson's order.
    rs = np.random.RandomState(42)
    mult, add = rs.normal(scale=0.15, size=(20, 1)), rs.normal(scale=1.5, size=(20, 1))
    fx = 3 * x.numpy() ** 2 + 2 * x.numpy() + 1
    np.testing.assert_allclose(y.numpy(), fx * (1 + mult) + add, rtol=1e-15, atol=1e-15)
    assert torch.equal(L.x, x) and torch.equal(L.y, y)


def test_the_lessons_functions():
    x = torch.tensor([[-1.0], [0.0], [2.0]], dtype=torch.float64)
    assert L.f(x).ravel().tolist() == [2.0, 1.0, 17.0]
    assert torch.equal(L.mk_quad(3, 2, 1)(x), L.f(x))
    assert L.rectified_linear(1.5, 1.5, x).ravel().tolist() == [0.0, 1.5, 4.5]
    assert L.double_relu(-1.5, -1.5, 1.5, 1.5, x).ravel().tolist() == [0.0, 1.5, 4.5]
    assert L.double_relu(-1.5, -1.5, 1.5, 1.5, torch.tensor([[-3.0]])).item() == 3.0
    assert L.mae(x, x + 1).item() == 1.0 and L.mse(x, x + 2).item() == 4.0
    assert L.quad_mse([3, 2, 1], x, L.f(x)).item() == 0.0


# --------------------------------------------------------------------------- gradient descent on a, b, c


def _noise_standard_errors(x):
    """Standard errors of least-squares a, b, c under the lesson's noise model.

    y = f(x)(1 + N(0, 0.15)) + N(0, 1.5): each point's variance is (0.15 f(x))^2 + 1.5^2;
    the sandwich (X'X)^-1 X' diag(var) X (X'X)^-1 gives the spread of a, b, c.
    """
    X = torch.cat([x**2, x, torch.ones_like(x)], dim=1)
    var = (0.15 * L.f(x).ravel()) ** 2 + 1.5**2
    inv = torch.linalg.inv(X.T @ X)
    return (inv @ X.T @ torch.diag(var) @ X @ inv).diagonal().sqrt()


def test_abc_recovered_as_well_as_the_noise_allows(quad):
    assert quad.converged and quad.steps <= L.MAX_STEPS
    se = _noise_standard_errors(quad.x)  # about 0.36, 0.39, 0.55: 20 noisy points pin a, b, c only so far
    off = torch.tensor(quad.abc, dtype=torch.float64) - torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64)
    assert (off.abs() < 3 * se).all(), (quad.abc, se)
    # This seed's b lands 2.2 standard errors low: least squares itself says b = 1.14.
    assert quad.abc == pytest.approx((2.7604, 1.1403, 0.5735), abs=1e-4)


def test_converged_descent_is_the_closed_form_least_squares(quad):
    assert quad.abc == pytest.approx(quad.closed_form.tolist(), abs=1e-6)
    np.testing.assert_allclose(quad.closed_form.numpy(),
                               np.polyfit(quad.x.numpy().ravel(), quad.y.numpy().ravel(), 2), atol=1e-12)
    assert quad.loss == pytest.approx(quad.closed_form_loss, abs=1e-12)
    assert quad.max_grad < quad.tol
    assert quad.loss < float(L.quad_mse((3, 2, 1)))  # on these points the true f does worse


def test_every_step_is_the_lessons_update_with_autograds_gradient(quad):
    assert quad.params[0].tolist() == list(L.START)
    assert quad.zero_grad and torch.equal(quad.applied, quad.grads)  # zeroed: each update uses its own gradient
    for i in range(quad.steps):
        expected = L.descent_step(quad.params[i], quad.grads[i], quad.lr)
        assert torch.equal(quad.params[i + 1], expected)
    for p, g, loss in zip(quad.params, quad.grads, quad.losses):
        torch.testing.assert_close(L.quad_grad(p), g, rtol=0, atol=1e-12)  # the analytic twin
        assert L.quad_mse(p).item() == loss.item()
    assert (quad.losses[1:] <= quad.losses[:-1] + 1e-15).all()  # down every step, up to rounding


def test_the_lessons_ten_steps_at_lr_0_01():
    with pytest.warns(L.ConvergenceWarning, match=r"max_steps=2695 or more"):
        short = L.fit_quad(lr=0.01, max_steps=10)
    assert not short.converged and short.steps == 10 and len(short.lines()) == 11
    assert (short.losses[1:] < short.losses[:-1]).all()
    assert short.rose_at is None


def test_a_diverging_lr_names_the_step():
    with pytest.raises(L.DivergedError, match=r"^fit_quad\(lr=1\): the loss became inf at step \d+: "
                                              r"lr=1 is too large \(this descent diverges above lr=0\.222\)$") as info:
        L.fit_quad(lr=1.0)
    assert isinstance(info.value, L.TrainingError)  # what the CLI and older callers catch
    assert info.value.lr == 1.0 and info.value.loss == float("inf")
    assert info.value.lr_limit == pytest.approx(0.2215286, abs=1e-6)


# --------------------------------------------------------------------------- zeroing the gradients

# The lesson's loop, gradients never zeroed, on our float64 points: down for 5 steps, then up again.
ACCUMULATING_LOSSES = [5.4892, 4.9645, 4.0943, 3.1742, 2.5126, 2.3230, 2.6496, 3.3536, 4.1631, 4.7701, 4.9408]


def _the_lessons_loop(lr, n):
    """The lesson's loop with quad_mse for its quad_mae (abc.grad never zeroed), from fit_quad's start."""
    abc = torch.tensor([1.5, 1.5, 1.5], dtype=torch.float64)
    abc.requires_grad_()
    losses = []
    for _ in range(n):
        loss = L.quad_mse(abc)
        loss.backward()
        with torch.no_grad():
            abc -= abc.grad * lr
        losses.append(loss.item())
    return losses


def test_without_zeroing_the_loss_rises_again_after_a_few_steps():
    with pytest.warns(L.ConvergenceWarning, match=r"zero_grad=False.*rose again at step 6 \(2\.32 to 2\.65\)"):
        fit = L.fit_quad(lr=0.01, max_steps=10, zero_grad=False)
    assert not fit.zero_grad and not fit.converged and fit.steps == 10
    assert fit.losses.tolist() == _the_lessons_loop(0.01, 11)  # the lesson's loop exactly, bit for bit
    assert fit.losses.tolist() == pytest.approx(ACCUMULATING_LOSSES, abs=5e-5)
    assert fit.rose_at == 6 and fit.lines()[5:7] == ["step=5; loss=2.32", "step=6; loss=2.65"]
    assert fit.losses[10] > 2 * fit.losses[5]  # 4.94 at step 10: worse than after the first update
    for i in range(fit.steps):
        # Each update used abc.grad as it was: the sum of every gradient so far, not this step's own.
        torch.testing.assert_close(fit.applied[i], fit.grads[: i + 1].sum(dim=0), rtol=0, atol=1e-12)
        assert torch.equal(fit.params[i + 1], L.descent_step(fit.params[i], fit.applied[i], fit.lr))
    for p, g in zip(fit.params, fit.grads):  # grads: autograd's gradient at each step's a, b, c
        torch.testing.assert_close(L.quad_grad(p), g, rtol=0, atol=1e-12)


def test_zeroing_the_gradients_the_loss_falls_at_every_step():
    with pytest.warns(L.ConvergenceWarning):
        fit = L.fit_quad(lr=0.01, max_steps=10)  # zero_grad=True, the default
    assert fit.zero_grad and fit.rose_at is None
    assert fit.losses.tolist() == pytest.approx(
        [5.4892, 4.9645, 4.5273, 4.1627, 3.8583, 3.6037, 3.3905, 3.2115, 3.0610, 2.9342, 2.8270], abs=5e-5)
    assert (fit.losses[1:] < fit.losses[:-1]).all()
    full = L.fit_quad(lr=0.01)  # and so on, down at every one of its 2,695 steps
    assert full.converged and full.steps == 2695 and full.rose_at is None
    assert (full.losses[1:] <= full.losses[:-1] + 1e-15).all()


def test_without_zeroing_a_long_run_goes_on_and_never_settles():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = L.fit_quad(lr=0.1, max_steps=2000, zero_grad=False)  # no error, though the loss keeps rising
    assert [type(w.message) for w in caught] == [L.ConvergenceWarning]
    assert fit.steps == 2000 and not fit.converged
    ups = (fit.losses[1:] > fit.losses[:-1]).sum().item()
    assert ups > 500  # it swings: up again hundreds of times
    assert fit.losses[-500:].min() < 1.8 and fit.losses[-500:].max() > 5  # and is no closer at the end


def test_without_zeroing_the_descent_diverges_above_twice_the_limit():
    with pytest.raises(L.DivergedError, match=r"fit_quad\(lr=0\.5, zero_grad=False\): .* above lr=0\.443"):
        L.fit_quad(lr=0.5, zero_grad=False)
    with pytest.warns(L.ConvergenceWarning):
        L.fit_quad(lr=0.4, max_steps=1000, zero_grad=False)  # bounded below 4 / the largest curvature


# --------------------------------------------------------------------------- steps, limits, messages


@pytest.mark.parametrize("lr", [0.2, 0.1, 0.05, 0.01, 0.003, 0.22])
def test_steps_to_converge_is_fit_quads_count(lr):
    need = L.steps_to_converge(lr)
    fit = L.fit_quad(lr=lr, max_steps=need)
    assert fit.converged and fit.steps == need


def test_the_lessons_lr_converges_within_the_defaults_and_the_cli_limit():
    assert L.steps_to_converge(0.01) == 2695 <= L.MAX_STEPS < limits.LESSON_STEPS_LIMIT
    assert L.steps_to_converge(0.1) == 261
    # --help says: --lr 0.003 to 0.22 converges within --max-steps' limit; above about 0.22 it diverges.
    for lr in np.geomspace(0.003, 0.22, 40):
        assert L.steps_to_converge(lr) <= limits.LESSON_STEPS_LIMIT, lr
    assert L.steps_to_converge(0.002) > limits.LESSON_STEPS_LIMIT
    assert limits.LESSON_LR_LIMIT <= L._lr_limit(L.x) < limits.LESSON_LR_LIMIT + 0.005
    assert round(L._lr_limit(L.x), 4) == limits.LESSON_DIVERGES  # what --help says
    assert L.steps_to_converge(0.23) == float("inf")


def test_errors_and_warnings_speak_python_and_point_at_the_caller():
    for call, kind, pattern in [
        (lambda: L.fit_quad(lr=0), ValueError, r"^fit_quad\(lr=0\): lr must be a finite number above 0$"),
        (lambda: L.fit_quad(lr=float("nan")), ValueError, r"^fit_quad\(lr=nan\): lr must be"),
        (lambda: L.fit_quad(max_steps=-1), ValueError, r"^fit_quad\(max_steps=-1\): max_steps must be 0 or more$"),
        (lambda: L.fit_quad(max_steps=2.5), TypeError, r"^fit_quad\(max_steps=2\.5\): max_steps must be a whole"),
        (lambda: L.fit_quad(tol=-1), ValueError, r"^fit_quad\(tol=-1\): tol must be a finite number 0 or more$"),
        (lambda: L.fit_relus(k=0), ValueError, r"^fit_relus\(k=0\): k must be 1 or more$"),
        (lambda: L.fit_relus(steps=-1), ValueError, r"^fit_relus\(steps=-1\): steps must be 0 or more$"),
        (lambda: L.fit_relus(lr=0), ValueError, r"^fit_relus\(lr=0\): lr must be"),
    ]:
        with pytest.raises(kind, match=pattern) as info:
            call()
        assert "--" not in str(info.value)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        L.fit_quad(lr=0.01, max_steps=10)
        L.fit_quad(lr=0.01, max_steps=10, zero_grad=False)
    assert [(w.category, w.filename, w.lineno) for w in caught] == [
        (L.ConvergenceWarning, __file__, line), (L.ConvergenceWarning, __file__, line + 1)]
    first, second = (str(w.message) for w in caught)
    assert first == ("fit_quad(lr=0.01, max_steps=10): not converged, the largest |gradient| is 3 (tol=1e-09); "
                     "lr=0.01 needs 2,695 steps: max_steps=2695 or more")
    assert second.startswith("fit_quad(lr=0.01, max_steps=10, zero_grad=False): not converged")
    assert "--" not in first + second
    with pytest.warns(L.ConvergenceWarning, match=r"at lr=0\.2216 it never converges: this descent needs lr below 0\.222$"):
        L.fit_quad(lr=0.2216, max_steps=100)


def test_printed_lines_have_the_lessons_form(quad, capsys):
    L.fit_quad(log=print)
    lines = capsys.readouterr().out.splitlines()
    assert lines == quad.lines()
    for i, line in enumerate(lines):
        m = LINE.fullmatch(line)
        assert m and int(m.group(1)) == i
    assert lines[0] == "step=0; loss=5.49" and lines[-1] == f"step={quad.steps}; loss=1.69"
    shown = quad.shown_lines()
    assert shown[:10] == lines[:10] and shown[-1] == lines[-1] and len(shown) < 30


# --------------------------------------------------------------------------- the workbook


@pytest.fixture(scope="module")
def quad_xlsx(quad, tmp_path_factory):
    return write_quad_workbook(quad, tmp_path_factory.mktemp("lesson") / "quad.xlsx")


def test_workbook_formulas_are_portable_and_use_the_twins(quad, quad_xlsx):
    cells = read_formula_cells(quad_xlsx)
    used = set()
    for sheet in cells.values():
        for formula, cached in sheet.values():
            assert not formula.startswith("{") and "_xlfn" not in formula  # no array / dynamic formulas
            assert cached is not None
            used |= functions_used(formula)
    assert used <= ALLOWED and {"SUMPRODUCT", "ROWS", "LINEST"} <= used
    descent = cells[DESCENT]
    rows = {r for r, _c in descent}
    assert min(rows) == FIRST_POINT_ROW and max(rows) == FIRST_POINT_ROW + quad.steps  # one row per step, step 0 included
    r = FIRST_POINT_ROW + 3
    abc = f"$B{r + 1}", f"$C{r + 1}", f"$D{r + 1}"
    assert descent[(r, 4)][0] == L.quad_mse_excel(*abc, "pts_x", "pts_y")
    assert descent[(r, 4)][0] == f"SUMPRODUCT(($B{r + 1}*pts_x^2+$C{r + 1}*pts_x+$D{r + 1}-pts_y)^2)/ROWS(pts_x)"
    assert descent[(r, 7)][0] == L.quad_grad_excel("a", *abc, "pts_x", "pts_y")
    assert descent[(r, 1)][0] == f"$B{r}-$H{r}*$B$4"
    assert cells[POINTS][(FIRST_POINT_ROW, 3)][0] == "fit_a*$A6^2+fit_b*$A6+fit_c"


def test_workbook_of_a_run_without_zeroing_sums_the_gradients(tmp_path):
    with pytest.warns(L.ConvergenceWarning):
        fit = L.fit_quad(lr=0.01, max_steps=10, zero_grad=False)
    descent = read_formula_cells(write_quad_workbook(fit, tmp_path / "q.xlsx"))[DESCENT]
    r = FIRST_POINT_ROW + 3  # 0-based: the 4th step's row is r + 1 in A1 terms
    assert descent[(r + 1, 1)][0] == f"$B{r + 1}-$K{r + 1}*$B$4"  # a: minus lr times the summed gradient
    assert descent[(r, 10)][0] == f"$K{r}+$H{r + 1}"  # abc.grad for a: the sum above plus this row's
    assert descent[(FIRST_POINT_ROW, 10)][0] == f"$H{FIRST_POINT_ROW + 1}"
    for i in range(fit.steps + 1):
        for k in range(3):
            assert descent[(FIRST_POINT_ROW + i, 10 + k)][1] == pytest.approx(fit.applied[i, k].item(), abs=1e-12)


@pytest.mark.libreoffice
def test_quad_workbook_verifies_in_libreoffice(quad, quad_xlsx, soffice):
    from titanic_reg.sheets.verify import verify

    report = verify(quad_xlsx)
    assert report.ok, report.summary()
    for i, loss in enumerate(quad.losses.tolist()):  # each step's loss: LibreOffice's = torch's
        row = FIRST_POINT_ROW + 1 + i
        assert abs(report.value(DESCENT, f"E{row}") - loss) <= 1e-9 * max(1.0, abs(loss))
        for col, k in zip("BCD", range(3) if i else ()):  # step 0's a, b, c are numbers, not formulas
            assert report.value(DESCENT, f"{col}{row}") == pytest.approx(quad.params[i, k].item(), abs=1e-9)
    for k in range(3):  # LINEST, live, finds the closed form too
        assert report.value(POINTS, f"K{FIRST_POINT_ROW + 1 + k}") == pytest.approx(quad.closed_form[k].item(), abs=1e-9)
    assert report.value(POINTS, f"I{FIRST_POINT_ROW + 4}") == pytest.approx(quad.loss, abs=1e-12)


# --------------------------------------------------------------------------- ReLUs


def test_a_sum_of_relus_follows_the_curve():
    fit = L.fit_relus()
    slope, intercept = np.polyfit(fit.x.numpy().ravel(), fit.y.numpy().ravel(), 1)
    assert fit.line == pytest.approx((slope, intercept), abs=1e-9)
    assert fit.line_loss > 14  # the best straight line misses the bend entirely
    assert fit.loss < 0.15 * fit.line_loss  # 1.52 against 14.8
    assert fit.loss < 1.1 * float(L.quad_mse(L.closed_form()))  # about as close as the best quadratic
    assert fit.loss == pytest.approx(float(L.mse(fit.predict(fit.x), fit.y)))
    assert fit.k == 6 and ((fit.knots > -2) & (fit.knots < 2)).all()
    assert L.fit_relus().loss == fit.loss  # seeded


# --------------------------------------------------------------------------- sliders


@pytest.mark.parametrize("name", ["interact_quad", "interact_relu", "interact_double_relu"])
def test_interact_without_ipywidgets_says_what_to_install(name, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # as if it were not installed
    with pytest.raises(ImportError, match=re.escape("pip install ipywidgets (in a clone of titanic-reg: pip install -e '.[notebook]')")):
        getattr(L, name)()


@pytest.mark.parametrize("name, sliders", [
    ("interact_quad", {"a": 1.1, "b": 1.1, "c": 1.1}),
    ("interact_relu", {"m": 1.5, "b": 1.5}),
    ("interact_double_relu", {"m1": -1.5, "b1": -1.5, "m2": 1.5, "b2": 1.5}),
])
def test_interact_draws_with_the_lessons_sliders(name, sliders, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    calls = []

    def interact(func, **kwargs):
        calls.append(kwargs)
        func(**kwargs)  # draw once, as the widget does
        return func

    monkeypatch.setitem(sys.modules, "ipywidgets", types.SimpleNamespace(interact=interact))
    try:
        assert getattr(L, name)() is None  # a notebook shows the sliders and no function repr under them
        assert calls == [sliders]
        assert plt.gca().lines  # something was drawn
    finally:
        plt.close("all")


def test_the_lessons_functions_have_the_lessons_signatures():
    def sig(fn):
        return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]

    empty = inspect.Parameter.empty
    assert sig(L.plot_function) == [("f", empty), ("title", None), ("min", -2.1), ("max", 2.1), ("color", "r"),
                                    ("ylim", None)]
    assert sig(L.plot_quad) == [("a", empty), ("b", empty), ("c", empty)]
    assert sig(L.plot_relu) == [("m", empty), ("b", empty)]
    assert sig(L.plot_double_relu) == [("m1", empty), ("b1", empty), ("m2", empty), ("b2", empty)]
    assert sig(L.interact_quad) == [("a", 1.1), ("b", 1.1), ("c", 1.1)]
    assert sig(L.interact_relu) == [("m", 1.5), ("b", 1.5)]
    assert sig(L.interact_double_relu) == [("m1", -1.5), ("b1", -1.5), ("m2", 1.5), ("b2", 1.5)]
    assert sig(L.save_quad_plot) == [("result", empty), ("path", empty)]
    assert sig(L.save_relu_plot) == [("path", empty)]
    assert sig(L.save_relu_fit_plot) == [("path", empty), ("result", None)]
    assert sig(L.fit_quad)[-1] == ("zero_grad", True)
    x = torch.linspace(-2, 2, 9, dtype=torch.float64)[:, None]
    assert torch.equal(L.rectified_linear2(1.5, -0.5, x), L.rectified_linear(1.5, -0.5, x))
    assert L.quad_mae([3, 2, 1]).item() == pytest.approx(L.mae(L.f(L.x), L.y).item())


def _python(code, **env):
    proc = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "MPLBACKEND": "Agg", **env})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.slow
def test_import_star_gives_what_the_lesson_takes_from_fastai():
    out = _python("""
import functools, sys
assert 'matplotlib' not in sys.modules
from titanic_reg.lesson import *
import matplotlib.pyplot, numpy, torch as torch_module, titanic_reg.lesson as L
assert plt is matplotlib.pyplot and np is numpy and torch is torch_module and tensor is torch_module.tensor
assert partial is functools.partial and F is torch_module.nn.functional
assert x is L.x and y is L.y and plot_quad is L.plot_quad
for name in ('f', 'quad', 'mk_quad', 'noise', 'add_noise', 'plot_function', 'mae', 'mse', 'quad_mae', 'quad_mse',
             'rectified_linear', 'rectified_linear2', 'double_relu', 'plot_relu', 'plot_double_relu',
             'interact_quad', 'interact_relu', 'interact_double_relu', 'fit_quad', 'fit_relus',
             'save_quad_plot', 'save_relu_plot', 'save_relu_fit_plot'):
    assert callable(globals()[name]), name
for name in ('dataclass', 'field', 'Callable', 'annotations', 'math', 'operator', 'warnings', 'mplconfig',
             'TrainingError', 'DTYPE', 'quad_excel', '_points'):
    assert name not in globals(), name
print(sorted(set(L.__all__) - set(globals())))
""")
    assert out.strip() == "[]"
    assert set(L.__all__) <= set(dir(L))


@pytest.mark.slow
def test_the_plotting_functions_draw_and_a_notebook_prints_nothing_under_them():
    # 'single' mode compiles a line as a notebook cell's last line runs: its value is printed unless None.
    out = _python("""
import matplotlib.pyplot as plt
from titanic_reg.lesson import *
for cell, ylim, lines, points in [("plot_function(f, '$3x^2 + 2x + 1$')", None, 1, 0),
                                   ("plot_quad(1.1, 1.1, 1.1)", (-3, 13), 1, 20),
                                   ("plot_relu(1.5, 1.5)", (-1, 4), 1, 0),
                                   ("plot_double_relu(-1.5, -1.5, 1.5, 1.5)", (-1, 6), 1, 0)]:
    plt.figure()
    exec(compile(cell, "<cell>", "single"))
    ax = plt.gca()
    assert len(ax.lines) == lines and sum(len(c.get_offsets()) for c in ax.collections) == points, cell
    assert ylim is None or tuple(ax.get_ylim()) == ylim, cell
    plt.close("all")
print(repr(plot_function(f)), plt.gca().get_title() == '')
plot_quad(3, 2, 1)
print(plt.gca().get_title())
""")
    assert "<Axes" not in out and "<matplotlib" not in out
    assert out.splitlines() == ["None True", f"MAE: {L.mae(L.f(L.x), L.y).item():.2f}"]  # f's own MAE: 1.48


def _figures(monkeypatch):
    figures = []
    make = L._figure

    def keep(*args, **kwargs):
        figures.append(make(*args, **kwargs))
        return figures[-1]

    monkeypatch.setattr(L, "_figure", keep)
    return figures


def test_every_picture_has_its_axes_labelled(monkeypatch, tmp_path, quad):
    figures = _figures(monkeypatch)
    L.save_quad_plot(quad, tmp_path / "quad.png")
    L.save_relu_plot(tmp_path / "relu.png")
    L.save_relu_fit_plot(tmp_path / "relu_fit.png")
    labels = [[(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes] for fig in figures]
    assert labels == [[("x", "y"), ("step (0 to 10, then a log scale)", "MSE")],
                      [("x", "max(0, m·x + b)"), ("x", "max(0, m1·x + b1) + max(0, m2·x + b2)")],
                      [("x", "y")]]
    for name in ("quad.png", "relu.png", "relu_fit.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG


def test_the_quad_picture_marks_the_rise_without_zeroing(monkeypatch, tmp_path):
    figures = _figures(monkeypatch)
    with pytest.warns(L.ConvergenceWarning):
        fit = L.fit_quad(lr=0.01, max_steps=10, zero_grad=False)
    L.save_quad_plot(fit, tmp_path / "quad.png")
    fig = figures[0]
    assert "gradients never zeroed" in fig.get_suptitle()
    loss_ax = fig.axes[1]
    assert loss_ax.get_xlabel() == "step"  # a short run: steps as they are
    assert "step 6: the loss rises again" in [t.get_text() for t in loss_ax.get_legend().get_texts()]


@pytest.mark.slow
def test_nothing_else_imports_ipywidgets_or_loads_torch_for_help():
    code = ("import sys, cli; assert not {'torch', 'matplotlib'} & set(sys.modules); "
            "import titanic_reg.lesson, titanic_reg.sheets.lesson_sheets; assert 'ipywidgets' not in sys.modules; "
            "assert 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# --------------------------------------------------------------------------- the commands


def test_lesson_quad_writes_the_picture_and_the_workbook(quad, tmp_path):
    out = tmp_path / "lesson"
    result = run("lesson", "quad", "--out", out)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    steps = [line for line in lines if line.startswith("step=")]
    assert steps == quad.shown_lines()
    assert all(LINE.fullmatch(line) for line in steps)
    assert f"a={quad.a:.6f} b={quad.b:.6f} c={quad.c:.6f}" in result.stdout
    assert f"converged after {quad.steps} steps" in result.stdout
    assert (out / "quad.png").read_bytes()[:8] == PNG
    assert (out / "quad.xlsx").read_bytes()[:2] == b"PK"
    assert sorted(p.name for p in out.iterdir()) == ["quad.png", "quad.xlsx"]  # no temporary files left


def test_lesson_quad_warns_when_not_converged(tmp_path):
    result = run("lesson", "quad", "--out", tmp_path, "--lr", "0.01", "--max-steps", "10")
    assert result.exit_code == 0
    assert result.stderr == ("warning: not converged after 10 steps (largest |gradient| 3): --lr 0.01 needs "
                             "2,695 steps; raise --max-steps to 2700 (at most 10,000)\n")  # no Python warning
    with pytest.warns(L.ConvergenceWarning):
        assert result.stdout.splitlines()[:11] == [line for line in L.fit_quad(0.01, 10).lines()]
    result = run("lesson", "quad", "--out", tmp_path, "--lr", "0.01", "--max-steps", "2700")  # as suggested
    assert result.exit_code == 0 and not result.stderr
    assert "converged after 2695 steps (lr 0.01)" in result.stdout
    # Just above the limit the loss grows, too slowly to overflow in 50 steps: the warning says why.
    result = run("lesson", "quad", "--out", tmp_path, "--lr", "0.2216", "--max-steps", "50")
    assert result.exit_code == 0
    assert result.stderr.endswith(": --lr 0.2216 is too large, this descent diverges above 0.2215\n"), result.stderr


def test_lesson_quad_at_the_lessons_lr_converges_with_the_defaults(tmp_path):
    result = run("lesson", "quad", "--out", tmp_path, "--lr", "0.01")
    assert result.exit_code == 0 and not result.stderr, result.output
    assert "converged after 2695 steps (lr 0.01)" in result.stdout
    help_text = " ".join(run("lesson", "quad", "--help").stdout.split())
    assert "0.1 converges in 261 steps, the lesson's 0.01 in 2,695" in help_text
    assert "at most 10,000 (--lr 0.003 to 0.22 converges within it)" in help_text


def test_lesson_quad_max_steps_limit(tmp_path):
    for steps in ("3000", "10000"):
        assert run("lesson", "quad", "--out", tmp_path, "--max-steps", steps).exit_code == 0
    result = run("lesson", "quad", "--out", tmp_path, "--max-steps", "10001")
    assert result.exit_code == 2 and "10001 is not in the range 1<=x<=10000" in result.stderr
    result = run("lesson", "quad", "--out", tmp_path, "--lr", "0.001")
    assert result.exit_code == 0
    assert result.stderr == ("warning: not converged after 3,000 steps (largest |gradient| 0.095): --lr 0.001 needs "
                             "27,042 steps, more than --max-steps takes (10,000); raise --lr to 0.003 or more "
                             "(below 0.22)\n")


def test_lesson_quad_without_zeroing_reports_the_rise(tmp_path):
    result = run("lesson", "quad", "--out", tmp_path, "--lr", "0.01", "--max-steps", "10", "--no-zero-grad")
    assert result.exit_code == 0, result.output
    steps = [line for line in result.stdout.splitlines() if line.startswith("step=")]
    assert [float(line.split("loss=")[1]) for line in steps] == [round(v, 2) for v in ACCUMULATING_LOSSES]
    assert ("the loss rose again at step 6 (2.32 to 2.65): without abc.grad.zero_(), each step used the sum of "
            "every gradient so far") in result.stdout
    assert result.stderr == ("warning: not converged after 10 steps (largest |gradient| 6.5): the gradients were "
                             "never zeroed (--no-zero-grad); zeroed, --lr 0.01 converges in 2,695 steps\n")
    assert "--no-zero-grad" in run("lesson", "quad", "--help").stdout


@pytest.mark.libreoffice
def test_lesson_quad_verify(tmp_path, soffice):
    result = run("lesson", "quad", "--out", tmp_path, "--verify")
    assert result.exit_code == 0, result.output
    assert "OK: every cached value matches the recalculation" in result.stdout


@pytest.mark.libreoffice
def test_a_3000_step_run_without_zeroing_writes_and_verifies(tmp_path, soffice):
    # The default --max-steps, every one a Descent row, with the summed gradients' columns too.
    result = run("lesson", "quad", "--out", tmp_path, "--lr", "0.01", "--no-zero-grad", "--verify")
    assert result.exit_code == 0, result.output
    assert "not converged after 3,000 steps" in result.stderr
    assert "OK: every cached value matches the recalculation" in result.stdout
    rows = {r for r, _c in read_formula_cells(tmp_path / "quad.xlsx")[DESCENT]}
    assert max(rows) == FIRST_POINT_ROW + 3000


def test_lesson_quad_errors_are_one_line(tmp_path):
    result = run("lesson", "quad", "--out", tmp_path, "--lr", "1")
    assert result.exit_code == 1
    assert re.fullmatch(r"error: --lr 1 is too large: the loss became inf at step \d+ "
                        r"\(this descent diverges above --lr 0\.222\)", one_line_error(result))
    assert "fit_quad" not in result.stderr
    assert not list(tmp_path.iterdir())
    (tmp_path / "file").write_text("x")
    result = run("lesson", "quad", "--out", tmp_path / "file")
    assert result.exit_code == 2 and "is a file, not a folder" in result.stderr
    result = run("lesson", "quad", "--out", tmp_path, "--lr", "0")
    assert result.exit_code == 2 and "not a finite number above 0" in result.stderr


def test_lesson_relu_writes_both_pictures(tmp_path):
    result = run("lesson", "relu", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert re.search(r"sum of 6 ReLUs: MSE 1\.\d{4}; best straight line: MSE 14\.\d{4}", result.stdout)
    for name in ("relu.png", "relu_fit.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG


def test_zero_grad_takes_only_true_or_false():
    with pytest.raises(TypeError, match=r"^fit_quad\(zero_grad='no'\): zero_grad must be True or False$"):
        L.fit_quad(zero_grad="no")


def test_lesson_quad_start_sets_the_first_a_b_c_everywhere(tmp_path):
    # The lesson's own loop starts from 1.1, 1.1, 1.1; --start runs our MSE variant from there.
    result = run("lesson", "quad", "--out", tmp_path, "--start", "1.1", "1.1", "1.1", "--lr", "0.01",
                 "--max-steps", "10", "--no-zero-grad")
    assert result.exit_code == 0, result.output
    with pytest.warns(L.ConvergenceWarning):
        fit = L.fit_quad(lr=0.01, max_steps=10, zero_grad=False, start=(1.1, 1.1, 1.1))
    steps = [line for line in result.stdout.splitlines() if line.startswith("step=")]
    assert steps == fit.lines() and steps[0] == "step=0; loss=10.14"
    assert "the loss rose again at step 6 (2.14 to 3.21)" in result.stdout
    # Zeroed, from this start (not the default's 2,695): the suggestion is for the run asked for.
    need = L.fit_quad(lr=0.01, start=(1.1, 1.1, 1.1)).steps
    assert need == L.steps_to_converge(0.01, start=(1.1, 1.1, 1.1)) == 2673
    assert result.stderr.endswith(f"zeroed, --lr 0.01 converges in {need:,} steps\n"), result.stderr
    book = openpyxl.load_workbook(tmp_path / "quad.xlsx")
    descent = book[DESCENT]
    assert [descent.cell(FIRST_POINT_ROW + 1, c).value for c in (2, 3, 4)] == [1.1, 1.1, 1.1]
    assert "Step 0 starts at a = b = c = 1.1;" in descent["A2"].value
    points = [c.value for row in book[POINTS].iter_rows() for c in row if isinstance(c.value, str)]
    assert any(text.startswith("Gradient descent from a = b = c = 1.1, lr 0.01") for text in points)


def test_lesson_quad_start_defaults_to_the_modules_and_is_checked(tmp_path):
    assert limits.LESSON_START == L.START
    result = run("lesson", "quad", "--out", tmp_path, "--start", "-1", "0", "2.5", "--max-steps", "5")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == L.step_line(0, L.quad_mse(torch.tensor([-1.0, 0.0, 2.5])))
    for bad in (["1", "2", "nan"], ["1", "2", "1e7"], ["1", "inf", "2"]):
        result = run("lesson", "quad", "--out", tmp_path / "bad", "--start", *bad)
        assert result.exit_code == 2, bad
        assert "Invalid value for '--start'" in result.stderr and "must be finite numbers from -1e+06 to 1e+06" \
            in result.stderr, result.stderr
        assert "Traceback" not in result.output and not (tmp_path / "bad").exists()
    result = run("lesson", "quad", "--out", tmp_path, "--start", "1", "2")
    assert result.exit_code == 2 and "'--start' requires 3 arguments" in result.stderr


@pytest.mark.parametrize("lr", ["1e-320", "1e-17"])
def test_a_learning_rate_lost_in_rounding_is_called_too_small_not_too_large(tmp_path, lr):
    result = CliRunner().invoke(cli.main, ["lesson", "quad", "--lr", lr, "--max-steps", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warning) == 1 and "is too small: each step is (nearly) lost in rounding" in warning[0], result.stderr
    assert "too large" not in result.stderr
    with pytest.warns(L.ConvergenceWarning, match=r"lr=1e-17 is too small: each step is \(nearly\) lost"):
        L.fit_quad(lr=1e-17, max_steps=3)
