"""Params, one sheet per model (Linear, TwoReLU), MatMul, and the models on the Test sheet.

For a target of K classes a model's sheet holds, per row, its K scores (MMULT), its K
probabilities (the softmax's row form: the row's largest score subtracted first), the loss
-LN(p of the true class), the predicted class (its index by MATCH of the row's largest
probability, and the class as the data writes it by INDEX) and whether it is right; and
beside the rows, per split, a confusion matrix by COUNTIFS with the per-class counts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from titanic_reg.layers import Dense, ReLU, Sum
from titanic_reg.metrics import SCORES, accuracy_excel, confusion, per_class, r2_excel, rmse_excel
from titanic_reg.outputs import IDENTITY

from .data_sheet import Block
from .layout import FIRST_ROW, HEADER_ROW, Writer, col, ref, row_span, span
from .names import Names

PARAMS = "Params"
SUMMARY_COL = {"mse": 4, "ce": 4, "acc": 5, "rmse": 5, "r2": 6}  # where each split's scores sit on a model sheet
SUMMARY_TITLES = {"mse": "MSE", "ce": "cross-entropy", "acc": "accuracy", "rmse": "RMSE", "r2": "R²"}
SUMMARY_FORMAT = {"mse": "mse", "ce": "mse", "acc": "acc", "rmse": "mse", "r2": "mse"}


def write_params(w: Writer, result) -> None:
    """Each model's tensors, a block of rows each: one row per unit, one column per input."""
    ws, s = w.ws, w.s
    features = list(result.features)
    ws.write_string(0, 0, "Params: the parameters torch fitted", s.title)
    ws.write_string(1, 0, "One block per parameter tensor: a row per unit, a column per input it reads. Each "
                          "block has a defined name, and so has each row a sheet reads alone: model formulas "
                          "read SUMPRODUCT(features, lin_w) or MMULT(features, TRANSPOSE(relu_W)).", s.note)
    w.headers(3, 0, ["name", "model", *features], [12, 12, 11])
    r = 4
    for run in result.runs.values():
        model, P = run.model, run.params
        values = {k: v.numpy() for k, v in model.unpack(P, len(features)).items()}
        inputs = model.inputs(features)
        for t in model.tensors(len(features)):
            if inputs[t.name] != features:  # a later layer reads the units before it
                ws.write_string(r, 0, f"{t.name} reads:", s.note)
                for j, head in enumerate(inputs[t.name]):
                    ws.write_string(r, 2 + j, head, s(None, None, bold=True))
                r += 1
            first = r
            for k in range(t.rows):
                label = t.row_names[k] if t.row_names else (t.name if t.rows == 1 else f"{t.name} {k + 1}")
                ws.write_string(r, 0, label, s(None, None, bold=True))
                ws.write_string(r, 1, model.title, s())
                for j in range(t.cols):
                    w.param(r, 2 + j, float(values[t.name][k, j]))
                if t.row_names:
                    w.wb.define_name(t.row_names[k], f"={PARAMS}!{span(2, 1 + t.cols, r, r)}")
                r += 1
            w.wb.define_name(t.name, f"={PARAMS}!{span(2, 1 + t.cols, first, r - 1)}")
        r += 1
    ws.write_string(r, 0, "Orange cells came from torch's gradient descent; change one and every "
                          "sheet recalculates with it.", s.note)
    ws.freeze_panes(4, 2)


@dataclass
class ModelColumns:
    """Where one model's columns landed on a sheet."""

    first: int
    names: list
    pred: int
    loss: int | None = None
    decision: int | None = None
    correct: int | None = None
    output: int | None = None  # a number target: the prediction in its own units
    label: int | None = None  # K classes: the predicted class as the data writes it


