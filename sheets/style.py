"""The workbook's look: the legend's colours and the number formats, in one place."""
from __future__ import annotations

# What a cell holds decides its colour; the About sheet shows this legend.
LEGEND = {
    "raw": ("#DDEBF7", "raw data, copied from the CSV"),
    "param": ("#FCE4D6", "parameters that came from torch"),
    "formula": ("#E2EFDA", "a live formula: the spreadsheet computes it"),
    "reported": ("#FFF2CC", "a figure reported by torch or scikit-learn (for comparison)"),
}

NUMBER = {
    "int": "0",
    "feature": "0.0000",
    "pred": "0.0000",
    "loss": "0.000000",
    "param": "0.000000",
    "stat": "General",
    "mse": "0.000000000",
    "acc": "0.00%",
    "diff": "0.0E+00",
    "ms": "0.0",
    "kb": "#,##0.00",
    "text": "@",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
}


class Styles:
    """Formats for one XlsxWriter workbook, made on first use and shared."""

    def __init__(self, workbook):
        self._wb = workbook
        self._cache = {}

    def __call__(self, kind: str | None = None, number: str | None = None, **extra):
        key = (kind, number, tuple(sorted(extra.items())))
        if key not in self._cache:
            props = {"font_name": "Calibri", "font_size": 11, **extra}
            if kind:
                props["bg_color"] = LEGEND[kind][0]
            if number:
                props["num_format"] = NUMBER[number]
            self._cache[key] = self._wb.add_format(props)
        return self._cache[key]

    @property
    def header(self):
        return self(None, None, bold=True, bottom=1, text_wrap=True, valign="bottom")

    @property
    def title(self):
        return self(None, None, bold=True, font_size=14)

    @property
    def note(self):
        return self(None, None, italic=True, font_color="#595959")
