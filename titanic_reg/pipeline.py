"""`fit()`: from a CSV to fitted models, baselines and predictions, in small named stages.

    recipe = choose_recipe(table, ...)      the given one, the inferred one, or the lesson's
    data, counts = labelled_rows(...)       typed rows with a target (and complete, for "drop")
    data, n_train = split_rows(...)         training rows first, then validation
    fitted = fit_recipe(recipe, train)      the transforms' statistics, training rows only
    ... train each model (a ModelRun each), the baselines, the closed form, the predictions
"""
from __future__ import annotations

import collections
import copy
import hashlib
import numbers
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import baselines as baseline_fits  # `baselines` is fit()'s argument
from . import costs, leakage, losses, splits
from . import models as registry
from .data import Rows, load, target_missing
from .descent import curvature, descent_lr
from .errors import InputError, OptionError, TrainingError, option, warn
from .features import fill_problem, fit_recipe, new_rows
from .infer import infer
from .metrics import class_counts, split_scores
from .models import Model
from .recipe import MISSING_VALUES, Recipe, titanic
from .recipe import load as load_recipe
from .outputs import IDENTITY
from .optimum import closed_form
from .result import Baseline, FitResult, ModelRun
from .table import Table, frame_table, read_table
from .train import (
    TrainConfig,
    null_space,
    planned_steps,
    resolve_device,
    train,
)
from .transforms import level_text

from .limits import (  # shared with the CLI
    BASELINE_CHOICES, MAX_DESCENT_STEPS, MAX_EPOCHS, MAX_MATRIX_NUMBERS, MAX_MODELS, MAX_RESTARTS, MAX_SEED,
    OPTIMIZER_CHOICES)
MAX_BATCH = 10_000_000
MAX_PARAM_NUMBERS = 20_000_000  # parameters x starts: 160 MB a copy, about 1 GB with gradients and Adam's


def sha256(path: Path) -> str:
    if Path(path).is_dir():  # a folder of images (images.read_folder)
        from .images import folder_sha256

        return folder_sha256(path)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _hash(frame, path) -> str:
    """The file's sha256, or a DataFrame's: of the CSV it would be written as."""
    if frame is None:
        return sha256(path)
    return hashlib.sha256(frame.to_csv(index=False).encode("utf-8")).hexdigest()


def default_test_path(train_path: Path) -> Path | None:
    """Kaggle's pairing: the file beside TRAIN named as it is with "train" as "test"
    (train.csv -> test.csv, adult_train.csv -> adult_test.csv), if there is one."""
    name = Path(train_path).name
    if "train" not in name.lower():
        return None
    i = name.lower().index("train")
    test = "test" if name[i:i + 5].islower() else ("TEST" if name[i:i + 5].isupper() else "Test")
    beside = Path(train_path).with_name(name[:i] + test + name[i + 5:])
    return beside if beside.is_file() and beside.resolve() != Path(train_path).resolve() else None


def split(n: int, valid_pct: float, seed: int) -> np.ndarray:
    """A boolean mask of validation rows: a seeded random share of `valid_pct`."""
    mask = np.zeros(n, dtype=bool)
    n_valid = int(round(n * valid_pct))
    mask[np.random.default_rng(seed).permutation(n)[:n_valid]] = True
    return mask


random_split = split  # by a name that fit's and choose_recipe's `split` (random or time) leaves visible


def lesson_columns() -> list[str]:
    """The columns the lesson's recipe (recipes/titanic.toml) reads: Kaggle Titanic's."""
    lesson = titanic()
    return [lesson.id, lesson.target.column, *lesson.columns]


def is_kaggle_titanic(table: Table) -> bool:
    """The file has every column the lesson's recipe reads: fit without --target uses that recipe."""
    return all(table.find(c) is not None for c in lesson_columns())