def write_steps(w: Writer, model, values, data: Block, first_col: int, n: int,
                feature_sheet: str | None, mmult: bool = False, scaled: bool = False) -> ModelColumns:
    """Each layer of the model as columns of formulas over the rows, torch's numbers cached.

    The lesson's models (model.lesson) are written as the lesson's sheets are: each unit a
    SUMPRODUCT per row, ReLU = IF(x<0,0,x) per cell. Every other model, and any model with
    `mmult`, layer by layer: one MMULT array formula per layer over every row, then the
    activation over the same block, as the lesson's mmult sheet. `scaled`: a number target's
    output, in the scaled units the model learns, says so beside the raw target's column.
    """
    p = data.n_features
    per_row = model.lesson and not mmult
    heads = model.columns(p)
    if model.classes and data.class_names:  # a probability per class, headed by the class
        heads[-1] = [f"P({name})" for name in data.class_names]
    names = [h for layer in heads for h in layer]
    if scaled:
        names[-1] += " (scaled)"
    w.headers(HEADER_ROW, first_col, names)
    last = FIRST_ROW + n - 1
    c = first_col
    source = span(data.first_feature, data.last_feature, FIRST_ROW, last, feature_sheet)
    source_cols = None  # the previous layer's columns on this sheet
    style = w.s("formula", "pred")
    for i_layer, (layer, own, cols, v) in enumerate(zip(model.layers, model.layer_tensors(p), heads, values)):
        width = len(cols)
        block = span(c, c + width - 1, FIRST_ROW, last)
        if n == 0:
            pass
        elif per_row:
            for i in range(n):
                r = FIRST_ROW + i
                for k in range(width):
                    w.formula(r, c + k, _per_row(layer, own, k, r, data, feature_sheet, source_cols), v[i, k], "pred")
        elif isinstance(layer, Sum):
            for i in range(n):
                r = FIRST_ROW + i
                w.formula(r, c, f"SUM({row_span(source_cols[0], source_cols[1], r)})", v[i, 0], "pred")
        elif source_cols and layer.excel_row(source) is not None:  # a form of its own row by row (softmax)
            for i in range(n):
                r = FIRST_ROW + i
                text = layer.excel_row(row_span(source_cols[0], source_cols[1], r))
                w.ws.write_array_formula(r, c, r, c + width - 1, "{=" + text + "}", style, float(v[i, 0]))
                for k in range(1, width):  # XlsxWriter caches only the top-left value of an array
                    w.ws.write_number(r, c + k, float(v[i, k]), style)
        else:
            text = model.excel_layer(i_layer, source, {t.name: t.name for t in own}, p)
            w.ws.write_array_formula(FIRST_ROW, c, last, c + width - 1, "{=" + text + "}", style, float(v[0, 0]))
            for i in range(n):
                for k in range(width):
                    if k or i:  # XlsxWriter caches only the top-left value of an array
                        w.ws.write_number(FIRST_ROW + i, c + k, float(v[i, k]), style)
        source, source_cols = block, (c, c + width - 1)
        c += width
    return ModelColumns(first_col, names, c - 1)


def _per_row(layer, own, k, r, data, feature_sheet, source_cols) -> str:
    """One cell of a lesson model's layer, in the lesson's own formulas."""
    if isinstance(layer, Dense):
        t = own[0]
        row = t.row_names[k] if t.row_names else t.name
        return f"SUMPRODUCT({data.features(r, feature_sheet)},{row})"
    if isinstance(layer, ReLU):
        x = ref(source_cols[0] + k, r)
        return f"IF({x}<0,0,{x})"
    if isinstance(layer, Sum):
        return "+".join(ref(c, r) for c in range(source_cols[0], source_cols[1] + 1))
    raise ValueError(f"no per-row form for {type(layer).__name__}")


def decision_header(result) -> str:
    target = result.recipe.target
    if target.identity(result.fitted.target):
        return f"{target.column}?"
    return f"{target.column} = {target.label(result.fitted.target, True)}?"


def write_scoring(w: Writer, result, run, cols: ModelColumns, pred, y_col: int, n: int, names: Names,
                  data: Block | None = None) -> None:
    """Per row: a number target's prediction in its units and its loss; a binary target's
    loss, 0/1 decision and whether it is right."""
    c = cols.first + len(cols.names)
    y = result.y
    loss, output = run.loss, run.model.output
    if result.kind == "classes":
        _class_scoring(w, result, run, cols, pred, y_col, n, c)
        return
    if result.kind == "number":
        target = result.recipe.target
        name = names.of(target.column)
        out = result.output(pred).numpy()
        truth = result.output(y).numpy()
        cols.output, cols.loss = c, c + 1
        # A target learned as its log: each row's loss is the one the model learns, on the scaled
        # log (Data's y). In units, a prediction of a billion that the engines' 10^x puts a few
        # units in the last place apart leaves a squared error of a few hundred off by 1e-9 of
        # itself; the scores in units come from the Prediction column whole (summary below).
        logged = target.log and data is not None
        w.headers(HEADER_ROW, c, ["Prediction", "Loss (scaled log)" if logged else "Loss"])
        scaled = loss.rows(pred, y).numpy()
        for i in range(n):
            r = FIRST_ROW + i
            w.formula(r, c, target.decode_cell(ref(cols.pred, r), name), out[i], "pred")
            if logged:
                w.formula(r, c + 1, loss.cell(ref(cols.pred, r), ref(data.y, r, data.sheet)), scaled[i], "loss")
            else:
                w.formula(r, c + 1, loss.cell(ref(c, r), ref(y_col, r)), (out[i] - truth[i]) ** 2, "loss")
        return
    cols.loss, cols.decision, cols.correct = c, c + 1, c + 2
    w.headers(HEADER_ROW, c, ["Loss", decision_header(result), "Correct"])
    losses = loss.rows(pred, y).numpy()
    said = output.decide(pred).numpy()
    right = output.correct(pred, y).numpy()
    for i in range(n):
        r = FIRST_ROW + i
        w.formula(r, c, loss.cell(ref(cols.pred, r), ref(y_col, r)), losses[i], "loss")
        w.formula(r, c + 1, output.decide_excel(ref(cols.pred, r)), said[i], "int")
        w.formula(r, c + 2, output.correct_excel(ref(c + 1, r), ref(y_col, r)), right[i], "int")


