"""Compare: torch against the workbook, three engines on the linear optimum, baselines; for K
classes, no least-squares optimum but each model's and baseline's counts per class."""
from __future__ import annotations

import numpy as np

from titanic_reg.metrics import SCORES

from .layout import FIRST_ROW, Writer, ref, span
from .model_sheets import SUMMARY_FORMAT, SUMMARY_TITLES
from .names import Names


def linest_formula(y: str, X: str) -> str:
    """Excel's least squares; with the Ones column as a feature, no extra constant."""
    return f"LINEST({y},{X},FALSE,FALSE)"


def write_compare(w: Writer, result, summaries: dict, names: Names) -> None:
    ws, s = w.ws, w.s
    features = list(result.features)
    scores = SCORES[result.kind]
    # Column A holds the models' and baselines' titles whole; a number target's MSE, in its
    # squared units, needs more digits than a 0/1 target's.
    first = min(50, max([30] + [len(m.get("title", name)) + 2 for name, m in result.metrics.items()]))
    number_width = 16 if result.kind == "number" else 13
    ws.set_column(0, 0, first)
    ws.set_column(1, 12, number_width)
    widths = [first, number_width]  # headers wrap in these (the last repeats)
    ws.write_string(0, 0, "Compare: what torch reported against what this workbook computes", s.title)
    if result.sample_of:
        ws.write_string(1, 0, f"This workbook holds a sample of {len(result.data):,} of the "
                              f"{result.sample_of['rows']:,} rows: torch's and scikit-learn's figures are over "
                              "every row, the workbook's over the sample, so they differ a little.", s.note)

    # 1. Each model's loss: torch's figure, the workbook's formula, their difference relative to
    # torch's (at least 1): an MSE in the millions of a target's squared units leaves a plain
    # difference at the engines' last-digit noise, 1e-7, well past verify's 1e-9 (and a log
    # target's 10^(...), computed a unit in the last place apart, moves an MSE of 600,000 by 1e-9).
    r = 2
    lost, others = scores[0], scores[1:]  # the loss (MSE, or cross-entropy), then the other scores
    title = SUMMARY_TITLES[lost]
    w.headers(r, 0, ["model", f"torch train {title}", f"workbook train {title}", "train difference (relative)",
                     f"torch valid {title}", f"workbook valid {title}", "valid difference (relative)"]
              + [f"workbook {split} {SUMMARY_TITLES[x]}" for x in others for split in ("train", "valid")], widths)
    for model in result.model_list:
        r += 1
        m, summary = result.metrics[model.name], summaries[model.name]
        ws.write_string(r, 0, model.title, s(None, None, bold=True))
        for k, split in enumerate(("train", "valid")):
            c = 1 + 3 * k
            if (split, lost) not in summary.cells:
                ws.write_string(r, c, "no rows", s.note)
                continue
            ours = summary.values[split, lost]
            w.reported(r, c, m[f"{split}_{lost}"], "mse")
            w.formula(r, c + 1, summary.cells[split, lost], ours, "mse")
            torch_mse = m[f"{split}_{lost}"]
            w.formula(r, c + 2, f"({ref(c + 1, r)}-{ref(c, r)})/MAX(1,ABS({ref(c, r)}))",
                      (ours - torch_mse) / max(1.0, abs(torch_mse)), "diff")
        c = 7
        for x in others:
            for split in ("train", "valid"):
                if (split, x) in summary.cells:
                    w.formula(r, c, summary.cells[split, x], summary.values[split, x], SUMMARY_FORMAT[x])
                c += 1

    # 2. The linear optimum three ways: torch's fit, scikit-learn, LINEST (in y's units).
    r += 3
    if result.optimum is None:  # K classes: cross-entropy has no closed-form minimum
        ws.write_string(r - 1, 0, "No least-squares optimum: K classes are learned on cross-entropy, which has no "
                                  "closed form (the linear model is multinomial logistic regression, fitted by "
                                  "steps as scikit-learn's LogisticRegression is)", s.note)
        _compare_models(w, result, r + 1, scores, widths)
        return
    units = " (the target scaled by its sd, as the models learn it)" if result.kind == "number" else ""
    if result.recipe.target.log:
        units = " (the target's log10(value + 1) scaled by its sd, as the models learn it)"
    if result.sample_of:  # LINEST sees the sample's training rows only, torch and scikit-learn every one
        heading = (f"The linear model's optimum (training rows){units}: torch and scikit-learn fit every "
                   f"training row, LINEST only this sample's {result.n_train:,}, so LINEST differs")
    else:
        heading = f"The linear model's optimum, three engines, one answer (training rows){units}"
    ws.write_string(r - 1, 0, heading, s(None, None, bold=True))
    n_train = result.n_train
    optimum = result.optimum  # over the rows this workbook holds (sample.workbook_view)
    coef, rank, p = optimum.params, optimum.rank, len(features)
    # LINEST needs more rows than features and no feature that is a mix of others
    # (say, every passenger from one port); otherwise it answers #VALUE! or #NUM!.
    linest_ok = optimum.unique
    linest_mse = optimum.mse
    # LINEST lists coefficients last feature first: its raw output row, then feature order.
    linest_row = r + p + 4
    if linest_ok:
        w.headers(linest_row - 1, 1, list(reversed(features)), widths[1:])
        ws.write_string(linest_row, 0, "LINEST(train_y, train_X) as returned", s())
        ws.write_array_formula(linest_row, 1, linest_row, p, "{=" + linest_formula("train_y", "train_X") + "}",
                               s("formula", "param"), float(coef[-1]))
        for j in range(1, p):
            ws.write_number(linest_row, 1 + j, float(coef[p - 1 - j]), s("formula", "param"))
    else:
        ws.write_string(linest_row, 0, f"LINEST is left out: {n_train} training rows of rank {rank} cannot pin "
                                       f"down {p} coefficients (some features are a mix of others, so least "
                                       "squares has no single answer)", s.note)

    # torch's column: the first of our models whose optimum this is (linear in its parameters)
    lin = next(iter(result.closed_form_runs()), None)
    fitted_by = lin.optimizer_title if lin else "linear not fitted"
    closed = next((b for b in result.baselines.values() if b.coefficients is not None), None)
    w.headers(r, 0, ["feature", f"torch ({fitted_by})", "scikit-learn LinearRegression",
                     "Excel LINEST", "torch - sklearn", "LINEST - sklearn"], widths)
    sk = closed.coefficients if closed else [None] * p  # none without the scikit-learn baselines
    gd = lin.params.numpy() if lin else None
    weights = lin.model.tensors(p)[0].name if lin else None
    for j, name in enumerate(features):
        rr = r + 1 + j
        w.text(rr, 0, name)
        if lin:
            w.formula(rr, 1, f"INDEX({weights},1,{j + 1})", gd[j], "param")
        w.reported(rr, 2, sk[j], "param")
        if sk[j] is not None and lin:
            w.formula(rr, 4, f"{ref(1, rr)}-{ref(2, rr)}", gd[j] - sk[j], "diff")
        if linest_ok:
            w.formula(rr, 3, ref(p - j, linest_row), coef[j], "param")
            if sk[j] is not None:
                w.formula(rr, 5, f"{ref(3, rr)}-{ref(2, rr)}", coef[j] - sk[j], "diff")
    rr = r + 1 + p
    # In y's units: for a number target the model sheet's MSE, over sd², is the training loss.
    sk_mse = closed.scores.get("train_mse") if closed else None
    logged = result.kind == "number" and result.recipe.target.log
    if logged and sk_mse is not None:  # its MSE in units is no multiple of y's: y's from its weights
        sk_mse = float(((result.X[:n_train].numpy() @ np.asarray(sk, dtype=float) - result.y[:n_train].numpy())
                        ** 2).mean())
    elif result.kind == "number" and sk_mse is not None:
        sk_mse /= result.fitted.target["sd"] ** 2
    ws.write_string(rr, 0, "train MSE" + (" (scaled)" if result.kind == "number" else ""),
                    s(None, None, bold=True))
    if lin:
        gd_mse = summaries[lin.name].values["train", "mse"]
        gd_cell = summaries[lin.name].cells["train", "mse"]
        if logged:  # the model sheet's losses are in the target's units: y's MSE from its predictions
            summary = summaries[lin.name]
            pred = span(summary.pred_col, summary.pred_col, FIRST_ROW, FIRST_ROW + n_train - 1, summary.sheet)
            gd_mse = float(((lin.predict(result.X[:n_train]) - result.y[:n_train]) ** 2).mean())
            gd_cell = f"SUMXMY2({pred},train_y)/ROWS(train_y)"
        elif result.kind == "number":
            sd = result.fitted.target["sd"]
            gd_mse, gd_cell = gd_mse / sd ** 2, f"{gd_cell}/{names('sd', result.recipe.target.column)}^2"
        w.formula(rr, 1, gd_cell, gd_mse, "mse")
    w.reported(rr, 2, sk_mse, "mse")
    if sk_mse is not None and lin:
        w.formula(rr, 4, f"{ref(1, rr)}-{ref(2, rr)}", gd_mse - sk_mse, "diff")
    if linest_ok:
        w.formula(rr, 3, "INDEX(LINEST(train_y,train_X,FALSE,TRUE),5,2)/ROWS(train_y)", linest_mse, "mse")
        if sk_mse is not None:
            w.formula(rr, 5, f"{ref(3, rr)}-{ref(2, rr)}", linest_mse - sk_mse, "diff")

    _compare_models(w, result, linest_row + 3, scores, widths)


