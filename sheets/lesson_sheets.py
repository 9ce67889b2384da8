"""write_quad_workbook(): the lesson's quadratic and its gradient descent as a live workbook.

Two sheets:

* Points: the 20 noisy points (raw), the prediction a*x^2 + b*x + c and its squared
  error by formula from the fitted a, b, c (named fit_a, fit_b, fit_c), the MSE, and
  a, b, c three ways: gradient descent, torch's least squares, Excel's LINEST.
* Descent: one row per gradient-descent step. Row 0 holds the start (1.5, 1.5, 1.5 by default);
  every later row is `previous - lr * gradient of the previous row`, the loss and the
  three derivatives are formulas over all points, beside torch's loss at that step.
  For a run that never zeroed the gradients (fit_quad(zero_grad=False), the lesson's
  loop with the MSE), three more columns hold abc.grad as it was used: the sum of the
  gradients so far, `above + this row's gradient`; each update subtracts lr times it.

Every formula comes from the `..._excel` twins in titanic_reg.lesson and carries its
cached value from the same torch run, so `titanic-reg verify` checks each step.
Functions used: SUMPRODUCT, ROWS, AVERAGE, INDEX, LINEST (sheets.functions.ALLOWED).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from titanic_reg import lesson as L
from titanic_reg.losses import MSE

from .layout import Writer, close_workbook, col, new_workbook, ref, span
from .style import LEGEND, Styles

POINTS, DESCENT = "Points", "Descent"
HEADER = 4  # 0-based row of the column headers on both sheets
FIRST_POINT_ROW = 5  # 0-based row of the first point / of step 0
X_COL, X2_COL, Y_COL, PRED_COL, SQ_COL = range(5)
CMP_COL = 6  # the a, b, c comparison block on the Points sheet starts in column G
# Descent columns
STEP, A, B, C, LOSS, TORCH, DIFF, GA, GB, GC, SA, SB, SC = range(13)  # SA..SC: zero_grad=False only
LR_CELL = "$B$4"


def write_quad_workbook(result, path) -> Path:
    """Write the workbook of a lesson.fit_quad() result to path (.xlsx)."""
    path = Path(path)
    wb = new_workbook(path)
    # A fixed timestamp: the same run gives the same bytes.
    wb.set_properties({"title": "titanic-reg: the lesson's quadratic by gradient descent",
                       "created": dt.datetime(2000, 1, 1)})
    styles = Styles(wb)
    points = Writer(wb, wb.add_worksheet(POINTS), styles)
    descent = Writer(wb, wb.add_worksheet(DESCENT), styles)
    for w in (points, descent):
        w.ws.set_landscape()
        w.ws.fit_to_pages(1, 0)  # printed one page wide, as long as it needs
        w.ws.repeat_rows(HEADER)
    n = len(result.x)
    last = FIRST_POINT_ROW + n - 1
    wb.define_name("pts_x", f"={POINTS}!{span(X_COL, X_COL, FIRST_POINT_ROW, last)}")
    wb.define_name("pts_y", f"={POINTS}!{span(Y_COL, Y_COL, FIRST_POINT_ROW, last)}")
    wb.define_name("pts_xx", f"={POINTS}!{span(X_COL, X2_COL, FIRST_POINT_ROW, last)}")  # x, x^2 for LINEST
    _write_points(points, result)
    _write_descent(descent, result)
    points.ws.activate()
    close_workbook(wb)
    return path


def _write_points(w: Writer, result) -> None:
    ws, s = w.ws, w.s
    x = result.x.reshape(-1)
    y = result.y.reshape(-1)
    n = len(x)
    last = FIRST_POINT_ROW + n - 1
    ws.write_string(0, 0, "Points: the lesson's noisy quadratic and the a, b, c gradient descent found",
                    s.title)
    ws.write_string(1, 0, "x, y: np.random.seed(42); x = torch.linspace(-2, 2, steps=20); "
                          "y = add_noise(f(x), 0.15, 1.5) with f(x) = 3x² + 2x + 1.", s.note)
    ws.write_string(2, 0, "The prediction a·x² + b·x + c and its squared error are formulas of the fitted "
                          "a, b, c (named fit_a, fit_b, fit_c); change them and the MSE follows.", s.note)
    w.headers(HEADER, 0, ["x", "x²", "y", "prediction a·x²+b·x+c", "squared error"], [10, 10, 10, 14, 12])

    pred = L.quad(result.a, result.b, result.c, x)
    sq = L.squared_error(pred, y)
    for i in range(n):
        r = FIRST_POINT_ROW + i
        xr = ref(X_COL, r)
        w.raw(r, X_COL, float(x[i]), "feature")
        w.formula(r, X2_COL, f"{xr}^2", float(x[i]) ** 2, "feature")
        w.raw(r, Y_COL, float(y[i]), "feature")
        w.formula(r, PRED_COL, L.quad_excel("fit_a", "fit_b", "fit_c", xr), float(pred[i]), "pred")
        w.formula(r, SQ_COL, MSE.cell(ref(PRED_COL, r), ref(Y_COL, r)), float(sq[i]), "loss")
    r = last + 2
    ws.write_string(r, PRED_COL - 1, "MSE", s(None, None, bold=True))
    w.formula(r, SQ_COL, MSE.average_excel(span(SQ_COL, SQ_COL, FIRST_POINT_ROW, last)), float(L.mse(pred, y)), "mse")

    # a, b, c three ways.
    c0 = CMP_COL
    w.headers(HEADER, c0, ["", "true f", "gradient descent (torch)", "least squares (torch lstsq)",
                           "LINEST (live)", "descent − least squares", "LINEST − least squares"],
              [8, 12, 14, 14, 14, 12, 12])
    gd = [result.a, result.b, result.c]
    cf = result.closed_form.tolist()
    true = (3.0, 2.0, 1.0)
    for k, name in enumerate(L.PARAMS):
        r = FIRST_POINT_ROW + k
        ws.write_string(r, c0, name, s(None, None, bold=True))
        ws.write_number(r, c0 + 1, true[k], s(None, "param"))
        w.param(r, c0 + 2, gd[k])
        w.wb.define_name(f"fit_{name}", f"={POINTS}!${col(c0 + 2)}${r + 1}")
        w.reported(r, c0 + 3, cf[k], "param")
        # LINEST(y, (x, x²)) lists the coefficients last column first: x², x, constant = a, b, c.
        w.formula(r, c0 + 4, f"INDEX(LINEST(pts_y,pts_xx),1,{k + 1})", cf[k], "param")
        w.formula(r, c0 + 5, f"{ref(c0 + 2, r)}-{ref(c0 + 3, r)}", gd[k] - cf[k], "diff")
        w.formula(r, c0 + 6, f"{ref(c0 + 4, r)}-{ref(c0 + 3, r)}", 0.0, "diff")
    r = FIRST_POINT_ROW + 3
    ws.write_string(r, c0, "MSE", s(None, None, bold=True))
    w.reported(r, c0 + 1, float(L.quad_mse(true, result.x, result.y)), "mse")
    abc = [ref(c0 + 2, FIRST_POINT_ROW + k) for k in range(3)]
    w.formula(r, c0 + 2, L.quad_mse_excel(*abc, "pts_x", "pts_y"), result.loss, "mse")
    w.reported(r, c0 + 3, result.closed_form_loss, "mse")
    lin = [ref(c0 + 4, FIRST_POINT_ROW + k) for k in range(3)]
    w.formula(r, c0 + 4, L.quad_mse_excel(*lin, "pts_x", "pts_y"), result.closed_form_loss, "mse")
    w.formula(r, c0 + 5, f"{ref(c0 + 2, r)}-{ref(c0 + 3, r)}", result.loss - result.closed_form_loss, "diff")
    w.formula(r, c0 + 6, f"{ref(c0 + 4, r)}-{ref(c0 + 3, r)}", 0.0, "diff")

    r += 2
    how = (f"converged after {result.steps} steps: every |gradient| < {result.tol:g}" if result.converged
           else f"NOT converged: stopped at the limit of {result.steps} steps "
                f"(largest |gradient| {result.max_grad:.2g}, above {result.tol:g})")
    grads = "" if result.zero_grad else " with the gradients never zeroed (as in the lesson's loop)"
    ws.write_string(r, c0, f"Gradient descent from {_start(result)}, lr {result.lr:g}{grads}, {how}; "
                           f"every step is on the {DESCENT} sheet.", s.note)
    ws.write_string(r + 1, c0, "The noise allows no better: least squares is the smallest MSE any a, b, c "
                               "reach on these 20 points; the true f's MSE is larger.", s.note)
    r += 3
    ws.write_string(r, c0, "Colours", s(None, None, bold=True))
    for k, (kind, (_colour, meaning)) in enumerate(LEGEND.items()):
        ws.write_string(r + 1 + k, c0, kind, s(kind))
        ws.write_string(r + 1 + k, c0 + 1, meaning, s())

    chart = w.wb.add_chart({"type": "scatter"})
    chart.add_series({"name": "points", "categories": [POINTS, FIRST_POINT_ROW, X_COL, last, X_COL],
                      "values": [POINTS, FIRST_POINT_ROW, Y_COL, last, Y_COL], "marker": {"type": "circle"}})
    chart.add_series({"name": "fitted a·x²+b·x+c", "categories": [POINTS, FIRST_POINT_ROW, X_COL, last, X_COL],
                      "values": [POINTS, FIRST_POINT_ROW, PRED_COL, last, PRED_COL],
                      "line": {"color": "#C00000"}, "marker": {"type": "none"}})
    chart.set_title({"name": "The points and the fitted quadratic"})
    chart.set_x_axis({"name": "x", "min": -2, "max": 2})
    chart.set_y_axis({"name": "y"})
    chart.set_size({"width": 560, "height": 320})
    ws.insert_chart(last + 4, 0, chart)
    ws.freeze_panes(FIRST_POINT_ROW, 0)


def _start(result) -> str:
    a, b, c = (f"{v:g}" for v in result.params[0].tolist())
    return f"a = b = c = {a}" if a == b == c else f"a = {a}, b = {b}, c = {c}"


def _write_descent(w: Writer, result) -> None:
    ws, s = w.ws, w.s
    params = result.params.tolist()
    grads = result.grads.tolist()
    applied = result.applied.tolist()
    losses = result.losses.tolist()
    rows = len(losses)
    grad_fmt = s("formula", None, num_format="0.000000E+00")
    ws.write_string(0, 0, "Descent: the lesson's gradient descent on a, b, c, one row per step, by formula",
                    s.title)
    summed = not result.zero_grad
    if summed:
        ws.write_string(1, 0, "The lesson's loop, with the MSE: abc.grad is never zeroed, so backward() adds each "
                              f"step's gradient to it. Step 0 starts at {_start(result)}; each later a is the a "
                              "above − lr × (abc.grad for a above: the sum of d loss/d a over every step so far), "
                              "b and c alike. The loss and its derivatives are formulas over all points "
                              "(pts_x, pts_y on Points); torch's loss is autograd's at the same step.", s.note)
    else:
        ws.write_string(1, 0, f"Step 0 starts at {_start(result)}; each later a is the a above − lr × (d loss/d a "
                              "above), b and c alike. The loss and its derivatives are formulas over all points "
                              "(pts_x, pts_y on Points); torch's loss is autograd's at the same step.", s.note)
    stop = (f"converged after {result.steps} steps" if result.converged
            else f"not converged within the {result.steps}-step limit")
    ws.write_string(2, 0, f"Stopping rule: stop once |d loss/d a|, |d loss/d b| and |d loss/d c| are all below "
                          f"{result.tol:g} (a, b, c are then within about {result.tol / 0.76:.1g} of least "
                          f"squares), or after {result.max_steps} steps. This run: {stop}.", s.note)
    ws.write_string(3, 0, "lr", s(None, None, bold=True))
    w.reported(3, 1, result.lr)
    names = ["step", "a", "b", "c", "loss (workbook)", "loss (torch)", "difference",
             "d loss / d a", "d loss / d b", "d loss / d c"]
    if summed:
        names += [f"abc.grad for {name}: the sum so far" for name in L.PARAMS]
    w.headers(HEADER, 0, names, [6, 11, 11, 11, 13, 13, 10, 14])
    used = SA if summed else GA  # the gradient each update subtracts
    for i in range(rows):
        r = FIRST_POINT_ROW + i
        abc = [ref(A, r), ref(B, r), ref(C, r)]
        if i == 0:
            ws.write_number(r, STEP, 0, s())
            for k in range(3):
                w.param(r, A + k, params[0][k])
        else:
            w.formula(r, STEP, f"{ref(STEP, r - 1)}+1", i, "int")
            for k in range(3):
                w.formula(r, A + k, L.descent_step_excel(ref(A + k, r - 1), ref(used + k, r - 1), LR_CELL),
                          params[i][k], "param")
        w.formula(r, LOSS, L.quad_mse_excel(*abc, "pts_x", "pts_y"), losses[i], "mse")
        w.reported(r, TORCH, losses[i], "mse")
        w.formula(r, DIFF, f"{ref(LOSS, r)}-{ref(TORCH, r)}", 0.0, "diff")
        for k, name in enumerate(L.PARAMS):
            # Scientific: the gradients shrink to 1e-9, which fixed decimals show as 0.
            ws.write_formula(r, GA + k, "=" + L.quad_grad_excel(name, *abc, "pts_x", "pts_y"), grad_fmt,
                             grads[i][k])
            if summed:
                total = ref(GA + k, r) if i == 0 else L.grad_sum_excel(ref(SA + k, r - 1), ref(GA + k, r))
                ws.write_formula(r, SA + k, "=" + total, grad_fmt, applied[i][k])
    ws.freeze_panes(FIRST_POINT_ROW, 1)

    last = FIRST_POINT_ROW + rows - 1
    chart = w.wb.add_chart({"type": "scatter", "subtype": "straight"})
    chart.add_series({"name": "workbook", "categories": [DESCENT, FIRST_POINT_ROW, STEP, last, STEP],
                      "values": [DESCENT, FIRST_POINT_ROW, LOSS, last, LOSS]})
    chart.add_series({"name": "torch", "categories": [DESCENT, FIRST_POINT_ROW, STEP, last, STEP],
                      "values": [DESCENT, FIRST_POINT_ROW, TORCH, last, TORCH], "line": {"dash_type": "dash"}})
    chart.set_title({"name": "MSE by step of gradient descent"})
    chart.set_x_axis({"name": "step", "min": 0, "max": max(rows - 1, 1)})
    chart.set_y_axis({"name": "MSE"})
    chart.set_size({"width": 560, "height": 320})
    ws.insert_chart(HEADER, (SC if summed else GC) + 2, chart)