def choose_recipe(table: Table, recipe=None, target=None, positive=None, missing=None,
                  valid_pct=0.2, seed=42, split="random") -> Recipe:
    """The given recipe (a path or a Recipe), else the one inferred for `target`, else the
    lesson's when the file has Kaggle Titanic's columns; `positive` and `missing` override.
    `split`: "time" infers from the rows before the latest (the validation rows, by date)."""
    if recipe is not None:  # a caller's Recipe is copied: the overrides below change it
        recipe = load_recipe(recipe) if not isinstance(recipe, Recipe) else copy.deepcopy(recipe)
        if target is not None and target != recipe.target.column:
            raise OptionError("target", f"{target!r}, but the recipe predicts {recipe.target.column!r}: "
                                         f"give {option('target')} or {option('recipe')}, not both")
    elif target is not None:
        target = target.strip()
        labelled = _labelled_count(table, target)
        if split == "time":
            train_rows = _time_train_rows(table, target, positive, missing, valid_pct)
        else:
            train_rows = np.flatnonzero(~random_split(labelled, valid_pct, seed)) if labelled else None
        recipe = infer(table, target, positive=positive, missing=missing or "fill", train_rows=train_rows,
                       time_split=split == "time")
        recipe.source = f"the recipe inferred from {table.path.name}"
        positive = None
    elif is_kaggle_titanic(table):
        recipe = titanic()
    else:
        raise InputError(table.path, f"which column is to be predicted? Name it with {option('target', metavar='COLUMN')} (or give "
                                     f"a {option('recipe')}); the header has {table.listed()}. (Without either, the file "
                                     "needs Kaggle Titanic's columns for the lesson's recipe; it lacks "
                                     f"{', '.join(c for c in lesson_columns() if table.find(c) is None)}.)",
                         row=table.header_row)
    if positive is not None:
        t, value = recipe.target, _positive_value(positive, recipe.target)
        if t.kind == "binary" and value != t.positive:
            # Its rules (everyone_dies, say) and its outputs (Kaggle's Survived) mean its own class.
            raise OptionError("positive", f"{positive!r}, but the recipe predicts {t.column} = "
                                            f"{_exact_text(t.positive)}: change [target] positive (and any rule) in a "
                                            f"copy of it, or infer one with {option('target')}")
        t.kind, t.positive, t.classes = "binary", value, None
    if missing is not None:
        recipe.missing = missing
    return recipe


def _time_train_rows(table: Table, target: str, positive, missing, valid_pct) -> np.ndarray:
    """The training rows of a time split (indices into the rows that have a target): the date
    column is the one a first inference over every row finds; the rows before the latest train."""
    from .dates import day_numbers

    first = infer(table, target, positive=positive, missing=missing or "fill")
    spec = splits.date_input(first)
    if spec is None:
        raise splits.no_date(first, table.path)
    col = table.column(spec.column)
    days = day_numbers(col.texts, spec.format)[col.codes]
    tcol = table.column(table.find(target))
    labelled = ~tcol.texts.isin(set(MISSING_VALUES)).to_numpy()[tcol.codes]
    return np.flatnonzero(~splits.time_mask(days[labelled], valid_pct))


def _labelled_count(table: Table, target: str) -> int:
    name = table.find(target)
    if name is None:
        return 0
    col = table.column(name)
    return int((~col.texts.isin(set(MISSING_VALUES)).to_numpy()[col.codes]).sum())


def _positive_value(positive, target):
    """--positive as the target column is read: a number when the column holds numbers."""
    if isinstance(positive, str) and (target.kind == "number" or not isinstance(target.positive, str)):
        try:
            return float(positive.strip())
        except ValueError:
            if target.kind == "number":
                raise OptionError("positive", f"{positive!r} is not a number, and the target "
                                                f"{target.column} holds numbers") from None
            return positive.strip()
    return positive


