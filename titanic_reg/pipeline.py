"""`fit()`: from a CSV to fitted models, baselines and predictions, in one result."""
from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import baselines, data
from .errors import InputError
from .features import FEATURE_NAMES, INPUTS, Stats, matrix, training_stats
from .metrics import split_scores
from .models import MODELS, survived
from .descent import DESCENT_LR, plain_descent
from .train import TrainConfig, Trained, planned_steps, resolve_device, train

# Defaults that converge on the lesson's data (README, "Conjugate gradient" and
# "Initialisation"). optimizer="auto" takes each model's own; lr is for sgd, momentum and
# adam (cg finds its own step length), and cg stops before `epochs` once converged.
DEFAULTS = {
    "linear": {"optimizer": "cg", "epochs": 500, "lr": 0.1, "restarts": 1},
    "two_relu": {"optimizer": "adam", "epochs": 1000, "lr": 0.03, "restarts": 128},
}
OPTIMIZER_CHOICES = ("auto", "sgd", "momentum", "adam")
MAX_EPOCHS, MAX_RESTARTS = 100_000, 1024


@dataclass
class FitResult:
    """Everything `fit` computed; the reports and the workbook are written from it."""

    settings: dict
    train_path: Path
    test_path: Path | None
    frame: pd.DataFrame  # rows used: training split first, then validation; column `split`
    test: pd.DataFrame | None
    stats: Stats
    dropped: int
    X: torch.Tensor  # features of `frame`, in FEATURE_NAMES order
    y: torch.Tensor
    X_test: torch.Tensor | None
    models: dict[str, Trained]
    metrics: dict[str, dict]  # model or baseline name -> scores
    submit_model: str
    submission: pd.DataFrame | None
    optimum: dict = field(default_factory=dict)  # closed-form least squares on the training rows
    descent: dict = field(default_factory=dict)  # model name -> Descent, for the Descent sheets
    sample_of: dict | None = None  # set on a copy whose rows are a sample (see sheets/sample.py)

    @property
    def n_train(self) -> int:
        return int((self.frame["split"] == "train").sum())

    @property
    def features(self) -> tuple[str, ...]:
        return FEATURE_NAMES

    def rows(self, split: str) -> slice:
        n = self.n_train
        return slice(0, n) if split == "train" else slice(n, len(self.frame))


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def default_test_path(train_path: Path) -> Path | None:
    beside = Path(train_path).with_name("test.csv")
    return beside if beside.is_file() and beside.resolve() != Path(train_path).resolve() else None


def split(n: int, valid_pct: float, seed: int) -> np.ndarray:
    """A boolean mask of validation rows: a seeded random share of `valid_pct`."""
    mask = np.zeros(n, dtype=bool)
    n_valid = int(round(n * valid_pct))
    mask[np.random.default_rng(seed).permutation(n)[:n_valid]] = True
    return mask


