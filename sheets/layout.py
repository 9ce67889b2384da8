"""Where things sit: row numbers, column letters and the references formulas use."""
from __future__ import annotations

import math
import textwrap

import xlsxwriter
from xlsxwriter.utility import quote_sheetname, xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from titanic_reg.errors import warn
from titanic_reg.table import XML_ILLEGAL

from .functions import ALLOWED, functions_used

HEADER_ROW = 4  # 0-based: Excel row 5 holds the column headers
HEADER_WIDTH = 9  # characters: a header column's width unless told otherwise
LINE_POINTS = 15  # a row's height per line of bold 11-point text
FIRST_ROW = 5  # 0-based: Excel row 6 holds the first passenger




def col(c: int) -> str:
    return xl_col_to_name(c)


def ref(c: int, row: int, sheet: str | None = None, fix_col: bool = True) -> str:
    """A cell reference to 0-based (row, c); the column fixed so formulas copy down."""
    text = f"{'$' if fix_col else ''}{col(c)}{row + 1}"
    return f"{quote_sheetname(sheet)}!{text}" if sheet else text


def span(c0: int, c1: int, r0: int, r1: int, sheet: str | None = None) -> str:
    """An absolute range over 0-based rows r0..r1 inclusive and columns c0..c1."""
    text = f"${col(c0)}${r0 + 1}:${col(c1)}${r1 + 1}"
    return f"{quote_sheetname(sheet)}!{text}" if sheet else text


def row_span(c0: int, c1: int, row: int, sheet: str | None = None) -> str:
    """The same row across columns c0..c1, columns fixed, row relative."""
    text = f"${col(c0)}{row + 1}:${col(c1)}{row + 1}"
    return f"{quote_sheetname(sheet)}!{text}" if sheet else text


def number(value) -> float | None:
    """A cached value for XlsxWriter: a plain float, None for a missing one."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def xml_safe(text: str, where: str = "") -> str:
    """`text` without what XML cannot hold: control characters dropped, lone surrogates as U+FFFD.

    An InputWarning (one `warning:` line in the CLI) names the cell and the characters.
    """
    if not XML_ILLEGAL.search(text):
        return text
    found = sorted(set(XML_ILLEGAL.findall(text)))
    shown = ", ".join(f"U+{ord(ch):04X}" for ch in found)
    clean = XML_ILLEGAL.sub(lambda m: "\ufffd" if "\ud800" <= m.group() <= "\udfff" else "", text)
    warn(f"{where + ': ' if where else ''}text {clean[:40]!r} had characters a workbook "
         f"cannot hold ({shown}): control characters dropped, lone surrogates replaced by U+FFFD")
    return clean


class _Worksheet(Worksheet):
    """XlsxWriter tries about thirty regular-expression rewrites on every formula, for the
    newer functions Excel stores with an `_xlfn.` prefix: a third of the time spent writing
    our workbook. None of sheets/functions.py's functions is one of those, so a formula that
    calls only them is passed through as it is; any other goes through XlsxWriter's own."""

    def _prepare_formula(self, formula, expand_future_functions=False):
        bare = formula[1:] if formula.startswith("{") else formula
        bare = bare[1:] if bare.startswith("=") else bare
        bare = bare[:-1] if bare.endswith("}") else bare
        if _only_allowed(bare):
            return bare
        return super()._prepare_formula(formula, expand_future_functions)


_DIGITS = str.maketrans("123456789", "000000000")
_CHECKED: dict[str, bool] = {}


def _only_allowed(formula: str) -> bool:
    """Whether a formula calls only sheets/functions.py's functions, remembered by its shape
    (every digit as 0): a column of one formula down 10,000 rows is checked a few times, not
    10,000 (the check was a tenth of writing a wide workbook)."""
    key = formula.translate(_DIGITS)
    known = _CHECKED.get(key)
    if known is None:
        known = _CHECKED[key] = functions_used(formula) <= ALLOWED
        if len(_CHECKED) > 100_000:  # shapes are few; a caller writing millions of others
            _CHECKED.clear()
    return known


def new_workbook(path) -> xlsxwriter.Workbook:
    """An XlsxWriter workbook as ours are written: text never turned into a formula or a number."""
    # in_memory: XlsxWriter otherwise writes each sheet to a temporary file of its own in
    # TMPDIR (rows of the user's data) and leaves them there when the disk fills up.
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                         "in_memory": True})
    wb.worksheet_class = _Worksheet
    return wb


