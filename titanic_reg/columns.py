"""A table of text columns, as every source is read: a CSV (table.py), a folder of images
(images.py), a DataFrame (table.frame_table). Each column is kept factorised, as codes into
its distinct stripped texts: parsing then works on the distinct values."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError


@dataclass(frozen=True)
class Column:
    """One column: `codes[i]` indexes the stripped text of record i in `texts`."""

    name: str
    codes: np.ndarray
    texts: pd.Series  # object dtype, stripped
    # Its values were dates or datetimes (a DataFrame's), written as ISO 8601 text: they are read
    # as dates whatever format the recipe names for the column's text.
    dated: bool = False

    def values(self) -> np.ndarray:
        """Every record's stripped text (object array); slow on big files, for small uses."""
        return self.texts.to_numpy(dtype=object)[self.codes]

    def take(self, index: np.ndarray) -> "Column":
        return replace(self, codes=self.codes[index])


@dataclass
class Table:
    path: Path
    header: list[str]  # as written (stripped); empty names as "Unnamed: i"
    columns: list[Column]  # by position
    rows: np.ndarray  # spreadsheet row number of each record
    header_row: int | None  # spreadsheet row of the header (blank lines before it count); None for a DataFrame
    decimal_comma: bool
    image_shape: tuple[int, int] | None = None  # a folder of images: their height and width (images.py)

    def __len__(self) -> int:
        return len(self.rows)

    def find(self, name: str) -> str | None:
        """The header name meaning `name`: the same text, else the only one equal to it in any case."""
        if name in self.header:
            return name
        same = [h for h in self.header if h.lower() == name.lower()]
        return same[0] if len(same) == 1 else None

    def column(self, name: str) -> Column:
        """The column called `name` (see find); InputError when absent or named twice."""
        found = self.find(name)
        if found is None:
            raise InputError(self.path, f"column {name} is missing; the header has {self.listed()}",
                             row=self.header_row)
        places = [i for i, h in enumerate(self.header) if h == found]
        if len(places) > 1:
            raise InputError(self.path, f"column {found} appears twice in the header (columns "
                                        f"{places[0] + 1} and {places[1] + 1})", row=self.header_row, column=found)
        return self.columns[places[0]]

    def duplicates(self) -> set[str]:
        seen, twice = set(), set()
        for h in self.header:
            (twice if h in seen else seen).add(h)
        return twice

    def listed(self, limit: int = 30) -> str:
        names = [h for h in self.header if h] or ["nothing"]
        more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
        return ", ".join(names[:limit]) + more

    def take(self, index: np.ndarray) -> "Table":
        return Table(self.path, self.header, [c.take(index) for c in self.columns], self.rows[index],
                     self.header_row, self.decimal_comma)
