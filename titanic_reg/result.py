"""What `fit` computed, as typed records: one ModelRun per model, one Baseline per baseline,
and the FitResult that holds them with the rows, the recipe and where it all came from.

The reports (report.py) and the workbook (titanic_reg.sheets) are views of a FitResult:
they read it and ask its models; they train, descend and solve nothing themselves. A
notebook looks at it (`result`, `result.scores`) and predicts with it (`result.predict`);
writing files is the layer above (api.py: `to_excel`, `save`).
"""
from __future__ import annotations

import base64
import dataclasses
import functools
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .data import Rows
from .descent import Descent
from .errors import OptionError
from .features import FittedRecipe
from .losses import Loss
from .losses import get as get_loss
from .models import Model
from .optimum import Optimum
from .recipe import Recipe
from .submissions import Submission
from .summary import unsigned_zero
from .train import OPTIMIZER_TITLES, TrainConfig, Trained


@dataclass(repr=False)
class ModelRun:
    """One model fitted: the registry entry, how it was trained, what training produced, its
    scores, and (in a workbook view) the plain descent its Descent sheet redoes by formula."""

    model: Model
    config: TrainConfig
    trained: Trained
    scores: dict  # title, train_/valid_ scores, fit_seconds, n_params: its row of the comparison
    descent_lr: float | None = None  # the Descent sheet's learning rate; None: no Descent run
    descent: Descent | None = None  # the run itself, over the rows a workbook holds (sample.workbook_view)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def title(self) -> str:
        return self.model.title

    @property
    def loss(self) -> Loss:
        return get_loss(self.config.loss)

    @property
    def params(self) -> torch.Tensor:
        return self.trained.params

    @property
    def output(self):
        """Its output entry (outputs.py): the identity, a sigmoid or a softmax."""
        return self.model.output

    def probabilities(self, X: torch.Tensor) -> torch.Tensor:
        """A model of K classes: each class's probability for each row of X, (K, rows), as a sheet
        lays a class per column block."""
        return self.predict(X).T

    @property
    def optimizer_title(self) -> str:
        """How it was fitted, in words: "conjugate gradient", "Adam", ..."""
        return OPTIMIZER_TITLES.get(self.config.optimizer, self.config.optimizer)

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        """Its prediction for each row of X (in y's units)."""
        return self.model.predict(X, self.trained.params[None])[0]

    def layers(self, X: torch.Tensor) -> list[np.ndarray]:
        """Each layer's outputs for the rows of X, as (rows, width) arrays."""
        return [v[0].T.numpy() for v in self.model.forward(X, self.trained.params[None])]

    def settings(self) -> dict:
        """Its training settings, as metrics.json has them."""
        return {"optimizer": self.config.optimizer, "epochs": self.config.epochs, "lr": self.config.lr,
                "restarts": self.config.restarts, "loss": self.config.loss, "batch_size": self.config.batch_size}

    def __repr__(self) -> str:
        return f"ModelRun({self.name!r}, {self.optimizer_title}, {self.trained!r})"


@dataclass(repr=False)
class Baseline:
    """A baseline fitted by scikit-learn, or a rule of the recipe: its row of the comparison."""

    name: str
    scores: dict  # title, train_/valid_ scores, fit_seconds, n_params (None: no count of weights), ...

    @property
    def title(self) -> str:
        return self.scores.get("title", self.name)

    @property
    def coefficients(self) -> list | None:
        """The weights of a closed-form least-squares baseline, one per feature (else None)."""
        return self.scores.get("params")

    def __repr__(self) -> str:
        return f"Baseline({self.name!r}, {self.title!r})"


