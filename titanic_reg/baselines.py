"""scikit-learn models and the recipe's rules, on the same features, target and split.

By the target's kind:

* binary: LinearRegression (the closed form of our linear model), LogisticRegression, a
  16-ReLU MLPRegressor and HistGradientBoostingClassifier (its probability);
* number: LinearRegression, the MLP and HistGradientBoostingRegressor, all on the
  scaled target the models learn (their predictions scored in its own units);
* classes: multinomial LogisticRegression, an MLPClassifier and HistGradientBoostingClassifier,
  each's K probabilities (a column per class, in the target's order), the majority class
  (the training rows' class shares as probabilities) and, for an image, pixel similarity
  (the nearest of the K mean images).

Rules need no fitting: a constant (a number in the target's units, "majority" or "mean"),
or 1 where one feature has one value (the Titanic recipe's women_survive).

A target learned as its log (target.py) is learned so by every baseline too, each scored
back in the target's units as our models are; the mean rule stays the mean in those units.
On a small table the boosted trees' minimum leaf (scikit-learn's 20 rows) is cut to a tenth
of the training rows: at 20, 38 rows cannot be split at all and the trees are the mean.
"""
from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import costs
from .errors import TrainingError, option, warn
from .metrics import BASELINE_FLOOR, SCORES, class_counts, split_scores
from .pixels import class_means, nearer, nearest

# MLPRegressor trains by mini-batches of 200 rows, a Python step each: 20 s at 640,000
# rows. Beyond this many it is fitted on a seeded sample of them (scored on every row).
MLP_MAX_ROWS = 20_000
# Boosted trees: 4.5 s on 240,000 rows of 44 features; a sample of 50,000 takes a second.
BOOSTING_MAX_ROWS = 50_000
# A tree's leaves hold at most a tenth of the training rows, so that it can split them into
# ten: scikit-learn's minimum of 20 rows a leaf suits 200 rows or more.
LEAF_SHARE = 10


def _linear_regression(seed):
    from sklearn.linear_model import LinearRegression

    # The Ones column is the intercept already, as in the lesson.
    return LinearRegression(fit_intercept=False), "predict"


def _logistic_regression(seed):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(fit_intercept=False, max_iter=5000), "proba"


MLP_SIZES = (16,)  # the hidden layers of scikit-learn's MLP baseline, sklearn_mlp


def _mlp(seed, sizes=MLP_SIZES, kind="binary"):
    if kind == "classes":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(hidden_layer_sizes=tuple(sizes), max_iter=3000, random_state=seed), "proba"
    from sklearn.neural_network import MLPRegressor

    return MLPRegressor(hidden_layer_sizes=tuple(sizes), max_iter=3000, random_state=seed), "predict"


def _boosting(seed, kind):
    if kind in ("binary", "classes"):
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(random_state=seed), "proba"
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(random_state=seed), "predict"


@dataclass(frozen=True)
class Spec:
    title: str
    make: Callable  # (seed, kind) -> (estimator, "predict" or "proba")
    max_rows: int | None  # the most training rows it is fitted on (a seeded sample beyond)
    kinds: tuple  # the target kinds it serves
    coefficients: bool = False  # least squares in closed form: its weights are reported, one per feature


SKLEARN = {
    "sklearn_linear": Spec("LinearRegression (closed form)", lambda s, k: _linear_regression(s), None,
                           ("binary", "number"), coefficients=True),
    "sklearn_logistic": Spec("LogisticRegression", lambda s, k: _logistic_regression(s), None, ("binary", "classes")),
    "sklearn_mlp": Spec("MLPRegressor, 16 hidden ReLUs", lambda s, k: _mlp(s, kind=k), MLP_MAX_ROWS,
                        ("binary", "number", "classes")),
    "sklearn_gbm": Spec("HistGradientBoosting (gradient-boosted trees)", _boosting, BOOSTING_MAX_ROWS,
                        ("binary", "number", "classes")),
}


def import_sklearn() -> None:
    """Import what the baselines use (a second of start-up, done early by background.py)."""
    import sklearn.ensemble  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.neural_network  # noqa: F401


