"""Helpers shared by test modules."""
from openpyxl.formula.translate import Translator
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.formula import ArrayFormula


def copy_last_row_down(ws, last):
    """What a user does in Excel: copy the last step row, paste it into the next one.
    An array formula (a gradient row) is pasted whole, one row down."""
    for cell in ws[last]:
        value, dest = cell.value, f"{cell.column_letter}{last + 1}"
        if isinstance(value, ArrayFormula):
            text = Translator(value.text, origin=cell.coordinate).translate_formula(dest)
            first_col, first_row, last_col, last_row = range_boundaries(value.ref)
            ref = f"{get_column_letter(first_col)}{first_row + 1}:{get_column_letter(last_col)}{last_row + 1}"
            ws[dest] = ArrayFormula(ref=ref, text=text)
        elif isinstance(value, str) and value.startswith("="):
            ws[dest] = Translator(value, origin=cell.coordinate).translate_formula(dest)
