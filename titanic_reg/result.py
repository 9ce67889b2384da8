"""FitResult: what `fit` computed, and what a notebook does with it: look at it, predict
new rows with it, write its workbook and outputs."""
from __future__ import annotations

import base64
import dataclasses
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import models as registry
from .data import Rows
from .errors import OptionError
from .features import Fitted
from .models import Model, decision
from .recipe import Recipe
from .train import Trained


@dataclass(repr=False)
class FitResult:
    """Everything `fit` computed; the reports and the workbook are written from it.

    In a notebook: `result` shows the comparison table and the loss curves;
    `result.scores` is that table as a DataFrame; `result.predict(rows)` predicts new rows
    (a DataFrame, a dict for one row, or a CSV path); `result.to_excel(path)` writes the
    workbook and `result.save(folder)` every output `titanic-reg fit` writes.
    """

    settings: dict
    train_path: Path
    test_path: Path | None
    recipe: Recipe
    fitted: Fitted  # the recipe's statistics, from the training rows
    data: Rows  # rows used: training split first, then validation
    n_train: int
    test: Rows | None
    dropped: int  # training rows left out by missing = "drop"
    no_target: int  # rows left out for a missing target
    X: torch.Tensor  # features of `data`, in `features` order
    y: torch.Tensor  # the target as the models learn it: 0/1, or (value - min) / sd
    X_test: torch.Tensor | None
    models: dict[str, Trained]  # by model name, in the order asked for
    metrics: dict[str, dict]  # model or baseline name -> scores
    submit_model: str
    predictions: pd.DataFrame | None  # predictions.csv, or Kaggle's submission.csv
    optimum: dict = field(default_factory=dict)  # closed-form least squares on the training rows
    descent: dict = field(default_factory=dict)  # model name -> Descent: filled by sheets.sample.for_sheets
    leakage: list = field(default_factory=list)  # inputs that alone predict the target (leakage.py)
    sample_of: dict | None = None  # set on a copy whose rows are a sample (see sheets/sample.py)
    lacking: tuple = ()  # input columns with missing values in the training file (dropped rows)

    @property
    def kind(self) -> str:
        return self.recipe.target.kind

    @property
    def model_list(self) -> list[Model]:
        """The models fitted, as registry entries, in the order asked for."""
        return [registry.get(name) for name in self.models]

    @property
    def features(self) -> tuple[str, ...]:
        return self.fitted.names

    @property
    def split(self) -> np.ndarray:
        return np.where(np.arange(len(self.data)) < self.n_train, "train", "valid")

    def rows(self, split: str) -> slice:
        n = self.n_train
        return slice(0, n) if split == "train" else slice(n, len(self.data))

    @property
    def kaggle(self) -> bool:
        return self.recipe.submission == "kaggle"

    @property
    def submission(self) -> pd.DataFrame | None:
        return self.predictions

    def optimizer_title(self, model: str) -> str:
        """How `model` was fitted, in words: "conjugate gradient", "Adam", ..."""
        from .train import OPTIMIZER_TITLES

        chosen = self.settings.get("models", {}).get(model, {}).get("optimizer")
        return OPTIMIZER_TITLES.get(chosen, chosen or "")

    def output(self, out: torch.Tensor) -> torch.Tensor:
        """A model's outputs in the target's own units."""
        return self.fitted.decode(out)

    # ------------------------------------------------------------------ looking at it

    @property
    def scores(self) -> pd.DataFrame:
        """The comparison table: one row per model (ours first, then the baselines), its
        training and validation scores, parameters and fitting time."""
        from .metrics import SCORES

        keys = [f"{split}_{s}" for s in SCORES[self.kind] for split in ("train", "valid")]
        if len(self.data) == self.n_train:
            keys = [k for k in keys if k.startswith("train_")]
        names = [n for n in self.models if n in self.metrics] + [n for n in self.metrics if n not in self.models]
        frame = pd.DataFrame([{"model": n, **{k: self.metrics[n].get(k) for k in keys},
                               "params": self.metrics[n].get("n_params"),
                               "fit_ms": None if self.metrics[n].get("fit_seconds") is None
                               else 1000 * self.metrics[n]["fit_seconds"]} for n in names]).set_index("model")
        return frame.astype({"params": "Int64"})

    def __repr__(self) -> str:
        from rich.console import Console

        from .report import table

        console = Console(file=io.StringIO(), width=100, color_system=None, force_terminal=False, force_jupyter=False)
        console.print(table(self, api=True))
        lines = [line.rstrip() for line in console.file.getvalue().rstrip().splitlines()]  # no padding
        return "\n".join(lines) + "\n" + self._hint()

    def _hint(self) -> str:
        return ("result.scores, .models[name], .predict(rows), .to_excel(path), .save(folder); "
                f"best of ours: {self.submit_model}")

    def _repr_html_(self) -> str:
        from html import escape

        from .report import loss_figure, loss_plot, table

        caption = table(self, api=True).caption or ""
        scores = self.scores.rename(index={self.submit_model: f"{self.submit_model} *"})
        formats = {c: (lambda v: f"{v:.4f}") for c in scores.columns}
        formats.update(params=lambda v: "–" if pd.isna(v) else f"{v:,}", fit_ms=lambda v: f"{v:,.0f}")
        numbers = scores.to_html(formatters=formats, na_rep="–", border=0)
        figure = loss_figure(loss_plot(self))
        png = io.BytesIO()
        figure.savefig(png, format="png", dpi=80)
        picture = base64.b64encode(png.getvalue()).decode("ascii")
        title = self.recipe.title or self.recipe.target.column
        rows = f"{self.n_train:,} training rows" + (f", {len(self.data) - self.n_train:,} validation rows"
                                                    if len(self.data) > self.n_train else "")
        return (f"<div><b>{escape(title)}</b>, {rows}{numbers}"
                f"<p style='font-size:smaller'>{'<br>'.join(map(escape, caption.splitlines()))}</p>"
                f"<img alt='training loss' src='data:image/png;base64,{picture}'>"
                f"<p><code>{escape(self._hint())}</code></p></div>")

    # ------------------------------------------------------------------ using it

    def predict(self, rows, model: str | None = None) -> pd.DataFrame:
        """Predict new rows with one of our models (by default the one `fit` chose).

        `rows`: a DataFrame, a dict (one row) or a list of dicts, or the path of a CSV. They
        are read and checked as `fit` reads a test file: the recipe's columns, typed, filled
        from the training rows' statistics, with a warning for levels training never saw.
        The ID column is optional here. Returns the ID (or `row`: the line of a CSV, the
        header being line 1; the position, from 0, of a DataFrame's or a list's rows),
        `prediction` in the target's own terms, and `score`, the model's output.
        """
        from .features import new_rows
        from .table import frame_table, read_table

        name = model if model is not None else (self.submit_model if self.submit_model in self.models
                                                else next(iter(self.models)))
        if name not in self.models:
            raise OptionError("model", f"{name!r} is not one of this result's models: {', '.join(self.models)}")
        if isinstance(rows, dict):
            rows = [rows]
        if isinstance(rows, list):
            rows = pd.DataFrame(rows)
        if isinstance(rows, pd.DataFrame):
            table = frame_table(rows)
        elif isinstance(rows, (str, Path)):
            table = read_table(rows)
        else:
            raise OptionError("rows", f"must be a DataFrame, a dict, a list of dicts or a CSV path, not a "
                                      f"{type(rows).__name__}")
        recipe = self.recipe
        if recipe.id and table.find(recipe.id) is None:
            recipe = dataclasses.replace(recipe, id=None)
        data = new_rows(table, recipe, self.fitted, expected=self.lacking)
        X = self.fitted.matrix(data)
        out = registry.get(name).predict(X, self.models[name].params[None])[0]
        return prediction_frame(recipe, self.fitted, data, out, kaggle=False)

    def to_excel(self, path, max_rows: int | None = None) -> Path:
        """Write the workbook (as `titanic-reg fit` does) to `path`, replaced whole or not at all."""
        from titanic_reg.sheets.workbook import write_workbook

        from .atomic import write_atomic

        path = Path(path)
        if path.suffix.lower() != ".xlsx":
            raise OptionError("path", f"a workbook's name ends in .xlsx, not {path.name!r}")
        return write_atomic(path, lambda tmp: write_workbook(self, tmp, max_rows))

    def save(self, folder, workbook: bool = True) -> list[Path]:
        """Write every output `titanic-reg fit` writes into `folder` (created if missing):
        metrics.json, the predictions, recipe.toml, loss.png and the workbook; all replace
        their old versions together, or none does."""
        from .report import out_problem, outputs, write_outputs

        problem = out_problem(folder, outputs(self.kaggle, self.recipe.workbook_name if workbook else None))
        if problem:
            raise OptionError("folder", problem)
        writer = None
        if workbook:
            from titanic_reg.sheets.workbook import write_workbook

            writer = write_workbook
        return write_outputs(self, folder, writer)



def prediction_frame(recipe: Recipe, fitted: Fitted, rows: Rows, out: torch.Tensor,
                     kaggle: bool | None = None) -> pd.DataFrame:
    """predictions.csv: the ID (or the file's `row`), the prediction, the model's raw score;
    for the Kaggle recipe (unless kaggle=False), submission.csv's two columns."""
    target = recipe.target
    if recipe.submission == "kaggle" if kaggle is None else kaggle:
        return pd.DataFrame({recipe.id: rows.id, target.column: decision(out).numpy().astype(np.int64)})
    key = {recipe.id: rows.id} if recipe.id else {"row": rows.row}
    if target.kind == "number":
        return pd.DataFrame({**key, "prediction": fitted.decode(out).numpy(), "score": out.numpy()})
    said = decision(out).numpy() > 0
    yes, no = target.label(fitted.target, True), target.label(fitted.target, False)
    if yes.lstrip("-").isdigit() and no.lstrip("-").isdigit():  # classes that are whole numbers stay numbers
        yes, no = int(yes), int(no)
    return pd.DataFrame({**key, "prediction": np.where(said, yes, no), "score": out.numpy()})