def fit_and_predict(X_train, y_train, X_valid, y_valid, X_test, seed: int, **kw) -> tuple[dict, dict]:
    """run(), with each baseline's predictions for X_test (None without a test set, or for a
    baseline that could not be fitted): what fit() needs, in a form a process can send."""
    scores, predictors = run(X_train, y_train, X_valid, y_valid, seed, **kw)
    test = {}
    for name, predict in predictors.items():
        try:
            test[name] = None if X_test is None else predict(X_test)
        except TrainingError:
            test[name] = None
    return scores, test


def names(kind: str, rules, sklearn: bool = True, pixels: bool = False) -> list[str]:
    """Every baseline a run of this target kind has, in order (without scikit-learn's: the rules only)."""
    return ([n for n, spec in SKLEARN.items() if sklearn and kind in spec.kinds]
            + (list(PIXEL_SIMILARITY) if pixels and kind != "number" else []) + [r.name for r in rules])


def twin(name: str):
    """The SKLEARN-style entry a model names as its scikit-learn twin (models.Model.sklearn):
    one of SKLEARN, or `sklearn_mlp:H[-H2...]`, an MLPRegressor of those hidden layer sizes
    (sklearn_mlp:8 beside mlp:8), for the comparison of like with like."""
    if name in SKLEARN:
        return SKLEARN[name]
    m = re.fullmatch(r"sklearn_mlp:(\d+(?:-\d+)*)", name)
    if m is None:
        raise ValueError(f"no scikit-learn baseline is called {name!r}")
    hidden = tuple(int(k) for k in m[1].split("-"))
    return Spec(f"MLPRegressor, {' x '.join(map(str, hidden))} hidden ReLUs", lambda s, k: _mlp(s, hidden, k),
                MLP_MAX_ROWS, ("binary", "number", "classes"))


def canonical(name: str) -> str:
    """A model's twin as the baselines list it: sklearn_mlp:16, mlp:16's twin, is sklearn_mlp
    itself (one row, not two alike)."""
    m = re.fullmatch(r"sklearn_mlp:(\d+(?:-\d+)*)", name)
    return "sklearn_mlp" if m and tuple(int(k) for k in m[1].split("-")) == MLP_SIZES else name


