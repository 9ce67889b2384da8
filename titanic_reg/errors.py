"""Errors and warnings the user can act on: the CLI prints each as one line."""
from __future__ import annotations

import warnings


class InputError(Exception):
    """Bad input data: the message names the file, the row and the column."""

    def __init__(self, path, problem, row=None, column=None):
        self.path, self.problem, self.row, self.column = str(path), problem, row, column
        where = [self.path]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {problem}")


class RecipeError(InputError):
    """A recipe file that cannot be used: the message names the file, the line and the key."""

    def __init__(self, path, problem, line=None, key=None):
        Exception.__init__(self)
        self.path, self.problem, self.line, self.key = str(path), problem, line, key
        self.row, self.column = line, None
        where = [self.path]
        if line is not None:
            where.append(f"line {line}")
        if key:
            where.append(f"key {key}")
        self.args = (f"{', '.join(where)}: {problem}",)

    def __str__(self):
        return self.args[0]


class OptionError(ValueError):
    """An option that cannot be used with this data or recipe; the CLI reports it as a usage error."""

    def __init__(self, option: str, problem: str):
        self.option, self.problem = option, problem
        super().__init__(f"{option}: {problem}")


class TrainingError(Exception):
    """Training could not go on (a loss that became NaN or infinite, for one)."""


class InputWarning(UserWarning):
    """The input was used after a change the user should know about; one line, says what was done."""


def warn(message: str, stacklevel: int = 2) -> None:
    warnings.warn(InputWarning(message), stacklevel=stacklevel + 1)
