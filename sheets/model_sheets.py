"""Params, one sheet per model (Linear, TwoReLU), MatMul, and the models on the Test sheet."""
from __future__ import annotations

from dataclasses import dataclass

from titanic_reg.features import FEATURE_NAMES
from titanic_reg.models import (
    MODELS, accuracy_excel, correct, correct_excel, mse_excel, squared_error,
    squared_error_excel, survived, survived_excel,
)

from .layout import FIRST_ROW, HEADER_ROW, Writer, col, ref, span
from .passengers import Block

PARAMS = "Params"


def block_name(model) -> str:
    """The defined name of all a model's parameter rows together (for MMULT)."""
    return model.weights[0].rsplit("_", 1)[0] + "_W"


def write_params(w: Writer, result) -> None:
    ws, s = w.ws, w.s
    ws.write_string(0, 0, "Params: the parameters torch fitted", s.title)
    ws.write_string(1, 0, "One row per linear unit, one column per feature. Each row has a defined "
                          "name, so model formulas read SUMPRODUCT(features, lin_w).", s.note)
    w.headers(3, 0, ["name", "model", *FEATURE_NAMES], [12, 12, 11])
    r = 4
    for model in MODELS.values():
        params = result.models[model.name].params.numpy()
        first = r
        for k, name in enumerate(model.weights):
            ws.write_string(r, 0, name, s(None, None, bold=True))
            ws.write_string(r, 1, model.title, s())
            for j, value in enumerate(params[k]):
                w.param(r, 2 + j, value)
            w.wb.define_name(name, f"={PARAMS}!{span(2, 1 + len(FEATURE_NAMES), r, r)}")
            r += 1
        if model.units > 1:  # names are case-blind: lin_W would clash with lin_w
            w.wb.define_name(block_name(model), f"={PARAMS}!{span(2, 1 + len(FEATURE_NAMES), first, r - 1)}")
    ws.write_string(r + 1, 0, "Orange cells came from torch's gradient descent; change one and every "
                              "sheet recalculates with it.", s.note)
    ws.freeze_panes(4, 2)


@dataclass
class ModelColumns:
    """Where one model's columns landed on a sheet."""

    first: int
    names: list
    pred: int
    loss: int | None = None
    survived: int | None = None
    correct: int | None = None


def write_steps(w: Writer, model, values, data: Block, first_col: int, n: int,
                feature_sheet: str | None, mmult: bool = False) -> ModelColumns:
    """Each step of the model as a column of formulas, torch's numbers cached.

    With `mmult`, the linear units become one MMULT array formula over every row,
    as in the lesson's mmult sheet.
    """
    names = [step.name for step in model.steps]
    where = {name: first_col + i for i, name in enumerate(names)}
    w.headers(HEADER_ROW, first_col, names)
    done = 0
    if mmult:
        last = FIRST_ROW + n - 1
        features = span(data.first_feature, data.last_feature, FIRST_ROW, last, feature_sheet)
        text = f"{{=MMULT({features},TRANSPOSE({block_name(model)}))}}"
        cached = [values[name] for name in names[:model.units]]
        w.ws.write_array_formula(FIRST_ROW, first_col, last, first_col + model.units - 1, text,
                                 w.s("formula", "pred"), float(cached[0][0]))
        for k in range(model.units):
            for i in range(n):
                if k or i:  # XlsxWriter caches only the top-left value of an array
                    w.ws.write_number(FIRST_ROW + i, first_col + k, float(cached[k][i]), w.s("formula", "pred"))
        done = model.units
    for i in range(n):
        r = FIRST_ROW + i
        refs = {"features": data.features(r, feature_sheet), "w": model.weights}
        refs.update({name: ref(where[name], r) for name in names})
        for step in model.steps[done:]:
            w.formula(r, where[step.name], step.excel(refs), values[step.name][i], "pred")
    return ModelColumns(first_col, names, where[model.output])


def write_scoring(w: Writer, cols: ModelColumns, pred, y, y_col: int, n: int) -> None:
    """Squared error, the 0/1 decision and whether it is right, per row."""
    c = cols.first + len(cols.names)
    cols.loss, cols.survived, cols.correct = c, c + 1, c + 2
    w.headers(HEADER_ROW, c, ["Loss", "Survived?", "Correct"])
    loss = squared_error(pred, y).numpy()
    said = survived(pred).numpy()
    right = correct(pred, y).numpy()
    for i in range(n):
        r = FIRST_ROW + i
        w.formula(r, c, squared_error_excel(ref(cols.pred, r), ref(y_col, r)), loss[i], "loss")
        w.formula(r, c + 1, survived_excel(ref(cols.pred, r)), said[i], "int")
        w.formula(r, c + 2, correct_excel(ref(c + 1, r), ref(y_col, r)), right[i], "int")