def run(X_train, y_train, X_valid, y_valid, seed: int, *, kind: str = "binary", rules=(), features=(),
        decode=None, twins=(), sklearn: bool = True, pixels=(), classes=None, encode=None) -> tuple[dict, dict]:
    """Scores of every baseline, and for each a function X -> prediction (in y's units).

    A scikit-learn model that cannot be fitted on these rows (LogisticRegression on a
    single class, say) does not stop the run: its scores are None (null in metrics.json),
    an InputWarning says why, and its predictor raises TrainingError if it is asked for
    the predictions. `encode`, the inverse of a `decode` that is no straight line (a target
    learned as its log): a value in the target's units as y, for the rules' constants.
    """
    # An array unpickled (the background process's) has a dtype object of its own, not numpy's
    # shared one; the estimators keep it, and their pickles (their size) grew by its copies.
    X_train, y_train = (np.asarray(a).view(np.asarray(a).dtype.type) for a in (X_train, y_train))
    out, predictors = {}, {}
    # Timed on the rows our models are timed on (pipeline.fit): training, then validation.
    timing_rows = np.concatenate([X_train[:costs.TIMING_ROWS], X_valid[:costs.TIMING_ROWS]])
    empty = {key: None for s in SCORES[kind] for key in (f"train_{s}", f"valid_{s}")}
    ordered = dict(SKLEARN)  # our models' twins right after scikit-learn's default MLP
    sized = {name: twin(name) for name in map(canonical, twins) if name not in SKLEARN}
    at = list(ordered).index("sklearn_mlp") + 1
    ordered = dict([*list(ordered.items())[:at], *sized.items(), *list(ordered.items())[at:]])
    for name, spec in ordered.items():
        if kind not in spec.kinds or not sklearn:
            continue
        title = spec.title.replace("MLPRegressor", "MLPClassifier") if kind == "classes" else spec.title
        est, how = spec.make(seed, kind)
        fit_X, fit_y = _at_most(spec.max_rows, X_train, y_train, seed)
        leaf = _small_leaf(est, len(fit_X))
        if leaf is not None:
            title += f", leaves of {leaf}+ rows (a tenth of {len(fit_X):,} rows: the default 20 is too many)"
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # MLP's convergence chatter; its scores speak
                est.fit(fit_X, fit_y)
        except ValueError as exc:  # scikit-learn's word for "not with these rows"
            seconds = time.perf_counter() - start
            reason = _why_not(exc, y_train, kind)
            warn(f"baseline {name} cannot be fitted ({reason}); its scores are null")
            out[name] = {"title": title, **empty, "fit_seconds": seconds, "n_params": None,
                         "predict_ms_per_1000": None, "size_bytes": None, "fit_rows": len(fit_X), "error": reason}
            if spec.coefficients:
                out[name]["params"] = [None] * X_train.shape[1]
            predictors[name] = _unfitted(name, reason)
            continue
        seconds = time.perf_counter() - start

        def predict(X, est=est, how=how):
            if classes is not None:
                return _probabilities(est, X, len(classes))
            if len(X) == 0:
                return np.zeros(0)
            return est.predict_proba(X)[:, 1] if how == "proba" else est.predict(X)

        predictors[name] = predict
        out[name] = {
            "title": title,
            **split_scores(predict(X_train), y_train, predict(X_valid), y_valid, kind, decode, BASELINE_FLOOR),
            "fit_seconds": seconds,
            "n_params": _n_params(est),
            "predict_ms_per_1000": costs.predict_ms_per_1000(predict, timing_rows),
            "size_bytes": costs.pickled_bytes(est),
            "fit_rows": len(fit_X),
            **_counts(predict, X_train, y_train, X_valid, y_valid, classes),
        }
        if leaf is not None:
            out[name]["min_samples_leaf"] = leaf
        if spec.coefficients:
            out[name]["params"] = est.coef_.tolist()
    for name, (title, distance) in (PIXEL_SIMILARITY.items() if pixels and kind != "number" else ()):
        start = time.perf_counter()
        predict, means = _pixel_similarity(X_train, y_train, list(pixels), distance, classes)
        out[name] = {
            "title": title,
            **split_scores(predict(X_train), y_train, predict(X_valid), y_valid, kind, decode, BASELINE_FLOOR),
            "fit_seconds": time.perf_counter() - start,
            "n_params": int(means.size),
            "predict_ms_per_1000": costs.predict_ms_per_1000(predict, timing_rows),
            "size_bytes": costs.tensor_bytes(means),
            **_counts(predict, X_train, y_train, X_valid, y_valid, classes),
        }
        predictors[name] = predict
    for rule in rules:
        start = time.perf_counter()
        predict = _rule(rule, y_train, kind, list(features), decode, classes, encode)
        out[rule.name] = {
            "title": rule.title,
            **split_scores(predict(X_train), y_train, predict(X_valid), y_valid, kind, decode, BASELINE_FLOOR),
            "fit_seconds": time.perf_counter() - start,
            "n_params": 0,
            "predict_ms_per_1000": costs.predict_ms_per_1000(predict, timing_rows),
            # Nothing learnt by descent, but it keeps a constant, or a feature and its value.
            "size_bytes": costs.numbers_bytes(len(classes) if classes is not None else 1 if rule.feature is None else 2),
            **_counts(predict, X_train, y_train, X_valid, y_valid, classes),
        }
        predictors[rule.name] = predict
    return out, predictors


# fastbook chapter 4's first try: the mean image of each class over the training rows, and
# each image predicted as the class whose mean it is nearer, by the mean absolute difference
# (L1) or the root of the mean squared difference (L2). `pixels`: the image's feature columns.
PIXEL_SIMILARITY = {
    "pixel_l1": ("Pixel similarity: nearer mean image, mean absolute distance (L1)", "l1"),
    "pixel_l2": ("Pixel similarity: nearer mean image, root mean squared distance (L2)", "l2"),
}


def _pixel_similarity(X_train, y_train, pixels, distance, classes=None):
    """A function X -> 1 where the image is nearer the mean image of class 1 than of class 0;
    for K classes, X -> probability 1 for the class whose mean image is nearest, 0 for the rest."""
    k = len(classes) if classes is not None else 2
    means = np.nan_to_num(class_means(np.asarray(X_train)[:, pixels], y_train, range(k)))  # a class without rows: all 0
    if classes is None:
        return (lambda X: nearer(np.asarray(X)[:, pixels], means, distance)), means
    return (lambda X: np.eye(k)[nearest(np.asarray(X)[:, pixels], means, distance)]), means


