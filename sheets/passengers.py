"""The Data and Test sheets: raw passenger columns, then the ten features by formula."""
from __future__ import annotations

from dataclasses import dataclass

from titanic_reg.features import FEATURES, INPUTS, NUMERIC_INPUTS, mode_is_unique

from .layout import FIRST_ROW, HEADER_ROW, Writer, col, ref, row_span, span

STATS_SHEET = "Data"
_WIDTHS = {"PassengerId": 11, "Split": 7, "Survived": 9, "Sex": 8, "Embarked": 9, "Name": 40}


@dataclass
class Block:
    """Where one sheet's passengers sit, for the formulas of other sheets."""

    sheet: str
    n: int
    col: dict  # raw column name -> 0-based column
    first_feature: int

    @property
    def last_feature(self) -> int:
        return self.first_feature + len(FEATURES) - 1

    def features(self, row: int, sheet: str | None = None) -> str:
        return row_span(self.first_feature, self.last_feature, row, sheet)

    def column(self, name: str, r0: int, r1: int, sheet: str | None = None) -> str:
        return span(self.col[name], self.col[name], r0, r1, sheet)


def write_stats(w: Writer, result, data: Block) -> None:
    """Max Age and the fill values, as formulas over the training rows where possible.

    A fill value is the mode; MODE breaks ties differently in Excel (first seen) and
    LibreOffice (smallest), so a tied or text mode is written as the value Python chose.
    """
    ws, s = w.ws, w.s
    train = result.frame[result.frame["split"] == "train"]
    last = FIRST_ROW + result.n_train - 1
    rows = (FIRST_ROW, last)
    w.wb.define_name("train_y", f"={data.column('Survived', *rows, data.sheet)}")
    w.wb.define_name("train_X", f"={span(data.first_feature, data.last_feature, *rows, data.sheet)}")
    ws.set_row(1, 30)
    ws.write_string(1, 0, "Training statistics", s(None, None, bold=True))
    ws.write_string(2, 0, "(training rows only)", s.note)
    # Over a sample, MAX and MODE would see other rows than torch did: write torch's values.
    sampled = bool(result.sample_of)
    age_max = None if sampled else f"MAX({data.column('Age', FIRST_ROW, last)})"
    items = [("max Age", "age_max", age_max, result.stats.age_max)]
    for column in INPUTS:
        value = result.stats.fill[column]
        counts = train[column].dropna().value_counts()
        formula = None
        if column in NUMERIC_INPUTS and mode_is_unique(train[column]) and counts.max() >= 2 and not sampled:
            formula = f"MODE({data.column(column, FIRST_ROW, last)})"
        items.append((f"fill {column}", f"fill_{column}", formula, value))
    for i, (label, name, formula, value) in enumerate(items):
        c = 3 + i
        ws.write_string(1, c, label, s.header)
        if formula:
            w.formula(2, c, formula, value)
        else:
            w.reported(2, c, value)
        w.wb.define_name(name, f"={STATS_SHEET}!${col(c)}$3")
    ws.write_string(3, 3, "Fill values are each column's most frequent value (the mode), used "
                    "where a value is missing: test rows and --missing fill.", s.note)


def write_passengers(w: Writer, sheet: str, frame, X, raw_cols, stats_sheet=STATS_SHEET) -> Block:
    """Raw columns as text/numbers, then each feature's formula with torch's value cached."""
    ws = w.ws
    cols = {name: i for i, name in enumerate(raw_cols)}
    first_feature = len(raw_cols)
    headers = list(raw_cols) + [f.name for f in FEATURES] + ["Name"]
    w.headers(HEADER_ROW, 0, headers)
    for i, name in enumerate(headers):
        ws.set_column(i, i, _WIDTHS.get(name, 9))
    name_col = len(headers) - 1
    needs_fill = {c: bool(frame[c].isna().any()) for c in INPUTS}
    values = X.numpy()
    for i, record in enumerate(frame.itertuples(index=False)):
        r = FIRST_ROW + i
        row = record._asdict()
        for name in raw_cols:
            value = row["split"] if name == "Split" else row[name]
            w.raw(r, cols[name], value, "text" if name in ("Sex", "Embarked", "Split") else None)
        refs = {}
        for c in INPUTS:
            cell = ref(cols[c], r)
            refs[c] = f'IF({cell}="",fill_{c},{cell})' if needs_fill[c] else cell
        for j, feature in enumerate(FEATURES):
            w.formula(r, first_feature + j, feature.excel(refs), values[i, j], "feature")
        w.raw(r, name_col, row.get("Name") or "", "text")
    ws.freeze_panes(FIRST_ROW, 1)
    return Block(sheet, len(frame), cols, first_feature)


def fill_note(frame) -> str:
    missing = [c for c in INPUTS if frame[c].isna().any()]
    if not missing:
        return "No value is missing in these rows."
    return ("Missing values are filled by formula, IF(cell=\"\",fill,cell), in: " + ", ".join(missing) + ".")
