"""What the predictions file is: our own predictions.csv, or a competition's submission, named
by the recipe (`submission = "kaggle"`): each a strategy that says the file's name, its
columns, its text, and its cells on the workbook's Test sheet.

    strategy = recipe.submission_strategy      # SUBMISSIONS[recipe.submission]
    frame = strategy.frame(recipe, fitted, rows, out, output)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Submission:
    """predictions.csv: the ID (or the file's `row`), the prediction in the target's own terms,
    and the model's raw score."""

    file: str = "predictions.csv"
    whole_ids: bool = False  # IDs must be whole numbers (a competition matches rows by them)

    def frame(self, recipe, fitted, rows, out, output):
        import pandas as pd

        target = recipe.target
        key = {recipe.id: rows.id} if recipe.id else {"row": rows.row}
        if target.kind == "number":
            return pd.DataFrame({**key, "prediction": fitted.decode(out).numpy(), "score": out.numpy()})
        if target.kind == "classes":  # out: (rows, K) probabilities
            names = target.class_names(fitted.target)
            probabilities = {f"p_{name}": out[:, k].numpy() for k, name in enumerate(names)}
            return pd.DataFrame({**key, "prediction": class_labels(target, fitted, out, output), **probabilities})
        said = output.decide(out).numpy() > 0
        yes, no = target.label(fitted.target, True), target.label(fitted.target, False)
        if _whole(yes, no):  # classes that are whole numbers stay numbers
            yes, no = int(yes), int(no)
        return pd.DataFrame({**key, "prediction": np.where(said, yes, no), "score": out.numpy()})

    def text(self, frame) -> str:
        return frame.to_csv(index=False, lineterminator="\n")

    def heads(self, target) -> list[str]:
        """Its columns on the Test sheet, after the models' own."""
        return ["prediction", "score"]

    def cells(self, frame, i: int, pred: str | None, target, fitted, decode_cell, output) -> list:
        """Row i's cells on the Test sheet: (formula or None for a reported value, value, number
        format), from the model's prediction cell `pred` (None: a baseline's, reported)."""
        score = float(frame["score"].iat[i])
        said = frame["prediction"].iat[i]
        if target.kind == "number":
            formula, fmt = (decode_cell(pred) if pred else None), "pred"
            said = float(said)
        else:
            yes, no = target.label(fitted.target, True), target.label(fitted.target, False)
            whole = _whole(yes, no)  # numbers in the frame: numbers here
            if whole:
                yes, no = str(int(yes)), str(int(no))
            else:
                yes, no = _text(yes), _text(no)
            formula = f"IF({pred}>0.5,{yes},{no})" if pred else None
            fmt = "int" if whole else "text"
        return [(formula, said, fmt), (pred, score, "pred")]


@dataclass(frozen=True)
class Kaggle(Submission):
    """Kaggle's submission.csv: the ID and the 0/1 decision, under the target's own name."""

    file: str = "submission.csv"
    whole_ids: bool = True

    def frame(self, recipe, fitted, rows, out, output):
        import pandas as pd

        if recipe.target.kind == "classes":
            return pd.DataFrame({recipe.id: rows.id, recipe.target.column: class_labels(recipe.target, fitted, out,
                                                                                       output)})
        return pd.DataFrame({recipe.id: rows.id, recipe.target.column: output.decide(out).numpy().astype(np.int64)})

    def text(self, frame) -> str:
        if frame.dtypes.iloc[-1] == object:  # classes written as text
            return frame.to_csv(index=False, lineterminator="\n")
        return frame.astype("int64").to_csv(index=False, lineterminator="\n")

    def heads(self, target) -> list[str]:
        return [target.column]

    def cells(self, frame, i, pred, target, fitted, decode_cell, output) -> list:
        value = int(frame[target.column].iat[i])
        return [(output.decide_excel(pred) if pred else None, value, "int")]


PREDICTIONS = Submission()
SUBMISSIONS = {None: PREDICTIONS, "kaggle": Kaggle()}


def class_labels(target, fitted, out, output) -> np.ndarray:
    """Each row's predicted class as the data writes it (whole numbers stay numbers), from (rows, K)
    probabilities."""
    names = target.class_names(fitted.target)
    whole = _whole(*names)
    labels = np.array([int(name) for name in names] if whole else names, dtype=np.int64 if whole else object)
    return labels[output.decide(out).numpy().astype(np.int64)] if len(out) else labels[:0]


def _whole(*names: str) -> bool:
    """Classes that are whole numbers (1 and 7, the digits): written as numbers, not text."""
    return all(name.lstrip("-").isdigit() for name in names)


def _text(value: str) -> str:
    return '"' + str(value).replace('"', '""') + '"'
