"""Defined names for the workbook's statistics, valid in every engine whatever the column is called.

A column may hold spaces, punctuation, a leading digit or letters beyond ASCII; a defined
name may not (Excel: letters, digits, '_' and '.', not a cell reference, at most 255
characters, unique in any case). Each name is the statistic, '_', and the column with
every other character as '_': `fill_Age`, `mean_bill_length_mm`, `level2_island`.
"""
from __future__ import annotations

import re

class Names:
    def __init__(self):
        self.taken = {"train_x", "train_y"}  # the training ranges' names (data_sheet.define_training_ranges)
        self.by_key: dict[tuple[str, str], str] = {}

    def reserve(self, names) -> None:
        """Names the workbook defines elsewhere (the models' tensors)."""
        self.taken |= {n.lower() for n in names}
        self.taken |= {f"{n.lower()}_{x}" for n in names for x in ("r", "c")}

    def __call__(self, stat: str, column: str) -> str:
        """The name of statistic `stat` of `column`, the same every time it is asked for."""
        key = (stat, column)
        if key not in self.by_key:
            part = re.sub(r"[^A-Za-z0-9_]", "_", column) or "_"
            base = f"{stat}_{part}"[:240]
            name, k = base, 2
            while name.lower() in self.taken:
                name, k = f"{base}_{k}", k + 1
            self.taken.add(name.lower())
            self.by_key[key] = name
        return self.by_key[key]

    def of(self, column: str):
        """`name(stat)` for one column, as the transforms' formulas want it."""
        return lambda stat: self(stat, column)