def labelled_rows(table: Table, recipe: Recipe) -> tuple[Rows, int, int, set]:
    """The typed rows that have a target (and, for missing = "drop", every input):
    (rows, left out for a missing target, dropped as incomplete, the columns they lacked)."""
    data = load(table, recipe, labelled=True)
    no_target = target_missing(data)
    if no_target.all():
        raise InputError(table.path, "no row has a value to learn from (the target is missing in every row)",
                         column=recipe.target.column)
    if no_target.any():
        first = ", ".join(str(r) for r in data.row[no_target][:3])
        k = int(no_target.sum())
        warn(f"{table.path}, column {recipe.target.column}: {k} row{'s' if k > 1 else ''} without a target "
             f"(row{'s' if k > 1 else ''} {first}{', ...' if k > 3 else ''}) left out of training")
        data = data.take(np.flatnonzero(~no_target))
    dropped, lacking = 0, set()
    if recipe.missing == "drop":
        complete = np.ones(len(data), dtype=bool)
        for column in recipe.columns:
            gap = data.missing(column)
            if gap.any():
                lacking.add(column)
            complete &= ~gap
        dropped = int((~complete).sum())
        if not complete.any():
            raise InputError(table.path, f"no row is complete ({', '.join(recipe.columns)}); try {option('missing', 'fill')}")
        data = data.take(np.flatnonzero(complete))
    if recipe.target.kind == "binary":
        _check_classes(data, recipe)
    if recipe.target.kind == "classes" and len(set(data.target.tolist())) < 2:
        raise InputError(data.path, f"the target has one value ({level_text(data.target[0])}) in every row used: "
                                    "there is nothing to predict", column=recipe.target.column)
    return data, int(no_target.sum()), dropped, lacking


def _check_classes(data: Rows, recipe: Recipe) -> None:
    t = recipe.target
    positive = float(t.positive) if t.numeric else t.positive
    classes = t.fit(data.target, data.target)["classes"]
    shown = ", ".join(level_text(c) for c in classes[:12]) + (", ..." if len(classes) > 12 else "")
    if len(classes) < 2:
        raise InputError(data.path, f"the target has one value ({shown}) in every row used: there is nothing "
                                    "to predict", column=t.column)
    if positive not in classes:
        raise InputError(data.path, f"the positive class {_exact_text(positive)!r} never occurs; the target's "
                                    f"values: {shown}", column=t.column)


def _exact_text(value) -> str:
    """level_text, unless its 15 digits stand for another number (1.0000000000000002 is not
    1): then every digit the number has."""
    text = level_text(value)
    if isinstance(value, str) or not isinstance(value, numbers.Real):
        return text
    return text if float(text) == float(value) else repr(float(value))


def split_rows(data: Rows, valid_pct: float, seed: int, by: str | None = None) -> tuple[Rows, int]:
    """Training rows first, then validation: a seeded random share, or (`by` a date column) the latest."""
    is_valid = splits.time_mask(data.columns[by], valid_pct) if by else split(len(data), valid_pct, seed)
    if is_valid.all():
        raise InputError(data.path, f"a validation share of {valid_pct} leaves no training row")
    order = np.concatenate([np.flatnonzero(~is_valid), np.flatnonzero(is_valid)])
    return data.take(order), int((~is_valid).sum())


def choose_models(names) -> list[Model]:
    """The registry's entries for --models (a comma-separated text or a list of names)."""
    if isinstance(names, str):
        names = [k for k in names.split(",")]
    if len(names) > MAX_MODELS:  # before any is looked up: each costs its own training
        raise OptionError("models", f"{len(names):,} models named; one fit takes at most {MAX_MODELS}")
    chosen = []
    for name in names:
        try:
            model = registry.get(str(name))
        except ValueError as exc:
            raise OptionError("models", str(exc)) from None
        if model.name in [m.name for m in chosen]:
            raise OptionError("models", f"{model.name} is named twice")
        chosen.append(model)
    if not chosen:
        raise OptionError("models", f"name at least one model: {registry.choices()}")
    return chosen


