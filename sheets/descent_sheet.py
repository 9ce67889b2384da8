"""Descent sheets: plain gradient descent, one row per step, every number by formula."""
from __future__ import annotations

from titanic_reg.models import batch_grad_excel, batch_mse_excel

from .layout import Writer, col, ref, row_span

TOP = 5  # 0-based row of step 0
FIRST_PARAM = 4  # step, loss, torch loss, difference, then the parameters


def sheet_name(model) -> str:
    return f"Descent{model.sheet}"


def write_descent(w: Writer, result, model) -> None:
    ws, s = w.ws, w.s
    d = result.descent[model.name]
    steps = len(d.losses) - 1
    units, p = model.units, len(result.features)
    first_grad = FIRST_PARAM + units * p
    ws.write_string(0, 0, f"{sheet_name(model)}: plain gradient descent on the {model.title} model, "
                          "by formula", s.title)
    ws.write_string(1, 0, "Each row: w(next) = w - lr x gradient, with the gradient of the training MSE "
                          "computed by formula (the analytic gradient torch's autograd also finds): "
                          "2/n x X'(pred - y), one array formula per unit.", s.note)
    ws.write_string(2, 0, "Copy the last row and paste it below to take more steps in the spreadsheet itself. "
                          "Torch's loss is recorded for the steps shown only.", s.note)
    ws.write_string(3, 0, "lr", s(None, None, bold=True))
    w.reported(3, 1, d.lr)
    lr = f"${col(1)}$4"  # absolute, so a copied row still finds it
    names = []
    for k in range(units):
        names += [f"{model.weights[k]} {f}" for f in result.features]  # wraps at the space
    headers = ["step", "loss (workbook)", "loss (torch)", "difference"] + names + [f"d {n}" for n in names]
    w.headers(TOP - 1, 0, headers, [6, 13, 13, 10, 11])
    ws.set_column(first_grad, first_grad + units * p - 1, 11)
    X, y = "train_X", "train_y"
    params, grads, losses = d.params.numpy(), d.grads.numpy(), d.losses.numpy()
    for i in range(steps + 1):
        r = TOP + i
        unit_rows = [row_span(FIRST_PARAM + k * p, FIRST_PARAM + (k + 1) * p - 1, r) for k in range(units)]
        if i == 0:
            ws.write_number(r, 0, 0, s())
        else:
            w.formula(r, 0, f"{ref(0, r - 1)}+1", i, "int")
        ws.write_array_formula(r, 1, r, 1, "{=" + batch_mse_excel(model, X, y, unit_rows) + "}",
                               s("formula", "mse"), float(losses[i]))
        w.reported(r, 2, float(losses[i]), "mse")
        w.formula(r, 3, f"{ref(1, r)}-{ref(2, r)}", 0.0, "diff")
        for k in range(units):
            for j in range(p):
                c = FIRST_PARAM + k * p + j
                g = first_grad + k * p + j
                if i == 0:
                    w.param(r, c, float(params[0, k, j]))
                else:
                    w.formula(r, c, f"{ref(c, r - 1)}-{lr}*{ref(g, r - 1)}", float(params[i, k, j]), "param")
            # One array formula per unit fills its whole gradient row.
            row = first_grad + k * p
            ws.write_array_formula(r, row, r, row + p - 1, "{=" + batch_grad_excel(model, X, y, unit_rows, k) + "}",
                                   s("formula", "param"), float(grads[i, k, 0]))
            for j in range(1, p):  # XlsxWriter caches only the top-left value of an array
                ws.write_number(r, row + j, float(grads[i, k, j]), s("formula", "param"))
    ws.freeze_panes(TOP, 2)
    chart = w.wb.add_chart({"type": "scatter", "subtype": "straight"})
    name = sheet_name(model)
    chart.add_series({"name": "workbook", "categories": [name, TOP, 0, TOP + steps, 0],
                      "values": [name, TOP, 1, TOP + steps, 1]})
    chart.add_series({"name": "torch", "categories": [name, TOP, 0, TOP + steps, 0],
                      "values": [name, TOP, 2, TOP + steps, 2],
                      "line": {"dash_type": "dash"}})
    chart.set_title({"name": f"{model.title}: loss by step of plain gradient descent"})
    chart.set_x_axis({"name": "step", "min": 0, "max": steps})
    chart.set_y_axis({"name": "training MSE"})
    chart.set_size({"width": 560, "height": 300})
    ws.insert_chart(TOP + steps + 3, 0, chart)
