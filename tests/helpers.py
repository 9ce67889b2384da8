"""Helpers shared by test modules."""
import shutil
import subprocess
from pathlib import Path

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


ROOT = Path(__file__).resolve().parents[1]


def copy_repository(dest: Path) -> Path:
    """The repository's files as a reader's clone has them (tracked and new, not ignored): no
    build/ folder, venv or output of an earlier run comes along."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file() and not src.is_symlink():  # a file deleted in the work tree is not copied
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


# The command's options that leave out scikit-learn's baselines (the recipe's rules, such as
# women_survive, are still scored): each takes seconds to fit, and only the tests of the baselines
# need them. Every command-line fit in the tests that is not about the baselines passes these;
# from Python the same is titanic_reg.fit(..., baselines=None).
NO_BASELINES = ("--baselines", "none")
