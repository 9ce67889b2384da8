"""Errors the user can fix: the CLI prints them as one line and exits 1."""


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


class TrainingError(Exception):
    """Training could not go on (a loss that became NaN or infinite, for one)."""