@dataclass
class Summary:
    """The cells holding each split's scores on a model sheet."""

    sheet: str
    cells: dict  # (split, score) -> cell
    values: dict = None  # (split, score) -> the cached value of that cell
    pred_col: int = 0  # 0-based column of the prediction (in y's units) on the model's sheet
    output_col: int | None = None  # a number target: the prediction in its own units
    y_col: int = 1  # the target column (0/1, or as written for a number; K classes: the class's index)
    first_prob: int | None = None  # K classes: the first of the K probabilities (pred_col the last)
    label_col: int | None = None  # K classes: the predicted class as the data writes it

    @property
    def mse(self) -> dict:
        return {split: cell for (split, score), cell in self.cells.items() if score == "mse"}


def write_model_sheet(w: Writer, result, run, data: Block, names: Names, mmult: bool = False) -> Summary:
    ws, s = w.ws, w.s
    model = run.model
    n, n_train = len(result.data), result.n_train
    values = run.layers(result.X)
    classes = result.kind == "classes"
    pred = torch.as_tensor(values[-1] if classes else values[-1][:, 0])
    title = f"{'MatMul' if mmult else model.sheet}: {model.title}"
    what = (" with both linear layers as one MMULT array formula" if mmult
            else "" if model.lesson else f": {model.about}")
    ws.write_string(0, 0, title + what, s.title)
    number = result.kind == "number"
    y_head = (result.recipe.target.column if (number or data.y == data.target) else
              "y (class index)" if classes else "y")
    w.headers(HEADER_ROW, 0, [data.key_name, y_head], [11, 9])
    key = result.data.id if result.recipe.id else result.data.row
    truth = result.output(result.y).numpy() if number else result.y.numpy()
    y_src = data.target if number else data.y
    for i in range(n):
        r = FIRST_ROW + i
        k = key[i]
        w.formula(r, 0, ref(data.key, r, data.sheet), k.item() if hasattr(k, "item") else k,
                  "text" if isinstance(k, str) else "int")
        y_cell = f"MATCH(1,{data.onehot(r, data.sheet)},0)-1" if classes else ref(y_src, r, data.sheet)
        w.formula(r, 1, y_cell, float(truth[i]), "pred" if number else "int")
    cols = write_steps(w, model, values, data, 2, n, data.sheet, mmult, scaled=number)
    if classes:
        _class_scoring(w, result, run, cols, pred, data, n)
    else:
        write_scoring(w, result, run, cols, pred, 1, n, names, data)
    last_col = cols.loss if number else cols.correct
    # A number target's losses, in its squared units, need more digits than a 0/1 target's.
    ws.set_column(2, last_col, 13 if number else 10)
    ws.set_column(4, 6, 16 if number else 13)  # the split summary's scores sit above columns E:G
    summary = Summary(ws.name, {}, {}, cols.pred, cols.output)
    if classes:
        summary.first_prob, summary.label_col = cols.pred - pred.shape[1] + 1, cols.label
    scores = SCORES[result.kind]
    w.headers(1, 3, ["rows"] + [SUMMARY_TITLES[x] for x in scores])
    splits = {"train": (0, n_train), "valid": (n_train, n)}
    pred_units = result.output(pred) if number else pred
    loss = run.loss.rows(pred_units, torch.as_tensor(truth)).numpy()
    right = model.output.correct(pred, result.y).numpy() if not number else None
    for k, (split, (a, b)) in enumerate(splits.items()):
        r = 2 + k
        ws.write_string(r, 2, split, s(None, None, bold=True))
        ws.write_number(r, 3, b - a, s())
        if b == a:
            ws.write_string(r, 4, "no rows", s.note)
            continue
        rows = (FIRST_ROW + a, FIRST_ROW + b - 1)
        losses = span(cols.loss, cols.loss, *rows)
        mse = float(loss[a:b].mean())
        found = {scores[0]: (run.loss.average_excel(losses), mse)}  # the loss: MSE, or cross-entropy
        if number:
            sst = float(((truth[a:b] - truth[a:b].mean()) ** 2).sum())
            truths = span(1, 1, *rows)
            if result.recipe.target.log:  # the rows' losses are on the log: the scores in units from the predictions
                errors = f"SUMXMY2({span(cols.output, cols.output, *rows)},{truths})"
                found["mse"] = (f"{errors}/ROWS({truths})", mse)
                found["r2"] = (f"1-{errors}/DEVSQ({truths})", 1 - float(loss[a:b].sum()) / sst if sst > 0 else None)
            else:
                found["r2"] = (r2_excel(losses, truths), 1 - float(loss[a:b].sum()) / sst if sst > 0 else None)
            found["rmse"] = (rmse_excel(ref(4, r)), float(np.sqrt(mse)))
        else:
            found["acc"] = (accuracy_excel(span(cols.correct, cols.correct, *rows)), float(right[a:b].mean()))
        for score in scores:
            formula, value = found[score]
            c = SUMMARY_COL[score]
            if value is None:  # R² of one row, or of rows that all hold one value: no spread to explain
                ws.write_string(r, c, "no spread", s.note)
                continue
            w.formula(r, c, formula, value, SUMMARY_FORMAT[score])
            summary.values[split, score] = value
            summary.cells[split, score] = ref(c, r, ws.name)
    if classes:
        _confusion(w, result, cols, pred, splits)
    ws.freeze_panes(FIRST_ROW, 2)
    return summary


