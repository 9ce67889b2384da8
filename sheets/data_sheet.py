"""The Data and Test sheets: each row's key, raw columns (blue), then the features by formula.

Columns, left to right: the row's key (the recipe's ID, else the CSV's row number);
on Data, `Split`, the target as written, its log10(value + 1) by formula when the recipe
learns the target's log, and `y`, the target as the models learn it (0/1, or
(value - min) / sd, of the log if any; left out when the target column is 0/1 already; for K
classes, K columns of 0/1, one-hot, under a row holding the classes, the defined name
classes_<target>); each input as written (a date as a date cell, then each of its parts by
formula: YEAR, MONTH, ...); each feature, a formula from its transform (titanic_reg/transforms.py) with
torch's value cached; then any columns the recipe only shows (Titanic's Name).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from titanic_reg.dates import to_datetime

from .layout import FIRST_ROW, HEADER_ROW, Writer, col, row_span, span
from .names import Names

ROW = "\x00"  # stands for the row number in a formula template (no cell text can hold it)
_WIDTHS = {"Split": 7}


@dataclass
class Block:
    """Where one sheet's rows sit, for the formulas of other sheets."""

    sheet: str
    n: int
    col: dict  # input column name -> 0-based column
    key: int  # the column naming each row
    key_name: str
    first_feature: int
    n_features: int
    target: int | None = None  # the target as written
    y: int | None = None  # the target as the models learn it (the target column when it is y already)
    log: int | None = None  # the target's log10(value + 1), when the models learn its log
    y_width: int = 1  # K classes: y is K one-hot columns from `y` on
    classes: str | None = None  # K classes: the defined name of the row of classes, as the data writes them
    class_names: list | None = None  # K classes: their names, in the order of the models' outputs

    def onehot(self, row: int, sheet: str | None = None) -> str:
        """Row `row`'s y, one-hot: its K cells."""
        return row_span(self.y, self.y + self.y_width - 1, row, sheet)

    @property
    def last_feature(self) -> int:
        return self.first_feature + self.n_features - 1

    def features(self, row: int, sheet: str | None = None) -> str:
        return row_span(self.first_feature, self.last_feature, row, sheet)

    def column(self, name: str, r0: int, r1: int, sheet: str | None = None) -> str:
        return span(self.col[name], self.col[name], r0, r1, sheet)

    def range_of(self, c: int, r0: int, r1: int, sheet: str | None = None) -> str:
        return span(c, c, r0, r1, sheet)