def _compare_models(w: Writer, result, r: int, scores, widths) -> None:
    """3. Every model and baseline, as fitted; for K classes, 4. their counts per class."""
    ws, s = w.ws, w.s
    ws.write_string(r - 1, 0, "Models and baselines (as fitted by torch and scikit-learn)",
                    s(None, None, bold=True))
    keys = [f"{split}_{x}" for x in scores for split in ("train", "valid")]
    w.headers(r, 0, ["model"] + [f"{k.split('_')[0]} {SUMMARY_TITLES[k.split('_', 1)[1]]}" for k in keys]
              + ["parameters", "model size (KB)", "fit time"], widths)
    for name, m in result.metrics.items():
        r += 1
        w.text(r, 0, m.get("title", name))
        for c, key in enumerate(keys, 1):
            w.reported(r, c, m.get(key), SUMMARY_FORMAT[key.split("_", 1)[1]])
        c = len(keys) + 1
        if m.get("n_params") is None and not m.get("error"):
            w.reported(r, c, "none: trees", "text")
        else:
            w.reported(r, c, m.get("n_params"), "int")
        w.reported(r, c + 1, None if m.get("size_bytes") is None else m["size_bytes"] / 1000, "kb")
        ws.write_string(r, c + 2, "see metrics.json", s.note)  # timings vary; the workbook's bytes must not
    ws.write_string(r + 1, 0, "Model size: the parameters as float64 (8 bytes each); scikit-learn's models as "
                              "pickled; KB: 1,000 bytes. Fit and prediction times are in metrics.json "
                              "(fit_seconds, predict_ms_per_1000), and in compare.png.", s.note)
    ws.write_string(r + 3, 0, f"{result.submission.file} comes from: "
                              f"{result.submit_model}", s.note)
    if result.kind == "classes":
        _per_class(w, result, r + 6, widths)
    ws.freeze_panes(1, 1)