def _class_scoring(w: Writer, result, run, cols: ModelColumns, pred, data: Block, n: int) -> None:
    """Per row for K classes: the loss -LN(p of the true class), the predicted class's index (the
    largest probability's, by MATCH) and the class itself (INDEX into the Data sheet's classes),
    and whether it is right."""
    c = cols.first + len(cols.names)
    k = pred.shape[1]
    loss, output = run.loss, run.model.output
    cols.loss, cols.decision, cols.label, cols.correct = c, c + 1, c + 2, c + 3
    column = result.recipe.target.column
    w.headers(HEADER_ROW, c, ["Loss", "predicted (index)", f"{column} predicted", "Correct"])
    losses = loss.rows(pred, result.y).numpy()
    said = output.decide(pred).numpy().astype(int)
    right = output.correct(pred, result.y).numpy()
    numeric = result.recipe.target.numeric
    names = result.fitted.target["classes"]
    for i in range(n):
        r = FIRST_ROW + i
        probs = row_span(cols.pred - k + 1, cols.pred, r)
        w.formula(r, c, loss.cell(probs, data.onehot(r, data.sheet)), losses[i], "loss")
        w.formula(r, c + 1, output.decide_excel(probs), said[i], "int")
        label = names[said[i]]
        w.formula(r, c + 2, f"INDEX({data.classes},1,{ref(c + 1, r)}+1)", float(label) if numeric else str(label),
                  None if numeric else "text")
        w.formula(r, c + 3, output.correct_excel(ref(c + 1, r), ref(1, r)), right[i], "int")


def _confusion(w: Writer, result, cols: ModelColumns, pred, splits: dict) -> None:
    """Beside the rows, per split: true class (a row each) x predicted class (a column each), each
    count by COUNTIFS over the class indices; each class's rows and right ones, and the rows
    predicted as each class."""
    s = w.s
    names = result.classes
    k = len(names)
    y = result.y
    c0 = cols.correct + 2
    w.ws.set_column(c0, c0, 16)
    w.ws.set_column(c0 + 1, c0 + k + 2, 9)
    r = FIRST_ROW
    for split, (a, b) in splits.items():
        if b == a:
            continue
        rows = (FIRST_ROW + a, FIRST_ROW + b - 1)
        truth, said, ok = (span(x, x, *rows) for x in (1, cols.decision, cols.correct))
        counts = confusion(pred[a:b], y[a:b], k)
        each = per_class(pred[a:b], y[a:b], names)
        w.text(r, c0, f"Confusion matrix, {split} rows: a row per true class, a column per predicted class "
                      "(COUNTIFS over the class indices)", s(None, None, bold=True))
        w.text(r + 1, c0, "true \\ predicted", s(None, None, bold=True))
        for j, name in enumerate(names):
            w.text(r + 1, c0 + 1 + j, name, s(None, None, bold=True))
        w.text(r + 1, c0 + 1 + k, "rows", s(None, None, bold=True))
        w.text(r + 1, c0 + 2 + k, "right", s(None, None, bold=True))
        for i, name in enumerate(names):
            rr = r + 2 + i
            w.text(rr, c0, name, s(None, None, bold=True))
            for j in range(k):
                w.formula(rr, c0 + 1 + j, f"COUNTIFS({truth},{i},{said},{j})", counts[i][j], "int")
            w.formula(rr, c0 + 1 + k, f"COUNTIF({truth},{i})", each[name]["rows"], "int")
            w.formula(rr, c0 + 2 + k, f"COUNTIFS({truth},{i},{ok},1)", each[name]["correct"], "int")
        rr = r + 2 + k
        w.text(rr, c0, "predicted", s(None, None, bold=True))
        for j, name in enumerate(names):
            w.formula(rr, c0 + 1 + j, f"COUNTIF({said},{j})", each[name]["predicted"], "int")
        r = rr + 2