def _check_kinds(train_path, recipe, target, positive, models, progress) -> None:
    """The arguments that name things, checked for a Python caller as _check_types checks numbers."""
    if train_path is None:
        raise OptionError("train_path", "must be a DataFrame or the path of a CSV file, not None")
    if recipe is not None and not isinstance(recipe, (str, os.PathLike, Recipe)):
        raise OptionError("recipe", f"must be the path of a recipe file or a Recipe (titanic_reg.recipe.load), "
                                    f"not a {type(recipe).__name__}")
    if target is not None and not isinstance(target, str):
        raise OptionError("target", f"must be a column's name (text), not {target!r}")
    if positive is not None and (isinstance(positive, bool) or not isinstance(positive, (str, numbers.Real))):
        raise OptionError("positive", f"must be a class of the target (text or a number), not {positive!r}")
    if models is not None and not isinstance(models, str) and not (isinstance(models, (list, tuple))
                                                                   and all(isinstance(m, str) for m in models)):
        raise OptionError("models", f"must be model names, comma-separated text or a list (or None: the "
                                    f"recipe's), not {models!r}")
    if progress is not None and not callable(progress):
        raise OptionError("progress", f"must be None or a callable progress(name, total), not {progress!r}")


def _check_types(train_path, test_path, epochs, lr, restarts, seed, descent_steps, valid_pct) -> None:
    """What the CLI's option types guarantee, checked for a Python caller, in Python's words:
    a bool is no number here, 2.5 steps are none, and a DataFrame is no path. (epochs is
    bounded so that every start's loss history, kept until the best start is known, fits in
    memory: at most 100,001 x 1,024 float64s, 0.8 GB.)"""
    def whole(name, value, low, high):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise OptionError(name, f"must be a whole number, not {value!r}")
        if not low <= value <= high:
            raise OptionError(name, f"must be {low:,} to {high:,}, not {value:,}")

    for name, value in (("train_path", train_path), ("test_path", test_path)):
        if value is not None and not isinstance(value, (str, os.PathLike, pd.DataFrame)):
            also = ' (or None, or "auto")' if name == "test_path" else ""
            raise OptionError(name, f"must be a DataFrame or the path of a CSV file{also}, not a "
                                    f"{type(value).__name__}")
    if epochs is not None:
        whole("epochs", epochs, 1, MAX_EPOCHS)
    if restarts is not None:
        whole("restarts", restarts, 1, MAX_RESTARTS)
    whole("seed", seed, 0, MAX_SEED)
    whole("descent_steps", descent_steps, 0, MAX_DESCENT_STEPS)
    for name, value in (("lr", lr), ("valid_pct", valid_pct)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise OptionError(name, f"must be a number, not {value!r}")


def _check_options(missing, epochs, lr, restarts, descent_steps, valid_pct, optimizer, device="auto",
                   baselines="all"):
    if baselines not in (*BASELINE_CHOICES, None):
        raise OptionError("baselines", f"must be 'all' or None (the recipe's rules only), not {baselines!r}")
    if device not in ("auto", "cpu", "cuda"):
        raise OptionError("device", f"must be 'auto', 'cpu' or 'cuda', not {device!r}")
    if missing not in (None, "drop", "fill"):
        raise OptionError("missing", f"must be 'drop' or 'fill', not {missing!r}")
    if lr is not None and not (lr > 0 and np.isfinite(lr)):
        raise OptionError("lr", f"the learning rate must be a positive number, not {lr}")
    if not 0 <= valid_pct < 1:
        raise OptionError("valid_pct", f"must be at least 0 and below 1, not {valid_pct}")
    if optimizer not in OPTIMIZER_CHOICES:
        raise OptionError("optimizer", f"unknown optimizer {optimizer!r}: use one of {', '.join(OPTIMIZER_CHOICES)}")


def fit(train_path, test_path="auto", *, recipe=None, target=None, positive=None, missing=None,
        valid_pct=0.2, seed=42, epochs=None, lr=None, optimizer="auto", restarts=None, device="auto",
        submit_model=None, descent_steps=50, progress=None, worker=None,
        models=None, check_models=None, baselines="all", loss="mse", batch_size=None,
        check_workbook=None, split="random") -> FitResult:
    """Load, featurise, train both models and the baselines; see docs/api.md for every option.

    `models`: the names of registry entries (a list, or one comma-separated text); by default
    the recipe's (an inferred recipe names them for a wide table), else linear and two_relu.
    `loss`: what every model is trained on (losses.py): "mse", the lesson's, or "mnist",
    fastbook's mnist_loss (for a model whose output is between 0 and 1, a sigmoid's).
    `batch_size`: mini-batch descent, each epoch a pass over the training rows in batches of
    this many, as the chapter's DataLoader; None (the default) takes every row at each step.
    `train_path` and `test_path`: CSV paths, or DataFrames (read as their CSV would be).
    `baselines`: "all", or None (or "none") for the recipe's rules only, without scikit-learn.
    `worker`: a background.Worker that fits the scikit-learn baselines in another process
    while torch trains (the command's way); without one they are fitted here, after.
    `split`: "random" (a seeded share of `valid_pct`), or "time": the latest rows by the
    recipe's (first) date column validate.
    """
    _check_kinds(train_path, recipe, target, positive, models, progress)
    _check_types(train_path, test_path, epochs, lr, restarts, seed, descent_steps, valid_pct)
    train_frame = train_path if isinstance(train_path, pd.DataFrame) else None
    test_frame = test_path if isinstance(test_path, pd.DataFrame) else None
    train_path = Path("DataFrame") if train_frame is not None else Path(train_path)
    if test_frame is not None:
        test_path = Path("test DataFrame")
    elif test_path == "auto":
        test_path = None if train_frame is not None else default_test_path(train_path)
    else:
        test_path = Path(test_path) if test_path else None
    _check_options(missing, epochs, lr, restarts, descent_steps, valid_pct, optimizer, device, baselines)
    splits.check(split)
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                                   or not 1 <= batch_size <= MAX_BATCH):
        raise OptionError("batch_size", f"must be a whole number from 1 to {MAX_BATCH:,}, not {batch_size!r}")
    if loss not in losses.LOSSES:
        raise OptionError("loss", f"unknown loss {loss!r}: choose from {', '.join(losses.LOSSES)}")
    chosen_models = choose_models(models) if models is not None else None  # refused before any reading
    dev = resolve_device(device)

    table = read_table(train_path) if train_frame is None else frame_table(train_frame, "DataFrame")
    recipe = choose_recipe(table, recipe, target, positive, missing, valid_pct, seed, split)
    by = _split_by(recipe, split, train_path)
    if chosen_models is None:
        chosen_models = choose_models(recipe.models or default_models(recipe))
    chosen_models = for_target(chosen_models, recipe.target)
    loss = target_loss(loss, recipe.target)
    unique_names(recipe, chosen_models)
    data, no_target, dropped, lacking = labelled_rows(table, recipe)
    if split == "random" and splits.date_input(recipe) is not None:
        said = splits.in_order_warning(train_path, splits.date_input(recipe).column,
                                       data.columns[splits.date_input(recipe).column])
        if said:
            warn(said)
    data, n = split_rows(data, valid_pct, seed, by)
    del table
    fitted = fit_recipe(recipe, data.take(np.arange(n)))
    fill_problem(fitted, data)
    test = None
    if test_path:
        test_table = read_table(test_path) if test_frame is None else frame_table(test_frame, "test DataFrame")
        test = new_rows(test_table, recipe, fitted, expected=lacking)
    kind = recipe.target.kind
    sklearn = baselines not in (None, "none")
    names = baseline_fits.names(kind, recipe.baselines, sklearn, bool(recipe.pixel_columns))
    ours = [m.name for m in chosen_models]
    if sklearn:
        twins = dict.fromkeys(baseline_fits.canonical(m.sklearn) for m in chosen_models if m.sklearn)
        names += [t for t in twins if t not in names]
    if submit_model is not None and submit_model not in (*ours, *names):
        raise OptionError("submit_model", f"{submit_model!r} is no model of this run: choose from "
                                            f"{', '.join((*ours, *names))}")

    for model in chosen_models:  # a model the workbook or memory cannot hold is refused before any training
        problem = check_models and check_models(model, len(fitted.names))
        if problem and check_models(registry.narrowest(), len(fitted.names)):
            raise _too_many_features(train_path, fitted)  # no model would do: the recipe's features are the cause
        if problem:
            raise OptionError("models", problem)
        starts = model_config(model, epochs=epochs, restarts=restarts, loss=loss, batch_size=batch_size).restarts
        held = model.size(len(fitted.names)) * starts
        if held > MAX_PARAM_NUMBERS:
            raise OptionError("models", f"model {model.name}: {model.size(len(fitted.names)):,} parameters x "
                                          f"{starts:,} starts is past the {MAX_PARAM_NUMBERS:,} numbers a fit may "
                                          "train at once (each held five times over, with Adam's state): choose "
                                          f"fewer units, or fewer {option('restarts')}")
    problem = check_workbook and check_workbook(recipe, fitted.names, chosen_models,
                                                len(data), 0 if test is None else len(test))
    if problem:
        raise OptionError("sheet_rows", problem)
    held = (len(data) + (0 if test is None else len(test))) * len(fitted.names)
    if held > MAX_MATRIX_NUMBERS:
        raise InputError(train_path, f"{len(data) + (0 if test is None else len(test)):,} rows x "
                                     f"{len(fitted.names):,} features are {held:,} numbers, past the "
                                     f"{MAX_MATRIX_NUMBERS:,} (2 GB) a feature matrix may hold: keep fewer "
                                     "columns or levels in the recipe, or fewer rows")
    X = fitted.matrix(data)
    y = fitted.y(data)
    X_test = fitted.matrix(test) if test is not None else None
    # A pixel is part of an image, which is read whole: one that tells a 1 from a 7 is the image at
    # work, and the block cannot leave it out.
    pixels = set(recipe.pixel_columns)
    suspects = leakage.suspects(data.take(np.arange(n)), y[:n].numpy(),
                                [c for c in recipe.columns if c not in pixels], kind)
    for found in suspects:
        warn(leakage.message(train_path, found))
    collinear = dependent_features(X[:n], fitted.names)
    if collinear and kind != "classes":  # the least-squares answer and LINEST: a number's or 0/1's
        shown = ", ".join(collinear[:8]) + (f" and {len(collinear) - 8} more" if len(collinear) > 8 else "")
        why = (f"{n} training row{'s' if n > 1 else ''} for {X.shape[1]} features" if n < X.shape[1] else
               f"on the training rows some features are a mix of others ({shown})")
        warn(f"{train_path}: {why}: least squares has no single answer, so the linear model takes the one with "
             "the smallest weights (as scikit-learn's), and the workbook leaves LINEST out")

    provenance = {
        "train": str(train_path), "test": str(test_path) if test_path else None,
        "recipe": recipe.source, "target": recipe.target.column, "kind": kind,
        "positive": level_text(recipe.target.positive) if kind == "binary" else None,
        "missing": recipe.missing, "valid_pct": valid_pct, "seed": seed, "optimizer": optimizer,
        "split": {"kind": split, **({"column": by} if by else {})},
        "device": str(dev),
        "sha256": {"train": _hash(train_frame, train_path),
                   **({"test": _hash(test_frame, test_path)} if test_path else {})},
        "versions": _versions(),
    }
    job = dict(X_train=X[:n].numpy(), y_train=y[:n].numpy(), X_valid=X[n:].numpy(), y_valid=y[n:].numpy(),
               X_test=None if X_test is None else X_test.numpy(), seed=seed, kind=kind, rules=recipe.baselines,
               features=fitted.names, decode=fitted.decode, encode=fitted.encode if recipe.target.log else None,
               twins=[m.sklearn for m in chosen_models if m.sklearn], sklearn=sklearn,
               pixels=[i for i, f in enumerate(fitted.features) if f.column in recipe.pixel_columns],
               classes=recipe.target.class_names(fitted.target) if kind == "classes" else None)
    if worker is not None:
        worker.submit(job)
    runs = {}
    lam = curvature(X[:n]) if descent_steps else None
    for model in chosen_models:
        cfg = model_config(model, epochs=epochs, lr=lr, optimizer=optimizer, restarts=restarts, seed=seed,
                           bias=recipe.ones, loss=loss, batch_size=batch_size)
        trained = train(model, X[:n], y[:n], cfg, dev, progress=progress and progress(model.name, planned_steps(n, cfg)))
        pred = model.predict(X, trained.params[None])[0]
        scores = {"title": model.title, **split_scores(pred[:n], y[:n], pred[n:], y[n:], kind, fitted.decode),
                  "fit_seconds": trained.fit_seconds, "n_params": trained.params.numel(),
                  "predict_ms_per_1000": costs.predict_ms_per_1000(
                      lambda rows, m=model, p=trained.params[None]: m.predict(rows, p), X),
                  "size_bytes": costs.tensor_bytes(trained.params)}
        if kind == "classes":
            scores["per_class"] = class_counts(pred, y, n, job["classes"])
        rate = (descent_lr(model, X[:n], y[:n], trained.init, descent_steps, losses.get(loss), lam) if descent_steps
                else None)
        runs[model.name] = ModelRun(model, cfg, trained, scores, rate)

    scored, test_predictions = worker.result() if worker is not None else baseline_fits.fit_and_predict(**job)
    fitted_baselines = {name: Baseline(name, scores) for name, scores in scored.items()}
    optimum = closed_form(X[:n], y[:n]) if kind != "classes" else None  # least squares: of a number or 0/1

    chosen = submit_model or best_model({n: r.scores for n, r in runs.items()}, ours, kind, n < len(data))
    predictions = None
    if test is not None:
        run = runs.get(chosen)
        out = run.predict(X_test) if run else _baseline_predictions(chosen, test_predictions, fitted_baselines)
        predictions = recipe.submission_strategy.frame(recipe, fitted, test, out,
                                                       run.model.output if run else IDENTITY)
    return FitResult(provenance, train_path, test_path, recipe, fitted, data, n, test, dropped, no_target,
                     X, y, X_test, runs, fitted_baselines, chosen, predictions, optimum, descent_steps,
                     suspects, collinear, lacking=tuple(sorted(lacking)))