def _per_class(w: Writer, result, r: int, widths) -> None:
    """Each model's and baseline's counts per class, as fitted (metrics.json's per_class): under each
    class, the rows predicted as it and the right ones, for each split; the split's rows of it above."""
    ws, s = w.ws, w.s
    names = result.classes
    metrics = result.metrics
    for split in ("train", "valid"):
        counted = {name: m["per_class"][split] for name, m in metrics.items() if m.get("per_class")}
        if not counted or not sum(c["rows"] for c in next(iter(counted.values())).values()):
            continue
        ws.write_string(r, 0, f"Per class, {'training' if split == 'train' else 'validation'} rows (as fitted, "
                              "every row: metrics.json's per_class): the rows predicted as each class, and the "
                              "right ones", s(None, None, bold=True))
        w.headers(r + 1, 0, ["model"] + [f"{name} {x}" for name in names for x in ("predicted", "right")], widths)
        rows = next(iter(counted.values()))
        w.text(r + 2, 0, "rows of the class")
        for k, name in enumerate(names):
            w.reported(r + 2, 1 + 2 * k, rows[name]["rows"], "int")
        r += 3
        for name, counts in counted.items():
            w.text(r, 0, metrics[name].get("title", name))
            for k, cls in enumerate(names):
                w.reported(r, 1 + 2 * k, counts[cls]["predicted"], "int")
                w.reported(r, 2 + 2 * k, counts[cls]["correct"], "int")
            r += 1
        r += 2