def fit(train_path, test_path="auto", *, missing="drop", valid_pct=0.2, seed=42,
        epochs=None, lr=None, optimizer="auto", restarts=None, device="auto",
        submit_model=None, descent_steps=50, progress=None) -> FitResult:
    """Load, featurise, train both models and the baselines; see the README for every option."""
    train_path = Path(train_path)
    test_path = default_test_path(train_path) if test_path == "auto" else (Path(test_path) if test_path else None)
    if missing not in ("drop", "fill"):
        raise ValueError(f"missing must be 'drop' or 'fill', not {missing!r}")
    # Bounded so that every start's loss history (kept until the best start is known) fits
    # in memory: at most 100,001 x 1,024 float64s, 0.8 GB.
    if epochs is not None and not 1 <= epochs <= MAX_EPOCHS:
        raise ValueError(f"epochs must be 1 to {MAX_EPOCHS:,}, not {epochs}")
    if lr is not None and not (lr > 0 and np.isfinite(lr)):
        raise ValueError(f"the learning rate must be a positive number, not {lr}")
    if restarts is not None and not 1 <= restarts <= MAX_RESTARTS:
        raise ValueError(f"restarts must be 1 to {MAX_RESTARTS:,}, not {restarts}")
    if descent_steps < 0:
        raise ValueError(f"descent_steps must be 0 or more, not {descent_steps}")
    if not 0 <= valid_pct < 1:
        raise ValueError(f"valid_pct must be at least 0 and below 1, not {valid_pct}")
    if optimizer not in OPTIMIZER_CHOICES:
        raise ValueError(f"unknown optimizer {optimizer!r}: use one of {', '.join(OPTIMIZER_CHOICES)}")
    if submit_model is not None and submit_model not in (*MODELS, *baselines.TITLES):
        raise ValueError(f"unknown submit model {submit_model!r}")
    dev = resolve_device(device)

    raw = data.load_csv(train_path, labelled=True)
    test = data.load_csv(test_path, labelled=False) if test_path else None

    if missing == "drop":
        keep = raw[list(INPUTS)].notna().all(axis=1)
        frame = raw[keep]
    else:
        frame = raw
    dropped = len(raw) - len(frame)
    if len(frame) == 0:
        raise InputError(train_path, f"no row is complete ({', '.join(INPUTS)}); try --missing fill")

    is_valid = split(len(frame), valid_pct, seed)
    if is_valid.all():
        raise InputError(train_path, f"a validation share of {valid_pct} leaves no training row")
    frame = pd.concat([frame[~is_valid].assign(split="train"), frame[is_valid].assign(split="valid")],
                      ignore_index=True)
    stats = training_stats(frame[frame["split"] == "train"])
    _check_stats(stats, train_path, frame, test, test_path)
    if test is not None:
        data.check_seen(frame, test, test_path)

    X = matrix(frame, stats)
    y = torch.as_tensor(frame["Survived"].to_numpy(dtype=np.float64))
    X_test = matrix(test, stats) if test is not None else None
    n = int((~is_valid).sum())

    settings = {
        "train": str(train_path), "test": str(test_path) if test_path else None,
        "missing": missing, "valid_pct": valid_pct, "seed": seed, "optimizer": optimizer,
        "device": str(dev), "models": {},
        "sha256": {"train": sha256(train_path), **({"test": sha256(test_path)} if test_path else {})},
        "versions": _versions(),
    }
    trained, metrics = {}, {}
    for name, model in MODELS.items():
        cfg = model_config(name, epochs=epochs, lr=lr, optimizer=optimizer, restarts=restarts, seed=seed)
        settings["models"][name] = {"optimizer": cfg.optimizer, "epochs": cfg.epochs, "lr": cfg.lr,
                                    "restarts": cfg.restarts}
        result = train(model, X[:n], y[:n], cfg, dev, progress=progress and progress(name, planned_steps(n, cfg)))
        trained[name] = result
        pred = model.predict(X, result.params[None])[0]
        metrics[name] = {
            "title": model.title,
            **split_scores(pred[:n], y[:n], pred[n:], y[n:]),
            "fit_seconds": result.fit_seconds,
            "n_params": result.params.numel(),
        }

    scores, predictors = baselines.run(X[:n].numpy(), y[:n].numpy(), X[n:].numpy(), y[n:].numpy(), seed)
    metrics.update(scores)
    w, *_ = np.linalg.lstsq(X[:n].numpy(), y[:n].numpy(), rcond=None)
    optimum = {"params": w.tolist(), "mse": float(np.mean((X[:n].numpy() @ w - y[:n].numpy()) ** 2))}

    by = "valid_acc" if n < len(frame) else "train_acc"
    chosen = submit_model or max(MODELS, key=lambda m: metrics[m][by])
    submission = None
    if test is not None:
        submission = pd.DataFrame({
            "PassengerId": test["PassengerId"].to_numpy(),
            "Survived": _predict_test(chosen, trained, predictors, X_test),
        })
    settings["submit_model"] = chosen
    descent = {}
    if descent_steps:
        for name, model in MODELS.items():
            descent[name] = plain_descent(model, X[:n], y[:n], trained[name].init, descent_steps)
    settings["descent"] = {"steps": descent_steps, "lr": DESCENT_LR,
                           "start": "the kept start's initial parameters, as fit began"}
    return FitResult(settings, train_path, test_path, frame, test, stats, dropped, X, y, X_test,
                     trained, metrics, chosen, submission, optimum, descent)


def model_config(name, *, epochs=None, lr=None, optimizer="auto", restarts=None, seed=42) -> TrainConfig:
    """How fit() trains the model `name`: DEFAULTS, overridden by whatever is given."""
    d = DEFAULTS[name]
    opt = d["optimizer"] if optimizer == "auto" else optimizer
    return TrainConfig(
        epochs=d["epochs"] if epochs is None else epochs,
        lr=None if opt == "cg" else (d["lr"] if lr is None else lr),
        optimizer=opt,
        restarts=d["restarts"] if restarts is None or name == "linear" else restarts,
        seed=seed,
    )


def _predict_test(name, trained, predictors, X_test) -> np.ndarray:
    """0/1 predictions for the test rows from one of our models or a baseline."""
    if name in MODELS:
        pred = MODELS[name].predict(X_test, trained[name].params[None])[0]
    else:
        pred = torch.as_tensor(predictors[name](X_test.numpy()), dtype=torch.float64)
    return survived(pred).numpy().astype(int)


def _check_stats(stats: Stats, train_path, frame, test, test_path) -> None:
    if not np.isfinite(stats.age_max) or stats.age_max <= 0:
        raise InputError(train_path, "no training row has an Age above 0, so Age_N = Age / max(Age) is undefined",
                         column="Age")
    for frame_, path in ((frame, train_path), (test, test_path)):
        if frame_ is None:
            continue
        for col in INPUTS:
            if stats.fill[col] is None and frame_[col].isna().any():
                row = int(frame_.loc[frame_[col].isna(), "row"].iloc[0])
                raise InputError(path, "missing, and no training row has a value to fill it from",
                                 row=row, column=col)


def _versions() -> dict:
    import sklearn

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "pandas": pd.__version__, "scikit-learn": sklearn.__version__}
