"""The Python API: `fit` and what a notebook does with its result, the layer above the core
(titanic_reg's computing modules) and the workbook writer (titanic_reg.sheets), which
never import each other upward or here.

    import titanic_reg
    result = titanic_reg.fit("data/train.csv")       # a Result: the core's FitResult, and
    result.to_excel("titanic.xlsx")                  # its files
    result.save("out")
    titanic_reg.read_sheet("titanic.xlsx", "TwoReLU")
"""
from __future__ import annotations

import functools
import numbers
import os
from pathlib import Path

from . import pipeline
from .errors import OptionError
from .progress import choose as choose_progress
from .limits import MAX_NAME, SHEET_ROWS
from .result import FitResult
from .sheets.read import read_sheet

__all__ = ["Result", "fit", "read_sheet"]


class Result(FitResult):
    """A FitResult that writes its workbook and outputs (see FitResult for the rest)."""

    def to_excel(self, path, max_rows: int | None = None) -> Path:
        """Write the workbook (as `titanic-reg fit` does) to `path`, replaced whole or not at all;
        beyond `max_rows` rows (10,000, fewer for a wide table, when None) it holds a seeded sample."""
        from .atomic import write_atomic
        from .sheets.workbook import write_workbook

        path = _path("path", path)
        if path.suffix.lower() != ".xlsx":
            raise OptionError("path", f"a workbook's name ends in .xlsx, not {path.name!r}")
        if len(path.stem.encode("utf-8", "surrogateescape")) > MAX_NAME:  # with atomic.py's temporary name's extras
            raise OptionError("path", f"a name of {len(path.stem.encode('utf-8', 'surrogateescape')):,} bytes before "
                                      f".xlsx is too long for a file: at most {MAX_NAME}")
        if not path.parent.is_dir():
            raise OptionError("path", f"the folder {str(path.parent)!r} does not exist (save() creates its folder; "
                                      "this writes one file)")
        if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, numbers.Integral)
                                     or not SHEET_ROWS[0] <= max_rows <= SHEET_ROWS[1]):
            raise OptionError("max_rows", f"must be None or a whole number from {SHEET_ROWS[0]:,} to "
                                          f"{SHEET_ROWS[1]:,}, not {max_rows!r}")
        from .sample import too_many_cells

        problem = too_many_cells(max_rows, self.recipe, self.features, self.model_list, len(self.data),
                                 0 if self.test is None else len(self.test))
        if problem:
            raise OptionError("max_rows", problem)
        return write_atomic(path, lambda tmp: write_workbook(self, tmp, max_rows))

    def save(self, folder, workbook: bool = True) -> list[Path]:
        """Write every output `titanic-reg fit` writes into `folder` (created if missing):
        metrics.json, the predictions, recipe.toml, loss.png and the workbook; all replace
        their old versions together, or none does."""
        from .report import input_in_the_way, out_problem, outputs, write_outputs
        from .sheets.workbook import write_workbook

        folder = _path("folder", folder)
        names = outputs(self.submission.file, self.recipe.workbook_name if workbook else None)
        problem = out_problem(folder, names) or input_in_the_way(folder, names, [
            ("the training data", None if self.train_path is None else str(self.train_path)),
            ("the test file", self.provenance.get("test"))])
        if problem:
            raise OptionError("folder", problem)
        return write_outputs(self, folder, write_workbook if workbook else None)


def _path(name: str, value) -> Path:
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise OptionError(name, f"must be a path (text or a pathlib.Path), not {value!r}")
    return Path(value)


@functools.wraps(pipeline.fit)  # its signature and docstring: every option, for help() and completion
def fit(*args, progress=None, **options) -> Result:
    # A fit of minutes is otherwise silent in a notebook; a script or a test prints nothing.
    core = pipeline.fit(*args, progress=choose_progress(progress), **options)
    return Result(**{name: getattr(core, name) for name in core.__dataclass_fields__})
