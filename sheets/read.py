"""A workbook read back into pandas: each sheet's table as a DataFrame with its header.

    from titanic_reg import read_sheet
    read_sheet("out/titanic.xlsx", "TwoReLU")      # PassengerId, Survived, Lin1, ..., Correct

The sheets that hold one row per passenger (Data, the models', MatMul, Test, the Descent
sheets) have their headers on Excel row 5, every name distinct, so plain pandas reads
them too: `pandas.read_excel(path, sheet_name="Data", header=4)`. Recipe and Params head
their tables on row 4, Losses and Compare on row 3; About and Charts hold notes and
charts, not a table. The values are those the workbook stores: torch's numbers, which a
spreadsheet recalculates to the same (`titanic-reg verify` checks it).
"""
from __future__ import annotations

from pathlib import Path

from .layout import HEADER_ROW

# Sheet -> the 0-based row of its table's header; the rest have theirs on HEADER_ROW.
HEADER_ROWS = {"Recipe": 3, "Params": 3, "Losses": 2, "Compare": 2}
NOT_TABLES = ("About", "Charts")


def header_row(sheet: str) -> int:
    return HEADER_ROWS.get(sheet, HEADER_ROW)


def read_sheet(path, sheet: str):
    """The table on `sheet` of a titanic-reg workbook, as a DataFrame: its header row as
    column names, the rows below it with blank ones left out (for Compare, the first table,
    which ends at the first blank row)."""
    import pandas as pd

    from titanic_reg.errors import OptionError

    names = pd.ExcelFile(path, engine="calamine").sheet_names
    if sheet not in names:
        raise OptionError("sheet", f"{Path(path).name} has no sheet {sheet!r}; its sheets: {', '.join(names)}")
    if sheet in NOT_TABLES:
        raise OptionError("sheet", f"{sheet} holds notes and charts, not a table; the tables: "
                                   f"{', '.join(n for n in names if n not in NOT_TABLES)}")
    frame = pd.read_excel(path, sheet_name=sheet, header=header_row(sheet), engine="calamine")
    blank = frame.isna().all(axis=1)
    if sheet == "Compare" and blank.any():
        frame = frame.iloc[:int(blank.to_numpy().argmax())]
    unnamed = [c for c in frame.columns if str(c).startswith("Unnamed: ") and frame[c].isna().all()]
    frame = frame.drop(columns=unnamed)
    return frame[~frame.isna().all(axis=1)].reset_index(drop=True)
