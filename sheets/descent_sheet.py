"""Descent sheets: plain gradient descent, one row per step, every number by formula.

A row holds every parameter of the model, flat (each tensor's rows one after another),
then the gradient of each in the same order. The formulas need each tensor as a matrix:
a one-row tensor is its range; a larger one is rebuilt from its range by two selector
matrices, defined names computed from column numbers alone (`relu_W_r`, `relu_W_c`):
MMULT(relu_W_r * row, relu_W_c) puts the row's k-th block of `cols` values in row k.
"""
from __future__ import annotations

from xlsxwriter.utility import quote_sheetname

from titanic_reg.losses import MSE

from .layout import Writer, col, ref, row_span

STEP0_ROW = 5  # 0-based row of step 0
FIRST_PARAM = 4  # step, loss, torch loss, difference, then the parameters
MAX_COLUMNS = 16_384  # Excel's, and LibreOffice's since 7.4
MAX_FORMULA = 8_192  # characters in a formula, Excel's limit


def sheet_name(model) -> str:
    return f"Descent{model.sheet}"


def _ranges(model, p: int, r: int) -> dict:
    """Each tensor's parameters on row r (0-based) of its Descent sheet, as a matrix formula."""
    return model.flat_refs(p, lambda t: row_span(FIRST_PARAM + t.offset, FIRST_PARAM + t.offset + t.size - 1, r))


def formulas(model, p: int, r: int, loss) -> tuple[str, dict]:
    """Row r's loss formula and each tensor's gradient formula (array formulas)."""
    refs = _ranges(model, p, r)
    pred = model.excel_forward("train_X", refs, p)[-1]
    return loss.mean_excel(pred, "train_y"), model.excel_gradients("train_X", "train_y", refs, p, loss)


def model_note(result, run) -> str | None:
    """Why a model run has no Descent sheet in this workbook, or None."""
    if run.descent is None:
        return "no Descent run"
    return left_out(run.model, len(result.features), len(run.descent.losses) - 1, run.loss)


def left_out(model, p: int, steps: int, loss=MSE) -> str | None:
    """Why the model's Descent sheet cannot be written (a spreadsheet limit), or None."""
    d = model.size(p)
    if FIRST_PARAM + 2 * d > MAX_COLUMNS:
        return (f"its {d:,} parameters and their gradients need {FIRST_PARAM + 2 * d:,} columns, past a "
                f"sheet's {MAX_COLUMNS:,}")
    loss, grads = formulas(model, p, STEP0_ROW + steps + 100_000, loss)  # the longest row numbers it may meet
    longest = max([len(loss)] + [len(g) for g in grads.values()])
    if longest + 3 > MAX_FORMULA:
        return f"its formulas would be {longest:,} characters long, past Excel's {MAX_FORMULA:,}"
    return None


def _define_selectors(w: Writer, model, p: int) -> None:
    name = quote_sheetname(sheet_name(model))  # 'DescentMLP8' needs none, but a name like a cell would
    for t in model.tensors(p):
        if t.rows == 1:
            continue
        c0 = FIRST_PARAM + t.offset
        cells = f"{name}!${col(c0)}${STEP0_ROW + 1}:${col(c0 + t.size - 1)}${STEP0_ROW + 1}"
        w.wb.define_name(f"{t.name}_r", f"=(INT((COLUMN({cells})-{c0 + 1})/{t.cols})=ROW({name}!$A$1:$A${t.rows})-1)*1")
        w.wb.define_name(f"{t.name}_c",
                         f"=TRANSPOSE((MOD(COLUMN({cells})-{c0 + 1},{t.cols})=ROW({name}!$A$1:$A${t.cols})-1)*1)")