def write_rows(w: Writer, sheet: str, result, rows, X, names: Names, *, labelled: bool) -> Block:
    """Keys, raw columns and feature formulas of `rows` (training rows first on Data)."""
    ws = w.ws
    recipe, fitted = result.recipe, result.fitted
    target = recipe.target
    key_name = recipe.id or "row"
    headers = [key_name]
    log_col = None
    if labelled:
        classes = target.class_names(fitted.target) if target.kind == "classes" else None
        if classes:  # y one-hot, a formula per class
            y_formulas = target.onehot_cells(f"{{target}}{ROW}", fitted.target)
            y_heads = [f"y = {name}" for name in classes]
        else:
            y_formula = target.cell(f"{{target}}{ROW}", names.of(target.column), fitted.target)
            y_formulas = [y_formula] if y_formula is not None else []
            y_heads = [f"y ({target.column} = {target.label(fitted.target, True)})" if target.kind == "binary"
                       else f"y ({target.column}, from 0 in sds)"]
        t_col = len(headers) + 1
        y_col = t_col + 1 if y_formulas else t_col
        headers += ["Split", target.column] + (y_heads if y_formulas else [])
        if target.kind == "number" and target.log:  # its log between the raw target and y, which scales it
            log_col, y_col = y_col, y_col + 1
            headers.insert(log_col, f"log10({target.column}+1)")
            headers[y_col] = f"y (log10({target.column}+1), from 0 in sds)"
    # Inputs by position: a column may be called anything, "Split" or "row" included. An input
    # with parts (a date's year, month, ...) has a column for each beside it, keyed (column, part).
    cols = {}
    for s in recipe.inputs:
        cols[s.column] = len(headers)
        headers.append(s.column)
        for part, t, _ in s.part_specs(fitted.stats[s.column]):
            cols[(s.column, part)] = len(headers)
            headers.append(t.column)
    first_feature = len(headers)
    feature_names = list(fitted.names)
    shown = [c for c in recipe.show if c in rows.show]
    # A feature named as its input (the lesson's SibSp) is headed "SibSp (feature)": every
    # header unique, so that pandas.read_excel(header=4) needs no renaming (see sheets/read.py).
    headers += [f"{n} (feature)" if n in headers else n for n in feature_names] + shown
    w.headers(HEADER_ROW, 0, headers,
              [40 if i >= first_feature + len(feature_names) else (11 if i == 0 else _WIDTHS.get(name, 9))
               for i, name in enumerate(headers)])

    # One formula template per feature: the row number is filled in per row.
    templates = []
    part_templates = []  # (sheet column, formula template, cached values) of each part
    for spec in recipe.inputs:
        blanks = bool(rows.missing(spec.column).any())
        cell = f"${col(cols[spec.column])}{ROW}"
        stats = fitted.stats[spec.column]
        parts = spec.part_specs(stats)
        if not parts:
            templates += spec.cells(cell, names.of(spec.column), blanks, stats)
            continue
        formulas = spec.part_cells(cell, names.of(spec.column), blanks, stats)
        values = spec.part_values(rows.columns[spec.column], stats)
        for (part, t, part_stats), formula, v in zip(parts, formulas, values):
            c = cols[(spec.column, part)]
            part_templates.append((c, formula, v))
            templates += t.cells(f"${col(c)}{ROW}", names.of(part_key(spec, part)), False, part_stats)
    if recipe.ones:
        templates.append("1")
    assert len(templates) == len(feature_names), (templates, feature_names)

    values = X.numpy()
    key = rows.id if recipe.id else rows.row
    # How each input is written: a number, text levels, or levels that are numbers.
    raw = [(cols[s.column], rows.columns[s.column], s, fitted.stats[s.column], s.raw_kind(fitted.stats[s.column]))
           for s in recipe.inputs]
    split = result.split if labelled else None
    y = result.y.numpy() if labelled else None
    if labelled:
        y_templates = [f.replace("{target}", f"${col(t_col if log_col is None else log_col)}") for f in y_formulas]
        log_template = target.log_cell(f"${col(t_col)}{ROW}") if log_col is not None else None
        logs = target.logged(rows.target) if log_col is not None else None
        t_numeric = target.numeric
        if classes:  # torch's y, one-hot as the formulas write it
            import torch

            y = torch.nn.functional.one_hot(result.y.long(), len(classes)).numpy()
        else:
            y = y[:, None]
    number_fmt = w.s("raw", None)
    timed = any(s.raw_kind(fitted.stats[s.column]) == "date" and np.any(np.mod(rows.columns[s.column], 1) > 0)
                for s in recipe.inputs)
    date_fmt = w.s("raw", "datetime" if timed else "date")
    for i in range(len(rows)):
        r = FIRST_ROW + i
        row_text = str(r + 1)
        k = key[i]
        w.raw(r, 0, k.item() if hasattr(k, "item") else k, "text" if isinstance(k, str) else None)
        if labelled:
            w.raw(r, 1, split[i], "text")
            tv = rows.target[i]
            w.raw(r, t_col, None if (not t_numeric and tv is None) else tv, None if t_numeric else "text")
            if log_template is not None:
                w.formula(r, log_col, log_template.replace(ROW, row_text), float(logs[i]), "feature")
            for k, y_template in enumerate(y_templates):
                w.formula(r, y_col + k, y_template.replace(ROW, row_text), float(y[i, k]), "feature")
        for c, v, spec, stats, how in raw:
            value = v[i]
            if how == "text":
                w.raw(r, c, value, "text")
            elif how == "date" and value == value:
                ws.write_datetime(r, c, to_datetime(value), date_fmt)
            elif how == "levels":
                w.raw(r, c, spec.sheet_value(value, stats))
            elif value != value:  # NaN: missing
                ws.write_blank(r, c, None, number_fmt)
            else:
                ws.write_number(r, c, float(value), number_fmt)
        for c, template, v in part_templates:
            w.formula(r, c, template.replace(ROW, row_text), float(v[i]), "stat")
        for j, template in enumerate(templates):
            w.formula(r, first_feature + j, template.replace(ROW, row_text), values[i, j], "feature")
        for j, name in enumerate(shown):
            w.raw(r, first_feature + len(feature_names) + j, rows.show[name][i] or "", "text")
    ws.freeze_panes(FIRST_ROW, 1)
    block = Block(sheet, len(rows), cols, 0, key_name, first_feature, len(feature_names))
    if target.kind == "classes":
        block.class_names = target.class_names(fitted.target)
    if labelled:
        block.target, block.y, block.log = t_col, y_col, log_col
        if classes:
            block.y_width = len(classes)
            block.classes = _write_classes(w, sheet, target, fitted, y_col, names)
    return block


def _write_classes(w: Writer, sheet: str, target, fitted, first: int, names: Names) -> str:
    """The classes as the data writes them (numbers stay numbers), one above each one-hot column,
    named: a predicted class is INDEX(classes_<target>, 1, its index + 1)."""
    r = HEADER_ROW - 1
    w.ws.write_string(r, first - 1, "classes:", w.s(None, None, bold=True))
    for k, value in enumerate(fitted.target["classes"]):
        w.raw(r, first + k, value if target.numeric else str(value), None if target.numeric else "text")
    name = names("classes", target.column)
    w.wb.define_name(name, f"={span(first, first + len(fitted.target['classes']) - 1, r, r, sheet)}")
    return name


def part_key(spec, part: str) -> str:
    """What names a part's statistics (sheets/names.py): no column's name can be it."""
    return f"{spec.column}\x00{part}"


def define_training_ranges(wb, result, data: Block) -> None:
    """train_X and train_y: the features and y of the training rows (LINEST, Descent)."""
    rows = (FIRST_ROW, FIRST_ROW + result.n_train - 1)
    wb.define_name("train_y", f"={span(data.y, data.y + data.y_width - 1, *rows, data.sheet)}")
    wb.define_name("train_X", f"={span(data.first_feature, data.last_feature, *rows, data.sheet)}")


def fill_note(result, rows) -> str:
    missing = [s.column for s in result.recipe.inputs if rows.missing(s.column).any()]
    if not missing:
        return "No input is missing in these rows."
    return ("Missing inputs are filled by formula, IF(cell=\"\",fill,cell), or are a level of their own, in: "
            + ", ".join(missing) + ".")