@dataclass(repr=False)
class FitResult:
    """Everything `fit` computed; the reports and the workbook are written from it.

    In a notebook: `result` shows the comparison table and the loss curves;
    `result.scores` is that table as a DataFrame; `result.runs[name]` one model's run
    (`.trained.params`, `.trained.history`, `.config`); `result.predict(rows)` predicts new
    rows (a DataFrame, a dict for one row, or a CSV path); `result.to_excel(path)` writes the
    workbook and `result.save(folder)` every output `titanic-reg fit` writes.
    """

    provenance: dict  # where it came from: paths, hashes, versions, seed, split, device
    train_path: Path
    test_path: Path | None
    recipe: Recipe
    fitted: FittedRecipe  # the recipe's statistics, from the training rows
    data: Rows  # rows used: training split first, then validation
    n_train: int
    test: Rows | None
    dropped: int  # training rows left out by missing = "drop"
    no_target: int  # rows left out for a missing target
    X: torch.Tensor  # features of `data`, in `features` order
    y: torch.Tensor  # the target as the models learn it: 0/1, or (value - min) / sd
    X_test: torch.Tensor | None
    runs: dict[str, ModelRun]  # by model name, in the order asked for
    baselines: dict[str, Baseline]  # by name: scikit-learn's, then the recipe's rules
    submit_model: str  # the model or baseline behind the predictions
    predictions: pd.DataFrame | None  # the submission's frame (predictions.csv, or Kaggle's submission.csv)
    optimum: Optimum | None = None  # closed-form least squares on the training rows
    descent_steps: int = 0  # rows of plain descent on each Descent sheet
    leakage: list = field(default_factory=list)  # inputs that alone predict the target (leakage.py)
    collinear: list = field(default_factory=list)  # features that are a mix of others on the training rows
    lacking: tuple = ()  # input columns with missing values in the training file (dropped rows)
    sample_of: dict | None = None  # a workbook view whose rows are a sample (sample.py): the full counts
    descent_asked: int | None = None  # a workbook view with fewer Descent steps than asked (sample.py): how many

    @property
    def kind(self) -> str:
        return self.recipe.target.kind

    @property
    def classes(self) -> list[str] | None:
        """A K-class target's classes as the data writes them, in the order of the models' outputs
        (y holds each row's index into them); None for a binary or number target."""
        return self.recipe.target.class_names(self.fitted.target) if self.kind == "classes" else None

    @property
    def submission(self) -> Submission:
        return self.recipe.submission_strategy

    @property
    def model_list(self) -> list[Model]:
        """The models fitted, as registry entries, in the order asked for."""
        return [run.model for run in self.runs.values()]

    @property
    def metrics(self) -> dict[str, dict]:
        """Every row of the comparison by name: our models first, then the baselines."""
        return {**{n: r.scores for n, r in self.runs.items()}, **{n: b.scores for n, b in self.baselines.items()}}

    @property
    def features(self) -> tuple[str, ...]:
        return self.fitted.names

    @property
    def split(self) -> np.ndarray:
        return np.where(np.arange(len(self.data)) < self.n_train, "train", "valid")

    def rows(self, split: str) -> slice:
        n = self.n_train
        return slice(0, n) if split == "train" else slice(n, len(self.data))

    def closed_form_runs(self) -> list[ModelRun]:
        """The runs whose loss has the closed-form optimum as its minimum: a model linear in its
        parameters, trained on a quadratic loss."""
        return [r for r in self.runs.values() if r.model.linear_in_params and r.loss.quadratic]

    def output(self, out: torch.Tensor) -> torch.Tensor:
        """A model's outputs in the target's own units."""
        return self.fitted.decode(out)

    def workbook_view(self, max_rows: int | None = None) -> "FitResult":
        """The rows a workbook holds (a labelled, seeded sample beyond `max_rows`) with the
        Descent sheets' runs over them: see sample.py."""
        from .sample import workbook_view

        return workbook_view(self, max_rows)

    # ------------------------------------------------------------------ looking at it

    @property
    def scores(self) -> pd.DataFrame:
        """The comparison table: one row per model (ours first, then the baselines), its
        training and validation scores, parameters, size, fitting time and prediction time
        (ms per 1,000 rows)."""
        from .metrics import SCORES

        keys = [f"{split}_{s}" for s in SCORES[self.kind] for split in ("train", "valid")]
        if len(self.data) == self.n_train:
            keys = [k for k in keys if k.startswith("train_")]
        metrics = self.metrics
        frame = pd.DataFrame([{"model": n, **{k: m.get(k) for k in keys},
                               "params": m.get("n_params"),
                               "size_kb": None if m.get("size_bytes") is None else m["size_bytes"] / 1000,
                               "fit_ms": None if m.get("fit_seconds") is None else 1000 * m["fit_seconds"],
                               "predict_ms_per_1000": m.get("predict_ms_per_1000")}
                              for n, m in metrics.items()]).set_index("model")
        return frame.astype({"params": "Int64", "size_kb": "float64", "predict_ms_per_1000": "float64"})

    def __repr__(self) -> str:
        from rich.console import Console

        from .report import table

        console = Console(file=io.StringIO(), width=100, color_system=None, force_terminal=False, force_jupyter=False)
        console.print(table(self, api=True))
        lines = [line.rstrip() for line in console.file.getvalue().rstrip().splitlines()]  # no padding
        return "\n".join(lines) + "\n" + self._hint()

    def _hint(self) -> str:
        return ("result.scores, .runs[name], .predict(rows), .to_excel(path), .save(folder); "
                f"best of ours: {self.submit_model}")

    def _repr_html_(self) -> str:
        from html import escape

        from .compare_figure import compare_figure, compare_plot
        from .report import caption as notes
        from .report import loss_figure, loss_plot

        caption = "\n".join(notes(self, api=True))
        scores = self.scores.rename(index={self.submit_model: f"{self.submit_model} *"})
        formats = {c: (lambda v: f"{v:.4f}") for c in scores.columns}
        formats.update(params=lambda v: f"{v:,}", fit_ms=lambda v: f"{v:,.0f}",
                       size_kb=lambda v: f"{v:,.2f}", predict_ms_per_1000=lambda v: f"{v:,.4g}")
        # Formatted here, not by to_html: its formatters and na_rep skip the Int64 column's <NA>.
        shown = pd.DataFrame({c: scores[c].map(functools.partial(_cell, formats[c])) for c in scores.columns},
                             index=scores.index)
        numbers = shown.to_html(border=0)
        pictures = []
        for figure in (loss_figure(loss_plot(self)), compare_figure(compare_plot(self))):
            png = io.BytesIO()
            figure.savefig(png, format="png", dpi=80)
            pictures.append(base64.b64encode(png.getvalue()).decode("ascii"))
        picture, compared = pictures
        title = self.recipe.title or self.recipe.target.column
        rows = f"{self.n_train:,} training rows" + (f", {len(self.data) - self.n_train:,} validation rows"
                                                    if len(self.data) > self.n_train else "")
        return (f"<div><b>{escape(title)}</b>, {rows}{numbers}"
                f"<p style='font-size:smaller'>{'<br>'.join(map(escape, caption.splitlines()))}</p>"
                f"<img alt='training loss' src='data:image/png;base64,{picture}'>"
                f"<img alt='accuracy against fit time and size' src='data:image/png;base64,{compared}'>"
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
        from .submissions import PREDICTIONS
        from .table import frame_table, read_table

        name = model if model is not None else (self.submit_model if self.submit_model in self.runs
                                                else next(iter(self.runs)))
        if name not in self.runs:
            raise OptionError("model", f"{name!r} is not one of this result's models: {', '.join(self.runs)}")
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
        run = self.runs[name]
        return PREDICTIONS.frame(recipe, self.fitted, data, run.predict(self.fitted.matrix(data)), run.model.output)


def _cell(fmt, value) -> str:
    """A score table's cell: "–" for a score a model has not, and no "-0.0000"."""
    if value is None or pd.isna(value):
        return "–"
    return unsigned_zero(fmt(value))