def _probabilities(est, X, k: int) -> np.ndarray:
    """A classifier's probabilities (rows, k), a column per class index 0 to k-1: a class no
    training row had (it is only in the validation rows) gets 0."""
    out = np.zeros((len(X), k))
    if len(X):
        out[:, est.classes_.astype(int)] = est.predict_proba(X)
    return out


def _counts(predict, X_train, y_train, X_valid, y_valid, classes) -> dict:
    """A K-class target's per_class counts (metrics.py) of each split; nothing for other targets."""
    if classes is None:
        return {}
    return {"per_class": class_counts(np.concatenate([predict(X_train), predict(X_valid)]),
                                      np.concatenate([y_train, y_valid]), len(y_train), classes)}


def _rule(rule, y_train, kind, features, decode, classes=None, encode=None):
    """A rule as a function X -> prediction in y's units (0/1, or scaled; for K classes, K probabilities)."""
    if classes is not None:  # "majority", the only rule of a classes target: the training rows' class shares
        shares = np.bincount(np.asarray(y_train, dtype=np.int64), minlength=len(classes)) / max(len(y_train), 1)
        return lambda X: np.tile(shares, (len(X), 1))
    if rule.feature is not None:  # fit_recipe made sure it names a feature
        j, value = features.index(rule.feature), float(rule.equals)
        return lambda X: (np.asarray(X)[:, j] == value).astype(np.float64)
    if rule.constant == "majority":
        c = float(np.mean(y_train) > 0.5) if kind == "binary" and len(y_train) else 0.0
    elif rule.constant == "mean" and kind == "number" and encode is not None and len(y_train):
        # The mean in the target's units (about which R² is 0), not the mean of its log.
        c = float(encode(np.mean(np.asarray(decode(np.asarray(y_train, dtype=np.float64))))))
    elif rule.constant == "mean":
        c = float(np.mean(y_train)) if len(y_train) else 0.0
    elif kind == "number" and encode is not None:
        c = float(encode(float(rule.constant)))
    elif kind == "number" and decode is not None:
        # A constant in the target's units, as y: (c - mean) / sd.
        zero, one = float(decode(np.float64(0.0))), float(decode(np.float64(1.0)))
        c = (float(rule.constant) - zero) / (one - zero)
    else:
        c = float(rule.constant)
    return lambda X: np.full(len(X), c)


def _small_leaf(est, rows: int) -> int | None:
    """Cut an estimator's minimum leaf (min_samples_leaf) to a tenth of `rows` when it is more:
    the leaf it now has, or None when it is unchanged (or it has no leaves)."""
    params = est.get_params()
    default = params.get("min_samples_leaf")
    if not isinstance(default, int) or isinstance(default, bool):
        return None
    leaf = max(1, rows // LEAF_SHARE)
    if leaf >= default:
        return None
    est.set_params(min_samples_leaf=leaf)
    return leaf


def _at_most(max_rows, X, y, seed):
    """X, y, or a seeded sample of max_rows of their rows (in their order)."""
    if max_rows is None or len(X) <= max_rows:
        return X, y
    rows = np.sort(np.random.default_rng(seed).choice(len(X), max_rows, replace=False))
    return X[rows], y[rows]


def _why_not(exc: Exception, y_train, kind) -> str:
    classes = np.unique(y_train)
    if kind == "binary" and len(classes) < 2:
        only = "no training rows" if len(classes) == 0 else f"every training row's target is {classes[0]:g}"
        return f"{only}, and it needs both classes"
    return " ".join(str(exc).split())


def _unfitted(name: str, reason: str):
    def predict(X):
        raise TrainingError(f"{option('submit_model', name)}: that baseline could not be fitted ({reason})")

    return predict


def _n_params(est) -> int | None:
    if hasattr(est, "coefs_"):
        return int(sum(w.size for w in est.coefs_) + sum(b.size for b in est.intercepts_))
    if hasattr(est, "coef_"):
        return int(np.size(est.coef_))
    return None  # trees: their size is no count of weights