@dataclass
class Summary:
    """The cells holding each split's loss and accuracy on a model sheet."""

    sheet: str
    mse: dict  # split -> cell
    acc: dict
    values: dict = None  # (split, "mse" | "acc") -> the cached value of that cell
    pred_col: int = 0  # 0-based column of the prediction on the model's sheet


def write_model_sheet(w: Writer, result, model, data: Block, mmult: bool = False) -> Summary:
    ws, s = w.ws, w.s
    n, n_train = len(result.frame), result.n_train
    params = result.models[model.name].params[None]
    values = {k: v[0] for k, v in model.forward(result.X, params).items()}
    title = f"{'MatMul' if mmult else model.sheet}: {model.title}"
    ws.write_string(0, 0, title + (" with both linear layers as one MMULT array formula" if mmult else ""), s.title)
    w.headers(HEADER_ROW, 0, ["PassengerId", "Survived"], [11, 9])
    for i in range(n):
        r = FIRST_ROW + i
        w.formula(r, 0, ref(data.col["PassengerId"], r, data.sheet), result.frame["PassengerId"].iat[i], "int")
        w.formula(r, 1, ref(data.col["Survived"], r, data.sheet), float(result.y[i]), "int")
    cols = write_steps(w, model, values, data, 2, n, data.sheet, mmult)
    write_scoring(w, cols, values[model.output], result.y, 1, n)
    ws.set_column(2, cols.correct, 10)
    ws.set_column(4, 5, 13)  # the split summary's MSE and accuracy sit above columns E:F
    summary = Summary(ws.name, {}, {}, {}, cols.pred)
    w.headers(1, 3, ["rows", "MSE", "accuracy"])
    splits = {"train": (0, n_train), "valid": (n_train, n)}
    loss = squared_error(values[model.output], result.y)
    right = correct(values[model.output], result.y)
    for k, (split, (a, b)) in enumerate(splits.items()):
        r = 2 + k
        ws.write_string(r, 2, split, s(None, None, bold=True))
        ws.write_number(r, 3, b - a, s())
        if b == a:
            ws.write_string(r, 4, "no rows", s.note)
            continue
        rows = (FIRST_ROW + a, FIRST_ROW + b - 1)
        summary.values[split, "mse"] = float(loss[a:b].mean())
        summary.values[split, "acc"] = float(right[a:b].mean())
        w.formula(r, 4, mse_excel(span(cols.loss, cols.loss, *rows)), summary.values[split, "mse"], "mse")
        w.formula(r, 5, accuracy_excel(span(cols.correct, cols.correct, *rows)), summary.values[split, "acc"], "acc")
        summary.mse[split] = ref(4, r, ws.name)
        summary.acc[split] = ref(5, r, ws.name)
    ws.freeze_panes(FIRST_ROW, 2)
    return summary


def write_test_models(w: Writer, result, test: Block, first_col: int) -> int:
    """Every model's steps on the test rows, then Survived from the submitted model."""
    n = len(result.test)
    c = first_col
    preds = {}
    for model in MODELS.values():
        values = {k: v[0] for k, v in model.forward(result.X_test, result.models[model.name].params[None]).items()}
        cols = write_steps(w, model, values, test, c, n, None)
        preds[model.name] = (cols.pred, values[model.output])
        c += len(cols.names)
    chosen = result.submit_model
    w.headers(HEADER_ROW, c, ["Survived"])
    sub = result.submission["Survived"].to_numpy()
    for i in range(n):
        r = FIRST_ROW + i
        if chosen in preds:
            w.formula(r, c, survived_excel(ref(preds[chosen][0], r)), sub[i], "int")
        else:
            w.reported(r, c, sub[i], "int")
    w.ws.set_column(first_col, c, 10)
    source = (f"from {MODELS[chosen].title} by formula" if chosen in preds
              else f"reported by the {chosen} baseline (not a formula)")
    w.ws.write_string(2, 0, f"Survived ({col(c)}) is submission.csv's column, {source}.", w.s.note)
    return c