def write_test_models(w: Writer, result, test: Block, first_col: int, names: Names) -> int:
    """Every model's steps on the test rows, then the chosen model's prediction (and score)."""
    n = len(result.test)
    c = first_col
    preds = {}
    for run in result.runs.values():
        values = run.layers(result.X_test)
        cols = write_steps(w, run.model, values, test, c, n, None, scaled=result.kind == "number")
        preds[run.name] = cols.pred
        c += len(cols.names)
    chosen = result.submit_model
    submission, target = result.submission, result.recipe.target
    by_formula = chosen in preds
    output = result.runs[chosen].model.output if by_formula else IDENTITY
    if result.kind == "classes":
        heads = _class_predictions(w, result, c, preds[chosen] if by_formula else None, output, names)
        return _test_note(w, result, heads, c, first_col, by_formula)
    heads = submission.heads(target)
    w.headers(HEADER_ROW, c, heads)
    decode = lambda pred: target.decode_cell(pred, names.of(target.column))  # noqa: E731
    for i in range(n):
        r = FIRST_ROW + i
        pred = ref(preds[chosen], r) if by_formula else None
        for k, (formula, value, fmt) in enumerate(submission.cells(result.predictions, i, pred, target,
                                                                   result.fitted, decode, output)):
            if formula:
                w.formula(r, c + k, formula, value, fmt)
            else:
                w.reported(r, c + k, value, fmt)
    return _test_note(w, result, heads, c, first_col, by_formula)


def _test_note(w: Writer, result, heads, c: int, first_col: int, by_formula: bool) -> int:
    chosen = result.submit_model
    w.ws.set_column(first_col, c + len(heads) - 1, 10)
    source = (f"from {result.runs[chosen].title} by formula" if by_formula
              else f"reported by the {chosen} baseline (not a formula)")
    file = result.submission.file
    w.ws.write_string(2, 0, f"{', '.join(heads)} ({col(c)}) {'is' if len(heads) == 1 else 'are'} {file}'s, "
                            f"{source}.", w.s.note)
    return c


def _class_predictions(w: Writer, result, c: int, last_prob: int | None, output, names: Names) -> list[str]:
    """The predictions file's columns for K classes on the Test sheet: the class (INDEX into the
    classes by the largest probability's place) and each class's probability, from the chosen
    model's cells (`last_prob`: its last probability's column), or reported from a baseline's."""
    frame, target = result.predictions, result.recipe.target
    heads = list(frame.columns)[1:]  # after the key
    k = len(result.classes)
    w.headers(HEADER_ROW, c, heads)
    classes = names("classes", target.column)
    numeric = target.numeric
    for i in range(len(result.test)):
        r = FIRST_ROW + i
        probs = row_span(last_prob - k + 1, last_prob, r) if last_prob is not None else None
        for j, head in enumerate(heads):
            value = frame[head].iat[i]
            if head.startswith("p_") and j >= len(heads) - k:  # a class's probability
                place = j - (len(heads) - k)
                formula, fmt = (ref(last_prob - k + 1 + place, r) if probs else None), "pred"
                value = float(value)
            else:  # the class, as the data writes it
                formula = f"INDEX({classes},1,{output.decide_excel(probs)}+1)" if probs else None
                value, fmt = (float(value), None) if numeric else (str(value), "text")
            if formula:
                w.formula(r, c + j, formula, value, fmt)
            else:
                w.reported(r, c + j, value, fmt)
    return heads