def _split_by(recipe: Recipe, split: str, path) -> str | None:
    """The date column a time split goes by (None for a random split); an error without one."""
    if split != "time":
        return None
    spec = splits.date_input(recipe)
    if spec is None:
        raise splits.no_date(recipe, path)
    return spec.column


def unique_names(recipe: Recipe, models) -> None:
    """A recipe's rule baseline named like a model or a scikit-learn baseline would take that
    one's place among the scores (and could be submitted as it): names are unique across both."""
    taken = {name.casefold(): f"scikit-learn's baseline {name}" for name in baseline_fits.SKLEARN}
    for model in models:
        taken[model.name.casefold()] = f"the model {model.name} ({option('models')})"
        if model.sklearn:
            taken.setdefault(model.sklearn.casefold(), f"scikit-learn's baseline {model.sklearn}")
    for rule in recipe.baselines:
        other = taken.get(rule.name.casefold())
        if other:
            from .recipe import problem

            raise problem(recipe, ("baselines", rule.name),
                          f"the rule baseline {rule.name} has the name of {other}: names are unique across "
                          "models and baselines; rename the rule")


def _too_many_features(path, fitted) -> InputError:
    """The workbook cannot hold even the linear model's sheet: said of the column that makes the most features."""
    counts = collections.Counter(f.column for f in fitted.features if f.column is not None)
    column, made = counts.most_common(1)[0]
    return InputError(path, f"the recipe makes {len(fitted.names):,} features, {made:,} of them from this column, "
                            "more than a workbook's sheet has columns for; keep fewer of its levels (top = "
                            "... in the recipe), leave it out, or leave the workbook out", column=column)


