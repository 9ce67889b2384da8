"""scikit-learn models and the two classic references, on the same features and split."""
from __future__ import annotations

import time
import warnings

import numpy as np

from .data import InputWarning
from .errors import TrainingError
from .features import FEATURE_NAMES
from .metrics import split_scores

MALE = FEATURE_NAMES.index("Male")
# MLPRegressor trains by mini-batches of 200 rows, a Python step each: 20 s at 640,000
# rows. Beyond this many it is fitted on a seeded sample of them (scored on every row).
MLP_MAX_ROWS = 20_000


def _linear_regression(seed):
    from sklearn.linear_model import LinearRegression

    # The Ones column is the intercept already, as in the lesson.
    return LinearRegression(fit_intercept=False), "predict"


def _logistic_regression(seed):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(fit_intercept=False, max_iter=5000), "proba"


def _mlp(seed):
    from sklearn.neural_network import MLPRegressor

    return MLPRegressor(hidden_layer_sizes=(16,), max_iter=3000, random_state=seed), "predict"


SKLEARN = {  # name: (title, make, the most training rows it is fitted on)
    "sklearn_linear": ("LinearRegression (closed form)", _linear_regression, None),
    "sklearn_logistic": ("LogisticRegression", _logistic_regression, None),
    "sklearn_mlp": ("MLPRegressor, 16 hidden ReLUs", _mlp, MLP_MAX_ROWS),
}
RULES = {
    "everyone_dies": ("Everyone dies", lambda X: np.zeros(len(X))),
    "women_survive": ("Women survive (gender model)", lambda X: 1.0 - X[:, MALE]),
}
TITLES = {name: spec[0] for name, spec in {**SKLEARN, **RULES}.items()}


def run(X_train, y_train, X_valid, y_valid, seed: int) -> tuple[dict, dict]:
    """Scores of every baseline, and for each a function X -> prediction.

    A scikit-learn model that cannot be fitted on these rows (LogisticRegression
    on a single class of Survived, say) does not stop the run: its scores are
    None (null in metrics.json), an InputWarning says why, and its predictor
    raises TrainingError if it is asked for a submission.
    """
    out, predictors = {}, {}
    for name, (title, make, max_rows) in SKLEARN.items():
        est, how = make(seed)
        fit_X, fit_y = _at_most(max_rows, X_train, y_train, seed)
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # MLP's convergence chatter; its scores speak
                est.fit(fit_X, fit_y)
        except ValueError as exc:  # scikit-learn's word for "not with these rows"
            seconds = time.perf_counter() - start
            reason = _why_not(exc, y_train)
            warnings.warn(InputWarning(f"baseline {name} cannot be fitted ({reason}); its scores are null"),
                          stacklevel=2)
            out[name] = {"title": title, "train_mse": None, "valid_mse": None, "train_acc": None,
                         "valid_acc": None, "fit_seconds": seconds, "n_params": None, "fit_rows": len(fit_X)}
            if name == "sklearn_linear":
                out[name]["params"] = [None] * X_train.shape[1]
            predictors[name] = _unfitted(name, reason)
            continue
        seconds = time.perf_counter() - start

        def predict(X, est=est, how=how):
            if len(X) == 0:
                return np.zeros(0)
            return est.predict_proba(X)[:, 1] if how == "proba" else est.predict(X)

        predictors[name] = predict

        out[name] = {
            "title": title,
            **split_scores(predict(X_train), y_train, predict(X_valid), y_valid),
            "fit_seconds": seconds,
            "n_params": _n_params(est),
            "fit_rows": len(fit_X),
        }
        if name == "sklearn_linear":
            out[name]["params"] = est.coef_.tolist()
    for name, (title, rule) in RULES.items():
        start = time.perf_counter()
        pred_train, pred_valid = rule(X_train), rule(X_valid)
        out[name] = {
            "title": title,
            **split_scores(pred_train, y_train, pred_valid, y_valid),
            "fit_seconds": time.perf_counter() - start,
            "n_params": 0,
        }
        predictors[name] = rule
    return out, predictors


def _at_most(max_rows, X, y, seed):
    """X, y, or a seeded sample of max_rows of their rows (in their order)."""
    if max_rows is None or len(X) <= max_rows:
        return X, y
    rows = np.sort(np.random.default_rng(seed).choice(len(X), max_rows, replace=False))
    return X[rows], y[rows]


def _why_not(exc: Exception, y_train) -> str:
    classes = np.unique(y_train)
    if len(classes) < 2:
        only = "no training rows" if len(classes) == 0 else f"every training row has Survived = {classes[0]:g}"
        return f"{only}, and it needs both classes"
    return " ".join(str(exc).split())


def _unfitted(name: str, reason: str):
    def predict(X):
        raise TrainingError(f"--submit-model {name}: that baseline could not be fitted ({reason})")

    return predict


def _n_params(est) -> int:
    if hasattr(est, "coefs_"):
        return int(sum(w.size for w in est.coefs_) + sum(b.size for b in est.intercepts_))
    return int(np.size(est.coef_))
