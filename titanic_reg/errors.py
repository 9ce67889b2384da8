"""Errors and warnings the user can act on: the CLI prints each as one line.

A message that names an option speaks its caller's language: `--valid-pct 0.5` on the
command line, `valid_pct=0.5` in Python. The CLI says which (`speaking_cli`); messages
are built with `option(name, value)`, from the Python name.
"""
from __future__ import annotations

import contextlib
import contextvars
import re
import sys
import warnings
from pathlib import Path

# C0 controls but tab, LF and CR (whitespace, which a message line folds), DEL and C1 controls:
# a terminal acts on them (ESC[31m colours, ESC]... retitles, CSI erases), so a value from the
# user's file that holds them is shown as \x1b, never sent as it is.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CLI = contextvars.ContextVar("titanic_reg_cli", default=False)
# Python names whose command-line option is not the name with - for _.
_FLAGS = {"train_path": "DATA", "test_path": "--test"}


@contextlib.contextmanager
def speaking_cli():
    """Messages built in the block name command-line options (`--lr 0.1`), not arguments."""
    token = _CLI.set(True)
    try:
        yield
    finally:
        _CLI.reset(token)


def flag(name: str) -> str:
    """The command-line option of the Python argument `name`: lr -> --lr, valid_pct -> --valid-pct."""
    return _FLAGS.get(name, "--" + name.replace("_", "-"))


def option(name: str, value=None, metavar: str | None = None) -> str:
    """An option as the caller wrote it, with a value if given: `--lr 0.01` or `lr=0.01`;
    a metavar stands for any value: `--target COLUMN` or `target=...`."""
    if metavar is not None:
        return f"{flag(name)} {metavar}" if _CLI.get() else f"{name}=..."
    if hasattr(value, "item"):  # a numpy scalar, shown as the plain value it holds
        value = value.item()
    if _CLI.get():
        return flag(name) if value is None else f"{flag(name)} {value}"
    return name if value is None else f"{name}={value!r}"


def printable(text) -> str:
    """`text` with every control character a terminal would act on written as its escape (\\x1b)."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


class InputError(Exception):
    """Bad input data: the message names the file, the row and the column."""

    def __init__(self, path, problem, row=None, column=None):
        self.path, self.problem, self.row, self.column = str(path), problem, row, column
        where = [self.path]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(printable(f"{', '.join(where)}: {problem}"))


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
        self.args = (printable(f"{', '.join(where)}: {problem}"),)

    def __str__(self):
        return self.args[0]


class OptionError(ValueError):
    """An option that cannot be used with this data or recipe; the CLI reports it as a usage error.

    `name` is the Python argument; `option` what the caller wrote (`--valid-pct` or `valid_pct`).
    """

    def __init__(self, name: str, problem: str):
        self.name, self.problem = name, problem
        self.option = option(name)
        super().__init__(printable(f"{self.option}: {problem}"))


class TrainingError(Exception):
    """Training could not go on (a loss that became NaN or infinite, for one)."""

    def __str__(self):
        return printable(super().__str__())


class InputWarning(UserWarning):
    """The input was used after a change the user should know about; one line, says what was done."""


# The package, and sheets/ beside it in a clone (installed, it is titanic_reg/sheets, inside the first).
_OURS = tuple(str(Path(__file__).resolve().parent.parent / name) + "/" for name in ("titanic_reg", "sheets"))


def warn(message: str, category: type[Warning] = InputWarning) -> None:
    """Warn, pointing at the first line outside this package: the caller's, in a notebook,
    not the library's own (as Python 3.12's skip_file_prefixes does)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_OURS):
        frame, level = frame.f_back, level + 1
    warnings.warn(category(printable(message)), stacklevel=level if frame is not None else 2)
