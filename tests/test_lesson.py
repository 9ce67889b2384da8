"""The lesson notebook's first half: titanic_reg/lesson.py, sheets/lesson_sheets.py, `titanic-reg lesson`."""
from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import cli
from sheets.functions import ALLOWED, functions_used
from sheets.lesson_sheets import DESCENT, POINTS, TOP, write_quad_workbook
from sheets.verify import read_formula_cells
from titanic_reg import lesson as L

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
    for i in range(quad.steps):
        expected = L.descent_step(quad.params[i], quad.grads[i], quad.lr)
        assert torch.equal(quad.params[i + 1], expected)
    for p, g, loss in zip(quad.params, quad.grads, quad.losses):
        torch.testing.assert_close(L.quad_grad(p), g, rtol=0, atol=1e-12)  # the analytic twin
        assert L.quad_mse(p).item() == loss.item()
    assert (quad.losses[1:] <= quad.losses[:-1] + 1e-15).all()  # down every step, up to rounding


def test_the_lessons_ten_steps_at_lr_0_01():
    short = L.fit_quad(lr=0.01, max_steps=10)
    assert not short.converged and short.steps == 10 and len(short.lines()) == 11
    assert (short.losses[1:] < short.losses[:-1]).all()


def test_a_diverging_lr_names_the_step():
    with pytest.raises(L.TrainingError, match=r"at step \d+: lr 1 is too large"):
        L.fit_quad(lr=1.0)


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
    assert min(rows) == TOP and max(rows) == TOP + quad.steps  # one row per step, step 0 included
    r = TOP + 3
    abc = f"$B{r + 1}", f"$C{r + 1}", f"$D{r + 1}"
    assert descent[(r, 4)][0] == L.quad_mse_excel(*abc, "pts_x", "pts_y")
    assert descent[(r, 4)][0] == f"SUMPRODUCT(($B{r + 1}*pts_x^2+$C{r + 1}*pts_x+$D{r + 1}-pts_y)^2)/ROWS(pts_x)"
    assert descent[(r, 7)][0] == L.quad_grad_excel("a", *abc, "pts_x", "pts_y")
    assert descent[(r, 1)][0] == f"$B{r}-$H{r}*$B$4"
    assert cells[POINTS][(TOP, 3)][0] == "fit_a*$A6^2+fit_b*$A6+fit_c"


@pytest.mark.libreoffice
def test_quad_workbook_verifies_in_libreoffice(quad, quad_xlsx, soffice):
    from sheets.verify import verify

    report = verify(quad_xlsx)
    assert report.ok, report.summary()
    for i, loss in enumerate(quad.losses.tolist()):  # each step's loss: LibreOffice's = torch's
        row = TOP + 1 + i
        assert abs(report.value(DESCENT, f"E{row}") - loss) <= 1e-9 * max(1.0, abs(loss))
        for col, k in zip("BCD", range(3) if i else ()):  # step 0's a, b, c are numbers, not formulas
            assert report.value(DESCENT, f"{col}{row}") == pytest.approx(quad.params[i, k].item(), abs=1e-9)
    for k in range(3):  # LINEST, live, finds the closed form too
        assert report.value(POINTS, f"K{TOP + 1 + k}") == pytest.approx(quad.closed_form[k].item(), abs=1e-9)
    assert report.value(POINTS, f"I{TOP + 4}") == pytest.approx(quad.loss, abs=1e-12)


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
    with pytest.raises(ImportError, match=re.escape("pip install 'titanic-reg[notebook]'")):
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
        getattr(L, name)()
        assert calls == [sliders]
        assert plt.gca().lines  # something was drawn
    finally:
        plt.close("all")


def test_nothing_else_imports_ipywidgets_or_loads_torch_for_help():
    code = ("import sys, cli; assert not {'torch', 'matplotlib'} & set(sys.modules); "
            "import titanic_reg.lesson, sheets.lesson_sheets; assert 'ipywidgets' not in sys.modules; "
            "assert 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# --------------------------------------------------------------------------- the commands


def test_cli_defaults_mirror_the_module():
    assert (cli.LESSON_LR, cli.LESSON_MAX_STEPS) == (L.LR, L.MAX_STEPS)


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
    assert "warning: not converged after 10 steps" in result.stderr
    assert result.stdout.splitlines()[:11] == [line for line in L.fit_quad(0.01, 10).lines()]


@pytest.mark.libreoffice
def test_lesson_quad_verify(tmp_path, soffice):
    result = run("lesson", "quad", "--out", tmp_path, "--verify")
    assert result.exit_code == 0, result.output
    assert "OK: every cached value matches the recalculation" in result.stdout


def test_lesson_quad_errors_are_one_line(tmp_path):
    result = run("lesson", "quad", "--out", tmp_path, "--lr", "1")
    assert result.exit_code == 1
    assert "is too large" in one_line_error(result)
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