def write_descent(w: Writer, result, run) -> None:
    ws, s = w.ws, w.s
    model, d = run.model, run.descent
    steps = len(d.losses) - 1
    features = list(result.features)
    p = len(features)
    tensors = model.tensors(p)
    size = model.size(p)
    first_grad = FIRST_PARAM + size
    ws.write_string(0, 0, f"{sheet_name(model)}: plain gradient descent on the {model.title} model, "
                          "by formula", s.title)
    if run.loss.at_scores:  # cross-entropy: its error is at the softmax's scores already
        error = (f"the error at the softmax's scores, {run.loss.gradient_excel('p', 'onehot')} (p: the softmax of "
                 "every training row, each row's mean score subtracted first; onehot: train_y)")
    else:
        error = "the output's error 2/n (pred - y)"
    ws.write_string(1, 0, f"Each row: w(next) = w - lr x gradient. The gradient of the training {run.loss.title} is "
                          f"backpropagation written out, one array formula per parameter tensor: {error}, "
                          "multiplied back through each layer's weights and its ReLU's mask (what torch's "
                          "autograd computes).", s.note)
    ws.write_string(2, 0, "Copy the last row and paste it below to take more steps in the spreadsheet itself. "
                          "Torch's loss is recorded for the steps shown only.", s.note)
    ws.write_string(3, 0, "lr", s(None, None, bold=True))
    w.reported(3, 1, d.lr)
    lr = f"${col(1)}$4"  # absolute, so a copied row still finds it
    inputs = model.inputs(features)
    names = []
    for t in tensors:
        for k in range(t.rows):
            row = t.row_names[k] if t.row_names else (t.name if t.rows == 1 else f"{t.name} {k + 1}")
            names += [f"{row} {x}" for x in inputs[t.name]]  # wraps at the space
    headers = ["step", "loss (workbook)", "loss (torch)", "difference"] + names + [f"d {n}" for n in names]
    w.headers(STEP0_ROW - 1, 0, headers, [6, 13, 13, 10, 11])
    ws.set_column(first_grad, first_grad + size - 1, 11)
    _define_selectors(w, model, p)
    params, grads, losses = d.params.numpy(), d.grads.numpy(), d.losses.numpy()
    for i in range(steps + 1):
        r = STEP0_ROW + i
        loss, grad_text = formulas(model, p, r, run.loss)
        if i == 0:
            ws.write_number(r, 0, 0, s())
        else:
            w.formula(r, 0, f"{ref(0, r - 1)}+1", i, "int")
        ws.write_array_formula(r, 1, r, 1, "{=" + loss + "}", s("formula", "mse"), float(losses[i]))
        w.reported(r, 2, float(losses[i]), "mse")
        w.formula(r, 3, f"{ref(1, r)}-{ref(2, r)}", 0.0, "diff")
        for j in range(size):
            c, g = FIRST_PARAM + j, first_grad + j
            if i == 0:
                w.param(r, c, float(params[0, j]))
            else:
                w.formula(r, c, f"{ref(c, r - 1)}-{lr}*{ref(g, r - 1)}", float(params[i, j]), "param")
        for t in tensors:  # one array formula fills a tensor's whole gradient
            g = first_grad + t.offset
            ws.write_array_formula(r, g, r, g + t.size - 1, "{=" + grad_text[t.name] + "}",
                                   s("formula", "param"), float(grads[i, t.offset]))
            for j in range(1, t.size):  # XlsxWriter caches only the top-left value of an array
                ws.write_number(r, g + j, float(grads[i, t.offset + j]), s("formula", "param"))
    ws.freeze_panes(STEP0_ROW, 2)
    chart = w.wb.add_chart({"type": "scatter", "subtype": "straight"})
    name = sheet_name(model)
    chart.add_series({"name": "workbook", "categories": [name, STEP0_ROW, 0, STEP0_ROW + steps, 0],
                      "values": [name, STEP0_ROW, 1, STEP0_ROW + steps, 1]})
    chart.add_series({"name": "torch", "categories": [name, STEP0_ROW, 0, STEP0_ROW + steps, 0],
                      "values": [name, STEP0_ROW, 2, STEP0_ROW + steps, 2],
                      "line": {"dash_type": "dash"}})
    chart.set_title({"name": f"{model.title}: loss by step of plain gradient descent"})
    chart.set_x_axis({"name": "step", "min": 0, "max": steps})
    chart.set_y_axis({"name": f"training {run.loss.title}"})
    chart.set_size({"width": 560, "height": 300})
    ws.insert_chart(STEP0_ROW + steps + 3, 0, chart)