def close_workbook(wb: xlsxwriter.Workbook) -> None:
    """wb.close(), a failure to write the file (a full disk) raised as the OSError it is:
    XlsxWriter wraps it in a FileCreateError, which the command would show as a traceback."""
    from xlsxwriter.exceptions import FileCreateError

    try:
        wb.close()
    except FileCreateError as exc:
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else OSError(str(exc))
        raise cause from None


def word_width(text: str) -> int:
    """The column width (in characters of the default font) that the longest word of a bold
    header needs: bold letters are wider than the digit a width counts."""
    return min(40, math.ceil(1.2 * max(map(len, text.split()), default=0)) + 1)  # a longer word must break


class Writer:
    """Writes one sheet's cells with the legend's formats; formulas get cached values.

    Text goes in with write_string, so text stays text whatever it starts with
    (=, +, -, @), and through xml_safe, so no character can break the file.
    """

    def __init__(self, wb, ws, styles):
        self.wb, self.ws, self.s = wb, ws, styles
        self._headers: dict[int, set] = {}  # row -> the header names written on it
        self._header_lines: dict[int, int] = {}  # row -> lines its longest header wraps onto
        self._widths: dict[int, float] = {}  # column -> the width headers() gave it

    def _string(self, r, c, value, fmt):
        where = f"{self.ws.get_name()}!{col(c)}{r + 1}"
        self.ws.write_string(r, c, xml_safe(value, where), fmt)

    def raw(self, r, c, value, number_fmt=None):
        fmt = self.s("raw", number_fmt)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            self.ws.write_blank(r, c, None, fmt)
        elif isinstance(value, str):
            self._string(r, c, value, fmt)  # text stays text, whatever it starts with
        else:
            self.ws.write_number(r, c, float(value), fmt)

    def formula(self, r, c, text, value, number_fmt=None, kind="formula"):
        if isinstance(value, str):
            cached = xml_safe(value, f"{self.ws.get_name()}!{col(c)}{r + 1}")
        elif isinstance(value, bool):
            cached = int(value)
        else:
            cached = number(value)
        self.ws.write_formula(r, c, "=" + text, self.s(kind, number_fmt), cached)

    def reported(self, r, c, value, number_fmt=None):
        self.raw_as(r, c, value, "reported", number_fmt)

    def param(self, r, c, value, number_fmt="param"):
        self.raw_as(r, c, value, "param", number_fmt)

    def raw_as(self, r, c, value, kind, number_fmt=None):
        fmt = self.s(kind, number_fmt)
        if value is None:
            self.ws.write_blank(r, c, None, fmt)
        elif isinstance(value, str):
            self._string(r, c, value, fmt)
        else:
            self.ws.write_number(r, c, float(value), fmt)

    def headers(self, row, first_col, names, widths=None):
        """Headers along `row`, wrapped in their columns (`widths`, else the usual 9 characters),
        the row as tall as its longest needs; a name already on that row becomes "name (2)",
        "name (3)": a table read back by pandas keeps the names as written (see sheets/read.py)."""
        seen = self._headers.setdefault(row, set())
        lines = self._header_lines.get(row, 2)  # at least two lines: the rows look alike
        for i, name in enumerate(names):
            unique, k = name, 1
            while unique in seen:
                k += 1
                unique = f"{name} ({k})"
            seen.add(unique)
            self._string(row, first_col + i, unique, self.s.header)
            width = HEADER_WIDTH if widths is None else (widths[i] if i < len(widths) else widths[-1])
            if widths is not None:
                # Wide enough for the longest word, which the engines would break mid-word
                # ("LinearRegressi / on"); never narrower than an earlier header made it.
                width = max(width, word_width(unique), self._widths.get(first_col + i, 0))
                self._widths[first_col + i] = width
                self.ws.set_column(first_col + i, first_col + i, width)
            lines = max(lines, len(textwrap.wrap(unique, max(int(width), 1), break_long_words=False)))
        self._header_lines[row] = lines
        self.ws.set_row(row, LINE_POINTS * lines)

    def text(self, r, c, value, fmt=None):
        self._string(r, c, str(value), fmt or self.s())