def dependent_features(X: torch.Tensor, names) -> list[str]:
    """The features that take part in a linear dependence among the columns of X (none when
    X has full column rank): those with weight in a direction X maps to 0."""
    if X.shape[0] < X.shape[1]:  # fewer rows than features: every direction cannot be pinned down, and
        return list(names)  # the features x features eigendecomposition would cost minutes at thousands
    null = null_space(X.T @ X, X.shape[0])
    if not null.shape[1]:
        return []
    involved = (null.abs() > 1e-8).any(dim=1)
    return [name for name, yes in zip(names, involved.tolist()) if yes]


def best_model(metrics: dict, ours: list, kind: str, valid: bool) -> str:
    """Ours with the best validation (or, without validation rows, training) score; the
    first asked for among equals."""
    split_ = "valid" if valid else "train"
    if kind in ("binary", "classes"):
        return max(ours, key=lambda m: metrics[m][f"{split_}_acc"])
    return min(ours, key=lambda m: metrics[m][f"{split_}_mse"])


def default_models(recipe: Recipe) -> tuple[str, ...]:
    """The registry's models for a recipe that names none: for K classes, ones that end in K outputs."""
    return registry.CLASS_MODELS if recipe.target.kind == "classes" else registry.DEFAULT_MODELS


def for_target(models: list[Model], target) -> list[Model]:
    """The models as a target of K classes needs them (K outputs and a softmax), or as they are;
    OptionError naming a model that cannot end in K outputs."""
    if target.kind != "classes":
        return models
    try:
        return [model.with_classes(len(target.classes)) for model in models]
    except ValueError as exc:
        raise OptionError("models", f"{exc} ({target.column} has {len(target.classes)} classes)") from None


