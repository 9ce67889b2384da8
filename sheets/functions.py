"""The spreadsheet functions the workbook may use: each runs the same in Excel 2010+
and LibreOffice 7+ (no dynamic arrays, no LET/LAMBDA/FILTER, no _xlfn. functions)."""
from __future__ import annotations

import re

ALLOWED = frozenset({
    "SUMPRODUCT", "IF", "LOG10", "LN", "AVERAGE", "MAX", "MIN", "MODE", "MMULT", "TRANSPOSE",
    "LINEST", "INDEX", "ROWS", "COUNTIFS", "SUMIFS", "EXACT", "OR", "MEDIAN", "STDEVP", "SQRT", "SUM",
    "COUNT", "COUNTIF", "MATCH", "DEVSQ", "ROW", "COLUMN", "INT", "MOD", "EXP", "ABS", "AVERAGEIFS",
    "YEAR", "MONTH", "WEEKDAY", "DATE", "SUMXMY2",
})

_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\(")
_STRING = re.compile(r'"[^"]*"')


def functions_used(formula: str) -> set[str]:
    """Names called in a formula (string literals ignored)."""
    return {name.upper() for name in _CALL.findall(_STRING.sub('""', formula))}