def target_loss(loss: str, target) -> str:
    """The loss a target trains on: cross-entropy for K classes (the default mse stands for it there),
    else the one asked for; OptionError for a loss that does not fit the target."""
    if target.kind == "classes":
        if loss not in ("mse", "cross_entropy"):
            raise OptionError("loss", f"{loss!r} scores one output; a target of {len(target.classes)} classes "
                                      "trains on cross_entropy (its softmax's K probabilities)")
        return "cross_entropy"
    if losses.get(loss).classes:
        raise OptionError("loss", f"{loss!r} is for a target of several classes (a softmax's K probabilities); "
                                  f"{target.column} is a {target.kind} target: use mse or mnist")
    return loss


def model_config(model, *, epochs=None, lr=None, optimizer="auto", restarts=None, seed=42, bias=True,
                 loss="mse", batch_size=None) -> TrainConfig:
    """How fit() trains `model` (an entry or its name): its defaults, overridden by whatever is given.
    A model fitted by conjugate gradient keeps its one start: CG ends at the same optimum from any.
    On a loss that is no quadratic, conjugate gradient does not apply: Adam trains it instead; in
    mini-batches neither does it: the chapter's plain step (sgd) does."""
    model = registry.get(model) if isinstance(model, str) else model
    d = model.defaults
    cg = d["optimizer"] == "cg" and losses.get(loss).quadratic and batch_size is None
    own = d["optimizer"] if d["optimizer"] != "cg" or cg else ("sgd" if batch_size is not None else "adam")
    opt = own if optimizer == "auto" else optimizer
    return TrainConfig(
        epochs=d["epochs"] if epochs is None else epochs,
        lr=None if opt == "cg" else (d["lr"] if lr is None else lr),
        optimizer=opt,
        restarts=d["restarts"] if restarts is None or d["optimizer"] == "cg" else restarts,
        seed=seed,
        bias=bias,
        loss=loss,
        batch_size=batch_size,
    )


def _baseline_predictions(name, test_predictions, fitted_baselines) -> torch.Tensor:
    """A baseline's outputs for the test rows (in y's units)."""
    if test_predictions[name] is None:
        raise TrainingError(f"{option('submit_model', name)}: that baseline could not be fitted "
                            f"({fitted_baselines[name].scores['error']})")
    return torch.as_tensor(test_predictions[name], dtype=torch.float64)


def _versions() -> dict:
    from importlib.metadata import (
        version,  # not `import sklearn`: a second, for one string
    )

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "pandas": pd.__version__, "scikit-learn": version("scikit-learn")}

